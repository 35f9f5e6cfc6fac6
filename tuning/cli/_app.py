"""What every ``tuning`` command shares: the Typer app, the options several commands take (one
definition each), and the one way a command fails (one line, an exit code).

Only ``tuning``'s own errors are caught: a user mistake prints one line and exits 2, Ctrl-C
exits 130 after the store is consistent, anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import typer

from tuning.errors import CutShort, StoreError, Terminated, TuningError
from tuning.vocabulary import (
    BACKEND_SAMPLERS,
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_KERAS_BACKEND,
    DEFAULT_LEASE,
    DEFAULT_STORAGE,
    KERAS_BACKEND_VARIABLE,
    PRUNERS,
    STORAGE_VARIABLE,
)

app = typer.Typer(
    name="tuning", add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from tuning import __version__

        typer.echo(f"tuning {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                          help="Print tuning's version and exit.")) -> None:
    """Seed-repeated hyperparameter search for Keras sequence models, stored in one database (a SQLite
    file, or PostgreSQL for many workers)."""

STORAGE_HELP = (f"Storage URL or SQLite file (default: the spec's storage, else ${STORAGE_VARIABLE}, else {DEFAULT_STORAGE}).")
BACKEND_HELP = (f"{DEFAULT_BACKEND} (default) | {' | '.join(b for b in BACKENDS if b != DEFAULT_BACKEND)}: who proposes "
                "the configs; fits, store and report are the same.")
KERAS_BACKEND_HELP = (f"jax | tensorflow: the Keras backend that fits (default: the spec's keras_backend, else "
                      f"${KERAS_BACKEND_VARIABLE}, else {DEFAULT_KERAS_BACKEND}); a study keeps the one it was started with.")
SAMPLER_HELP = "; ".join(f"{' | '.join(names)} ({backend})" for backend, names in BACKEND_SAMPLERS.items()) + "."
PRUNER_HELP = (f"Stop a config's fits early when its seed aggregate is hopeless: {' | '.join(PRUNERS)} "
               "(Optuna's pruners on the config's seed mean, epoch by epoch). Default: the spec's pruner, else none.")
MARGIN_HELP = ("How much worse than the best still counts as good as it: a number in the metric's units or a "
               "percentage like 2% of the best's aggregate (default: the spec's objective.margin, else 5%).")
EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 130, 143


def fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def guarded(command: Callable) -> Callable:
    """Turn tuning's errors into one line + exit 2, and Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except TuningError as exc:
            fail(f"error: {exc}", EXIT_USAGE)
        except KeyboardInterrupt as exc:  # _run names the study and its store; elsewhere nothing was half done
            fail("terminated" if isinstance(exc, Terminated) else "interrupted",
                  EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)

    return wrapper


def command_line(verb: str, name: str, storage: str) -> str:
    """The command line that finds this study in this store, from the same directory (a password in
    the URL shown as ``***``: the line is printed)."""
    import shlex

    from tuning.urls import shown_url

    return f"tuning {verb} {shlex.quote(name)} --storage {shlex.quote(shown_url(storage))}"


def run_spec(spec, quiet: bool, worker=None, *, n_trials_flag: int | None = None) -> None:
    from tuning.progress import RichReporter, SilentReporter
    from tuning.search.loop import run_search

    if n_trials_flag is not None:
        _check_n_trials(spec, n_trials_flag)
    try:
        outcome = run_search(spec, reporter=SilentReporter() if quiet else RichReporter(), worker=worker)
    except KeyboardInterrupt as exc:
        how, code = ("terminated", EXIT_TERMINATED) if isinstance(exc, Terminated) else ("interrupted", EXIT_INTERRUPTED)
        if _stored(spec) is None:
            fail(f"{how} before study {spec.name!r} was stored: nothing to resume; run it again", code)
        fail(f"{how}: every finished fit is stored, this worker's claims released; continue with "
              f"`{command_line('resume', spec.name, spec.storage)}`", code)
    except StoreError:  # the store could not be opened at all: one line and exit 2, like every command
        raise
    except CutShort as exc:
        fail(f"error: {exc}: continue with `{command_line('resume', spec.name, spec.storage)}` once a scheduler is "
             "back (with --scheduler ADDRESS or $DASK_SCHEDULER_ADDRESS; neither starts a LocalCluster)", EXIT_USAGE)
    except Exception as exc:
        why = _database_gone(exc)
        if why is None:
            raise
        fail(f"error: the store went away mid-run ({why}); every fit finished before is stored: continue with "
             f"`{command_line('resume', spec.name, spec.storage)}` once it is back", 1)
    typer.echo(
        f"study {outcome.name}: {outcome.complete} complete, "
        + (f"{outcome.pruned} pruned, " if outcome.pruned else "")
        + f"{outcome.failed} failed of {outcome.planned} planned; "
        f"{outcome.fits_run} fits run" + (f" ({outcome.fits_failed} of them failed)" if outcome.fits_failed else "")
        + f", {outcome.fits_reused} reused, {outcome.fits_stored} stored in all ({outcome.storage})"
    )
    if spec.pruner.active and not outcome.pruned:
        from tuning.pruning import why_nothing_pruned
        from tuning.search.study_record import seeds_fitted_together

        epochs = None if "epochs" in spec.space or spec.sampler.name == "hyperband" else spec.fit.epochs
        reason = why_nothing_pruned(spec.pruner.name, spec.pruner.settings, epochs, outcome.complete,
                                    seeds_together=seeds_fitted_together(spec)) or (
            f"pruner {spec.pruner.name} pruned nothing: no config fell behind the configs finished before it at the "
            "same epoch (configs trained at the same time, as the fused runner trains a grid's, are judged only "
            "against those finished earlier)")
        typer.echo(f"note: {reason}")
    if outcome.failed and not outcome.complete and not outcome.pruned:
        fail(f"error: every trial of study {outcome.name!r} failed; see `{command_line('status', outcome.name, outcome.storage)}`", 1)
    typer.echo(f"next: `{command_line('status', outcome.name, outcome.storage)}` or "
               f"`{command_line('report', outcome.name, outcome.storage)}`")


