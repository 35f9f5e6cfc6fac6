"""Executors: run a function over many arguments, here or in worker processes, results unordered.

A runner decides *what* runs together (a fit, a fused graph); an executor only decides *where*.
So the fused runner packs its tasks into graphs once and hands the graphs to whichever executor it
was given: this process, joblib's loky workers today, a Dask cluster next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class Executor(Protocol):
    """Runs ``function(item)`` for every item; yields results as they finish, in any order.

    ``workers`` is how many calls run at once; ``in_process`` says whether they share this
    process (and so its TensorFlow thread settings).
    """

    workers: int
    in_process: bool

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]: ...


class InProcessExecutor:
    """One call after another in this process, each result yielded before the next call starts."""

    workers = 1
    in_process = True

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield function(item)


class LokyExecutor:
    """``workers`` joblib (loky) worker processes, reused across calls; results stream back as they finish."""

    in_process = False

    def __init__(self, workers: int):
        self.workers = workers

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=self.workers, backend="loky", return_as="generator_unordered")
        yield from parallel(delayed(function)(item) for item in items)
