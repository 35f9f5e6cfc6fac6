"""Executors: run a function over many arguments, here or in worker processes, results unordered.

A runner decides *what* runs together (a fit, a fused graph); an executor only decides *where*.
So the fused runner packs its tasks into graphs once and hands the graphs to whichever executor it
was given: this process, joblib's loky workers today, a Dask cluster next.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

#: Seconds between a worker's looks at its parent: a worker outlives its killed parent by at most this.
PARENT_POLL = 0.5


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
    """``workers`` joblib (loky) worker processes, reused across calls; results stream back as they finish.

    The workers die with this process, however it ends (``kill -9``, SIGTERM, Ctrl-C): each runs
    :func:`_exit_with_parent` when it starts. Every runner's workers are this executor's.
    """

    in_process = False

    def __init__(self, workers: int):
        self.workers = workers

    def map_unordered(self, function: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        from joblib import Parallel, delayed

        # The same initializer and arguments on every call, so loky reuses its workers.
        parallel = Parallel(n_jobs=self.workers, backend="loky", return_as="generator_unordered",
                            initializer=_exit_with_parent, initargs=(os.getpid(),))
        yield from parallel(delayed(function)(item) for item in items)


def _exit_with_parent(parent: int) -> None:
    """Run in each loky worker as it starts: end the worker as soon as ``parent`` (its starter) is gone.

    Loky's workers never look at their parent: one waits for work up to its idle timeout (300 s),
    and a fit in progress runs to its end, so a study killed with ``kill -9`` or SIGTERM left its
    workers (hundreds of MB each) running for minutes, and the resource trackers with them (they
    exit when the last holder of their pipe does, and the workers hold it). A daemon thread polls
    the parent pid: once the worker has been re-parented (its parent died), it exits at once,
    ``os._exit`` since a dead parent's queues have nothing to flush to. ``parent`` comes from the
    parent, so a worker whose parent died before this ran exits too. Not ``PR_SET_PDEATHSIG``: it
    fires when the *thread* that started the worker ends, and loky starts workers from threads.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
