"""The process runner: fits one seed at a time on an executor's workers, each with its share of the CPU threads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from tuning.fit import ConfigsDone, EpochHook, FitTask, fit_one
from tuning.results import FitResult
from tuning.runners._executors import Executor
from tuning.runners._pool import ProcessPool


class ProcessRunner:
    """Fits on ``executor`` (default: ``jobs`` worker processes on this host, replaced before they grow).

    Each fit gets ``cores // workers`` TensorFlow threads (at least one) on this host's processes
    and one on a Dask cluster's (one task per worker thread), so the workers do not oversubscribe
    the cores; results stream back as they finish, so each is stored at once.
    """

    trials_in_flight = 1  # the study keeps ``jobs`` trials in flight anyway

    def __init__(self, jobs: int, executor: Executor | None = None, name: str = "processes"):
        self.executor = executor or ProcessPool(jobs)
        self.jobs = self.executor.workers
        self.fits_at_once = self.jobs
        self.name = name
        self.threads = self.executor.threads

    def map(self, tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> Iterator[FitResult]:
        fit = partial(fit_and_tell, ConfigsDone(tasks, epoch_hook))  # each worker its copy of the hook
        yield from self.executor.map_unordered(fit, [replace(t, threads=self.threads) for t in tasks])

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Unchanged: separate fits gain nothing from any order."""
        return list(points)


def fit_and_tell(done: ConfigsDone, task: FitTask) -> FitResult:
    """Run on a worker: ``task`` fitted with the worker's copy of the hook, which is then told if it
    has now seen every fit of the task's config."""
    result = fit_one(task, done.hook)
    done.arrived(result)
    return result
