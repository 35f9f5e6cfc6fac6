"""The commands that run a study and say where it stands: ``run``, ``resume``, ``worker``,
``status``, ``init``, ``list``, ``delete``."""

from __future__ import annotations

import typer

from tuning.cli._app import (
    BACKEND_HELP,
    JOBS,
    KERAS_BACKEND_HELP,
    LEASE,
    MARGIN,
    N_TRIALS,
    PRUNER_HELP,
    QUIET,
    RUNNER,
    SAMPLER_HELP,
    SCHEDULER,
    STORAGE,
    app,
    guarded,
    run_spec,
    study_and_storage,
    worker_options,
)


@app.command()
@guarded
def run(
    spec_path: str = typer.Argument(..., metavar="SPEC", help="Study spec (YAML)."),
    n_trials: int | None = N_TRIALS,
    repeats: int | None = typer.Option(None, "--repeats", min=1, help="Seeds per config (under a race: the most)."),
    repeats_strategy: str | None = typer.Option(
        None, "--repeats-strategy", help="fixed (every config gets every seed) | race (a config gets more seeds only "
        "while it could still be the best; --repeats sets the most). Default: the spec's repeats.strategy."),
    storage: str | None = STORAGE,
    sampler: str | None = typer.Option(
        None, "--sampler", help=SAMPLER_HELP),
    jobs: int | None = JOBS,
    runner: str | None = RUNNER,
    scheduler: str | None = SCHEDULER,
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
    keras_backend: str | None = typer.Option(None, "--keras-backend", help=KERAS_BACKEND_HELP),
    pruner: str | None = typer.Option(None, "--pruner", help=PRUNER_HELP),
    lease: float = LEASE,
    quiet: bool = QUIET,
) -> None:
    """Run a study from SPEC; on an existing study, continue it (`tuning worker` may join it)."""
    from tuning.spec import apply_overrides, load_spec

    spec = load_spec(spec_path)
    if repeats_strategy is not None:  # before --repeats, which a race reads as its most seeds
        spec = apply_overrides(spec, repeats_strategy=repeats_strategy)
    spec = apply_overrides(spec, n_trials=n_trials, repeats=repeats, storage=storage, sampler=sampler, jobs=jobs,
                           runner=runner, scheduler=scheduler, backend=backend, keras_backend=keras_backend,
                           pruner=pruner)
    run_spec(spec, quiet, worker=worker_options(lease), n_trials_flag=n_trials)


@app.command()
@guarded
def resume(
    study: str = typer.Argument(..., help="Study name, or its spec file (name and storage from the spec)."),
    storage: str | None = STORAGE,
    n_trials: int | None = N_TRIALS,
    repeats: int | None = typer.Option(
        None, "--repeats", min=1, help="Seeds per config; finished configs are topped up with the new seeds."),
    jobs: int | None = JOBS,
    runner: str | None = RUNNER,
    scheduler: str | None = SCHEDULER,
    backend: str | None = typer.Option(
        None, "--backend", help="optuna | kerastuner; must be the stored study's backend (the default)."),
    keras_backend: str | None = typer.Option(
        None, "--keras-backend", help="jax | tensorflow; must be the stored study's Keras backend (the default)."),
    lease: float = LEASE,
    quiet: bool = QUIET,
) -> None:
    """Continue STUDY from its store: nothing finished is recomputed."""
    from tuning.search.loop import resolve_resume_spec
    from tuning.spec import apply_overrides
    from tuning.vocabulary import default_storage

    given = study
    study, storage = study_and_storage(study, storage)
    url = default_storage(storage)
    stored = resolve_resume_spec(study, url)
    if given != study:  # a spec file: its edits are not applied, so say so rather than drop them silently
        _refuse_an_edited_spec(given, stored, {"n_trials": n_trials, "repeats": repeats, "jobs": jobs, "runner": runner})
    spec = apply_overrides(stored, storage=url, n_trials=n_trials, repeats=repeats,
                           jobs=jobs, runner=runner, scheduler=scheduler, backend=backend, keras_backend=keras_backend)
    run_spec(spec, quiet, worker=worker_options(lease), n_trials_flag=n_trials)


def _refuse_an_edited_spec(path: str, stored, flags_given: dict) -> None:
    """``tuning resume SPEC.yaml`` continues the stored study and takes only the name and storage
    from the file: a file that differs in what a fit computes is refused in one line, as ``tuning
    run`` refuses it; one that differs in how much to run gets a note naming the flags that apply it
    (those not already given)."""
    from tuning.errors import SpecError
    from tuning.spec import load_spec

    edited = load_spec(path)
    field = edited.identity_change(stored)
    if field is not None:
        raise SpecError(f"study {stored.name!r} was run with a different {field}; resume continues it as stored: "
                        "give the study a new name to run the edited spec", source=path, field=field)
    flags = {"n_trials": "--n-trials", "repeats": "--repeats", "jobs": "--jobs", "runner": "--runner"}
    flags = {key: flag for key, flag in flags.items() if flags_given.get(key) is None}
    changed = [f"{flag} {getattr(edited, key)}" for key, flag in flags.items()
               if key != "repeats" and getattr(edited, key) != getattr(stored, key)]
    if "repeats" in flags and edited.repeats != stored.repeats:
        changed.append("--repeats (the file's repeats differ from the stored study's)")
    if changed:
        typer.echo(f"note: {path}: resume continues the stored settings; to apply the file's, pass "
                   f"{', '.join(changed)}", err=True)


