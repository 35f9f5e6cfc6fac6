"""The Python API behind the CLI: run a study, read its results as pandas DataFrames.

Example:
    >>> import tuning
    >>> outcome = tuning.run_study("studies/quickstart.yaml", n_trials=2)   # doctest: +SKIP
    >>> results = tuning.load_results("quickstart")                         # doctest: +SKIP
    >>> results.trials[["param_units", "mean", "std", "n_seeds"]]          # doctest: +SKIP
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuning.errors import StoreError

if TYPE_CHECKING:
    import pandas as pd

    from tuning.spec import StudySpec
    from tuning.store import Store
    from tuning.study import StudyOutcome

DEFAULT_STORAGE = "sqlite:///tuning.db"


def run_study(spec: str | Path | dict | StudySpec, *, quiet: bool = True, **overrides: Any) -> StudyOutcome:
    """Run or continue a study from a spec file, a mapping, or a :class:`StudySpec`.

    Keyword overrides mirror the CLI flags: ``n_trials``, ``repeats`` (a count or a list of
    seeds), ``storage``, ``sampler``, ``jobs``, ``runner``.
    """
    from tuning.progress import RichReporter, SilentReporter
    from tuning.spec import StudySpec, apply_overrides, load_spec
    from tuning.study import run_study as _run

    if not isinstance(spec, StudySpec):
        spec = load_spec(spec)
    spec = apply_overrides(spec, **overrides)
    return _run(spec, reporter=SilentReporter() if quiet else RichReporter())


FitCurves = dict[tuple[str, int], dict[str, list[float]]]
"""(config_key, seed) -> curve name (``loss``, ``val_loss`` ...) -> one value per epoch."""

CURVE_COLUMNS = ["config_key", "seed", "epoch", "curve", "value"]


class Results:
    """A study's results as DataFrames.

    Attributes:
        fits: one row per (config, seed): ``trial``, ``config_key``, ``seed``, ``status``,
            ``param_<name>`` for every config setting, every final score, ``epochs_run``,
            ``best_epoch``, ``fit_seconds``, ``error``, ``trainable_weights`` (None for fits
            stored before it was recorded).
        trials: one row per config with a finished fit, like scikit-learn's ``cv_results_``:
            ``param_<name>``, ``seed<k>_<metric>``, ``n_seeds``, ``mean``, ``std``, ``min``,
            ``max``, ``mean_fit_seconds``, ``status`` of its trial.
        fit_curves: each fit's curves as plain lists, keyed by ``(config_key, seed)``: what the
            diagnosis and the plots read (one lookup per fit instead of filtering a long table).
        curves: the same values in long format, one row per (config, seed, epoch, curve):
            ``config_key``, ``seed``, ``epoch``, ``curve`` (``loss``, ``val_loss`` ...),
            ``value``; built on first access (a large study has millions of curve points).
        baseline: the naive baseline's scores on the same split.
        metric, direction: the study's objective.
        summary, marginals, diagnosis: the report's tables, computed on first access
            (the same DataFrames ``tuning report`` exports).
        verdict: which configs could be the best, the simplest one equivalent to it at the spec's
            margin, and the seeds that would tell the top two apart (:class:`tuning.analysis.Verdict`;
            ``verdict.lines`` are the sentences ``tuning status`` prints).
        storage: the store it was read from (None when built by hand).

    ``curves`` may be given either way: as the long DataFrame or as a :data:`FitCurves` mapping.
    """

    def __init__(self, name: str, fits: pd.DataFrame, trials: pd.DataFrame, curves: pd.DataFrame | FitCurves,
                 baseline: dict[str, float], metric: str, direction: str, spec: dict[str, Any],
                 storage: str | None = None):
        self.name, self.fits, self.trials, self.storage = name, fits, trials, storage
        self.baseline, self.metric, self.direction, self.spec = baseline, metric, direction, spec
        if isinstance(curves, dict):
            self.fit_curves: FitCurves = curves
            self._curves: pd.DataFrame | None = None
        else:
            self.fit_curves = _curves_by_fit(curves)
            self._curves = curves

    def __repr__(self) -> str:
        configs = self.fits["config_key"].nunique() if len(self.fits) else 0
        return f"Results({self.name!r}: {len(self.fits)} fits of {configs} configs, {self.direction} {self.metric})"

    @property
    def curves(self) -> pd.DataFrame:
        if self._curves is None:
            self._curves = _long_curves(self.fit_curves)
        return self._curves

    @cached_property
    def diagnosis(self) -> pd.DataFrame:
        """Learning-curve diagnosis per fit and per config (see :mod:`tuning.diagnose`)."""
        from tuning.diagnose import diagnose_study

        return diagnose_study(self)

    @cached_property
    def _selection(self):
        from tuning.analysis import select

        return select(self)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """The robustness table, one row per config (see :func:`tuning.analysis.summary_table`)."""
        from tuning.analysis import summary_table

        return summary_table(self, diagnosis=self.diagnosis, selected=self._selection)

    @cached_property
    def verdict(self):
        """Could be best, the simplest equivalent config, seeds needed (:func:`tuning.analysis.verdict`)."""
        from tuning.analysis import verdict

        return verdict(self, self._selection, storage=self.storage)

    @cached_property
    def marginals(self) -> pd.DataFrame:
        """Seed scores described per value of each searched parameter."""
        from tuning.analysis import marginals

        return marginals(self)


def _long_curves(fit_curves: FitCurves) -> pd.DataFrame:
    """The long table of every curve point, built with NumPy (no Python object per point)."""
    import numpy as np
    import pandas as pd

    keys, seeds, names, lengths, values = [], [], [], [], []
    for (key, seed), named in fit_curves.items():
        for curve, points in named.items():
            keys.append(key)
            seeds.append(seed)
            names.append(curve)
            lengths.append(len(points))
            values.append(points)
    if not lengths or not sum(lengths):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            CURVE_COLUMNS, ("str", "int64", "int64", "str", "float64"), strict=True)})
    counts = np.asarray(lengths)
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return pd.DataFrame({
        "config_key": np.repeat(np.asarray(keys, dtype=object), counts).astype(str),
        "seed": np.repeat(np.asarray(seeds, dtype=np.int64), counts),
        "epoch": np.arange(total, dtype=np.int64) - starts + 1,
        "curve": np.repeat(np.asarray(names, dtype=object), counts).astype(str),
        "value": np.fromiter((v for points in values for v in points), dtype=float, count=total),
    })


def _curves_by_fit(curves: pd.DataFrame) -> FitCurves:
    """The long table back to one list per (fit, curve), in epoch order."""
    if curves is None or curves.empty:
        return {}
    by_fit: FitCurves = {}
    ordered = curves.sort_values("epoch", kind="stable")
    for (key, seed, curve), group in ordered.groupby(["config_key", "seed", "curve"], sort=False):
        by_fit.setdefault((key, int(seed)), {})[curve] = group["value"].astype(float).tolist()
    return by_fit


def load_results(study: str, storage: str = DEFAULT_STORAGE) -> Results:
    """Read every fit of ``study`` from the store (no TensorFlow is imported)."""
    import pandas as pd

    from tuning.store import Store

    store = Store(storage, create=False)
    record = store.study_record(study)
    if record is None:
        raise StoreError(f"{store.url}: no study named {study!r} (studies: {', '.join(store.study_names()) or 'none'})")
    metric = record["spec"]["objective"]["metric"]
    direction = record["spec"]["objective"]["direction"]
    trial_status = _trial_statuses(store, study)
    fit_rows, fit_curves = [], {}
    for fit in store.fit_rows(study):
        row = {"trial": fit["trial_number"], "config_key": fit["config_key"], "seed": fit["seed"], "status": fit["status"]}
        row.update({f"param_{k}": _cell(v) for k, v in sorted(fit["config"].items())})
        row.update(fit["scores"])
        row.update(epochs_run=fit["epochs_run"], best_epoch=fit["best_epoch"], fit_seconds=fit["fit_seconds"],
                   error=fit["error"], trainable_weights=fit["trainable_weights"])
        fit_rows.append(row)
        fit_curves[(fit["config_key"], fit["seed"])] = fit["curves"]
    fits = pd.DataFrame(fit_rows)
    trials = _per_config(fits, metric, trial_status)
    return Results(study, fits, trials, fit_curves, record["baseline"], metric, direction, record["spec"], store.url)


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, list) else value


def _per_config(fits: pd.DataFrame, metric: str, trial_status: dict[str, str]) -> pd.DataFrame:
    """One row per config: its parameters, each seed's score, and their mean/std/min/max."""
    import pandas as pd

    if fits.empty:
        return pd.DataFrame()
    params = [c for c in fits.columns if c.startswith("param_")]
    grouped = fits.groupby("config_key", sort=False)
    table = grouped[["trial"]].min()
    table.insert(0, "status", [trial_status.get(k, "running") for k in table.index])
    table = table[["trial", "status"]].join(grouped[params].first())
    score = pd.to_numeric(fits[metric], errors="coerce") if metric in fits.columns else pd.Series(math.nan, fits.index)
    ok = fits.assign(_score=score)[(fits["status"] == "ok") & score.notna()]
    per_seed = ok.pivot_table(index="config_key", columns="seed", values="_score", aggfunc="first", sort=True)
    per_seed.columns = [f"seed{int(s)}_{metric}" for s in per_seed.columns]
    stats = ok.groupby("config_key", sort=False)["_score"].agg(["count", "mean", "std", "min", "max"])
    table = table.join(per_seed)
    table["n_seeds"] = stats["count"].reindex(table.index).fillna(0).astype(int)
    table["n_failed"] = (fits["status"] != "ok").groupby(fits["config_key"], sort=False).sum().astype(int)
    table["mean"] = stats["mean"].reindex(table.index)
    # statistics.stdev semantics: one seed has no spread (0.0), none has no value (NaN)
    table["std"] = stats["std"].reindex(table.index).where(table["n_seeds"] != 1, 0.0)
    table["min"] = stats["min"].reindex(table.index)
    table["max"] = stats["max"].reindex(table.index)
    table["mean_fit_seconds"] = grouped["fit_seconds"].mean().astype(float)
    return table.reset_index()


