"""The ``tuning`` command: a thin layer over the Python API.

Only ``tuning``'s own errors are caught: a user mistake prints one line and exits 2, Ctrl-C
exits 130 after the store is consistent, anything else is a bug and keeps its traceback.
Heavy imports (TensorFlow, Optuna, pandas) happen inside the commands that need them, so
``tuning --help`` and the read-only commands start fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable

import typer

from tuning.errors import Terminated, TuningError
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
    help="Seed-repeated hyperparameter search for Keras sequence models, stored in one SQLite file.",
)

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


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _guarded(command: Callable) -> Callable:
    """Turn tuning's errors into one line + exit 2, and Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except TuningError as exc:
            _fail(f"error: {exc}", EXIT_USAGE)
        except KeyboardInterrupt as exc:  # _run names the study and its store; elsewhere nothing was half done
            _fail("terminated" if isinstance(exc, Terminated) else "interrupted",
                  EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)

    return wrapper


def _command(verb: str, name: str, storage: str) -> str:
    """The exact command line that finds this study in this store, from the same directory."""
    import shlex

    return f"tuning {verb} {shlex.quote(name)} --storage {shlex.quote(storage)}"


def _run(spec, quiet: bool, worker=None) -> None:
    from tuning.progress import RichReporter, SilentReporter
    from tuning.search.loop import run_search

    try:
        outcome = run_search(spec, reporter=SilentReporter() if quiet else RichReporter(), worker=worker)
    except KeyboardInterrupt as exc:
        how, code = ("terminated", EXIT_TERMINATED) if isinstance(exc, Terminated) else ("interrupted", EXIT_INTERRUPTED)
        _fail(f"{how}: every finished fit is stored, this worker's claims released; continue with "
              f"`{_command('resume', spec.name, spec.storage)}`", code)
    typer.echo(
        f"study {outcome.name}: {outcome.complete} complete, "
        + (f"{outcome.pruned} pruned, " if outcome.pruned else "")
        + f"{outcome.failed} failed of {outcome.planned} planned; "
        f"{outcome.fits_run} fits run, {outcome.fits_reused} reused ({outcome.storage})"
    )
    if outcome.failed and not outcome.complete and not outcome.pruned:
        _fail(f"error: every trial of study {outcome.name!r} failed; see `{_command('status', outcome.name, outcome.storage)}`", 1)
    typer.echo(f"next: `{_command('status', outcome.name, outcome.storage)}` or "
               f"`{_command('report', outcome.name, outcome.storage)}`")


def _worker_options(lease: float, max_fits: int | None = None, until: str | None = None):
    """This process's lease and limits as a worker of its study (``run`` and ``resume`` are workers too)."""
    from tuning.search.workers import WorkerOptions, parse_until

    return WorkerOptions(lease, max_fits, parse_until(until) if until else None)


def _study_and_storage(study: str, storage: str | None) -> tuple[str, str | None]:
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


