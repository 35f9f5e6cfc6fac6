"""Tables of a study, one row per config: seed statistics, rank, ties with the best, diagnosis.

The question behind every column is "is this config really better, or was that a lucky seed?".
So a row carries the spread over seeds (std, sem, a 95 % Student-t interval), a rank by mean,
and ``tied_with_best``: whether the config's seeds can be told apart from the best config's at
all, by Welch's t-test (or a seeded bootstrap) with Holm's correction, because with ten configs
one of them looks significantly worse than the best by chance alone. The method is written up
in docs/analysis.md.

Everything here is pandas and scipy on the DataFrames of :func:`tuning.load_results`; nothing
imports TensorFlow, so tables and exports work where no backend is installed.

Example:
    >>> results = tuning.load_results("quickstart")                           # doctest: +SKIP
    >>> summary_table(results)[["param_units", "mean", "ci95_low", "tied_with_best"]]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from tuning.diagnose import Thresholds, diagnose_study

if TYPE_CHECKING:
    from tuning.api import Results

METHODS = ("welch", "bootstrap")
STATS = ["n_seeds", "n_failed", "mean", "std", "sem", "min", "median", "max", "ci95_low", "ci95_high", "rank",
         "tied_with_best", "p_vs_best", "skill_vs_baseline", "diagnosis", "diagnosis_evidence",
         "diagnosis_suggestion", "fit_seconds", "status"]
DESCRIBE = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]


def tie_test(a, b, method: str = "welch", *, n_boot: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value for "``a`` and ``b`` have the same mean" (NaN when either has < 2 values).

    ``welch``: Welch's unequal-variance t-test, right for the 3-10 seeds a study usually has
    when seed scores are roughly normal. Two samples without any spread are identical (p = 1)
    or certainly different (p = 0): deterministic fits differ only if the config does.
    ``bootstrap``: bootstrap-t (Efron & Tibshirani, algorithm 16.2): both samples are shifted
    to the pooled mean (the null hypothesis) and resampled ``n_boot`` times with ``seed``; p is
    the share of resampled |Welch t| at least the observed one, (1 + hits) / (1 + n_boot). It
    drops the normality assumption; studentizing keeps it from calling configs different too
    eagerly at small n (resampled means alone understate the spread of 3-5 seeds).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if method == "welch":
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        if va + vb == 0:
            return 1.0 if a.mean() == b.mean() else 0.0
        # Welch-Satterthwaite degrees of freedom; written out (it is scipy's ttest_ind with
        # equal_var=False) so that a sample without spread raises no precision warning.
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        return float(2 * stats.t.sf(abs(a.mean() - b.mean()) / math.sqrt(va + vb), df))
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        observed = abs(_welch_t(a[None, :], b[None, :])[0])
        pooled = np.concatenate([a, b]).mean()
        a0, b0 = a - a.mean() + pooled, b - b.mean() + pooled  # both shifted to the null hypothesis
        t = _welch_t(a0[rng.integers(0, len(a), (n_boot, len(a)))], b0[rng.integers(0, len(b), (n_boot, len(b)))])
        hits = int(np.sum(np.abs(t) >= observed * (1 - 1e-9)))
        return (1 + hits) / (1 + n_boot)
    raise ValueError(f"unknown tie test {method!r}; expected one of {', '.join(METHODS)}")


def _welch_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch's t per row of ``a`` and ``b``; 0 where neither row has spread and the means agree."""
    diff = a.mean(axis=1) - b.mean(axis=1)
    scale = np.sqrt(a.var(axis=1, ddof=1) / a.shape[1] + b.var(axis=1, ddof=1) / b.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / scale
    return np.where(scale > 0, t, np.where(diff == 0, 0.0, np.copysign(np.inf, diff)))


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaNs stay NaN and do not count as comparisons).

    Reject where adjusted p <= level: the chance of calling *any* truly equal config different
    stays below ``level``, with more power than plain Bonferroni.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m, running = len(order), 0.0
    for i, index in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[index]))
        out[index] = running
    return out


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


