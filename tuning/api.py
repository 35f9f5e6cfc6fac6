"""The Python API behind the CLI: run a study, read its results as pandas DataFrames.

Example:
    >>> import tuning
    >>> outcome = tuning.run_study("studies/quickstart.yaml", n_trials=2)   # doctest: +SKIP
    >>> results = tuning.load_results("quickstart")                         # doctest: +SKIP
    >>> results.trials[["param_units", "mean", "std", "n_seeds"]]          # doctest: +SKIP
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
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


@dataclass
class Results:
    """A study's results as DataFrames.

    Attributes:
        fits: one row per (config, seed): ``trial``, ``config_key``, ``seed``, ``status``,
            ``param_<name>`` for every config setting, every final score, ``epochs_run``,
            ``best_epoch``, ``fit_seconds``, ``error``.
        trials: one row per config with a finished fit, like scikit-learn's ``cv_results_``:
            ``param_<name>``, ``seed<k>_<metric>``, ``n_seeds``, ``mean``, ``std``, ``min``,
            ``max``, ``mean_fit_seconds``, ``status`` of its trial.
        curves: long format, one row per (config, seed, epoch, curve): ``config_key``, ``seed``,
            ``epoch``, ``curve`` (``loss``, ``val_loss`` ...), ``value``.
        baseline: the naive baseline's scores on the same split.
        metric, direction: the study's objective.
        summary, marginals, diagnosis: the report's tables, computed on first access
            (the same DataFrames ``tuning report`` exports).
    """

    name: str
    fits: pd.DataFrame
    trials: pd.DataFrame
    curves: pd.DataFrame
    baseline: dict[str, float]
    metric: str
    direction: str
    spec: dict[str, Any]

    @cached_property
    def diagnosis(self) -> pd.DataFrame:
        """Learning-curve diagnosis per fit and per config (see :mod:`tuning.diagnose`)."""
        from tuning.diagnose import diagnose_study

        return diagnose_study(self)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """The robustness table, one row per config (see :func:`tuning.analysis.summary_table`)."""
        from tuning.analysis import summary_table

        return summary_table(self, diagnosis=self.diagnosis)

    @cached_property
    def marginals(self) -> pd.DataFrame:
        """Seed scores described per value of each searched parameter."""
        from tuning.analysis import marginals

        return marginals(self)


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
    fit_rows, curve_rows = [], []
    for fit in store.fit_rows(study):
        row = {"trial": fit["trial_number"], "config_key": fit["config_key"], "seed": fit["seed"], "status": fit["status"]}
        row.update({f"param_{k}": _cell(v) for k, v in sorted(fit["config"].items())})
        row.update(fit["scores"])
        row.update(epochs_run=fit["epochs_run"], best_epoch=fit["best_epoch"], fit_seconds=fit["fit_seconds"],
                   error=fit["error"])
        fit_rows.append(row)
        for curve, values in fit["curves"].items():
            curve_rows.extend(
                {"config_key": fit["config_key"], "seed": fit["seed"], "epoch": i + 1, "curve": curve, "value": v}
                for i, v in enumerate(values)
            )
    fits = pd.DataFrame(fit_rows)
    curves = pd.DataFrame(curve_rows, columns=["config_key", "seed", "epoch", "curve", "value"])
    trials = _per_config(fits, metric, trial_status)
    return Results(study, fits, trials, curves, record["baseline"], metric, direction, record["spec"])


def _cell(value: Any) -> Any:
    return str(value) if isinstance(value, list) else value


def _per_config(fits: pd.DataFrame, metric: str, trial_status: dict[str, str]) -> pd.DataFrame:
    import pandas as pd

    if fits.empty:
        return pd.DataFrame()
    rows = []
    params = [c for c in fits.columns if c.startswith("param_")]
    for key, group in fits.groupby("config_key", sort=False):
        ok = group[group["status"] == "ok"]
        values = [v for v in ok.get(metric, pd.Series(dtype=float)).tolist() if v == v]
        row = {"config_key": key, "trial": group["trial"].min(), "status": trial_status.get(key, "running")}
        row.update({p: group[p].iloc[0] for p in params})
        row.update({f"seed{int(s)}_{metric}": v for s, v in zip(ok["seed"], ok.get(metric, []), strict=True)})
        row.update(
            n_seeds=len(values), n_failed=int((group["status"] != "ok").sum()),
            mean=statistics.fmean(values) if values else math.nan,
            std=statistics.stdev(values) if len(values) > 1 else (0.0 if values else math.nan),
            min=min(values) if values else math.nan, max=max(values) if values else math.nan,
            mean_fit_seconds=float(group["fit_seconds"].mean()),
        )
        rows.append(row)
    return pd.DataFrame(rows)


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


def study_status(study: str, storage: str = DEFAULT_STORAGE, top: int = 5) -> dict[str, Any]:
    """Counts of trials by state, trials remaining and the best configs (mean ± std, n seeds)."""
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
    planned = spec.n_trials or 0
    if spec.sampler.name == "grid":  # as OptunaBackend.planned(): the grid caps the trials
        grid_size = len(SearchSpace.from_spec(spec).grid())
        planned = min(spec.n_trials or grid_size, grid_size)
    seeds = set(spec.seeds)
    finished = sum(1 for t in trials if t["status"] in ("complete", "failed") and seeds <= set(t["seeds"] or []))
    complete = [t for t in trials if t["status"] == "complete"]
    reverse = spec.objective.direction == "maximize"
    complete.sort(key=lambda t: t["value"], reverse=reverse)
    return {
        "name": study, "storage": store.url, "planned": planned, "remaining": max(planned - finished, 0),
        "fits": store.count_fits(study), "metric": spec.objective.metric, "aggregate": spec.objective.aggregate,
        "direction": spec.objective.direction, "baseline": record["baseline"].get(spec.objective.metric),
        "best": complete[:top], "failures": [t for t in trials if t["status"] == "failed"], **counts,
    }