@app.command()
@_guarded
def run(
    spec_path: str = typer.Argument(..., metavar="SPEC", help="Study spec (YAML)."),
    n_trials: int | None = typer.Option(None, "--n-trials", min=1, help="Trials to finish in all."),
    repeats: int | None = typer.Option(None, "--repeats", min=1, help="Seeds per config (under a race: the most)."),
    repeats_strategy: str | None = typer.Option(
        None, "--repeats-strategy", help="fixed (every config gets every seed) | race (a config gets more seeds only "
        "while it could still be the best; --repeats sets the most). Default: the spec's repeats.strategy."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    sampler: str | None = typer.Option(
        None, "--sampler", help=SAMPLER_HELP),
    jobs: int | None = typer.Option(None, "--jobs", min=1, help="Worker processes for fits."),
    runner: str | None = typer.Option(None, "--runner", help=RUNNER_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
    keras_backend: str | None = typer.Option(None, "--keras-backend", help=KERAS_BACKEND_HELP),
    pruner: str | None = typer.Option(None, "--pruner", help=PRUNER_HELP),
    lease: float = typer.Option(DEFAULT_LEASE, "--lease", min=1.0, help=LEASE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Run a study from SPEC; on an existing study, continue it. Run is the study's first worker:
    `tuning worker` started elsewhere on the same store shares its work."""
    from tuning.spec import apply_overrides, load_spec

    spec = load_spec(spec_path)
    if repeats_strategy is not None:  # before --repeats, which a race reads as its most seeds
        spec = apply_overrides(spec, repeats_strategy=repeats_strategy)
    spec = apply_overrides(spec, n_trials=n_trials, repeats=repeats, storage=storage, sampler=sampler, jobs=jobs,
                           runner=runner, scheduler=scheduler, backend=backend, keras_backend=keras_backend,
                           pruner=pruner)
    _run(spec, quiet, worker=_worker_options(lease))


@app.command()
@_guarded
def resume(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    n_trials: int | None = typer.Option(None, "--n-trials", min=1, help="Trials to finish in all."),
    repeats: int | None = typer.Option(
        None, "--repeats", min=1, help="Seeds per config; finished configs are topped up with the new seeds."),
    jobs: int | None = typer.Option(None, "--jobs", min=1, help="Worker processes for fits."),
    runner: str | None = typer.Option(None, "--runner", help=RUNNER_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    backend: str | None = typer.Option(
        None, "--backend", help="optuna | kerastuner; must be the stored study's backend (the default)."),
    keras_backend: str | None = typer.Option(
        None, "--keras-backend", help="jax | tensorflow; must be the stored study's Keras backend (the default)."),
    lease: float = typer.Option(DEFAULT_LEASE, "--lease", min=1.0, help=LEASE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Continue STUDY from its store: nothing finished is recomputed."""
    from tuning.search.loop import resolve_resume_spec
    from tuning.spec import apply_overrides
    from tuning.vocabulary import default_storage

    study, storage = _study_and_storage(study, storage)
    url = default_storage(storage)
    spec = apply_overrides(resolve_resume_spec(study, url), storage=url, n_trials=n_trials, repeats=repeats,
                           jobs=jobs, runner=runner, scheduler=scheduler, backend=backend, keras_backend=keras_backend)
    _run(spec, quiet, worker=_worker_options(lease))


@app.command()
@_guarded
def worker(
    study: str = typer.Argument(..., help="Study name, or its spec file (which creates the study if not stored yet)."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    jobs: int | None = typer.Option(None, "--jobs", min=1, help="Worker processes for this worker's fits."),
    runner: str | None = typer.Option(None, "--runner", help=RUNNER_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
    max_fits: int | None = typer.Option(None, "--max-fits", min=1, help="Stop after computing this many fits."),
    until: str | None = typer.Option(None, "--until", help="Stop at this time: 30m, 2h, 18:30 or 2026-12-24T08:00."),
    lease: float = typer.Option(DEFAULT_LEASE, "--lease", min=1.0, help=LEASE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Join STUDY as one more worker: fit configs and seeds no other worker holds until it is done."""
    from pathlib import Path

    from tuning.search.loop import resolve_resume_spec
    from tuning.spec import apply_overrides, load_spec
    from tuning.vocabulary import default_storage

    options = _worker_options(lease, max_fits, until)
    if study.endswith((".yaml", ".yml")) or Path(study).is_file():
        spec = apply_overrides(load_spec(study), storage=storage, jobs=jobs, runner=runner, scheduler=scheduler)
    else:
        url = default_storage(storage)
        spec = apply_overrides(resolve_resume_spec(study, url), storage=url, jobs=jobs, runner=runner,
                               scheduler=scheduler)
    _run(spec, quiet, worker=options)


@app.command()
@_guarded
def status(
    study: str | None = typer.Argument(None, help="Study name, or its spec file (default: every study in the store)."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    top: int = typer.Option(5, "--top", min=1, help="Best configs to show."),
    margin: str | None = typer.Option(None, "--margin", help=MARGIN_HELP),
) -> None:
    """Trials done / running / failed / remaining, the best configs (mean ± std), which could be the
    best, the simplest equivalent to it, and how many seeds would tell the top two apart."""
    from tuning.api import check_margin, study_status
    from tuning.store import open_store

    if study is not None:
        study, storage = _study_and_storage(study, storage)
    store = open_store(storage)
    check_margin(margin)
    names = [study] if study else store.study_names()
    if not names:
        typer.echo(f"no studies in {store.url}")
    for name in names:
        _print_status(study_status(name, store, top=top, margin=margin))


def _print_status(info: dict) -> None:
    from tuning.api import status_lines

    for line in status_lines(info):
        typer.echo(line)


@app.command()
@_guarded
def init(
    data: str = typer.Argument(..., metavar="DATA.csv", help="A CSV time series, or `example` for the bundled one."),
    target: str | None = typer.Option(None, "--target", help="Column to forecast (default: the first numeric one)."),
    out: str | None = typer.Option(None, "--out", help="Spec file to write (default: <DATA stem>.yaml here)."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Write a commented starter spec for a CSV series (look_back from its season, a small grid, 5 seeds,
    `difference: 1` when it trends) that `tuning run` accepts as it is."""
    from pathlib import Path

    from tuning.errors import SpecError
    from tuning.problems import starter_spec

    text = starter_spec(data, target)
    path = Path(out) if out else Path(f"{'example' if data == 'example' else Path(data).stem}.yaml")
    if path.exists() and not force:
        raise SpecError(f"{path} exists; pass --force to overwrite it, or --out another file", field="--out")
    path.write_text(text)
    typer.echo(f"wrote {path}; run it with `tuning run {path}`")


@app.command("list")
@_guarded
def list_studies(storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP)) -> None:
    """Studies in a store, with trial and fit counts."""
    from tuning.results import TrialStatus
    from tuning.store import open_store
    from tuning.trials import read_trials

    store = open_store(storage)
    names = store.study_names()
    if not names:
        typer.echo(f"no studies in {store.url}")
    for name in names:
        trials = read_trials(store, name)
        done = sum(1 for t in trials if t["status"] == TrialStatus.COMPLETE)
        typer.echo(f"{name}\t{done} complete trials\t{store.count_fits(name)} fits")


@app.command()
@_guarded
def report(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    out: str | None = typer.Option(None, "--out", help="Directory to write into (default: reports/<study>/)."),
    open_page: bool = typer.Option(False, "--open", help="Open the report in a web browser."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    margin: str | None = typer.Option(None, "--margin", help=MARGIN_HELP),
) -> None:
    """Write STUDY's self-contained index.html report and its tables (CSV, JSON)."""
    from tuning.api import check_margin
    from tuning.report import build_report

    study, storage = _study_and_storage(study, storage)
    page = build_report(study, storage, out, margin=check_margin(margin))
    typer.echo(f"report: {page}")
    if open_page:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())


@app.command()
@_guarded
def replay(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    repeats_strategy: str = typer.Option("race", "--repeats-strategy", help="The seed policy replayed: race."),
    min_seeds: int = typer.Option(3, "--min-seeds", min=2, help="Seeds every config gets before the first test."),
    max_seeds: int | None = typer.Option(None, "--max-seeds", min=2,
                                         help="The most seeds a config gets (default: every stored seed)."),
    alpha: float = typer.Option(0.05, "--alpha", min=1e-6, max=0.5, help="The race's error rate."),
    pruner: str | None = typer.Option(None, "--pruner", help="Replay this epoch pruner (median | percentile | "
                                      "successive_halving | hyperband) on the stored curves instead of a race."),
    pruner_settings: str | None = typer.Option(
        None, "--pruner-settings", help="The replayed pruner's Optuna settings as JSON, e.g. "
        "'{\"n_startup_trials\": 3}' (default: the study's pruner.settings when it ran this pruner)."),
) -> None:
    """What a race over seeds (or, with --pruner, an epoch pruner) would have picked on a finished
    STUDY, whom it would have stopped when, and its share of the study's fits and epochs; nothing
    is trained."""
    from tuning.analysis import load_results
    from tuning.racing import Race
    from tuning.replay import replay_pruner_on_study, replay_study
    from tuning.store import open_store
    from tuning.vocabulary import PRUNERS

    if repeats_strategy != "race":
        _fail(f"error: --repeats-strategy: only race can be replayed (got {repeats_strategy!r})", EXIT_USAGE)
    if pruner is not None and pruner not in PRUNERS:
        _fail(f"error: --pruner: unknown pruner {pruner!r}; choose one of {', '.join(PRUNERS)}", EXIT_USAGE)
    study, storage = _study_and_storage(study, storage)
    store = open_store(storage)
    store.require_study(study)
    results = load_results(study, store)
    try:
        if pruner is not None:
            typer.echo(replay_pruner_on_study(results, pruner, _json_option("--pruner-settings", pruner_settings)).text)
            return
        # no --max-seeds: no bound but the seeds the study stored
        typer.echo(replay_study(results, Race(min_seeds, max_seeds or sys.maxsize, alpha)).text)
    except ValueError as exc:
        _fail(f"error: study {study!r}: {exc}", EXIT_USAGE)


def _json_option(flag: str, text: str | None) -> dict | None:
    """A JSON-object option's value (``None`` when not given); a mistake is one line, exit 2."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"error: {flag}: not JSON ({exc.msg} at character {exc.pos})", EXIT_USAGE)
    if not isinstance(value, dict):
        _fail(f"error: {flag}: a JSON object of settings, like '{{\"n_startup_trials\": 3}}' (got {text!r})", EXIT_USAGE)
    return value


@app.command()
@_guarded
def export(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    config: str = typer.Option("best", "--config", help="best (rank 1) | simplest (equivalent to the best) | a trial "
                               "number | a config key."),
    seed: int | None = typer.Option(None, "--seed", help="Which seed (default: the config's best seed on the objective)."),
    out: str = typer.Option(..., "--out", help="Model file to write (.keras)."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
) -> None:
    """Refit one stored config on one seed, the way its scores were computed, and save the model."""
    from tuning.analysis import load_results
    from tuning.refit import export_model

    study, storage = _study_and_storage(study, storage)
    done = export_model(load_results(study, storage), out, config=config, seed=seed)
    typer.echo(done.line())
    typer.echo(f"model: {out}")


@app.command()
@_guarded
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port; 0 picks a free one."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    refresh: float = typer.Option(5.0, "--refresh", min=0,
                                  help="Seconds between an open report's checks for new fits (0: never)."),
) -> None:
    """Serve a live report of every study in the store; an open report shows new fits without a reload."""
    from tuning.report.serve import make_server, server_url
    from tuning.vocabulary import default_storage

    try:
        server, _ = make_server(default_storage(storage), host, port, refresh=refresh)
    except OSError as exc:  # port taken, address not on this machine ...
        _fail(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    typer.echo(f"serving {server_url(server)}  (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()


@app.command()
@_guarded
def dashboard(
    study: str = typer.Argument(..., help="Study name."),
    storage: str | None = typer.Option(None, "--storage", help=STORAGE_HELP),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback by default)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port of the dashboard."),
) -> None:
    """Open optuna-dashboard on the store of STUDY (optuna-dashboard must be installed)."""
    import importlib.util
    import shutil

    from tuning.store import open_store

    store = open_store(storage)
    store.require_study(study)
    exe = shutil.which("optuna-dashboard")
    options = [store.url, "--host", host, "--port", str(port), "--quiet"]
    if exe:
        command = [exe, *options]
    elif importlib.util.find_spec("optuna_dashboard") is not None:
        command = [sys.executable, "-m", "optuna_dashboard", *options]
    else:
        _fail("error: optuna-dashboard is not installed; run `pip install optuna-dashboard`", EXIT_USAGE)
    typer.echo(f"optuna-dashboard for {store.url} on http://{host}:{port}/ ; pick study {study!r} (Ctrl-C to stop)")
    sys.stdout.flush()
    # Become the dashboard (no wrapper process): signals reach it directly, and stopping this
    # command can never leave an orphaned server behind.
    os.execv(command[0], command)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter (no GPU found ...)
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a command (e.g. while importing)
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