@app.command()
@guarded
def worker(
    study: str = typer.Argument(..., help="Study name, or its spec file (which creates the study if not stored yet)."),
    storage: str | None = STORAGE,
    jobs: int | None = typer.Option(None, "--jobs", min=1, help="Worker processes for this worker's fits."),
    runner: str | None = RUNNER,
    scheduler: str | None = SCHEDULER,
    max_fits: int | None = typer.Option(None, "--max-fits", min=1, help="Stop after computing this many fits."),
    until: str | None = typer.Option(None, "--until", help="Stop at this time: 30m, 2h, 18:30 or 2026-12-24T08:00."),
    keras_backend: str | None = typer.Option(
        None, "--keras-backend", help="jax | tensorflow: a new study's (default: the spec's); a stored study keeps its own."),
    lease: float = LEASE,
    quiet: bool = QUIET,
) -> None:
    """Join STUDY as one more worker: fit configs and seeds no other worker holds until it is done."""
    from pathlib import Path

    from tuning.search.loop import resolve_resume_spec
    from tuning.spec import apply_overrides, load_spec
    from tuning.vocabulary import default_storage

    options = worker_options(lease, max_fits, until)
    if study.endswith((".yaml", ".yml")) or Path(study).is_file():
        spec = apply_overrides(load_spec(study), storage=storage, jobs=jobs, runner=runner, scheduler=scheduler,
                               keras_backend=keras_backend)
    else:
        url = default_storage(storage)
        spec = apply_overrides(resolve_resume_spec(study, url), storage=url, jobs=jobs, runner=runner,
                               scheduler=scheduler, keras_backend=keras_backend)
    run_spec(spec, quiet, worker=options)


@app.command()
@guarded
def status(
    study: str | None = typer.Argument(None, help="Study name, or its spec file (default: every study in the store)."),
    storage: str | None = STORAGE,
    top: int = typer.Option(5, "--top", min=1, help="Best configs to show."),
    margin: str | None = MARGIN,
) -> None:
    """Trials done / running / failed / remaining, the best configs (mean ± std), which could be the
    best, the simplest equivalent to it, and how many seeds would tell the top two apart."""
    from tuning.api import check_margin, study_status
    from tuning.store import open_store

    if study is not None:
        study, storage = study_and_storage(study, storage)
    store = open_store(storage)
    check_margin(margin)
    names = [study] if study else store.study_names()
    if not names:
        typer.echo(f"no studies in {store.shown}")
    for name in names:
        print_status(study_status(name, store, top=top, margin=margin))


def print_status(info: dict) -> None:
    from tuning.api import status_lines

    for line in status_lines(info):
        typer.echo(line)


@app.command()
@guarded
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

    try:
        text = starter_spec(data, target)
    except SpecError as exc:  # the spec's fields are this command's DATA and --target
        flag = {"problem.params.target": "--target"}.get(exc.field or "")
        raise SpecError(exc.detail, field=flag) from None
    path = Path(out) if out else Path(f"{'example' if data == 'example' else Path(data).stem}.yaml")
    if path.exists() and not force:
        raise SpecError(f"{path} exists; pass --force to overwrite it, or --out another file", field="--out")
    path.write_text(text)
    typer.echo(f"wrote {path}; run it with `tuning run {path}`")


@app.command("list")
@guarded
def list_studies(storage: str | None = STORAGE) -> None:
    """Studies in a store, with trial and fit counts and the Keras backend that fitted them."""
    from tuning.results import TrialStatus
    from tuning.store import open_store
    from tuning.trials import read_trials
    from tuning.vocabulary import stored_keras_backend

    store = open_store(storage)
    names = store.study_names()
    if not names:
        typer.echo(f"no studies in {store.shown}")
    for name in names:
        trials = read_trials(store, name)
        done = sum(1 for t in trials if t["status"] == TrialStatus.COMPLETE)
        fitted_on = stored_keras_backend((store.study_record(name) or {}).get("spec") or {})
        typer.echo(f"{name}\t{done} complete trials\t{store.count_fits(name)} fits\t{fitted_on}")


@app.command()
@guarded
def delete(
    study: str = typer.Argument(..., help="Study name, or its spec file."),
    storage: str | None = STORAGE,
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking (required without a terminal)."),
) -> None:
    """Delete a study: its trials, fits and curves; the store's other studies stay."""
    import sys

    from tuning.api import delete_study
    from tuning.errors import SpecError
    from tuning.store import open_store

    study, storage = study_and_storage(study, storage)
    store = open_store(storage)
    store.require_study(study)
    fits = store.count_fits(study)
    if not yes:
        if not sys.stdin.isatty():
            raise SpecError(f"deleting study {study!r} and its {fits} fits cannot be undone: pass --yes to confirm",
                            field="--yes")
        if not typer.confirm(f"delete study {study!r} and its {fits} fits from {store.shown}?"):
            typer.echo("nothing deleted")
            raise typer.Exit(1)
    removed = delete_study(study, store)
    typer.echo(f"deleted study {study!r} ({removed} fits) from {store.shown}")
