"""The commands that read a stored study: ``report``, ``replay``, ``export``, ``serve``,
``dashboard``."""

from __future__ import annotations

import json
import os
import sys

import typer

from tuning.cli._app import (
    EXIT_USAGE,
    MARGIN,
    STORAGE,
    app,
    fail,
    guarded,
    study_and_storage,
)


@app.command()
@guarded
def report(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    out: str | None = typer.Option(None, "--out", help="Directory to write into (default: reports/<study>/)."),
    open_page: bool = typer.Option(False, "--open", help="Open the report in a web browser."),
    storage: str | None = STORAGE,
    margin: str | None = MARGIN,
) -> None:
    """Write STUDY's self-contained index.html report and its tables (CSV, JSON)."""
    from tuning.api import check_margin
    from tuning.report import build_report

    study, storage = study_and_storage(study, storage)
    page = build_report(study, storage, out, margin=check_margin(margin))
    typer.echo(f"report: {page}")
    if open_page:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())


@app.command()
@guarded
def replay(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    storage: str | None = STORAGE,
    repeats_strategy: str | None = typer.Option(None, "--repeats-strategy",
                                                help="The seed policy replayed: race (the default)."),
    min_seeds: int | None = typer.Option(None, "--min-seeds", min=2,
                                         help="Seeds every config gets before the first test (default: 3, a race's)."),
    max_seeds: int | None = typer.Option(None, "--max-seeds", min=2,
                                         help="The most seeds a config gets (default: every stored seed)."),
    alpha: float | None = typer.Option(None, "--alpha", min=1e-6, max=0.5, help="The race's error rate (default: 0.05, a race's)."),
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

    if repeats_strategy not in (None, "race"):
        fail(f"error: --repeats-strategy: only race can be replayed (got {repeats_strategy!r})", EXIT_USAGE)
    if pruner is not None and pruner not in PRUNERS:
        fail(f"error: --pruner: unknown pruner {pruner!r}; choose one of {', '.join(PRUNERS)}", EXIT_USAGE)
    race_flags = [flag for flag, value in (("--repeats-strategy", repeats_strategy), ("--min-seeds", min_seeds),
                                           ("--max-seeds", max_seeds), ("--alpha", alpha)) if value is not None]
    if pruner is not None and race_flags:  # one replay at a time: a race's settings would go unread
        fail(f"error: {race_flags[0]}: a race's setting, and --pruner replays an epoch pruner instead; "
             "replay one, then the other", EXIT_USAGE)
    if pruner is None and pruner_settings is not None:  # else a race would be replayed, the settings unread
        fail("error: --pruner-settings: settings of a pruner; name it with --pruner", EXIT_USAGE)
    study, storage = study_and_storage(study, storage)
    store = open_store(storage)
    store.require_study(study)
    results = load_results(study, store)
    try:
        if pruner is not None:
            typer.echo(replay_pruner_on_study(results, pruner, _json_option("--pruner-settings", pruner_settings)).text)
            return
        # no --max-seeds: no bound but the seeds the study stored
        margin = ((results.spec or {}).get("objective") or {}).get("margin")  # the live race's, as it ran
        given = {k: v for k, v in (("min_seeds", min_seeds), ("level", alpha)) if v is not None}  # else Race's
        race = Race.with_margin(margin, max_seeds=max_seeds or sys.maxsize, **given)
        typer.echo(replay_study(results, race).text)
    except ValueError as exc:
        fail(f"error: study {study!r}: {exc}", EXIT_USAGE)


def _json_option(flag: str, text: str | None) -> dict | None:
    """A JSON-object option's value (``None`` when not given); a mistake is one line, exit 2."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"error: {flag}: not JSON ({exc.msg} at character {exc.pos})", EXIT_USAGE)
    if not isinstance(value, dict):
        fail(f"error: {flag}: a JSON object of settings, like '{{\"n_startup_trials\": 3}}' (got {text!r})", EXIT_USAGE)
    return value


@app.command()
@guarded
def export(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    config: str = typer.Option("best", "--config", help="best (rank 1) | simplest (equivalent to the best) | a trial "
                               "number | a config key."),
    seed: int | None = typer.Option(None, "--seed", help="Which seed (default: the config's best seed on the objective)."),
    out: str = typer.Option(..., "--out", help="Model file to write (.keras)."),
    storage: str | None = STORAGE,
) -> None:
    """Refit one stored config on one seed, the way its scores were computed, and save the model."""
    from tuning.analysis import load_results
    from tuning.refit import export_model

    study, storage = study_and_storage(study, storage)
    results = load_results(study, storage)
    done = export_model(results, out, config=config, seed=seed)
    typer.echo(done.line())
    typer.echo(f"model: {out}")
    if results.spec["problem"]["name"] == "csv":  # its numbers are the study's, not the series'
        typer.echo("note: it reads windows of the series scaled (and transformed) as the study prepared them, and "
                   "forecasts in that space; docs/series.md, \"Using an exported model\", turns both ways")


@app.command()
@guarded
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port; 0 picks a free one."),
    storage: str | None = STORAGE,
    refresh: float = typer.Option(5.0, "--refresh", min=0,
                                  help="Seconds between an open report's checks for new fits (0: never)."),
) -> None:
    """Serve a live report of every study in the store; an open report shows new fits without a reload."""
    from tuning.report.serve import make_server, server_url
    from tuning.vocabulary import default_storage

    try:
        server, _ = make_server(default_storage(storage), host, port, refresh=refresh)
    except OSError as exc:  # port taken, address not on this machine ...
        fail(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    typer.echo(f"serving {server_url(server)}  (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()


@app.command()
@guarded
def dashboard(
    study: str = typer.Argument(..., help="Study name."),
    storage: str | None = STORAGE,
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
        fail("error: optuna-dashboard is not installed; run `pip install optuna-dashboard`", EXIT_USAGE)
    typer.echo(f"optuna-dashboard for {store.shown} on http://{host}:{port}/ ; pick study {study!r} (Ctrl-C to stop)")
    sys.stdout.flush()
    # Become the dashboard (no wrapper process): signals reach it directly, and stopping this
    # command can never leave an orphaned server behind.
    os.execv(command[0], command)
