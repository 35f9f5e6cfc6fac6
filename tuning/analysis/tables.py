"""Tables of a study, one row per config: seed statistics, rank, which could be the best, diagnosis.

The question behind every column is "is this config really better, or was that a lucky seed?".
So a row carries the spread over seeds (std, sem, a 95 % Student-t interval), the study's
aggregate with its 95 % interval, a rank by that aggregate, and ``could_be_best``: whether the
seeds can rule the config out as the best, with an error rate that holds although the best was
picked from the same seeds (:mod:`tuning.statistics`: simultaneous comparisons, paired by seed).
With a margin (``objective.margin`` or ``margin=``), ``equivalent_to_best`` says which configs are
as good as the best within it, and :func:`verdict` names the simplest of them and how many seeds
would tell the top two apart. The methods and their measured error rates are in
docs/statistics.md.

Everything here is pandas and scipy on the DataFrames of :func:`tuning.load_results`; nothing
imports TensorFlow, so tables and exports work where no backend is installed.

Example:
    >>> results = tuning.load_results("quickstart")                           # doctest: +SKIP
    >>> summary_table(results)[["param_units", "mean", "could_be_best", "prob_best"]]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tuning import statistics
from tuning.analysis.diagnose import Thresholds, diagnose_study
from tuning.analysis.inputs import config_numbers, param_order
from tuning.analysis.seeds import config_table, good_scores, seed_matrix
from tuning.objective import orientation
from tuning.results import TrialStatus

if TYPE_CHECKING:
    from tuning.analysis.inputs import StudyFrames

#: The columns :func:`selection_table` adds to the seed statistics.
SELECTION = ["aggregate", "aggregate_low", "aggregate_high", "rank", "could_be_best", "prob_best", "p_vs_best",
             "paired", "seed_corr", "diff_vs_best", "equivalent_to_best", "tied_with_best"]
STATS = ["n_seeds", "n_failed", "divergence_rate", "mean", "std", "sem", "min", "median", "max", "ci95_low",
         "ci95_high", *SELECTION, "trainable_weights", "skill_vs_baseline", "baseline", "diagnosis", "diagnosis_evidence",
         "diagnosis_suggestion", "fit_seconds", "status"]
DESCRIBE = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]


def skill_score(score: float, baseline: float | None, direction: str) -> float:
    """Fraction of the way from the naive baseline to a perfect score (NaN when not defined).

    Losses (minimised, perfect = 0): ``1 - score / baseline``, the fraction of the naive error
    removed. Accuracy-like scores (maximised, perfect = 1): ``(score - baseline) / (1 - baseline)``.
    0 is "no better than naive", 1 is perfect, negative is worse than naive.
    """
    if baseline is None or not math.isfinite(baseline) or not math.isfinite(score):
        return math.nan
    if direction == "maximize":
        return (score - baseline) / (1 - baseline) if baseline < 1 else math.nan
    return 1 - score / baseline if baseline > 0 else math.nan


def baseline_name(results: StudyFrames) -> str:
    """Which naive baseline the study is compared with: the strongest of the problem's, by name
    ("persistence", "seasonal naive (12)" ...); "naive" for a study stored before baselines had names."""
    return str(results.baseline.get("name") or "naive")


def data_transforms(results: StudyFrames) -> str | None:
    """The transforms the problem applied to its data ("difference 1 (fitted on the training rows)"),
    as recorded when the study was created; ``None`` when there were none."""
    return (results.baseline.get("data") or {}).get("transforms")


def data_warnings(results: StudyFrames, table: pd.DataFrame | None = None) -> list[str]:
    """Why a study may be doomed whatever the config: val/test targets outside the training range
    (the model must extrapolate), and every config losing to the naive baseline.

    The reach is measured when the study is created, for problems on the user's own data (``csv``,
    ``arrays``); the synthetic ``tenths`` extrapolates by design and says nothing.
    """
    from tuning.problems import REACH_TOLERANCE

    data = results.baseline.get("data") or {}
    problem = (results.spec or {}).get("problem", {}) or {}
    params = problem.get("params") or {}
    if problem.get("name") == "csv":
        hint = ("try `difference: 1`" if not params.get("difference")
                else "try `seasonal_difference: K` or `transform: log` as well")
    else:
        hint = "difference the series (or scale it on every split's range) before saving the arrays"
    lines = []
    for split, (low, high) in (data.get("reach") or {}).items():
        if high > 1 + REACH_TOLERANCE:
            lines.append(f"{split} targets reach {high:.2f} of the training range: the model must extrapolate; {hint}")
        elif low < -REACH_TOLERANCE:
            lines.append(f"{split} targets reach down to {low:.2f} of the training range (0 is its minimum): "
                         f"the model must extrapolate; {hint}")
    baseline = results.baseline.get(results.metric)
    if table is not None and baseline is not None and len(table):
        means = pd.to_numeric(table["mean"], errors="coerce").dropna()
        if len(means):
            best = means.max() if results.direction == "maximize" else means.min()
            skill = skill_score(float(best), baseline, results.direction)
            worse = best < baseline if results.direction == "maximize" else best > baseline
            if worse:
                lines.append(f"every config is worse than the naive baseline ({baseline_name(results)}, "
                             f"{results.metric} {baseline:.4g}; the best mean {best:.4g}, skill {skill:.2f})"
                             + (": see the warning above" if lines else ""))
    return lines


def objective_of(results: StudyFrames) -> tuple[str, float, object]:
    """The study's aggregate, its ``k`` and its margin, from the stored spec (defaults if absent)."""
    objective = (results.spec or {}).get("objective", {}) or {}
    return objective.get("aggregate", "mean"), float(objective.get("k", 1.0)), objective.get("margin")