def _trial_statuses(store: Store, study: str) -> dict[str, str]:
    """config_key → the latest conclusion of its trial (complete / failed / running ...)."""
    return {t["config_key"]: t["status"] for t in study_trials(store, study) if t["config_key"]}


def study_trials(store: Store, study: str) -> list[dict[str, Any]]:
    """Optuna's trials of a study as plain dicts (number, status, config_key, value, attrs)."""
    import optuna

    from tuning.backends.optuna import trial_status

    try:
        loaded = optuna.load_study(study_name=study, storage=store.optuna_storage())
    except KeyError:
        return []
    trials = [
        {"number": t.number, "status": trial_status(t), "config_key": t.user_attrs.get("config_key"),
         "value": t.value, "params": t.params,
         **{k: t.user_attrs.get(k) for k in ("mean", "std", "n_seeds", "seeds", "fail_reason", "config")}}
        for t in loaded.get_trials(deepcopy=False)
    ]
    # A config re-run with more seeds has a newer trial; the older one is kept but superseded.
    latest = {t["config_key"]: t["number"] for t in trials if t["status"] in ("complete", "failed")}
    for t in trials:
        if t["status"] in ("complete", "failed") and latest[t["config_key"]] != t["number"]:
            t["status"] = "superseded"
    return trials


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


