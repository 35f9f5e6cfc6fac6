"""Runners: where fits run. Each maps :class:`~tuning.fit.FitTask` s to results (the :class:`Runner`
protocol); none knows of stores, studies or backends.

* ``sequential`` - this process, one fit after another (:class:`SequentialRunner`);
* ``processes`` - joblib worker processes, each with its share of the CPU threads
  (:class:`ProcessRunner`);
* ``fused`` - all seeds of a config as replicas of one graph, packed into graphs apart from
  running them on an executor (:class:`FusedRunner`); ``auto``, the default, is the same runner
  without its notices.

A study follows one *procedure* from its first fit to its last, whichever runner each run names
(:data:`PROCEDURES`, recorded in the store when the study is created): ``fused`` (``auto`` and
``fused``: every config the fused graph takes is fused, dropout included, its masks drawn per
replica from (seed, step)) or ``standalone`` (``sequential`` and ``processes``, and ``auto``
before dropout was fused: every fit is :func:`~tuning.fit.fit_one`'s, Keras's own dropout masks;
configs without dropout may still be fused, since their fused fit is ``fit_one``'s to float32
rounding). The two differ only for configs with dropout, and there only value by value: their
scores have the same distribution over seeds (docs/performance.md, "Fused dropout").

:data:`RUNNERS` maps a spec's ``runner`` to a factory of ``jobs``; :func:`make_runner` calls it,
for the study's procedure.
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
    "auto": lambda jobs: FusedRunner(jobs, notice=no_notice, name="auto"),
    "fused": lambda jobs: FusedRunner(jobs),
    "processes": ProcessRunner,
    "sequential": _sequential,
}

#: A study's procedure: how its configs with dropout are fitted (see the module's docstring).
PROCEDURES = ("fused", "standalone")
#: Each procedure in a few words (the notice above and ``tuning status`` say it so).
PROCEDURE_WORDS = {"fused": "every config fused, dropout included, as runner auto",
                   "standalone": "dropout configs fitted one by one with Keras's masks; others may be fused, the same fit"}
#: The procedure of a study whose model is the user's builder: nothing is fused (a builder's model is
#: not a built-in family the fused graph can build), so the line says that instead.
BUILDER_PROCEDURE_WORDS = "every fit one seed at a time with Keras's own masks: model.builder is never fused"

#: The procedure a study started with each runner follows.
PROCEDURE_OF_RUNNER = {"auto": "fused", "fused": "fused", "processes": "standalone", "sequential": "standalone"}


def procedure_of(runner: str) -> str:
    """The procedure a new study with ``runner`` follows (``fused`` or ``standalone``)."""
    return PROCEDURE_OF_RUNNER[runner]


def study_procedure(record: dict) -> str:
    """The procedure of a stored study (its store record, :meth:`tuning.store.Store.study_record`):
    the one recorded when it was created, else (a study stored before procedures were recorded)
    the one its stored spec's runner followed then, when ``auto`` fused only the configs without
    dropout: ``standalone`` for ``auto``, ``sequential`` and ``processes``, ``fused`` for ``fused``."""
    if record.get("procedure") is not None:
        return record["procedure"]
    runner = record["spec"].get("runner", "auto")
    return "standalone" if runner == "auto" else procedure_of(runner)


def procedure_words(procedure: str, *, builder: bool = False) -> str:
    """A study's procedure in a few words, as ``tuning status`` says it (``builder``: the model is the
    user's ``model.builder``, whose fits are never fused)."""
    return BUILDER_PROCEDURE_WORDS if builder and procedure == "standalone" else PROCEDURE_WORDS[procedure]


def procedure_notice(study: str, runner: str, procedure: str) -> str | None:
    """The one line that says a run's ``runner`` gives way to the study's procedure, or ``None``."""
    if procedure == procedure_of(runner):
        return None
    return (f"study {study!r} keeps the {procedure} procedure it was started with ({PROCEDURE_WORDS[procedure]}): "
            f"runner {runner!r} "
            "would fit its dropout configs another way")


def make_runner(name: str, jobs: int, procedure: str | None = None) -> Runner:
    """The runner a spec's ``runner`` and ``jobs`` ask for, following ``procedure`` (default: the runner's own).

    ``auto`` (the default) and ``fused`` fuse the seeds of every config the fused graph takes,
    dropout included; ``fused`` prints a notice for a config it cannot take, ``auto`` says nothing.
    ``sequential`` with ``jobs`` > 1 means ``processes``.

    A stored study keeps its procedure whatever runner a later run names. Under ``standalone``,
    ``auto`` and ``fused`` fuse only the configs whose fused fit is ``fit_one``'s (no dropout; the
    old ``auto``) and fit the others one by one; under ``fused``, ``sequential`` and ``processes``
    would fit dropout configs with Keras's masks, so they are replaced by ``auto`` with ``jobs``
    workers. The caller tells the user when the procedure overrides the runner (:func:`procedure_of`).
    """
    if procedure is None or procedure == procedure_of(name):
        return RUNNERS[name](jobs)
    if procedure == "standalone":  # fuse only where the fused fit is fit_one's
        return FusedRunner(jobs, exact_only=True, notice=None if name == "fused" else no_notice, name=name)
    if procedure == "fused":
        return RUNNERS["auto"](jobs)
    raise ValueError(f"unknown procedure {procedure!r}; one of {', '.join(PROCEDURES)}")


__all__ = [
    "PROCEDURES",
    "PROCEDURE_WORDS",
    "BUILDER_PROCEDURE_WORDS",
    "PROCEDURE_OF_RUNNER",
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
    "procedure_notice",
    "procedure_of",
    "procedure_words",
    "study_procedure",
]
