"""Executors: run a function over many arguments, here or in worker processes, results unordered.

A runner decides *what* runs together (a fit, a fused graph); an executor only decides *where*.
So the fused runner packs its tasks into graphs once and hands the graphs to whichever executor it
was given: this process (:class:`InProcessExecutor`), worker processes on this host replaced
before they grow (:class:`~tuning.runners._pool.ProcessPool`), or a Dask cluster
(:class:`~tuning.runners._dask.DaskExecutor`). :func:`tuning.runners.make_executor` is the one
place that picks it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """Runs ``function(item)`` for every item; yields results as they finish, in any order.

    ``workers`` is how many calls run at once; ``in_process`` says whether they share this
    process (and so its TensorFlow thread settings); ``threads`` is how many CPU threads each call
    may use (``None``: TensorFlow's default, all the cores).
    """

    workers: int
    in_process: bool
    threads: int | None

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]: ...

    def close(self) -> None:
        """Stop whatever the executor started (worker processes, a cluster); calls in progress end."""
        ...


class InProcessExecutor:
    """One call after another in this process, each result yielded before the next call starts.

    This process cannot be replaced when it grows: with ``warn_growth_mb`` it measures its resident
    memory after each call and, once it has grown that much since the first call ended, says so
    once on stderr with ``why`` (what keeps the fits here, and what to do instead).
    """

    workers = 1
    in_process = True
    threads = None

    def __init__(self, warn_growth_mb: float | None = None, why: str = ""):
        from tuning.runners._pool import Growth

        self.warn_growth_mb = warn_growth_mb
        self.why = why
        self._growth = Growth()

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            result = function(item)
            self._watch()
            yield result

    def _watch(self) -> None:
        if self.warn_growth_mb is None:
            return
        from tuning.runners._pool import resident_bytes

        grown = self._growth.after_task(resident_bytes())
        if grown > self.warn_growth_mb:
            print(f"warning: this process grew by {grown:.0f} MB over its last {self._growth.tasks - 1} fit task(s) "
                  f"(Keras on TensorFlow keeps memory for every model a process builds); {self.why}",
                  file=sys.stderr, flush=True)
            self.warn_growth_mb = None  # once

    def close(self) -> None:
        """Nothing to stop."""


def share_out(work: list[list[T]], workers: int) -> list[list[T]]:
    """``work`` (lists of tasks that run together) with the largest split in two until every worker has
    one, or nothing splits further: R seeds as two halves on two cores finish sooner than R on one."""
    work = [chunk for chunk in work if chunk]
    while 0 < len(work) < workers:
        largest = max(range(len(work)), key=lambda i: len(work[i]))
        if len(work[largest]) < 2:
            break
        chunk = work.pop(largest)
        half = (len(chunk) + 1) // 2
        work += [chunk[:half], chunk[half:]]
    return work
