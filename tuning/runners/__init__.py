"""Runners: where fits run. Each maps :class:`~tuning.fit.FitTask` s to results (the :class:`Runner`
protocol); none knows of stores, studies or backends.

* ``sequential`` - this process, one fit after another (:class:`SequentialRunner`);
* ``processes`` - joblib worker processes, each with its share of the CPU threads
  (:class:`ProcessRunner`);
* ``fused`` - all seeds of a config as replicas of one graph, packed into graphs apart from
  running them on an executor (:class:`FusedRunner`); ``auto``, the default, fuses only the
  configs whose fused fit is the standalone one, silently.

:data:`RUNNERS` maps a spec's ``runner`` to a factory of ``jobs``; :func:`make_runner` calls it.
"""

from __future__ import annotations

from collections.abc import Callable

from tuning.runners._base import Runner
from tuning.runners._executors import Executor, InProcessExecutor, LokyExecutor
from tuning.runners._fused import TRIALS_IN_FLIGHT, FusedRunner, no_notice
from tuning.runners._processes import ProcessRunner
from tuning.runners._sequential import SequentialRunner


def _sequential(jobs: int) -> Runner:
    return ProcessRunner(jobs) if jobs > 1 else SequentialRunner()  # ``jobs`` > 1 means processes


#: The spec's ``runner`` names, each with the factory of its runner for ``jobs`` workers.
RUNNERS: dict[str, Callable[[int], Runner]] = {
    "auto": lambda jobs: FusedRunner(jobs, exact_only=True, notice=no_notice),
    "fused": lambda jobs: FusedRunner(jobs),
    "processes": ProcessRunner,
    "sequential": _sequential,
}


def make_runner(name: str, jobs: int) -> Runner:
    """The runner a spec's ``runner`` and ``jobs`` ask for.

    ``auto`` (the default) fuses the seeds of every config whose fused fit is its standalone fit
    (no dropout) and fits the others with ``processes`` (``jobs`` > 1) or ``sequential``, without
    a word on stderr; ``fused`` fuses every config it can, with a notice for those it cannot;
    ``sequential`` with ``jobs`` > 1 means ``processes``.
    """
    return RUNNERS[name](jobs)


__all__ = [
    "RUNNERS",
    "TRIALS_IN_FLIGHT",
    "Executor",
    "FusedRunner",
    "InProcessExecutor",
    "LokyExecutor",
    "ProcessRunner",
    "Runner",
    "SequentialRunner",
    "make_runner",
    "no_notice",
]
