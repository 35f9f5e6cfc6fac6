"""The seed scores of each config: which fits count, and the one per-config table of their statistics.

Both ``results.trials`` (the ``cv_results_``-like table) and the summary's seed statistics are
this table, so the two can never disagree on a rule (one seed: a mean, and NaN for its spread).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from tuning.results import FAILED, OK, PRUNED


def good_scores(fits: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Fits that finished with a finite score on the metric, of configs the pruner did not stop.

    A pruned config is stopped early, not comparable: its seeds fitted in full before the pruner
    stopped a later one do not make it a finished config with fewer seeds.
    """
    if metric not in fits.columns:
        return fits.iloc[0:0].assign(**{metric: pd.Series(dtype=float)})
    values = pd.to_numeric(fits[metric], errors="coerce")
    pruned = fits.loc[fits["status"] == PRUNED, "config_key"]
    keep = (fits["status"] == OK) & np.isfinite(values) & ~fits["config_key"].isin(pruned)
    # the values of the kept rows only: a whole column assigned to an empty frame gives it their rows
    return fits[keep].assign(**{metric: values[keep]})


def config_table(fits: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per config (in order of first appearance): its params and the statistics of its seed scores.

    Columns: ``config_key``, every ``param_<name>``, ``n_seeds`` (fits with a finite score),
    ``mean``, ``std``, ``min``, ``median``, ``max``, ``sem``, ``ci95_low``, ``ci95_high``
    (Student-t, kept inside the metric's range: a loss's never below 0), ``n_failed``, ``n_pruned``,
    ``divergence_rate``, ``trainable_weights``, ``fit_seconds`` (mean wall time per fit, failed
    fits included). One seed gives a mean but no spread: std, sem and
    the interval are NaN, not zero.
    """
    params = [c for c in fits.columns if c.startswith("param_")]
    good = good_scores(fits, metric)
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
    from tuning.statistics import clip_interval  # never outside the metric's range (a loss >= 0)

    low, high = clip_interval((table["mean"] - half).to_numpy(dtype=float), (table["mean"] + half).to_numpy(dtype=float),
                              metric)
    table["ci95_low"], table["ci95_high"] = low, high
    table["n_failed"] = (fits["status"] == FAILED).groupby(fits["config_key"], sort=False).sum().astype(int)
    table["n_pruned"] = (fits["status"] == PRUNED).groupby(fits["config_key"], sort=False).sum().astype(int)
    errors = fits["error"] if "error" in fits.columns else pd.Series(None, index=fits.index, dtype=object)
    diverged = (fits["status"] == FAILED) & errors.fillna("").astype(str).str.startswith("diverged")
    table["divergence_rate"] = diverged.groupby(fits["config_key"], sort=False).mean().astype(float)
    weights = fits["trainable_weights"] if "trainable_weights" in fits.columns else pd.Series(math.nan, fits.index)
    table["trainable_weights"] = pd.to_numeric(weights, errors="coerce").groupby(
        fits["config_key"], sort=False).max().astype("Int64")
    table["fit_seconds"] = grouped["fit_seconds"].mean().astype(float)
    return table.rename_axis("config_key").reset_index()


def seed_matrix(fits: pd.DataFrame, metric: str, keys: list[str]) -> tuple[np.ndarray, list[int]]:
    """(configs, seeds) scores of finished fits, rows in the order of ``keys``, NaN where missing."""
    good = good_scores(fits, metric)
    seeds = sorted(int(s) for s in good["seed"].unique()) if len(good) else []
    if not seeds:
        return np.full((len(keys), 0), np.nan), seeds
    matrix = good.pivot_table(index="config_key", columns="seed", values=metric, aggfunc="first")
    matrix = matrix.reindex(index=keys, columns=seeds)
    return matrix.to_numpy(dtype=float), seeds
