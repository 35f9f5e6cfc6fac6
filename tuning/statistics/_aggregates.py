"""A config's 95 % interval of its aggregate over its seeds (the aggregate: :func:`tuning.objective.oriented_aggregate`);
margins in the metric's units."""

from __future__ import annotations

import math

import numpy as np

from tuning.objective import DEFAULT_MARGIN, metric_range, parse_margin

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
    """95 % interval of one config's aggregate over its seeds, lower is better (NaN with fewer than 2 seeds).

    Each aggregate gets the interval made for it, not a bootstrap (with 3-5 seeds a percentile
    bootstrap has 10-126 distinct resamples and covered ``mean_plus_std`` 60 % of the time):

    * ``mean``: Student's t, exact for normal seed scores;
    * ``mean_plus_std``: the exact interval for ``mu + k sigma`` of normal seed scores, from the
      pivot ``sqrt(n) (mean - mu - k sigma) / sd``, a noncentral t with ``n - 1`` degrees of
      freedom and noncentrality ``-k sqrt(n)`` (the pivot of one-sided tolerance bounds);
    * ``iqm``: Tukey and McLaughlin's trimmed-mean t (Yuen's standard error from the winsorized
      variance, ``(n - 1) s_w^2 / (h (h - 1))``, ``h - 1`` degrees of freedom, ``h = n - 2g`` the seeds
      kept, ``g`` trimmed from each end);
    * ``median``: the order statistics ``[x(j), x(n+1-j)]`` whose binomial coverage is at least
      95 %, distribution-free; with fewer than 6 seeds none reaches it and the interval is
      ``[min, max]``, which covers ``1 - 2^(1-n)`` of the time (0.75 with 3 seeds);
    * ``worst``: NaN, since the worst of n seeds estimates nothing that stays put as n grows.

    ``n_boot`` and ``seed`` are kept for callers of the earlier bootstrap; they change nothing.
    """
    from scipy import stats

    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2 or how == "worst":
        return math.nan, math.nan
    if how == "mean":
        half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n)
        return float(x.mean() - half), float(x.mean() + half)
    if how == "mean_plus_std":
        scale = x.std(ddof=1) / math.sqrt(n)
        q_low, q_high = stats.nct.ppf([0.025, 0.975], n - 1, -k * math.sqrt(n))
        return float(x.mean() - q_high * scale), float(x.mean() - q_low * scale)
    if how == "iqm":
        g = n // 4
        trimmed = x[g:n - g]
        winsorized = np.concatenate([np.full(g, x[g]), trimmed, np.full(g, x[n - g - 1])])
        h = n - 2 * g
        # Yuen's (1974) squared standard error (n - 1) s_w^2 / (h (h - 1)): wider than the asymptotic
        # s_w / ((h/n) sqrt(n)) used before by sqrt(h (n - 1) / (n (h - 1))), 5 % at 6 seeds; that one
        # covered 0.927-0.933 with 5 to 20 normal seeds (docs/statistics.md)
        se = math.sqrt((n - 1) * winsorized.var(ddof=1) / (h * (h - 1)))
        half = stats.t.ppf(0.975, h - 1) * se
        return float(trimmed.mean() - half), float(trimmed.mean() + half)
    # median: the widest j (narrowest interval) whose coverage P(j <= B(n, 1/2) <= n - j) is 95 % or more
    j = 1
    while j + 1 <= n // 2 and 1 - 2 * stats.binom.cdf(j, n, 0.5) >= 0.95:
        j += 1
    return float(x[j - 1]), float(x[n - j])


def clip_interval(low, high, metric: str):
    """An interval kept inside :func:`metric_range` (arrays or floats; NaN stays NaN)."""
    bottom, top = metric_range(metric)
    return np.clip(low, bottom, top), np.clip(high, bottom, top)
