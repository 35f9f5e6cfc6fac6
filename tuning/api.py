"""The Python API behind the CLI: run a study, read its status (results: :mod:`tuning.analysis`).

Example:
    >>> import tuning
    >>> outcome = tuning.run_study("studies/quickstart.yaml", n_trials=2)   # doctest: +SKIP
    >>> results = tuning.load_results("quickstart")                         # doctest: +SKIP
    >>> results.trials[["param_units", "mean", "std", "n_seeds"]]          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuning.vocabulary import IN_MEMORY_PROBLEM

if TYPE_CHECKING:
    from tuning.search.loop import StudyOutcome
    from tuning.spec import StudySpec
    from tuning.store import Store


def run_study(spec: str | Path | dict | StudySpec, *, data: Any = None, build: Callable | None = None,
              quiet: bool = True, **overrides: Any) -> StudyOutcome:
    """Run or continue a study from a spec file, a mapping, or a :class:`StudySpec`.

    ``data``: your arrays, instead of the spec's ``problem`` (a tuple ``(x_train, y_train,
    x_val, y_val[, x_test, y_test])``, a mapping with those keys, or a
    :class:`tuning.ArrayProblem` that also says the task); they get the checks of the ``arrays``
    problem and the study continues only when handed the same arrays again (``docs/own-data.md``).

    ``build``: your model function, instead of the spec's ``model.builder``: ``build(config,
    problem)``, or KerasTuner's ``build(hp)`` (one parameter; or set ``model.style``). It is named
    ``module:qualname`` in the store; a function of a notebook runs in this process (``jobs: 1``).

    Keyword overrides mirror the CLI flags: ``n_trials``, ``repeats`` (a count or a list of
    seeds), ``storage``, ``sampler``, ``jobs``, ``runner``, ``pruner`` (a name).
    """
    from tuning.errors import keyword_fields
    from tuning.progress import RichReporter, SilentReporter
    from tuning.search.loop import run_search as _run
    from tuning.spec import StudySpec, apply_overrides, load_spec

    with keyword_fields():  # a mistake in an override names the keyword given, not the CLI's flag
        if data is not None or build is not None:
            spec = _in_memory(spec, data, build)
        elif not isinstance(spec, StudySpec):
            spec = load_spec(spec)
        spec = apply_overrides(spec, **overrides)
        outcome = _run(spec, reporter=SilentReporter() if quiet else RichReporter())
    if outcome.fits_run and outcome.fits_failed == outcome.fits_run and not outcome.complete:
        # quiet by default, a notebook would learn it only from the outcome's counts (scikit-learn's
        # searches say so too when every fit failed)
        import warnings

        warnings.warn(f"study {spec.name!r}: all {outcome.fits_run} fits this run ran failed; "
                      f"tuning.load_results({spec.name!r}, {outcome.storage!r}).fits['error'] says why",
                      UserWarning, stacklevel=2)
    return outcome


def _in_memory(spec: str | Path | dict | StudySpec, data: Any, build: Callable | None) -> StudySpec:
    """``spec`` with its problem the in-memory ``data`` (registered under the study's name) and its
    model the in-process function ``build`` (registered under its ``module:qualname``)."""
    from tuning.errors import SpecError
    from tuning.spec import StudySpec, load_spec, read_spec_file

    label = spec._source if isinstance(spec, StudySpec) else str(spec) if isinstance(spec, str | Path) else "<spec>"
    if isinstance(spec, StudySpec):
        fields = spec.model_dump(mode="json", exclude_unset=True)
    elif isinstance(spec, dict):
        fields = dict(spec)
    else:
        fields = read_spec_file(spec)
    name = fields.get("name") if isinstance(fields.get("name"), str) else ""
    if data is not None:
        from tuning.problems import ArrayProblem, register_arrays

        problem = fields.get("problem")
        if problem is not None and (problem.get("name") if isinstance(problem, dict) else None) != IN_MEMORY_PROBLEM:
            raise SpecError("give the data either as data= or as the spec's problem, not both", source=label,
                            field="problem")
        arrays = ArrayProblem.of(data)
        if name:
            register_arrays(name, arrays)
        fields["problem"] = {"name": IN_MEMORY_PROBLEM, "params": arrays.params(name)}
    if build is not None:
        from tuning.builders import register_builder

        model = dict(fields.get("model") or {})
        path = register_builder(build)
        if model.get("builder") not in (None, path):
            raise SpecError(f"give the model either as build= or as model.builder ({model['builder']}), not both",
                            source=label, field="model.builder")
        model["builder"] = path
        if "style" not in model:
            model["style"] = "kerastuner" if _parameters(build) == 1 else "config"
        fields["model"] = model
    return load_spec(fields, label=label)


def _parameters(function: Callable) -> int:
    """How many positional parameters ``function`` takes (KerasTuner's ``build(hp)`` takes one)."""
    import inspect

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return 2
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in signature.parameters.values() if p.kind in kinds)


def check_margin(margin: object | None, label: str = "--margin") -> object | None:
    """``margin`` as given, or a :class:`SpecError` naming ``label`` in the user's words."""
    if margin is None:
        return None
    from tuning.errors import SpecError
    from tuning.statistics import parse_margin

    try:
        parse_margin(margin)
    except ValueError as exc:
        raise SpecError(str(exc), field=label) from None
    return margin


def delete_study(study: str, storage: str | Store | None = None) -> int:
    """Remove ``study`` and everything stored of it (its trials, fits and curves); the number of
    fits removed. Refused while a live worker holds it (optuna.delete_study would leave this
    package's own tables behind). The Python form of ``tuning delete``."""
    from tuning.errors import SpecError
    from tuning.store import open_store

    store = open_store(storage)
    store.require_study(study)
    live = store.live_owners(study)
    if live:
        raise SpecError(f"study {study!r} has {len(live)} live worker(s) ({', '.join(sorted(live))}): stop them "
                        "first, then delete it", field="study")
    return store.delete_study(study)


def study_status(study: str, storage: str | Store | None = None, top: int = 5, *,
                 margin: object | None = None) -> dict[str, Any]:
    """Counts of trials by state, trials remaining, the best configs (mean ± std, n seeds), the naive
    baseline compared with (``baseline`` on the metric, ``baseline_name``), and the verdict: which
    could be the best, the simplest equivalent to it at the margin, seeds needed, and its
    ``warnings`` (targets outside the training range, every config worse than the baseline).

    ``storage``: an open store, a URL, or None for ``$TUNING_STORAGE`` / ``sqlite:///tuning.db``.
    ``margin`` overrides the spec's ``objective.margin`` (a number or a string like ``"2%"``).
    """
    from tuning.analysis import load_results, select, verdict
    from tuning.analysis.tables import baseline_name, data_transforms
    from tuning.backends import grid_sample_words, planned_trials
    from tuning.results import TrialStatus
    from tuning.search.study_record import masks_words
    from tuning.search.workers import live_owners, worker_lines
    from tuning.space import SearchSpace
    from tuning.spec import load_spec
    from tuning.store import PROCEDURE_MASKS, open_store
    from tuning.trials import finished_trials, race_lines, read_trials, trial_numbers, tuner_ended_after

    store = open_store(storage)
    record = store.require_study(study)
    spec = load_spec(record["spec"], label=f"study {study!r}")
    trials = read_trials(store, study)
    counts = {s.value: sum(1 for t in trials if t["status"] == s)
              for s in (TrialStatus.COMPLETE, TrialStatus.RUNNING, TrialStatus.FAILED, TrialStatus.INTERRUPTED,
                        TrialStatus.RESUMED, TrialStatus.PRUNED)}
    grid_size = len(SearchSpace.from_spec(spec).grid()) if spec.sampler.name == "grid" else None
    ended = tuner_ended_after(store, study) if spec.backend == "kerastuner" else None
    planned = planned_trials(spec, grid_size, ended)
    finished = finished_trials(trials, spec)
    numbers = trial_numbers(trials)  # a config is named by the first trial that ran it
    check_margin(margin, "margin")  # named as Python's keyword (the CLI checks it first, as --margin)
    results = load_results(study, store)
    # The best configs on every stored seed (the summary table's rank, as the report ranks them),
    # not on the seeds a trial itself was scored on: a later run may have added seeds.
    # A config still running (or interrupted) is ranked on its stored seeds too, as the verdict
    # below compares it, and says so.
    latest = {t["config_key"]: t for t in sorted(trials, key=lambda t: t["number"])
              if t["config_key"] and t["status"] != TrialStatus.DUPLICATE}
    complete = {t["config_key"]: t for t in trials if t["status"] == TrialStatus.COMPLETE}
    best = []
    for row in results.summary.dropna(subset=["rank"]).sort_values("rank", kind="stable").itertuples():
        trial = complete.get(row.config_key) or latest.get(row.config_key)
        if trial is not None:
            state = None if row.config_key in complete else TrialStatus(trial["status"]).value
            best.append({**trial, "number": numbers.get(row.config_key, trial["number"]), "mean": row.mean,
                         "std": row.std, "n_seeds": row.n_seeds, "state": state, "aggregate": row.aggregate})
    summary = verdict(results, select(results, margin=margin), storage=store.shown)
    masks = record["dropout_masks"]
    live = live_owners(store, study)
    old_word = {m: p for p, m in PROCEDURE_MASKS.items()}[masks]  # "procedure": the key's old name and words
    return {
        "stranded": sum(1 for t in trials if t["status"] == TrialStatus.RUNNING and t.get("owner")
                        and t["owner"] not in live),  # left by a worker that is gone (reading alters nothing)
        "tuner_ended": ended, "sampler": spec.sampler.name, "grid_sampled": grid_sample_words(spec, grid_size),
        "name": study, "storage": store.shown, "planned": planned,
        "remaining": max(planned - finished - counts[TrialStatus.RUNNING.value], 0),
        "fits": store.count_fits(study), "metric": spec.objective.metric, "aggregate": spec.objective.aggregate,
        "direction": spec.objective.direction, "baseline": record["baseline"].get(spec.objective.metric),
        "baseline_name": baseline_name(results), "transforms": data_transforms(results),
        "best": best[:top], "ranked": len(best), "failures": [t for t in trials if t["status"] == TrialStatus.FAILED], **counts,
        "verdict": summary, "dropout_masks": masks, "keras_backend": spec.keras_backend,
        "asks_for_dropout": spec.asks_for_dropout(),
        "dropout_masks_words": masks_words(masks, builder=spec.model.builder is not None,
                                           keras_backend=spec.keras_backend), "procedure": old_word,
        "race": race_lines(spec.repeats.model_dump(), trials, numbers), "workers": worker_lines(store, study),
    }


def status_lines(info: dict[str, Any]) -> list[str]:
    """What ``tuning status`` prints for one study, from :func:`study_status`'s ``info``."""
    from tuning.progress import config_summary

    lines: list[str] = []
    echo = lines.append
    echo(f"study {info['name']}  ({info['storage']})")
    echo(f"  trials: {info['complete']} complete, "
         + (f"{info['pruned']} pruned (stopped early by the pruner, not compared), " if info.get("pruned") else "")
         + f"{info['running']} running"
         + (f" ({info['stranded']} of them left by a worker that is gone: the next run or worker on the study "
            "marks them interrupted and takes their configs over)" if info.get("stranded") else "")
         + f", {info['failed']} failed, "
         f"{info['interrupted']} interrupted, {info['remaining']} remaining of {info['planned']}"
         + (" (the interrupted among them: their configs run again)" if info["interrupted"] and info["remaining"] else "")
         + (f" ({info['grid_sampled']})" if info.get("grid_sampled") else "")
         + (f" (KerasTuner's {info['sampler']} ended after {info['tuner_ended']}: it ran out of new configs)"
            if info.get("tuner_ended") is not None else "")
         + f"; {info['fits']} fits stored"
         + (f"; {info['resumed']} interrupted trial(s) taken up again by a later trial of their config"
            if info.get("resumed") else ""))
    baseline = info["baseline"]
    echo(f"  objective: {info['aggregate']} {info['metric']} ({info['direction']})"
         + (f"; naive baseline ({info['baseline_name']}) {baseline:.4g}" if baseline is not None else ""))
    if info.get("transforms"):
        echo(f"  data transforms: {info['transforms']}")
    if info["asks_for_dropout"]:  # without dropout the masks are no part of a fit
        echo(f"  dropout masks: {info['dropout_masks']} ({info['dropout_masks_words']})")
    echo(f"  keras backend: {info['keras_backend']} (every fit of the study; another backend gives other scores)")
    for line in info["verdict"].warnings:
        echo(f"  warning: {line}")
    if info["best"]:  # the ± is the seeds' spread, not an interval: said once, as the report's table heads it
        echo(f"  best configs by {info['aggregate']} {info['metric']}: mean ± std over seeds (n seeds)")
    for rank, trial in enumerate(info["best"], 1):
        searched = {k: v for k, v in trial["params"].items()}
        spread = f"{trial['std']:.2g}" if trial["n_seeds"] >= 2 else "–"
        state = f", {trial['state']}" if trial.get("state") else ""
        # ranked by the study's aggregate: said first when it is not the mean the ± goes with
        ranked_by = "" if info["aggregate"] == "mean" else f"{info['aggregate']} {trial['aggregate']:.4g}; mean "
        echo(f"  {rank}. trial {trial['number']}: {ranked_by}{trial['mean']:.4g} ± {spread} (n={trial['n_seeds']}"
             f"{state})  {config_summary(searched)}")
    if info.get("ranked", 0) > len(info["best"]):  # the list is cut: say so, and how to see it all
        echo(f"  ... and {info['ranked'] - len(info['best'])} more ranked config(s): --top {info['ranked']} lists "
             "them all, `tuning report` tabulates them")
    for trial in info["failures"][:5]:
        echo(f"  failed trial {trial['number']}: {trial['fail_reason']}")
    for line in info["verdict"].lines:
        echo(f"  {line}")
    for line in info.get("race", []) + info.get("workers", []):
        echo(f"  {line}")
    return lines
