"""The runner of a study on Keras's JAX backend: the seeds of each config fused into one compiled
step (:func:`tuning.fit.jax.fit_config_seeds`), in this process or in ``jobs`` worker processes.

Each replica is its seed's standalone JAX fit (Keras's own dropout masks included), so a study on
JAX has one kind of fit whichever runner it names; a config the JAX trainer does not take (a
``model.builder``'s) is fitted one seed at a time in the same worker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from tuning.fit import EpochHook, FitTask
from tuning.results import FitResult
from tuning.runners._executors import Executor, InProcessExecutor, share_out
from tuning.runners._fused import TRIALS_IN_FLIGHT
from tuning.runners._pool import ProcessPool


class JaxFusedRunner:
    """Fuses each config's seeds on JAX, with those of the configs in flight that differ from it only
    in learning rate (:func:`tuning.fit.jax.step_key`); with ``jobs`` > 1 the groups run in worker
    processes, the largest split while there are fewer groups than workers."""

    trials_in_flight = TRIALS_IN_FLIGHT  # so that configs that can share a step are in flight together
    fits_at_once = None  # a config's seeds share one step: handed over whole

    def __init__(self, jobs: int, name: str = "auto", executor: Executor | None = None):
        self.name = name
        self.executor = executor or (ProcessPool(jobs) if jobs > 1 else InProcessExecutor())
        self.jobs = self.executor.workers
        self.threads = self.executor.threads or os.cpu_count() or 1

    def map(self, tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> Iterator[FitResult]:
        from tuning.fit.jax import fit_config_seeds, step_key

        groups: dict[str, list[FitTask]] = {}
        for task in tasks:
            groups.setdefault(step_key(task), []).append(replace(task, threads=self.threads))
        work = share_out(list(groups.values()), self.executor.workers)
        for results in self.executor.map_unordered(partial(fit_config_seeds, epoch_hook=epoch_hook), work):
            yield from results

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Points that differ only in learning rate next to each other (in their first one's place),
        so that they are in flight together and share a step."""
        from tuning.fit.jax import PER_REPLICA

        def shared(point: dict[str, Any]) -> str:
            return json.dumps({k: v for k, v in point.items() if k not in PER_REPLICA}, sort_keys=True, default=str)

        groups: dict[str, list[dict[str, Any]]] = {}
        for point in points:
            groups.setdefault(shared(point), []).append(point)
        return [point for group in groups.values() for point in group]