def _scores(fits: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Fits that finished with a finite score on the metric."""
    if metric not in fits.columns:
        return fits.iloc[0:0].assign(**{metric: pd.Series(dtype=float)})
    values = pd.to_numeric(fits[metric], errors="coerce")
    return fits[(fits["status"] == "ok") & np.isfinite(values)].assign(**{metric: values})


def _seed_stats(fits: pd.DataFrame, good: pd.DataFrame, metric: str, params: list[str]) -> pd.DataFrame:
    """Per config (in order of first appearance): its params and the statistics of its seed scores.

    One seed gives a mean but no spread: std, sem and the interval are NaN, not zero.
    """
    grouped = fits.groupby("config_key", sort=False)
    table = grouped[params].first() if params else pd.DataFrame(index=grouped.size().index)
    described = good.groupby("config_key", sort=False)[metric].agg(["count", "mean", "std", "min", "median", "max"])
    described = described.reindex(table.index)
    n = described["count"].fillna(0).astype(int)
    table["n_seeds"] = n
    for column in ("mean", "std", "min", "median", "max"):
        table[column] = described[column].astype(float)
    table["std"] = table["std"].where(n > 1)
    table["sem"] = table["std"] / np.sqrt(n.where(n > 1))
    half = stats.t.ppf(0.975, (n - 1).where(n > 1).to_numpy(dtype=float)) * table["sem"]
    table["ci95_low"], table["ci95_high"] = table["mean"] - half, table["mean"] + half
    table["n_failed"] = (fits["status"] != "ok").groupby(fits["config_key"], sort=False).sum().astype(int)
    table["fit_seconds"] = grouped["fit_seconds"].mean().astype(float)
    return table.rename_axis("config_key").reset_index()


def summary_table(results: Results, level: float = 0.05, method: str = "welch",
                  thresholds: Thresholds = Thresholds(), *, n_boot: int = 10_000, seed: int = 0,
                  diagnosis: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per config, best first, like scikit-learn's ``cv_results_`` plus the seed statistics.

    Args:
        results: from :func:`tuning.load_results` (or built by hand).
        level: family-wise error level of the tie test.
        method: ``"welch"`` or ``"bootstrap"`` (see :func:`tie_test`).
        thresholds: of the learning-curve diagnosis.
        n_boot, seed: of the bootstrap.
        diagnosis: a precomputed :func:`tuning.diagnose.diagnose_study` table, to avoid redoing it.

    Returns:
        ``config_key``, ``param_<name>`` ..., then :data:`STATS`. ``rank`` orders means in the
        study's direction (equal means share the lower rank). ``tied_with_best`` is True for the
        best and for every config whose Holm-adjusted ``p_vs_best`` exceeds ``level``; it is NA
        where a side has fewer than 2 seeds (one seed cannot separate config from seed noise).
    """
    if method not in METHODS:
        raise ValueError(f"unknown tie test {method!r}; expected one of {', '.join(METHODS)}")
    fits, metric = results.fits, results.metric
    params = [c for c in fits.columns if c.startswith("param_")]
    if fits.empty:
        return pd.DataFrame(columns=["config_key", *params, *STATS])
    good = _scores(fits, metric)
    values = good[metric].to_numpy(dtype=float)
    seed_scores = {k: values[i] for k, i in good.groupby("config_key", sort=False).indices.items()}
    table = _seed_stats(fits, good, metric, params)
    sign = -1.0 if results.direction == "maximize" else 1.0
    table["rank"] = (sign * table["mean"]).rank(method="min").astype("Int64")
    _tie_columns(table, seed_scores, level, method, n_boot, seed)
    baseline = results.baseline.get(metric)
    table["skill_vs_baseline"] = [skill_score(m, baseline, results.direction) for m in table["mean"]]
    if diagnosis is None:
        diagnosis = diagnose_study(results, thresholds)
    per_config = diagnosis[diagnosis["scope"] == "config"].set_index("config_key")
    for column, source in (("diagnosis", "label"), ("diagnosis_evidence", "evidence"),
                           ("diagnosis_suggestion", "suggestion")):
        table[column] = table["config_key"].map(per_config[source]) if len(per_config) else None
    statuses = {}
    if not results.trials.empty and {"config_key", "status"} <= set(results.trials.columns):
        statuses = dict(zip(results.trials["config_key"], results.trials["status"], strict=True))
    table["status"] = [statuses.get(k, "complete" if f == 0 else "failed")
                       for k, f in zip(table["config_key"], table["n_failed"], strict=True)]
    table = table.sort_values("rank", na_position="last", kind="stable").reset_index(drop=True)
    return table[["config_key", *params, *STATS]]


def _tie_columns(table: pd.DataFrame, seed_scores: dict[str, np.ndarray], level: float, method: str,
                 n_boot: int, seed: int) -> None:
    """Add ``p_vs_best`` (Holm-adjusted) and ``tied_with_best`` against the rank-1 config."""
    table["p_vs_best"] = math.nan
    table["tied_with_best"] = pd.array([pd.NA] * len(table), dtype="boolean")
    ranked = table[table["rank"].notna()]
    if ranked.empty:
        return
    # Among equal best means, the config with the most seeds is the reference.
    best = ranked.sort_values(["rank", "n_seeds"], ascending=[True, False], kind="stable").index[0]
    reference = seed_scores[table.at[best, "config_key"]]
    others = [i for i in ranked.index if i != best]
    raw = [tie_test(reference, seed_scores[table.at[i, "config_key"]], method, n_boot=n_boot, seed=seed)
           for i in others]
    adjusted = holm(raw)
    for i, p in zip(others, adjusted, strict=True):
        table.at[i, "p_vs_best"] = p
        if not math.isnan(p):
            table.at[i, "tied_with_best"] = bool(p > level)
    table.at[best, "tied_with_best"] = True


def marginals(results: Results, *, varying_only: bool = True) -> pd.DataFrame:
    """Seed scores per value of each parameter, pooled over every config with that value.

    Long form: ``param`` (name without ``param_``), ``value``, ``n_configs``, then the columns
    of ``DataFrame.describe()`` (count, mean, std, min, 25%, 50%, 75%, max) of the seed scores
    of finished fits. Parameters that never vary in the study are left out unless
    ``varying_only=False``: their "marginal" is the whole study.
    """
    fits, metric = results.fits, results.metric
    columns = ["param", "value", "n_configs", *DESCRIBE]
    params = [c for c in fits.columns if c.startswith("param_")]
    if varying_only:
        params = [c for c in params if fits[c].astype(str).nunique() > 1]
    good = _scores(fits, metric)
    parts = []
    for column in params:
        grouped = good.groupby(column, dropna=False, sort=True)
        described = _describe(grouped[metric])
        described.insert(0, "n_configs", grouped["config_key"].nunique())
        described.insert(0, "value", pd.Series(list(described.index), index=described.index, dtype=object))
        described.insert(0, "param", column.removeprefix("param_"))
        parts.append(described.reset_index(drop=True))
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


def analysis_tables(results: Results, level: float = 0.05, method: str = "welch",
                    thresholds: Thresholds = Thresholds(), **tie_options) -> dict[str, pd.DataFrame]:
    """Every table of a study by name: summary, marginals, diagnosis, fits.

    ``fits`` is the DataFrame :func:`tuning.load_results` returns, unchanged, so an export holds
    exactly what the Python API gives. The curves are exported too, by :func:`export_tables`,
    from ``results.fit_curves``.
    """
    diagnosis = diagnose_study(results, thresholds)
    return {
        "summary": summary_table(results, level, method, thresholds, diagnosis=diagnosis, **tie_options),
        "marginals": marginals(results),
        "diagnosis": diagnosis,
        "fits": results.fits,
    }


def export_tables(results: Results, out_dir: str | Path, level: float = 0.05, method: str = "welch",
                  thresholds: Thresholds = Thresholds(), *, tables: dict[str, pd.DataFrame] | None = None,
                  curves: bool = True, **tie_options) -> list[Path]:
    """Write every table of :func:`analysis_tables` as ``<table>.csv`` and ``<table>.json``, then
    (unless ``curves=False``) the curves as ``curves.csv`` and ``curves.json`` (see :func:`export_curves`).

    JSON is a list of records (one object per row, NaN/NA as null), which every language reads
    without pandas. Pass ``tables`` when they are already computed (the report does) so the
    diagnosis is not run twice. Returns the written paths, CSV and JSON per table.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if tables is None:
        tables = analysis_tables(results, level, method, thresholds, **tie_options)
    for name, table in tables.items():
        csv_path, json_path = out / f"{name}.csv", out / f"{name}.json"
        table.to_csv(csv_path, index=False)
        table.to_json(json_path, orient="records", indent=1, force_ascii=False)
        written += [csv_path, json_path]
    return written + (export_curves(results, out) if curves else [])


def export_curves(results: Results, out_dir: str | Path) -> list[Path]:
    """Write ``curves.csv`` and ``curves.json``: one row per (config, seed, curve), epochs in order.

    Wide, not the long ``results.curves``: a 1,000-trial x 10-seed study has 4 million curve
    points, and one row per point made the export most of a report's build time and 600 MB.
    CSV columns are ``config_key, seed, curve, epochs, 1, 2, ... N`` (empty past a run's last
    epoch); ``pd.read_csv(path).melt(id_vars=["config_key", "seed", "curve", "epochs"],
    var_name="epoch")`` gives the long form back. JSON records carry ``values``, a list per curve.
    Values keep 15 significant digits (Keras logs float32, about 7); NaN and inf are written
    as empty / null.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = [(key, seed, curve, values) for (key, seed), named in results.fit_curves.items()
           for curve, values in named.items()]
    index = pd.DataFrame({"config_key": pd.Series([i[0] for i in ids], dtype=object),
                          "seed": pd.Series([i[1] for i in ids], dtype="int64"),
                          "curve": pd.Series([i[2] for i in ids], dtype=object),
                          "epochs": pd.Series([len(i[3]) for i in ids], dtype="int64")})
    json_path, csv_path = out / "curves.json", out / "curves.csv"
    index.assign(values=[list(i[3]) for i in ids]).to_json(json_path, orient="records", double_precision=15)
    width = int(index["epochs"].max()) if len(index) else 0
    matrix = np.full((len(ids), width), np.nan)
    for row, (*_, values) in enumerate(ids):
        matrix[row, : len(values)] = values
    # pandas' JSON writer formats floats in C, several times faster than to_csv; its rows are
    # "[v,v,...]" with null for NaN, which is a CSV line once the brackets and nulls go.
    body = pd.DataFrame(matrix).to_json(orient="values", double_precision=15)[2:-2].split("],[") if ids else []
    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["config_key", "seed", "curve", "epochs", *map(str, range(1, width + 1))]) + "\n")
        for (key, seed, curve, values), numbers in zip(ids, body, strict=True):
            handle.write(f"{_csv_field(key)},{seed},{_csv_field(curve)},{len(values)},"
                         f"{numbers.replace('null', '')}\n")
    return [csv_path, json_path]


def _csv_field(text: object) -> str:
    text = str(text)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text
