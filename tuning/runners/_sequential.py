"""The sequential runner: every fit in this process, one after another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tuning.fit import EpochHook, FitTask, fit_one
from tuning.results import FitResult
from tuning.runners._executors import InProcessExecutor


class SequentialRunner:
    """Fits in this process, one after another."""

    name = "sequential"
    trials_in_flight = 1
    fits_at_once = 1
    executor = InProcessExecutor()

    def map(self, tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> Iterator[FitResult]:
        for task in tasks:
            yield fit_one(task, epoch_hook)

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Unchanged: one fit at a time gains nothing from any order."""
        return list(points)