def _check_n_trials(spec, n_trials: int) -> None:
    """``--n-trials`` counts a study's trials in all (Optuna's ``optimize(n_trials=)`` counts more):
    a number below the trials a stored study has finished would run nothing, which is refused
    with the number that runs more rather than done silently."""
    from tuning.trials import finished_trials, read_trials

    store = _stored(spec)
    if store is None:  # a new study
        return
    done = finished_trials(read_trials(store, spec.name), spec)
    if n_trials < done:
        fail(f"error: --n-trials {n_trials}: study {spec.name!r} has {done} finished trials already, and --n-trials "
             f"counts trials in all; --n-trials {done + 1} runs one more", EXIT_USAGE)


def _stored(spec):
    """The spec's store if its study is in it, else None (a stop while connecting to a cluster, or
    before the first trial, comes before it is: only a stored study can ``tuning resume`` continue)."""
    from tuning.store import open_store

    try:
        store = open_store(spec.storage)
        return store if store.study_record(spec.name) is not None else None
    except StoreError:  # no store file yet
        return None


def worker_options(lease: float, max_fits: int | None = None, until: str | None = None):
    """This process's lease and limits as a worker of its study (``run`` and ``resume`` are workers too)."""
    from tuning.search.workers import WorkerOptions, parse_until

    return WorkerOptions(lease, max_fits, parse_until(until) if until else None)


def _database_gone(exc: BaseException) -> str | None:
    """The database's own first line when ``exc`` comes from the store's connection failing (a
    PostgreSQL server stopped or restarted, a network lost) rather than from the project's code;
    else ``None``. Optuna wraps it in a StorageInternalError that blames "invalid data"."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
            text = str(getattr(exc, "orig", None) or exc).strip()
            return text.splitlines()[0] if text else type(exc).__name__
        exc = exc.__cause__ or exc.__context__
    return None


def study_and_storage(study: str, storage: str | None) -> tuple[str, str | None]:
    """A study name, or a spec file (``*.yaml``, ``*.yml``, or any existing file) whose name and
    storage are used: the user need not repeat the storage URL the spec already names."""
    from pathlib import Path

    if not (study.endswith((".yaml", ".yml")) or Path(study).is_file()):
        return study, storage
    from tuning.spec import apply_overrides, load_spec

    spec = apply_overrides(load_spec(study), storage=storage)
    return spec.name, spec.storage


RUNNER_HELP = ("auto (the default: all seeds of a config in one graph, dropout included) | sequential | processes "
               "(one fit at a time, Keras's own dropout masks) | fused (as auto, with a notice for a config it cannot "
               "fuse) | dask (as auto, on a Dask cluster). A stored study keeps the dropout masks it was started with.")
LEASE_HELP = ("Seconds without a heartbeat before another worker takes this one's claims over (after a kill, "
              "a crash or a lost machine). Pick it above the longest pause you expect.")
SCHEDULER_HELP = ("With --runner dask: the Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS, "
                  "else a LocalCluster on this machine).")

# Options several commands share (one definition each: the same flag means the same thing everywhere).
STORAGE = typer.Option(None, "--storage", help=STORAGE_HELP)
RUNNER = typer.Option(None, "--runner", help=RUNNER_HELP)
SCHEDULER = typer.Option(None, "--scheduler", help=SCHEDULER_HELP)
JOBS = typer.Option(None, "--jobs", min=1, help="Worker processes for fits.")
LEASE = typer.Option(DEFAULT_LEASE, "--lease", min=1.0, help=LEASE_HELP)
N_TRIALS = typer.Option(None, "--n-trials", min=1, help="Trials to finish in all.")
MARGIN = typer.Option(None, "--margin", help=MARGIN_HELP)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress output.")
