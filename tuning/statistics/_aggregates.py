"""A config's 95 % interval of its aggregate over its seeds (the aggregate: :func:`tuning.objective.oriented_aggregate`);
margins in the metric's units."""

from __future__ import annotations

import math

import numpy as np

from tuning.objective import DEFAULT_MARGIN, metric_range, oriented_aggregate, parse_margin

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
        from scipy import stats

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