@dataclass
class Selection:
    """The comparison of a study's configs: the table, and what :func:`verdict` reads besides it.

    ``scores`` is the (configs, seeds) matrix in the table's row order, oriented so that lower is
    better; ``margin`` is in the metric's units (NaN when it cannot be resolved).
    """

    table: pd.DataFrame
    comparison: statistics.Comparison | None
    scores: np.ndarray
    margin: float
    margin_source: str
    level: float
    aggregate: str


def best_row(table: pd.DataFrame) -> object | None:
    """The index of the config a study's comparisons are made against: rank 1 among the configs
    with 2 or more seeds (one seed cannot separate a config from seed noise), else rank 1.

    One rule for the verdict, the margin ("5 % of the best's aggregate"), ``tuning status`` and
    the report's best-config box: a config fitted on one seed may rank first, but it is named as
    left out of the comparison (:func:`verdict`), not made the best the others are measured by.
    """
    ranked = table[table["rank"].notna()]
    if ranked.empty:
        return None
    ranked = ranked.sort_values(["rank", "n_seeds"], ascending=[True, False], kind="stable")
    compared = ranked[ranked["n_seeds"] >= 2]
    return (compared if len(compared) else ranked).index[0]


def select(results: StudyFrames, level: float = 0.05, *, margin: object | None = None,
           n_boot: int = statistics.N_BOOT, seed: int = 0) -> Selection:
    """The seed statistics and :data:`SELECTION` per config, best first, without the diagnosis
    (``tuning status`` uses it: it reads scores only).

    ``margin`` (a number in the metric's units or a string like ``"2%"`` of the best's aggregate)
    overrides the spec's ``objective.margin``; without either, 5 % of the best's aggregate.
    """
    fits, metric = results.fits, results.metric
    params = [c for c in fits.columns if c.startswith("param_")]
    how, k, spec_margin = objective_of(results)
    margin = spec_margin if margin is None else margin
    if fits.empty:
        columns = ["config_key", *params, *[c for c in STATS if c not in _LATER]]
        return Selection(pd.DataFrame(columns=columns), None, np.empty((0, 0)), math.nan,
                         statistics.resolve_margin(margin, math.nan)[1], level, how)
    table = config_table(fits, metric)
    keys = table["config_key"].tolist()
    sign = orientation(results.direction)
    scores, _ = seed_matrix(fits, metric, keys)
    oriented = sign * scores  # lower is better from here on
    table["aggregate"] = sign * statistics.oriented_aggregate(oriented, how, k) if scores.size else math.nan
    bounds = np.array([statistics.aggregate_interval(row, how, k, seed=seed) for row in oriented], dtype=float)
    bounds = bounds.reshape(len(table), 2) * sign
    table["aggregate_low"], table["aggregate_high"] = statistics.clip_interval(bounds.min(axis=1), bounds.max(axis=1),
                                                                               metric)
    table["rank"] = (sign * table["aggregate"]).rank(method="min").astype("Int64")
    first = best_row(table)
    best = first if first is not None and table.at[first, "n_seeds"] >= 2 else None
    best_aggregate = table.at[first, "aggregate"] if first is not None else math.nan
    margin_value, margin_source = statistics.resolve_margin(margin, best_aggregate)
    comparison = statistics.compare(oriented, margin=margin_value, level=level, best=best) if scores.size else None
    _selection_columns(table, comparison, oriented, how, k, n_boot, seed)
    order = table.sort_values("rank", na_position="last", kind="stable").index
    table = table.loc[order].reset_index(drop=True)
    if comparison is not None:
        comparison = statistics.reorder(comparison, order.to_numpy())
    return Selection(table, comparison, oriented[order.to_numpy()] if scores.size else oriented, margin_value,
                     margin_source, level, how)


