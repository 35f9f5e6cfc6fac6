"""Backends propose configs; the evaluator fits them.

* ``optuna`` (:mod:`tuning.backends.optuna`): grid, random, TPE and CMA-ES samplers;
* ``kerastuner`` (:mod:`tuning.backends.kerastuner`): KerasTuner's GridSearch, RandomSearch,
  BayesianOptimization and Hyperband, mirrored into Optuna trials of the same store.

Every backend is a :class:`tuning.backends._base.Backend` that declares what it supports; the
registry :data:`BACKENDS` maps the spec's ``backend`` to it. Backends are imported on demand so
that read-only commands stay light; this module holds only what those commands need without
importing either library.
"""

from __future__ import annotations

import importlib
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuning.backends._base import Backend, GridOrder
    from tuning.space import SearchSpace
    from tuning.spec import StudySpec
    from tuning.store import Store

#: The spec's ``backend`` -> the module and class that implement it (imported when used).
BACKENDS = {"optuna": ("tuning.backends.optuna", "OptunaBackend"),
            "kerastuner": ("tuning.backends.kerastuner", "KerasTunerBackend")}

#: KerasTuner's Hyperband defaults, used as they are.
HYPERBAND_FACTOR = 3
HYPERBAND_ITERATIONS = 1


def hyperband_trials(max_epochs: int, factor: int = HYPERBAND_FACTOR, iterations: int = HYPERBAND_ITERATIONS) -> int:
    """How many trials KerasTuner's Hyperband schedule runs for ``max_epochs`` (its own arithmetic).

    Brackets ``b = n-1 … 0`` (``n`` = how often ``max_epochs`` divides by ``factor`` down to 1),
    each with rounds ``r = 0 … b`` of ``ceil(ceil(1 + log_factor(max_epochs)) / (b + 1) *
    factor ** (b - r))`` trials. Fewer trials run if random sampling runs out of new points.
    """
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    per_iteration = sum(math.ceil(end_size / (b + 1) * factor ** (b - r)) for b in range(brackets) for r in range(b + 1))
    return per_iteration * iterations


def planned_trials(spec, grid_size: int | None = None, tuner_ended: int | None = None) -> int:
    """How many trials a study is to finish in all: a grid caps them at its size, Hyperband's
    schedule at its own, otherwise ``n_trials``; ``tuner_ended``, the trials KerasTuner's tuner
    ran when it ended short of that (its sampling out of new configs), caps them again. One rule
    for both backends and ``tuning status`` (which passes ``grid_size`` itself, to stay off Optuna
    and KerasTuner)."""
    if grid_size is not None:
        planned = min(spec.n_trials or grid_size, grid_size)
    elif spec.sampler.name == "hyperband":
        size = hyperband_trials(spec.fit.epochs)
        planned = min(spec.n_trials, size) if spec.n_trials else size
    else:
        planned = int(spec.n_trials or 0)
    return planned if tuner_ended is None else min(planned, tuner_ended)


def grid_plan(points: list, n_trials: int | None, seed: int, order: GridOrder | None = None) -> list:
    """The order a grid's points are asked in. A grid larger than ``n_trials`` is sampled: its points
    in a random order drawn from the sampler's seed (as Optuna's ``GridSampler`` visits a grid), so
    that 8 trials of a 16-point grid are not its first 8 in ``itertools.product`` order (every one
    with the first value of the first axis); the permutation depends on the seed and the grid
    alone, so a resume asks the same points, and a larger ``--n-trials`` keeps them and adds
    more. ``order`` (the runner's, so that points sharing a graph are in flight together)
    reorders the points to be run."""
    order = order or (lambda chosen: chosen)
    if n_trials is None or n_trials >= len(points):
        return order(list(points))
    import random

    shuffled = list(points)
    random.Random(seed).shuffle(shuffled)
    return order(shuffled[:n_trials]) + shuffled[n_trials:]


def grid_sample_words(spec, grid_size: int | None) -> str | None:
    """How a grid larger than the study's ``n_trials`` is sampled, in words (``None``: the whole grid
    runs); one sentence for the run's note and ``tuning status``."""
    planned = planned_trials(spec, grid_size) if grid_size is not None else None
    if planned is None or planned >= grid_size:
        return None
    how = ("KerasTuner's GridSearch takes them in its own order" if spec.backend == "kerastuner" else
           f"drawn at random with the sampler's seed ({spec.sampler.seed}), the same on every resume")
    return f"{planned} of the grid's {grid_size} points ({how}); --n-trials {grid_size} runs the whole grid"


def make_backend(spec: StudySpec, store: Store, space: SearchSpace, base: dict[str, Any], *,
                 order_grid: GridOrder | None = None) -> Backend:
    """The backend ``spec.backend`` names, for this study (``order_grid``: the runner's grid order)."""
    module, name = BACKENDS[spec.backend]
    backend_class = getattr(importlib.import_module(module), name)
    return backend_class(spec, store, space, base, order_grid=order_grid)
