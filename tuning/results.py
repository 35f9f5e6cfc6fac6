"""Plain results of fits and trials, and the aggregate a trial reports to its sampler.

Nothing here holds a Keras object: a :class:`FitResult` is numbers and lists, so it crosses
process boundaries, goes into the store as JSON, and comes back out identical.

Example:
    >>> round(aggregate_seeds([0.2, 0.4], "mean_plus_std", "minimize", k=1.0), 6)
    0.441421
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import numpy as np

from tuning.objective import orientation, oriented_aggregate

OK = "ok"
FAILED = "failed"
#: a fit its study's pruner stopped (tuning.pruning): its curves up to then, its scores those of the
#: model it stopped with; neither a finished seed nor a failed one
PRUNED = "pruned"


class TrialStatus(str, Enum):
    """What a trial concluded, as ``tuning status``, the report and ``results.trials`` say it.

    A ``str`` enum: its members compare equal to their words (``TrialStatus.COMPLETE ==
    "complete"``), which is what the store holds.
    """

    COMPLETE = "complete"
    FAILED = "failed"  # concluded, for a reason of its own (a seed diverged, the metric missing)
    INTERRUPTED = "interrupted"  # stopped before it ended (Ctrl-C, its owner process gone)
    DUPLICATE = "duplicate"  # a proposal of a config that was running or done: not counted
    RUNNING = "running"
    WAITING = "waiting"
    SUPERSEDED = "superseded"  # an older trial of a config re-run with more seeds
    RESUMED = "resumed"  # interrupted, then continued by a later trial of its config (its fits reused)
    PRUNED = "pruned"  # concluded: the pruner stopped its seeds early (stopped early, not comparable)

    def __str__(self) -> str:
        return self.value


@dataclass
class FitResult:
    """One fit of one config with one seed.

    Attributes:
        config_key: digest of the config (see :func:`tuning.spec.config_key`).
        seed: the seed that set weights, dropout masks and shuffling.
        status: ``"ok"``, ``"failed"`` or ``"pruned"`` (the study's pruner stopped it: see
            ``stopped_by_hook``).
        scores: final scores, e.g. ``val_loss``, ``val_mae`` (original units), ``test_loss``,
            ``train_loss``; empty when the fit failed.
        curves: per-epoch values of every loss and metric Keras logged, train and validation
            (``loss``, ``val_loss``, ``mae``, ``val_mae`` ...).
        epochs_run: epochs actually trained (fewer than asked when early stopping fired).
        best_epoch: 1-based epoch of the lowest monitored value, when early stopping was on.
        fit_seconds: wall time of ``model.fit`` plus scoring.
        error: one-line reason when failed ("diverged at epoch 7, seed 3").
        trainable_weights: the model's trainable parameter count (what "the simplest config
            equivalent to the best" minimises); ``None`` for fits stored before it was recorded.
        stopped_by_hook: the epochs the fit had run when its epoch hook stopped it
            (:class:`tuning.fit.EpochHook`, e.g. a pruner), ``epochs_run`` then; ``None`` when no
            hook stopped it. Its curves are the epochs it ran and its scores those of the model it
            stopped with: a fit stopped early, not comparable with the finished ones.
    """

    config_key: str
    seed: int
    status: str
    scores: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: int | None = None
    fit_seconds: float = 0.0
    error: str | None = None
    trainable_weights: int | None = None
    stopped_by_hook: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, sharing (not copying) the score and curve containers.

        ``dataclasses.asdict`` deep-copies every curve value, which dominated loading a large
        study (docs/performance_report.md).
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class TrialResult:
    """All seeds of one config, and the objective the trial reports.

    ``value`` is ``None`` when any seed failed (``failure`` then says which and why) or when the
    study's pruner stopped the config (``pruned_at``: a config stopped early is not comparable
    with the finished ones, so it has no objective).
    """

    config: dict[str, Any]
    config_key: str
    fits: list[FitResult]
    metric: str
    value: float | None
    failure: str | None = None
    race: dict[str, Any] | None = None  # in a race: what it decided for this config (tuning.trials)
    pruned_at: int | None = None  # the epochs its seeds had trained when the pruner stopped them

    @property
    def pruned(self) -> bool:
        return self.pruned_at is not None

    @property
    def seed_values(self) -> dict[int, float]:
        return {f.seed: f.scores[self.metric] for f in self.fits if f.ok and self.metric in f.scores}

    @property
    def mean(self) -> float:
        values = list(self.seed_values.values())
        return statistics.fmean(values) if values else math.nan

    @property
    def std(self) -> float:
        values = list(self.seed_values.values())
        return statistics.stdev(values) if len(values) > 1 else math.nan  # one seed: a spread unknown, not zero


def aggregate_seeds(values: list[float], how: str, direction: str, k: float = 1.0) -> float:
    """Reduce per-seed scores to the trial's objective (what the sampler is told).

    ``worst`` is the max when minimising and the min when maximising; ``mean_plus_std`` moves
    the mean ``k`` sample standard deviations towards the bad side. Both reward configs whose
    seeds agree, which a plain mean does not. ``iqm`` is the interquartile mean (the lowest and
    highest ``floor(n/4)`` seeds dropped). One rule for the objective and the analysis: this is
    :func:`tuning.objective.oriented_aggregate` on the scores oriented so that lower is better.
    """
    if not values:
        raise ValueError("no values to aggregate")
    sign = orientation(direction)
    return sign * float(oriented_aggregate(sign * np.asarray(values, dtype=float), how, k))


#: The old name of :func:`aggregate_seeds` (``tuning.aggregate``), kept for code that imports it.
aggregate = aggregate_seeds