_LATER = ("skill_vs_baseline", "baseline", "diagnosis", "diagnosis_evidence", "diagnosis_suggestion", "status")


def _selection_columns(table: pd.DataFrame, comparison, oriented: np.ndarray, how: str, k: float,
                       n_boot: int, seed: int) -> None:
    """could_be_best, prob_best, p_vs_best, paired, seed_corr, diff_vs_best, equivalent_to_best
    (NA where a config has fewer than 2 seeds: one seed cannot separate config from seed noise).

    A config a race eliminated keeps what this comparison says of it: the step-down holds its level
    over the whole table, the race's test promises only not to drop the true best (two tied configs
    may lose either), so its eliminations are not the table's "worse" (``results.trials.race_eliminated``
    says what the race decided)."""
    rows = len(table)
    na_bool = pd.array([pd.NA] * rows, dtype="boolean")
    if comparison is None:
        for column in ("could_be_best", "paired", "equivalent_to_best", "tied_with_best"):
            table[column] = na_bool.copy()
        for column in ("prob_best", "p_vs_best", "seed_corr", "diff_vs_best"):
            table[column] = math.nan
        return
    comparable = comparison.comparable
    enough = comparison.configs >= 2 or comparable.sum() == 1

    def flags(values):
        return pd.array([bool(v) if c and enough else pd.NA for v, c in zip(values, comparable, strict=True)],
                        dtype="boolean")

    table["could_be_best"] = flags(comparison.could_be_best)
    # among the compared configs only: with one seed a config wins every resample that draws that
    # seed's column (1 - (1 - 1/n)^n of them), whatever its score
    prob = np.full(rows, np.nan)
    if enough:
        prob[comparable] = statistics.prob_best(oriented[comparable], how, k, n_boot=n_boot, seed=seed)
    table["prob_best"] = prob
    table["p_vs_best"] = np.where(comparable, comparison.p_worse, np.nan)
    table["paired"] = flags(comparison.paired)
    table["seed_corr"] = comparison.seed_corr
    sign_diff = comparison.diff_vs_best
    table["diff_vs_best"] = np.where(comparable, sign_diff, np.nan)
    table["equivalent_to_best"] = flags(comparison.equivalent_to_best)
    # Deprecated alias, kept for one release: the old column's name, the new column's meaning.
    table["tied_with_best"] = table["could_be_best"].copy()


