"""Runners: where fits run. Each maps :class:`~tuning.fit.FitTask` s to results (the :class:`Runner`
protocol); none knows of stores, studies or backends.

* ``sequential`` - one fit after another (:class:`SequentialRunner` in this process, or
  :class:`ProcessRunner` on one worker process);
* ``processes`` - fits on ``jobs`` worker processes, each with its share of the CPU threads
  (:class:`ProcessRunner`);
* ``fused`` - all seeds of a config as replicas of one graph, packed into graphs apart from
  running them on an executor (:class:`FusedRunner`); ``auto``, the default, is the same runner
  without its notices;
* ``dask`` - ``auto``'s graphs and fits as tasks of a Dask cluster (:class:`DaskExecutor`);
* on Keras's JAX backend, ``auto`` is :class:`JaxFusedRunner`: each config's seeds fused with
  ``jax.vmap`` (the study's process picks it, :func:`tuning.search.study_record.study_runner`).

Where the fits run is an executor (:mod:`tuning.runners._executors`), picked in one place,
:func:`make_executor`, and handed to the runner and its fallback alike: this process, worker
processes on this host replaced before they grow (:class:`ProcessPool`, :class:`Recycle`), or a
Dask cluster.

A study draws the dropout masks of its configs with dropout one way from its first fit to its
last, whichever runner each run names (:data:`tuning.vocabulary.DROPOUT_MASKS`, recorded in the
store when the study is created): ``seeded`` (``auto`` and ``fused``: every config the fused graph
takes is fused, dropout included, each replica's masks drawn from (seed, step)) or ``keras``
(``sequential`` and ``processes``, and ``auto`` before dropout was fused: a config with dropout is
fitted by :func:`~tuning.fit.fit_one`, with Keras's own masks; configs without dropout may still be
fused, since their fused fit is ``fit_one``'s to float32 rounding). The two differ only for
configs with dropout, and there only value by value: their scores have the same distribution over
seeds (docs/performance.md, "Fused dropout").

:data:`RUNNERS` maps a spec's ``runner`` to a factory of ``jobs``; :func:`make_runner` calls it,
for the study's dropout masks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from tuning.runners._base import Runner
from tuning.runners._executors import Executor, InProcessExecutor
from tuning.runners._fused import TRIALS_IN_FLIGHT, FusedRunner, no_notice
from tuning.runners._jax import JaxFusedRunner
from tuning.runners._pool import ProcessPool, Recycle, WorkerDied
from tuning.runners._processes import ProcessRunner
from tuning.runners._sequential import SequentialRunner
from tuning.vocabulary import DROPOUT_MASKS, IN_PROCESS_WARN_MB, dropout_masks_of


def make_executor(runner: str, jobs: int, *, in_process: bool = False, scheduler: str | None = None,
                  recycle: Recycle | None = None, keras_backend: str | None = None) -> Executor:
    """Where a run's fits go: the one place that decides.

    ``dask``: the cluster at ``scheduler`` (or ``$DASK_SCHEDULER_ADDRESS``), else a ``LocalCluster``
    of ``jobs`` processes (one per core with ``jobs`` 1). Otherwise ``jobs`` worker processes on
    this host, replaced per ``recycle`` so that memory stays bounded; with ``in_process`` and one
    job, this process (a study whose data or model lives only here, or one whose memory stays flat
    without recycling). With ``keras_backend``, worker processes start at once and import Keras on
    it while this process prepares the study; in this process on TensorFlow, a warning says when
    it has grown by :data:`~tuning.vocabulary.IN_PROCESS_WARN_MB`.
    """
    from tuning.fit import start_keras

    warm = None if keras_backend is None else partial(start_keras, keras_backend)
    if runner == "dask":
        from tuning.runners._dask import DaskExecutor

        return DaskExecutor(scheduler, workers=jobs if jobs > 1 else None, recycle=recycle, warm=warm)
    if in_process and jobs == 1:
        if keras_backend != "tensorflow":
            return InProcessExecutor()
        return InProcessExecutor(IN_PROCESS_WARN_MB, why="fits of in-memory arrays or of a notebook's builder "
                                 "run here; save the arrays with numpy.savez (problem: arrays) and put the builder "
                                 "in a module to fit in worker processes that are replaced before they grow")
    return ProcessPool(jobs, recycle, warm=warm)


def _sequential(jobs: int, executor: Executor) -> Runner:
    if executor.in_process:
        return SequentialRunner()
    return ProcessRunner(jobs, executor, name="sequential" if executor.workers == 1 else "processes")


#: The spec's ``runner`` names, each with the factory of its runner for ``jobs`` workers on an executor.
RUNNERS: dict[str, Callable[[int, Executor], Runner]] = {
    "auto": lambda jobs, executor: FusedRunner(jobs, notice=no_notice, name="auto", executor=executor),
    "fused": lambda jobs, executor: FusedRunner(jobs, executor=executor),
    "processes": lambda jobs, executor: ProcessRunner(jobs, executor),
    "sequential": _sequential,
    "dask": lambda jobs, executor: FusedRunner(jobs, notice=no_notice, name="dask", executor=executor),
}


def make_runner(name: str, jobs: int, dropout_masks: str | None = None, executor: Executor | None = None) -> Runner:
    """The runner a spec's ``runner`` and ``jobs`` ask for on ``executor``, drawing ``dropout_masks``
    (default: the runner's own).

    ``executor``: where its fits run (default: :func:`make_executor` for this process with one job,
    worker processes with more).

    ``auto`` (the default) and ``fused`` fuse the seeds of every config the fused graph takes,
    dropout included; ``fused`` prints a notice for a config it cannot take, ``auto`` says nothing.
    ``sequential`` with ``jobs`` > 1 means ``processes``.

    A stored study keeps its dropout masks whatever runner a later run names. Under ``keras``,
    ``auto`` and ``fused`` fuse only the configs whose fused fit is ``fit_one``'s (no dropout; the
    old ``auto``) and fit the others one by one; under ``seeded``, ``sequential`` and ``processes``
    would fit dropout configs with Keras's masks, so they are replaced by ``auto`` with ``jobs``
    workers. The caller tells the user when the study's masks override the runner
    (:func:`tuning.vocabulary.dropout_masks_of`).
    """
    executor = executor or make_executor(name, jobs, in_process=True)
    if dropout_masks is None or dropout_masks == dropout_masks_of(name):
        return RUNNERS[name](jobs, executor)
    if dropout_masks == "keras":  # fuse only where the fused fit is fit_one's
        return FusedRunner(jobs, keras_masks=True, notice=None if name == "fused" else no_notice, name=name,
                           executor=executor)
    if dropout_masks == "seeded":
        return RUNNERS["auto"](jobs, executor)
    raise ValueError(f"unknown dropout masks {dropout_masks!r}; one of {', '.join(DROPOUT_MASKS)}")


__all__ = [
    "DROPOUT_MASKS",
    "RUNNERS",
    "TRIALS_IN_FLIGHT",
    "Executor",
    "FusedRunner",
    "InProcessExecutor",
    "JaxFusedRunner",
    "ProcessPool",
    "ProcessRunner",
    "Recycle",
    "Runner",
    "SequentialRunner",
    "WorkerDied",
    "dropout_masks_of",
    "make_executor",
    "make_runner",
    "no_notice",
]
