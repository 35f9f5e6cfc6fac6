"""The process runner: fits in joblib worker processes, each with its share of the CPU threads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from tuning.fit import EpochHook, FitTask, fit_one
from tuning.results import FitResult
from tuning.runners._executors import LokyExecutor


class ProcessRunner:
    """Fits in ``jobs`` joblib worker processes (loky), reused across trials.

    Each worker gets ``cores // jobs`` TensorFlow threads (at least one), so N workers do not
    oversubscribe the cores; results stream back as they finish, so each is stored at once.
    """

    name = "processes"
    trials_in_flight = 1  # the study keeps ``jobs`` trials in flight anyway

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        self.executor = LokyExecutor(jobs)

    def map(self, tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> Iterator[FitResult]:
        fit = partial(fit_one, epoch_hook=epoch_hook)  # each worker its copy of the hook
        yield from self.executor.map_unordered(fit, [replace(t, threads=self.threads) for t in tasks])

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Unchanged: separate fits gain nothing from any order."""
        return list(points)