def summary_table(results: StudyFrames, level: float = 0.05, thresholds: Thresholds = Thresholds(), *,
                  margin: object | None = None, n_boot: int = statistics.N_BOOT, seed: int = 0,
                  diagnosis: pd.DataFrame | None = None, selected: Selection | None = None) -> pd.DataFrame:
    """One row per config, best first, like scikit-learn's ``cv_results_`` plus the seed statistics.

    Args:
        results: from :func:`tuning.load_results` (or built by hand).
        level: family-wise error level of ``could_be_best`` and ``equivalent_to_best``.
        thresholds: of the learning-curve diagnosis.
        margin: the practical difference for ``equivalent_to_best`` (see :func:`selection_table`).
        n_boot, seed: of the bootstraps (``prob_best``, intervals of aggregates other than the mean).
        diagnosis: a precomputed :func:`tuning.diagnose.diagnose_study` table, to avoid redoing it.
        selected: a precomputed :func:`select`, likewise.

    Returns:
        ``config_key``, ``trial`` (the number its sentences name it by: "trial 5"),
        ``param_<name>`` ..., then :data:`STATS`. ``rank`` orders the study's
        aggregate in its direction (equal values share the lower rank). ``could_be_best`` is
        False for a config some other config beats beyond the simultaneous critical value, and
        NA where it has fewer than 2 seeds; ``tied_with_best`` is its deprecated alias.
    """
    if selected is None:
        selected = select(results, level, margin=margin, n_boot=n_boot, seed=seed)
    table = selected.table.copy()
    params = [c for c in results.fits.columns if c.startswith("param_")]
    if results.fits.empty:
        return pd.DataFrame(columns=["config_key", "trial", *params, *STATS])
    baseline = results.baseline.get(results.metric)
    table["skill_vs_baseline"] = [skill_score(m, baseline, results.direction) for m in table["mean"]]
    table["baseline"] = baseline_name(results) if baseline is not None else None
    if diagnosis is None:
        diagnosis = diagnose_study(results, thresholds)
    per_config = diagnosis[diagnosis["scope"] == "config"].set_index("config_key")
    for column, source in (("diagnosis", "label"), ("diagnosis_evidence", "evidence"),
                           ("diagnosis_suggestion", "suggestion")):
        table[column] = table["config_key"].map(per_config[source]) if len(per_config) else None
    statuses = {}
    if not results.trials.empty and {"config_key", "status"} <= set(results.trials.columns):
        statuses = dict(zip(results.trials["config_key"], results.trials["status"], strict=True))
    table["status"] = [statuses.get(k, TrialStatus.COMPLETE.value if f == 0 else TrialStatus.FAILED.value)
                       for k, f in zip(table["config_key"], table["n_failed"], strict=True)]
    numbers = config_numbers(results.fits)
    table["trial"] = pd.array([numbers.get(k) for k in table["config_key"]], dtype="Int64")
    return table[["config_key", "trial", *params, *STATS]]


def marginals(results: StudyFrames, *, varying_only: bool = True) -> pd.DataFrame:
    """Seed scores per value of each parameter, pooled over every config with that value.

    Long form: ``param`` (name without ``param_``), ``value``, ``n_configs``, ``config_mean`` (the
    mean of the configs' own mean scores: each config counts once however many seeds it got), then
    the columns of ``DataFrame.describe()`` (count, mean, std, min, 25%, 50%, 75%, max) of the seed
    scores of finished fits. A race gives the configs it keeps more seeds than those it drops, so
    there the pooled ``mean`` leans towards the survivors and ``config_mean`` is the fairer reading
    (a pruned config's fits are not finished and count in neither). Parameters that never vary in
    the study are left out unless ``varying_only=False``: their "marginal" is the whole study.
    """
    fits, metric = results.fits, results.metric
    columns = ["param", "value", "n_configs", "config_mean", *DESCRIBE]
    params = [c for c in fits.columns if c.startswith("param_")]
    if varying_only:
        params = [c for c in params if fits[c].astype(str).nunique() > 1]
    good = good_scores(fits, metric)
    parts = []
    for column in params:
        grouped = good.groupby(column, dropna=False, sort=True)
        described = _describe(grouped[metric])
        per_config = good.groupby([column, "config_key"], dropna=False, sort=False)[metric].mean()
        described.insert(0, "config_mean", per_config.groupby(level=0, dropna=False).mean().reindex(described.index))
        described.insert(0, "n_configs", grouped["config_key"].nunique())
        described.insert(0, "value", pd.Series(list(described.index), index=described.index, dtype=object))
        described.insert(0, "param", column.removeprefix("param_"))
        order = sorted(range(len(described)), key=lambda i: param_order(described["value"].iloc[i]))
        parts.append(described.iloc[order].reset_index(drop=True))
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    table["value"] = table["value"].astype(object)
    table["count"] = table["count"].astype(int)
    return table[columns]


def _describe(grouped: pd.core.groupby.SeriesGroupBy) -> pd.DataFrame:
    """``grouped.describe()`` computed column by column: the same numbers, without describing each
    group separately (a continuous parameter has a group per trial)."""
    table = grouped.agg(["count", "mean", "std", "min"])
    for q, name in ((0.25, "25%"), (0.5, "50%"), (0.75, "75%")):
        table[name] = grouped.quantile(q)
    table["max"] = grouped.max()
    return table[DESCRIBE]
