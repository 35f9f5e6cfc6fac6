"""A study's results as plain DataFrames: :class:`Results`, and :func:`load_results` to read one.

This is the analysis's input: every fit of a study (scores, curves, status) read out of the
store once, with nothing of Keras or Optuna in it. The tables (:mod:`tuning.analysis.tables`),
the diagnosis and the report are computed from it; its cached properties are those tables.
``Results`` is the facade above them: they read it through the
:class:`~tuning.analysis.inputs.StudyFrames` protocol and never import this module.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tuning.analysis.inputs import FitCurves, param_cell, param_value, varying_params
from tuning.analysis.seeds import config_table
from tuning.store import Store, open_store

if TYPE_CHECKING:
    import pandas as pd

CURVE_COLUMNS = ["config_key", "seed", "epoch", "curve", "value"]


class Results:
    """A study's results as DataFrames.

    Attributes:
        fits: one row per (config, seed): ``trial``, ``config_key``, ``seed``, ``status``,
            ``param_<name>`` for every config setting, every final score, ``epochs_run``,
            ``best_epoch``, ``fit_seconds``, ``error``, ``trainable_weights`` (None for fits
            stored before it was recorded), ``stored_at`` (when the fit was written to the store,
            a UTC timestamp: with ``fit_seconds``, when each fit ran, on whichever worker).
        trials: one row per config with a finished fit, in trial order, like scikit-learn's
            ``cv_results_``: ``config_key``, ``trial`` (the first trial that ran it, the number
            the sentences name it by), ``status`` of its trial, ``param_<name>``,
            ``seed<k>_<metric>`` (``split<k>_test_score``), ``n_seeds``, ``n_failed``, ``mean``,
            ``std`` (NaN for one seed: a spread unknown, not zero), ``min``, ``median``, ``max``,
            ``fit_seconds`` (the mean over its seeds); in a raced study ``race_eliminated``, what
            the race said when it dropped the config (None if it did not). Its ranks are in
            ``summary`` (best first; both have a plain 0-based index, so select by ``config_key``
            or ``trial``, not by ``loc``).
        fit_curves: each fit's curves as plain lists, keyed by ``(config_key, seed)``: what the
            diagnosis and the plots read (one lookup per fit instead of filtering a long table).
        curves: the same values in long format, one row per (config, seed, epoch, curve):
            ``config_key``, ``seed``, ``epoch``, ``curve`` (``loss``, ``val_loss`` ...),
            ``value``; built on first access (a large study has millions of curve points).
        baseline: the naive baseline's scores on the same split.
        metric, direction: the study's objective.
        selection: each config's seed statistics and could-be-best columns, best first, without
            the diagnosis (:class:`tuning.analysis.Selection`; its ``table`` ranks the configs).
        summary, marginals, diagnosis: the report's tables, computed on first access
            (the same DataFrames ``tuning report`` exports).
        verdict: which configs could be the best, the simplest one equivalent to it at the spec's
            margin, and the seeds that would tell the top two apart (:class:`tuning.analysis.Verdict`;
            ``verdict.lines`` are the sentences ``tuning status`` prints).
        best_config_key, best_params, best_score: the best config (``summary``'s rank 1 among
            the configs compared, those with 2 or more seeds), its searched settings and its
            aggregate over seeds (scikit-learn's ``best_params_`` and ``best_score_``); ``None``
            when no config has a score.
        name, spec: the study's name and its spec as stored (a dict).
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
        """Learning-curve diagnosis per fit and per config (see :mod:`tuning.analysis.diagnose`)."""
        from tuning.analysis.diagnose import diagnose_study

        return diagnose_study(self)

    @cached_property
    def selection(self):
        """Seed statistics and could-be-best per config, best first, without the diagnosis
        (:func:`tuning.analysis.select`): what ``summary`` and ``verdict`` are built on, and all
        that ranking the configs needs."""
        from tuning.analysis.tables import select

        return select(self)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """The robustness table, one row per config (see :func:`tuning.analysis.summary_table`)."""
        from tuning.analysis.tables import summary_table

        return summary_table(self, diagnosis=self.diagnosis, selected=self.selection)

    @cached_property
    def verdict(self):
        """Could be best, the simplest equivalent config, seeds needed (:func:`tuning.analysis.verdict`)."""
        from tuning.analysis.verdicts import verdict
        from tuning.urls import shown_url

        return verdict(self, self.selection, storage=None if self.storage is None else shown_url(self.storage))

    def _best(self) -> pd.Series | None:
        """The best config's row of ``selection.table`` (:func:`~tuning.analysis.tables.best_row`)."""
        from tuning.analysis.tables import best_row

        table = self.selection.table
        row = best_row(table) if len(table) else None
        return None if row is None else table.loc[row]

    @property
    def best_config_key(self) -> str | None:
        best = self._best()
        return None if best is None else str(best["config_key"])

    @property
    def best_params(self) -> dict[str, Any] | None:
        best = self._best()
        if best is None:
            return None
        fit = self.fits[self.fits["config_key"] == best["config_key"]].iloc[0]
        searched = self.spec.get("space") if isinstance(self.spec.get("space"), dict) else None
        names = [c.removeprefix("param_") for c in self.fits.columns if c.startswith("param_")]
        return {n: param_value(fit[f"param_{n}"]) for n in names if searched is None or n in searched}

    @property
    def best_score(self) -> float | None:
        best = self._best()
        return None if best is None else float(best["aggregate"])

    def best_model(self, config: str | int = "best", seed: int | None = None):
        """The trained Keras model of ``config`` on ``seed``, refitted as its scores were computed.

        ``config``: ``"best"``, ``"simplest"``, a trial number or a config key; ``seed``: by
        default the config's best seed on the objective (see :mod:`tuning.refit`, which this
        calls: the store keeps no weights, so this refits one fit; TensorFlow is imported here).
        A refit whose score is not the stored one (another machine or library version) warns with
        both scores, as ``tuning export`` says them.
        """
        from tuning.errors import keyword_fields
        from tuning.refit import refit

        with keyword_fields():
            found = refit(self, config=config, seed=seed)
        if not found.same:  # the model in hand is not the one the stored scores describe: say so, as export does
            import warnings

            warnings.warn(found.line(), UserWarning, stacklevel=2)
        return found.model

    @cached_property
    def marginals(self) -> pd.DataFrame:
        """Seed scores described per value of each searched parameter."""
        from tuning.analysis.tables import marginals

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


def load_results(study: str, storage: str | Store | None = None) -> Results:
    """Read every fit of ``study`` from the store (no TensorFlow is imported).

    ``storage`` is an open :class:`~tuning.store.Store` (a report reads through one), a URL or
    SQLite path, or None for ``$TUNING_STORAGE``, else ``sqlite:///tuning.db``.
    """
    import pandas as pd

    from tuning.trials import latest_statuses, race_eliminations, read_trials, trial_numbers

    store = open_store(storage)
    record = store.require_study(study)
    metric = record["spec"]["objective"]["metric"]
    direction = record["spec"]["objective"]["direction"]
    trials = read_trials(store, study)
    statuses, numbers = latest_statuses(trials), trial_numbers(trials)
    fit_rows, fit_curves = [], {}
    for fit in store.fit_rows(study):
        # a config is named by the first trial that ran it, whichever later trial stored this fit
        trial = numbers.get(fit["config_key"], fit["trial_number"])
        row = {"trial": trial, "config_key": fit["config_key"], "seed": fit["seed"], "status": fit["status"]}
        row.update({f"param_{k}": param_cell(v) for k, v in sorted(fit["config"].items())})
        row.update(fit["scores"])
        row.update(epochs_run=fit["epochs_run"], best_epoch=fit["best_epoch"], fit_seconds=fit["fit_seconds"],
                   error=fit["error"], trainable_weights=fit["trainable_weights"], stored_at=fit["created_at"])
        fit_rows.append(row)
        fit_curves[(fit["config_key"], fit["seed"])] = fit["curves"]
    fits = pd.DataFrame(fit_rows)
    if len(fits) and metric not in fits.columns:  # every fit failed: the objective's column is still there
        fits[metric] = math.nan
    for column in ("epochs_run", "best_epoch", "trainable_weights"):  # whole numbers, or missing: one dtype
        if column in fits.columns:
            fits[column] = pd.to_numeric(fits[column], errors="coerce").round().astype("Int64")
    if "stored_at" in fits.columns:
        fits["stored_at"] = pd.to_datetime(fits["stored_at"], unit="s", utc=True)
    trials = trials_table(fits, metric, statuses, race_eliminations(trials))
    return Results(study, fits, trials, fit_curves, record["baseline"], metric, direction, record["spec"], store.url)


#: The columns of ``results.trials`` after the params and the per-seed scores.
TRIAL_STATS = ["n_seeds", "n_failed", "mean", "std", "min", "median", "max", "fit_seconds"]


def trials_table(fits: pd.DataFrame, metric: str, statuses: dict[str, str],
                 eliminated: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per config like scikit-learn's ``cv_results_``: its trial and status, the params the
    configs differ in (:func:`~tuning.analysis.inputs.varying_params`; ``results.fits`` has them all),
    each seed's score (``seed<k>_<metric>``), and the seed statistics of :func:`config_table`;
    in a raced study, ``race_eliminated``: what the race said when it eliminated the config (else None)."""
    import pandas as pd

    if fits.empty:
        return pd.DataFrame()
    stats = config_table(fits, metric).set_index("config_key")
    params = varying_params(fits)
    table = fits.groupby("config_key", sort=False)[["trial"]].min()
    table.insert(1, "status", [statuses.get(k, "running") for k in table.index])
    table = table.join(stats[params])
    score = pd.to_numeric(fits[metric], errors="coerce") if metric in fits.columns else pd.Series(math.nan, fits.index)
    ok = fits.assign(_score=score)[(fits["status"] == "ok") & score.notna()]
    per_seed = ok.pivot_table(index="config_key", columns="seed", values="_score", aggfunc="first", sort=True)
    per_seed.columns = [f"seed{int(s)}_{metric}" for s in per_seed.columns]
    table = table.join(per_seed).join(stats[TRIAL_STATS])
    if eliminated:
        table["race_eliminated"] = [eliminated.get(k) for k in table.index]
    return table.rename_axis("config_key").reset_index()
