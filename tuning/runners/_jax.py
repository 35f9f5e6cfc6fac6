"""The runner of a study on Keras's JAX backend: the seeds of each config fused into one compiled
step (:func:`tuning.fit.jax.fit_config_seeds`), in this process or in ``jobs`` worker processes.

Each replica is its seed's standalone JAX fit (Keras's own dropout masks included), so a study on
JAX has one kind of fit whichever runner it names; a config the JAX trainer does not take (a
``model.builder``'s) is fitted one seed at a time in the same worker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from tuning.fit import FitTask
from tuning.results import FitResult
from tuning.runners._executors import InProcessExecutor, LokyExecutor


class JaxFusedRunner:
    """Fuses each config's seeds on JAX; with ``jobs`` > 1, groups run in worker processes, a
    config's seeds split so that every worker has a group while there are fewer configs than workers."""

    trials_in_flight = 1

    def __init__(self, jobs: int, name: str = "auto"):
        self.name = name
        self.jobs = jobs
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        self.executor = LokyExecutor(jobs) if jobs > 1 else InProcessExecutor()

    def map(self, tasks: list[FitTask]) -> Iterator[FitResult]:
        from tuning.fit.jax import fit_config_seeds

        groups: dict[str, list[FitTask]] = {}
        for task in tasks:
            groups.setdefault(task.config_key, []).append(replace(task, threads=self.threads))
        work = list(groups.values())
        while len(work) < self.jobs and any(len(group) > 1 for group in work):  # split the largest
            largest = max(work, key=len)
            work.remove(largest)
            half = len(largest) // 2
            work += [largest[:half], largest[half:]]
        for results in self.executor.map_unordered(fit_config_seeds, work):
            yield from results

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Unchanged: only one config's seeds share a step."""
        return list(points)