def study_status(study: str, storage: str = DEFAULT_STORAGE, top: int = 5, *, margin: object | None = None) -> dict[str, Any]:
    """Counts of trials by state, trials remaining, the best configs (mean ± std, n seeds), and the
    verdict: which could be the best, the simplest equivalent to it at the margin, seeds needed.

    ``margin`` overrides the spec's ``objective.margin`` (a number or a string like ``"2%"``).
    """
    from tuning.analysis import select, verdict
    from tuning.backends import planned_trials
    from tuning.space import SearchSpace
    from tuning.spec import load_spec
    from tuning.store import Store

    store = Store(storage, create=False)
    record = store.study_record(study)
    if record is None:
        raise StoreError(f"{store.url}: no study named {study!r} (studies: {', '.join(store.study_names()) or 'none'})")
    spec = load_spec(record["spec"], label=f"study {study!r}")
    trials = study_trials(store, study)
    counts = {s: sum(1 for t in trials if t["status"] == s) for s in ("complete", "running", "failed", "interrupted")}
    grid_size = len(SearchSpace.from_spec(spec).grid()) if spec.sampler.name == "grid" else None
    planned = planned_trials(spec, grid_size)
    seeds = set(spec.seeds)
    finished = sum(1 for t in trials if t["status"] in ("complete", "failed") and seeds <= set(t["seeds"] or []))
    complete = [t for t in trials if t["status"] == "complete"]
    reverse = spec.objective.direction == "maximize"
    complete.sort(key=lambda t: t["value"], reverse=reverse)
    check_margin(margin)
    results = load_results(study, storage)
    numbers = {t["config_key"]: t["number"] for t in trials if t["status"] in ("complete", "failed")}
    summary = verdict(results, select(results, margin=margin), storage=store.url, trial_numbers=numbers)
    return {
        "name": study, "storage": store.url, "planned": planned, "remaining": max(planned - finished, 0),
        "fits": store.count_fits(study), "metric": spec.objective.metric, "aggregate": spec.objective.aggregate,
        "direction": spec.objective.direction, "baseline": record["baseline"].get(spec.objective.metric),
        "best": complete[:top], "failures": [t for t in trials if t["status"] == "failed"], **counts,
        "verdict": summary,
    }
