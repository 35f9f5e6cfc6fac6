"""A config's aggregate over its seeds and its 95 % interval; margins in the metric's units."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from tuning.objective import AGGREGATES, DEFAULT_MARGIN, metric_range, parse_margin

N_BOOT = 2000


def resolve_margin(margin: object | None, best_aggregate: float) -> tuple[float, str]:
    """The margin in the metric's units and how to say where it came from.

    Without a margin the default is 5 % of the best's aggregate, so every study can show the
    equivalence and seeds-needed lines; a relative margin of a best aggregate of 0 is NaN.
    """
    default = margin is None
    value, relative = parse_margin(DEFAULT_MARGIN if default else margin)
    absolute = value * abs(best_aggregate) if relative else value
    if not math.isfinite(absolute) or absolute <= 0:
        absolute = math.nan
    how = f"{value * 100:g} % of the best's aggregate" if relative else "in the metric's units"
    return absolute, f"{how}{', the default: set objective.margin or pass --margin' if default else ''}"



# -- aggregates ------------------------------------------------------------------------------------


def oriented_aggregate(values: np.ndarray, how: str = "mean", k: float = 1.0) -> np.ndarray:
    """The aggregate over the last axis, ignoring NaN (NaN where nothing is left). Lower is better.

    ``iqm`` is the interquartile mean (``scipy.stats.trim_mean(x, 0.25)``: the lowest and highest
    ``floor(n/4)`` seeds dropped), robust to a diverging seed yet less wasteful than the median.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    count = finite.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "mean":
            out = np.where(finite, x, 0.0).sum(axis=-1) / count
        elif how == "worst":
            out = np.where(finite, x, -np.inf).max(axis=-1)
        elif how == "mean_plus_std":
            mean = np.where(finite, x, 0.0).sum(axis=-1) / count
            squares = np.where(finite, (x - mean[..., None]) ** 2, 0.0).sum(axis=-1)
            std = np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1)), 0.0)
            out = mean + k * std
        elif how in ("median", "iqm"):
            ordered = np.sort(np.where(finite, x, np.inf), axis=-1)  # missing values sort last
            cut = count // 4 if how == "iqm" else None
            if how == "median":
                low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], -1)[..., 0]
                high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[..., None], -1)[..., 0]
                out = (low + high) / 2
            else:
                sums = np.concatenate([np.zeros(ordered.shape[:-1] + (1,)),
                                       np.cumsum(np.where(np.isfinite(ordered), ordered, 0.0), -1)], -1)
                top = np.take_along_axis(sums, (count - cut)[..., None], -1)[..., 0]
                bottom = np.take_along_axis(sums, cut[..., None], -1)[..., 0]
                out = (top - bottom) / (count - 2 * cut)
        else:
            raise ValueError(f"unknown aggregate {how!r}; expected one of {', '.join(AGGREGATES)}")
    return np.where(count > 0, out, np.nan)


def aggregate_interval(values, how: str = "mean", k: float = 1.0, *, n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float, float]:
    """95 % interval of one config's aggregate over its seeds (NaN with fewer than 2 seeds).

    ``mean``: Student's t interval (exact for normal seed scores). ``median``, ``iqm`` and
    ``mean_plus_std``: a seeded percentile bootstrap over the seeds, which is too narrow with
    few seeds (measured in docs/statistics.md). ``worst``: NaN, since the worst of n seeds
    estimates nothing that stays put as n grows.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2 or how == "worst":
        return math.nan, math.nan
    if how == "mean":
        half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
        return float(x.mean() - half), float(x.mean() + half)
    rng = np.random.default_rng(seed)
    boot = oriented_aggregate(x[rng.integers(0, len(x), (n_boot, len(x)))], how, k)
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(low), float(high)



def clip_interval(low, high, metric: str):
    """An interval kept inside :func:`metric_range` (arrays or floats; NaN stays NaN)."""
    bottom, top = metric_range(metric)
    return np.clip(low, bottom, top), np.clip(high, bottom, top)
