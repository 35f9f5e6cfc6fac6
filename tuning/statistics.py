"""Which configs could be the best, which are as good as it, and how many seeds it would take to know.

Every function takes a plain matrix of seed scores, one row per config and one column per seed
(NaN where a config has no finished fit for that seed), **oriented so that lower is better**
(the caller negates accuracies). The methods and their measured error rates are written up in
docs/statistics.md; ``benchmarks/statistics_calibration.py`` measures them on synthetic studies.

Why these methods (round 2, issue 21):

* The best config is picked from the same seeds that are then used to compare it, so testing
  every config against the observed best at level 0.05 flags equal configs "worse" far more
  often than 5 % (14 % with 50 configs x 5 seeds, issue 12). Here a config is "worse" only when
  some config beats it with a one-sided p at most ``level / (m (m - 1))``, m the configs still
  in the running (Bonferroni over their ordered pairs), stepping down as configs drop out with
  the tests computed afresh among those left; ``p_worse`` is the smallest level that flags.
* Seed scores of different configs correlate (a seed fixes the data order and the initial
  weights), so pairs are compared **per seed** over the seeds they share; the seed effect they
  share cancels.
* Configs differ in noise (a high learning rate is several times noisier) and share their seed
  effects unequally, so a pooled variance misjudges some pairs (round 1 flagged equal configs in
  11-48 % of such studies), while a pair's own variance has 2 degrees of freedom with 3 seeds.
  Each pair's variance is **moderated** (empirical Bayes, Smyth 2004): pooled as far as the
  pairs' spreads look alike, its own as far as they differ; the degrees of freedom are capped at
  4x the pair's own, since seed effects shared by groups of configs make the pairs' variances
  move together.
* "Equivalent to the best" is Hsu's multiple comparisons with the best: a simultaneous upper
  bound on how much worse each config is than the true best, so the simplest config named
  equivalent is within the margin of the *true* best at the stated level.

Example:
    >>> import numpy as np
    >>> scores = np.array([[1.0, 1.1, 0.9, 1.0], [1.0, 1.2, 0.9, 1.1], [3.0, 3.1, 2.9, 3.2]])
    >>> compare(scores).could_be_best.tolist()
    [True, True, False]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats
from scipy.interpolate import CubicSpline

LEVEL = 0.05
DF_PER_SEED = 4.0
#: configs whose adjusted p is below this leave the step-down together (its p is then from that stage)
P_FLOOR = 1e-6
HETEROGENEITY_CONFIDENCE = 0.75
#: the step-down computes its tests afresh whenever 5 % of the configs have left, and at every step below this many
FRESH_BELOW = 30
POWER = 0.8
DEFAULT_MARGIN = "5%"
MAX_SEEDS = 1000
N_BOOT = 2000
AGGREGATES = ("mean", "median", "worst", "mean_plus_std", "iqm")


# -- margins -------------------------------------------------------------------------------------


def parse_margin(value: object) -> tuple[float, bool]:
    """``0.01`` -> (0.01, False): in the metric's units; ``"2%"`` -> (0.02, True): of the best's aggregate.

    Raises:
        ValueError: in the user's words, for anything but a positive number or percentage.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a positive number or a percentage like '2%' (got {value!r})")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"must be a positive number or a percentage like '2%' (got {value!r})")
        return float(value), False
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"must be a positive number or a percentage like '2%' (got {value!r})")
    number = float(match.group(1))
    return (number / 100, True) if match.group(2) else (number, False)


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


def aggregate(values: np.ndarray, how: str = "mean", k: float = 1.0) -> np.ndarray:
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
    boot = aggregate(x[rng.integers(0, len(x), (n_boot, len(x)))], how, k)
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(low), float(high)


# -- the studentized range -----------------------------------------------------------------------
#
# scipy.stats.studentized_range integrates with nquad to 1e-11 and costs 4-12 ms a value (its ppf
# 0.05-0.2 s), which made compare() take 7 s on 1,000 configs x 10 seeds. The same integrals, with
# fixed composite Gauss-Legendre rules and vectorised over q, cost ~10 ms for 1,000 values of q
# (an isf ~1 ms, S_k below ~6 ms once per k) and agree with scipy to ~1e-9 absolute over
# k = 3..1000, df = 0.5..2000 (tests/test_statistics.py checks 1e-6; docs/performance_report.md,
# "could_be_best at scale"). With s = sqrt(chi2_df / df):
#
#     P(Q > q) = E_s[S_k(q s)],   S_k(w) = P(range of k standard normals > w)
#              = k * integral phi(z) [P(Z > z)^(k-1) - (P(Z > z) - P(Z > z + w))^(k-1)] dz,
#
# written as a difference of (k-1)-th powers so that tiny upper tails keep their digits. S_k is
# computed once per k on a grid of w (step 0.02, where its log is smooth) and read off a cubic
# spline of its log; the outer integral runs over log s, where the chi density is smooth and
# log-concave, from where S_k(q s) is still 1 to within 1e-20 (the chi mass below is exact).

_TINY = 1e-20  # integrands below this are dropped
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_GL_NODES, _GL_WEIGHTS = (_GL_NODES + 1) / 2, _GL_WEIGHTS / 2  # on [0, 1]
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _gauss_legendre(low, high, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``panels`` 8-point Gauss-Legendre panels on [low, high] (arrays: one
    rule per element, along a new last axis)."""
    low, high = np.asarray(low, dtype=float)[..., None], np.asarray(high, dtype=float)[..., None]
    width = (high - low) / panels
    starts = low + width * np.arange(panels)
    nodes = starts[..., None] + width[..., None] * _GL_NODES
    weights = np.broadcast_to(width[..., None] * _GL_WEIGHTS, nodes.shape)
    shape = (*low.shape[:-1], panels * len(_GL_NODES))
    return nodes.reshape(shape), weights.reshape(shape)


def _range_sf_direct(w: np.ndarray, k: int) -> np.ndarray:
    """S_k(w) = P(range of k standard normals > w), by quadrature over the smallest of them."""
    log_k = math.log(k)
    low = -math.sqrt(2 * (log_k - math.log(_TINY) - _LOG_SQRT_2PI))  # k phi(z) < _TINY below
    grid = np.arange(0.0, 40.0, 0.05)  # above: the density of the smallest, k phi(z) P(Z > z)^(k-1)
    smallest = log_k - grid**2 / 2 - _LOG_SQRT_2PI + (k - 1) * special.log_ndtr(-grid)
    high = float(grid[np.argmax(smallest < math.log(_TINY))])
    z, weights = _gauss_legendre(low, high, math.ceil((high - low) / 0.5))
    log_above = special.log_ndtr(-z)  # log P(Z > z)
    density = np.exp(log_k - z**2 / 2 - _LOG_SQRT_2PI + (k - 1) * log_above)
    ratio = np.minimum(np.exp(special.log_ndtr(-(z + np.asarray(w, dtype=float)[:, None])) - log_above), 1.0)
    with np.errstate(divide="ignore"):  # w = 0: log1p(-1)
        beyond = -np.expm1((k - 1) * np.log1p(-ratio))  # 1 - (1 - P(Z > z + w) / P(Z > z))^(k-1)
    return (beyond * density * weights).sum(axis=1)


@lru_cache(maxsize=64)
def _range_log_sf_spline(k: int) -> tuple[CubicSpline, float]:
    """A cubic spline of log S_k(w) and the w beyond which S_k < 1e-45 (taken as 0)."""
    w = np.arange(0.0, 100.0, 0.02)
    parts: list[np.ndarray] = []
    for start in range(0, len(w), 250):
        parts.append(_range_sf_direct(w[start:start + 250], k))
        if parts[-1][-1] < 1e-45:
            break
    sf = np.concatenate(parts)
    w = w[:len(sf)]
    return CubicSpline(w, np.log(np.clip(sf, 1e-300, 1.0))), float(w[-1])


def _range_sf(w: np.ndarray, k: int) -> np.ndarray:
    spline, top = _range_log_sf_spline(k)
    inside = np.minimum(np.exp(spline(np.clip(w, 0.0, top))), 1.0)
    return np.where(w >= top, 0.0, np.where(w <= 0, 1.0, inside))


@lru_cache(maxsize=4096)
def _log_s_bounds(df: float) -> tuple[float, float]:
    """Where the log density of log(s), s = sqrt(chi2_df / df), is 45 below its mode (at 0)."""
    from scipy.optimize import brentq

    def drop(u: float) -> float:
        return df * u - df * math.exp(2 * u) / 2 + df / 2 + 45

    return brentq(drop, -(45 / df + 2), 0.0), brentq(drop, 0.0, 10.0)


def studentized_range_sf(q, configs: int, df: float) -> np.ndarray:
    """``scipy.stats.studentized_range.sf(q, configs, df)`` for an array ``q`` at once, to ~1e-9
    absolute (and better than scipy's in the far tail, which scipy takes as 1 - cdf)."""
    q = np.atleast_1d(np.asarray(q, dtype=float))
    out = np.where(np.isnan(q), np.nan, np.where(q > 0, 0.0, 1.0))  # q = inf: 0; q <= 0: 1
    inner = np.flatnonzero((q > 0) & np.isfinite(q))
    if not inner.size:
        return out
    k, df = int(configs), float(df)
    low, high = _log_s_bounds(df)
    log_c = math.log(2) + df / 2 * math.log(df / 2) - special.gammaln(df / 2)  # of the log-chi density
    log_w0 = _LOG_SQRT_2PI + (math.log(_TINY) - math.log(k)) / (k - 1)  # S_k(w) > 1 - _TINY below
    for chunk in np.array_split(inner, math.ceil(inner.size / 500)):
        qs = q[chunk]
        start = np.clip(log_w0 - np.log(qs), low, high)  # below: S_k(q s) = 1, chi mass exact
        panels = max(4, math.ceil((high - start.min()) / min(0.25, 1 / math.sqrt(2 * df))))
        u, weights = _gauss_legendre(start, np.full_like(start, high), panels)
        density = np.exp(log_c + df * u - df * np.exp(2 * u) / 2)
        below = special.gammainc(df / 2, df * np.exp(2 * start) / 2)
        out[chunk] = below + (weights * density * _range_sf(qs[:, None] * np.exp(u), k)).sum(axis=1)
    return np.clip(out, 0.0, 1.0)  # NaN stays NaN


def studentized_range_isf(level: float, configs: int, df: float) -> float:
    """``scipy.stats.studentized_range.isf(level, configs, df)`` (to ~1e-10 relative)."""
    from scipy.optimize import brentq

    def excess(q: float) -> float:
        return float(studentized_range_sf(q, configs, df)[0]) - level

    high = 4.0
    while excess(high) > 0:
        high *= 2
    return float(brentq(excess, 0.0, high, xtol=1e-12, rtol=1e-14))


# -- comparisons -----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def critical_value(configs: int, df: float, level: float = LEVEL) -> float:
    """Simultaneous critical value of a pairwise t statistic among ``configs`` configs: Tukey's
    ``q(1 - level; configs, df) / sqrt(2)``; for two configs it is the two-sided t quantile."""
    if configs < 2 or not df > 0:
        return math.nan
    df = min(float(df), 2000.0)  # the quantile has settled long before; keeps the cache small
    if configs == 2:
        return float(stats.t.ppf(1 - level / 2, df))
    return studentized_range_isf(level, configs, df) / math.sqrt(2)


def simultaneous_p(t: float, configs: int, df: float) -> float:
    """The adjusted p-value of a one-sided "worse" statistic ``t`` (the level at which it would
    just reach :func:`critical_value`)."""
    return float(simultaneous_pvalues(np.array([t]), configs, np.array([df]))[0])


def simultaneous_pvalues(t: np.ndarray, configs: int, df: np.ndarray) -> np.ndarray:
    """:func:`simultaneous_p` of many statistics, computed together for each df."""
    t, df = np.asarray(t, dtype=float), np.asarray(df, dtype=float)
    out = np.ones(len(t))
    if configs < 2:
        return out
    out[np.isposinf(t)] = 0.0
    positive = np.isfinite(t) & (t > 0)
    for d in np.unique(df[positive]):
        rows = np.flatnonzero(positive & (df == d))
        capped = min(float(d), 2000.0)
        if configs == 2:
            out[rows] = np.minimum(1.0, 2 * stats.t.sf(t[rows], capped))
        else:
            out[rows] = studentized_range_sf(t[rows] * math.sqrt(2), configs, capped)
    return np.clip(out, 0.0, 1.0)


# -- the spread of a difference: moderated (empirical Bayes) variances ---------------------------------
#
# A pair's own seed differences estimate its spread with n - 1 degrees of freedom (2 with 3 seeds),
# and the largest of hundreds of such t statistics is enormous by chance; the pooled spread has many
# degrees of freedom but is wrong for a pair noisier than the rest (issue 21: 20 % of configs 3x
# noisier flagged an equal config in 11-48 % of studies). The moderated variance of Smyth (2004,
# limma) sits between the two as far as the data allow: the pairs' variances are taken as draws from
# a scaled inverse chi-square whose prior degrees of freedom ``d0`` are estimated from how much the
# variances differ beyond what their own degrees of freedom explain. Equal spreads give a large
# ``d0`` (close to pooled, many degrees of freedom), unequal spreads a small one (close to the pair's
# own); each moderated t statistic is t with ``d0 + own`` degrees of freedom under that model.


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (Smyth's Newton iteration, limma's trigammaInverse)."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        step = tri * (1 - tri / x) / float(special.polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def prior_variance(variances, df, items: int | None = None,
                   confidence: float | None = None) -> tuple[float, float]:
    """The prior (``s0**2``, ``d0``) of moderated variances from sample variances with ``df`` degrees of
    freedom each (Smyth 2004, the moment estimator of limma's ``fitFDist``; ``d0`` may be inf).

    With ``items`` (how many independent variances they amount to), the spread of the log variances
    is taken at its ``confidence`` upper confidence limit (chi-square, ``items - 1`` degrees of
    freedom) before the part their own degrees of freedom explain is subtracted: a few configs'
    pairs can look alike by chance, and pooling them then judges a noisy pair with a calm spread.
    """
    v, d = np.asarray(variances, dtype=float), np.asarray(df, dtype=float)
    keep = (v > 0) & np.isfinite(v) & (d > 0)
    v, d = v[keep], d[keep]
    if len(v) == 0:
        return 0.0, math.inf
    values, where = np.unique(d, return_inverse=True)  # few distinct df: the special functions once each
    e = np.log(v) - (special.digamma(values / 2) - np.log(values / 2))[where]
    if len(v) < 2:
        return float(np.exp(e.mean())), 0.0
    explained = float(special.polygamma(1, values / 2)[where].mean())
    spread = float(e.var(ddof=1))

    def fit(excess: float) -> tuple[float, float]:
        if excess <= 0:
            return float(np.exp(e.mean())), math.inf
        d0 = 2 * _trigamma_inverse(excess)
        return float(np.exp(e.mean() + special.digamma(d0 / 2) - math.log(d0 / 2))), d0

    s0, d0 = fit(spread - explained)
    if items is not None and items >= 2:
        # less pooling (a smaller d0), but never a smaller scale than the plain fit's: a more
        # dispersed prior fitted to the same mean log variance has a smaller scale, and would
        # shrink every pair towards it
        level = HETEROGENEITY_CONFIDENCE if confidence is None else confidence
        d0 = min(d0, fit(spread * (items - 1) / stats.chi2.ppf(1 - level, items - 1) - explained)[1])
    return s0, d0


def moderate(variances, df, prior: tuple[float, float], cap: float) -> tuple[np.ndarray, np.ndarray]:
    """Moderated variances ``(d0 s0^2 + d s^2) / (d0 + d)`` and their degrees of freedom
    ``min(d0 + d, cap)`` (``cap``: the pooled degrees of freedom, which a prior estimated from the
    same data cannot exceed; limma caps the same way)."""
    v, d = np.asarray(variances, dtype=float), np.asarray(df, dtype=float)
    s0, d0 = prior
    if math.isinf(d0):
        return np.full_like(v, s0), np.full_like(d, cap)
    with np.errstate(invalid="ignore"):
        return (d0 * s0 + d * v) / (d0 + d), np.minimum(d0 + d, cap)


@dataclass
class Comparison:
    """Every config against every other, from one matrix of seed scores (lower is better).

    Arrays have one entry per config (row of the matrix); "the best" is ``best``, the row the
    caller ranks first (by default the lowest mean among comparable configs). The pair matrices
    (``difference``, ``se``, ``df``: row minus column) are what racing over seeds or a caller's own
    test can reuse.
    """

    comparable: np.ndarray      # has >= 2 finite seeds (only these take part)
    could_be_best: np.ndarray   # no config beats it beyond the step-down critical value
    p_worse: np.ndarray         # the smallest level at which it would be flagged (1 for the best)
    paired: np.ndarray          # its comparison with the best used the seeds both share
    seed_corr: np.ndarray       # correlation of its seed scores with the best's (>= 3 shared seeds)
    diff_vs_best: np.ndarray    # its mean minus the best's (over shared seeds when paired)
    se_vs_best: np.ndarray
    equivalent_to_best: np.ndarray  # its simultaneous upper bound on mean - best other mean < margin
    best: int | None
    study_corr: float           # 1 - pooled var(difference) / (2 pooled var): the seed effect's share
    sd_paired: float            # pooled sd of a per-seed difference between two configs
    sd_within: float            # pooled sd of one config's seed scores
    df_paired: float            # pooled degrees of freedom of the paired differences
    df_unpaired: float
    stage_configs: int          # configs left that could be the best (the last stage's family)
    configs: int                # how many took part
    upper_vs_best: np.ndarray | None = None  # Hsu's MCB upper bound on mean - min of the others' means
    prior_df: float = math.nan  # d0 of the moderated pair variances (inf: the spreads look equal)
    difference: np.ndarray | None = None  # (configs, configs) row's mean minus column's
    se: np.ndarray | None = None
    df: np.ndarray | None = None
    mcb_best: np.ndarray | None = None  # Hsu's MCB subset: not beaten at level / (configs - 1)


def _pair_statistics(x: np.ndarray) -> dict:
    """Per config and per pair, computed on each config's centred scores (scores of 1e10 with a
    spread of 1 keep their digits: no sum of squares of the raw values)."""
    finite = np.isfinite(x)
    mask = finite.astype(float)
    n = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(finite, x, 0.0).sum(axis=1) / n
        c = np.where(finite, x - means[:, None], 0.0)  # centred; 0 where missing
        var = (c**2).sum(axis=1) / (n - 1)
        shared = mask @ mask.T
        sums = c @ mask.T                         # sums[i, j]: i's centred scores over the seeds i, j share
        squares = (c**2) @ mask.T
        cross = c @ c.T
        diff_sum = sums - sums.T                  # of (c_i - c_j) over the shared seeds
        ss = squares + squares.T - 2 * cross      # of (c_i - c_j)^2
        diff_mean = diff_sum / shared + (means[:, None] - means[None, :])
        diff_var = np.maximum((ss - diff_sum**2 / shared) / (shared - 1), 0.0)
        own = squares - sums**2 / shared
        corr = (cross - sums * sums.T / shared) / np.sqrt(own * own.T)
    return {"x": x, "finite": finite, "n": n, "means": means, "var": var, "shared": shared, "diff_mean": diff_mean,
            "diff_var": diff_var, "corr": corr}


def _smallest_one_sided_p(t: np.ndarray, df: np.ndarray, both: np.ndarray) -> np.ndarray:
    """Per row, the smallest one-sided p that the row is worse than some column: per distinct df
    only the row's largest t needs its tail (a million pairs otherwise cost a second)."""
    raw = np.ones(t.shape[0])
    values = np.unique(df[both])
    if len(values) > 64:  # unpaired Welch df are continuous: every tail
        tails = np.ones_like(t)
        tails[both] = special.stdtr(df[both], -t[both])
        return tails.min(axis=1) if t.shape[0] else raw
    for value in values:
        largest = np.where(both & (df == value), t, -np.inf).max(axis=1)
        have = np.isfinite(largest) | (largest == np.inf)
        raw[have] = np.minimum(raw[have], special.stdtr(value, -largest[have]))
    return raw


def _stage(p: dict, rows: np.ndarray) -> dict:
    """The moderated tests among the configs ``rows`` (each with >= 2 seeds): the prior of the pair
    variances and its degrees of freedom estimated from their pairs only, every pair's difference,
    standard error, degrees of freedom, and each config's smallest one-sided p of being worse."""
    sub = np.ix_(rows, rows)
    m = len(rows)
    n, var, shared = p["n"][rows], p["var"][rows], p["shared"][sub]
    both = ~np.eye(m, dtype=bool)
    pairable = both & (shared >= 2)
    upper = np.triu(pairable, 1)
    pair_df = np.where(pairable, shared - 1, 0.0)
    diff_var = np.where(pairable, p["diff_var"][sub], 0.0)
    df_paired = float(pair_df[upper].sum()) * 2 / m  # (m-1)(n-1) when every config has every seed
    df_unpaired = float((n - 1).sum())
    # the k (k - 1) / 2 pair variances share configs and move together: about k independent items
    prior = prior_variance(diff_var[upper], pair_df[upper], items=m)
    # seed effects shared by groups of configs (clusters) make the pairs' variances move together,
    # so a pooled variance counts fewer independent seeds than its pairs suggest: at most
    # DF_PER_SEED times a pair's own degrees of freedom (measured: docs/statistics.md)
    cap = np.minimum(df_paired if df_paired > 0 else 1.0, DF_PER_SEED * np.maximum(pair_df, 1.0))
    mod_var, mod_df = moderate(diff_var, pair_df, prior, cap)
    cvar, cdf = moderate(var, n - 1, prior_variance(var, n - 1), df_unpaired if df_unpaired > 0 else 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = cvar[:, None] / n[:, None], cvar[None, :] / n[None, :]
        welch_df = (a + b) ** 2 / (a**2 / cdf[:, None] + b**2 / cdf[None, :])
        means = p["means"][rows]
        difference = np.where(pairable, p["diff_mean"][sub], means[:, None] - means[None, :])
        se = np.where(pairable, np.sqrt(mod_var / shared), np.sqrt(a + b))
        df = np.where(pairable, mod_df, np.where(np.isfinite(welch_df), welch_df, 1.0))
        t = np.where(se > 0, difference / se,
                     np.where(difference > 0, np.inf, np.where(difference < 0, -np.inf, 0.0)))
    t = np.where(both, t, -np.inf)
    df = np.where(both, np.maximum(df, 1e-3), np.nan)
    return {"difference": np.where(both, difference, np.nan), "se": np.where(both, se, np.nan), "df": df,
            "raw": _smallest_one_sided_p(t, np.where(both, df, 1.0), both), "prior": prior, "df_paired": df_paired}


def compare(scores, *, margin: float | None = None, level: float = LEVEL, best: int | None = None,
            pvalues: bool = True, step_down: bool = True) -> Comparison:
    """Which configs could be the best and which are equivalent to the true best; see docs/statistics.md.

    * Each pair of configs that share >= 2 seeds is compared **seed by seed** over those seeds (the
      seed effect cancels); pairs sharing fewer are compared on their means (Welch). The variance of
      a difference is **moderated** (empirical Bayes, :func:`prior_variance`): pooled over pairs as
      far as their spreads look alike, the pair's own as far as they differ.
    * Config i is "worse" when some config beats it with a one-sided p-value at most
      ``level / (m (m - 1))``, m the configs still in the running; those flagged drop out and the
      rest are tested again (Holm-like step-down). ``p_worse`` is the smallest level at which the
      config would be flagged.
    * ``equivalent_to_best`` is Hsu's multiple comparisons with the best: the config's simultaneous
      upper bound on ``mean_i - min_{j != i} mean_j`` (one-sided, Bonferroni over the k - 1
      comparisons with the unknown true best, maximised over the configs that could be it) is
      below ``margin``. The observed best is equivalent only when its own bound is; a config named
      equivalent is within the margin of the *true* best with probability >= 1 - level.

    Args:
        scores: (configs, seeds) seed scores, lower is better, NaN where missing.
        margin: practical difference in the metric's units for ``equivalent_to_best`` (NaN/None:
            not computed, all False).
        level: family-wise error level of "worse" and of the equivalence claims.
        best: row of the reference config (default: lowest mean among comparable rows); it sets
            ``diff_vs_best``, ``paired`` and ``seed_corr``, not the tests.
        pvalues: kept for compatibility (the p-values cost nothing extra now).
        step_down: test again among the configs that could still be the best (smaller family).
    """
    del pvalues
    x = np.asarray(scores, dtype=float)
    k_all = x.shape[0]
    p = _pair_statistics(x)
    n, means, var, shared = p["n"], p["means"], p["var"], p["shared"]
    comparable = n >= 2
    rows = np.flatnonzero(comparable)
    k = len(rows)
    both = comparable[:, None] & comparable[None, :] & ~np.eye(k_all, dtype=bool)
    pairable = both & (shared >= 2)
    upper = np.triu(pairable, 1)
    pair_df = np.where(pairable, shared - 1, 0.0)
    sd_paired = math.sqrt(float((pair_df * np.where(pairable, p["diff_var"], 0.0))[upper].sum())
                          / float(pair_df[upper].sum())) \
        if pair_df[upper].sum() > 0 else math.nan
    df_unpaired = float((n[comparable] - 1).sum())
    sd_within = math.sqrt(float(((n - 1) * var)[comparable].sum()) / df_unpaired) if df_unpaired > 0 else math.nan
    # every config that takes part: the pair matrices, Hsu's MCB and the equivalence bounds
    stage = _stage(p, rows) if k else {"difference": np.empty((0, 0)), "se": np.empty((0, 0)), "df": np.empty((0, 0)),
                                         "raw": np.ones(0), "prior": (math.nan, math.nan), "df_paired": math.nan}
    difference, se, df = (np.full((k_all, k_all), np.nan) for _ in range(3))
    for full, part in ((difference, stage["difference"]), (se, stage["se"]), (df, stage["df"])):
        full[np.ix_(rows, rows)] = part
    prior, df_paired = stage["prior"], stage["df_paired"]
    raw = np.ones(k_all)
    raw[rows] = stage["raw"]
    # could be the best: step down, the tests computed afresh among the configs still in the
    # running (at two configs, the pair's own paired t-test). Swept one level at a time so that
    # p_worse is the smallest level that flags a config: could_be_best is p_worse > level exactly.
    p_worse = np.full(k_all, np.nan)
    p_worse[rows] = 1.0
    running, left, raw_left, computed_at = 0.0, rows, stage["raw"], len(rows)
    while len(left) >= 2:
        m = len(left)
        if m < computed_at and (m <= FRESH_BELOW or m <= 0.95 * computed_at):
            raw_left, computed_at = _stage(p, left)["raw"], m  # afresh among those left (a pair: its own t)
        adjusted = np.minimum(1.0, m * (m - 1) * raw_left)
        out = adjusted <= max(running, P_FLOOR)  # far behind at any level used: out together (speed)
        if out.any():
            p_worse[left[out]] = np.maximum(running, adjusted[out])
            running = max(running, float(adjusted[out].max()))
        else:
            running = float(adjusted.min())
            if running >= 1.0:
                break
            out = adjusted <= running
            p_worse[left[out]] = running
        left, raw_left = left[~out], raw_left[~out]
        if not step_down:
            p_worse[left] = np.minimum(1.0, np.maximum(running, adjusted[~out]))
            break
    could = comparable & ~(p_worse <= level)
    if best is None and k:
        best = int(rows[np.argmin(means[rows])])
    # Hsu's MCB: configs not beaten at level / (k - 1) could be the (one) true best; the upper
    # bound of mean_i - min_{j != i} mean_j is the largest of difference + d se over those others.
    mcb = comparable & (raw * max(k - 1, 1) > level) if k >= 2 else comparable.copy()
    upper_bound = np.full(k_all, np.nan)
    if k >= 2:
        with np.errstate(invalid="ignore"):
            finite_df = np.where(both, df, 1.0)
            values, where = np.unique(finite_df, return_inverse=True)  # few distinct df: one quantile each
            d = stats.t.isf(level / (k - 1), values)[where].reshape(df.shape)
            reach = np.where(mcb[None, :] & both, difference + d * se, -np.inf)
        top = reach.max(axis=1)
        upper_bound[rows] = np.maximum(0.0, np.where(np.isnan(top), np.inf, top))[rows]
    equivalent = np.zeros(k_all, dtype=bool)
    if margin is not None and math.isfinite(margin) and k >= 2:
        equivalent = comparable & (upper_bound < margin)
    row = lambda m, fill: np.full(k_all, fill) if best is None else np.where(np.arange(k_all) == best, fill, m[:, best])  # noqa: E731
    paired_row = row(pairable, True).astype(bool) & comparable
    diff_row, se_row = row(difference, 0.0), row(se, 0.0)
    corr_row = np.where(row(shared, 0) >= 3, row(p["corr"], 1.0), np.nan)
    study_corr = 1 - sd_paired**2 / (2 * sd_within**2) if sd_within and math.isfinite(sd_paired) else math.nan
    return Comparison(comparable, could.astype(bool), p_worse, paired_row, corr_row, diff_row, se_row, equivalent,
                      best, study_corr, sd_paired, sd_within, df_paired, df_unpaired, int(could.sum()), k,
                      upper_bound, prior[1], difference, se, df, mcb)


def reorder(comparison: Comparison, order: np.ndarray) -> Comparison:
    """The same comparison with its per-config arrays in ``order`` (the caller sorted its rows)."""
    from dataclasses import fields, replace

    position = {int(old): new for new, old in enumerate(order)}
    changes = {}
    for f in fields(comparison):
        value = getattr(comparison, f.name)
        if isinstance(value, np.ndarray):
            changes[f.name] = value[np.ix_(order, order)] if value.ndim == 2 else value[order]
    return replace(comparison, **changes, best=None if comparison.best is None else position[comparison.best])


def prob_best(scores, how: str = "mean", k: float = 1.0, *, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """Share of joint bootstrap resamples in which each config has the best (lowest) aggregate.

    The seeds are resampled *jointly*: one draw of seed indices is applied to every config, so
    the correlation between configs that share seeds is kept. A tie splits its resample equally.
    Descriptive: with 3-5 seeds there are few distinct resamples, so this is a reading of the
    data, not a calibrated probability (docs/statistics.md).
    """
    x = np.asarray(scores, dtype=float)
    configs, seeds = x.shape
    if configs == 0 or seeds == 0:
        return np.zeros(configs)
    rng = np.random.default_rng(seed)
    shares = np.zeros(configs)
    for start in range(0, n_boot, 500):  # in chunks: 50 configs x 20 seeds x 2,000 draws is 16 MB each
        index = rng.integers(0, seeds, (min(500, n_boot - start), seeds))
        values = aggregate(x[:, index], how, k)  # (configs, draws)
        values = np.where(np.isfinite(values), values, np.inf)
        lowest = values.min(axis=0)
        winners = (values == lowest) & np.isfinite(lowest)
        counts = winners.sum(axis=0)
        shares += (winners / np.maximum(counts, 1)).sum(axis=1)
    return shares / n_boot


# -- seeds needed ---------------------------------------------------------------------------------


def power(seeds: int, sd_diff: float, margin: float, configs: int, *, paired: bool = True,
          level: float = LEVEL, prior_df: float = math.inf) -> float:
    """Chance that :func:`compare` calls the second of two configs worse when it truly is ``margin``
    worse, with ``seeds`` seeds per config and ``configs`` configs still in the running.

    ``sd_diff`` is the sd of a per-seed difference (paired) or sqrt(var_a + var_b) (unpaired).
    Noncentral t at the degrees of freedom the comparison would have: the pair's own plus the
    moderation's ``prior_df``, capped as :func:`compare` caps them; the one-sided critical value at
    ``level / (configs (configs - 1))``.
    """
    if seeds < 2 or not sd_diff > 0:
        return math.nan
    configs = max(configs, 2)
    own = seeds - 1 if paired else 2 * (seeds - 1)
    df = min(own + prior_df, DF_PER_SEED * own, (configs - 1) * own if paired else configs * (seeds - 1))
    crit = stats.t.isf(level / (configs * (configs - 1)), df)
    return float(stats.nct.sf(crit, df, margin * math.sqrt(seeds) / sd_diff))


def seeds_needed(sd_diff: float, margin: float, configs: int, *, paired: bool = True, target: float = POWER,
                 level: float = LEVEL, max_seeds: int = MAX_SEEDS, prior_df: float = math.inf) -> int | None:
    """Fewest seeds per config with :func:`power` >= ``target`` at a true gap of ``margin``
    (None when even ``max_seeds`` would not do, or the spread is unknown).

    From the spread, never from the observed gap: power computed at the observed difference
    ("post-hoc power") only restates the p-value.
    """
    if not (sd_diff > 0 and margin > 0):
        return None
    kwargs = {"paired": paired, "level": level, "prior_df": prior_df}
    if power(max_seeds, sd_diff, margin, configs, **kwargs) < target:
        return None
    low, high = 2, max_seeds  # power grows with the seeds: bisect
    while low < high:
        middle = (low + high) // 2
        if power(middle, sd_diff, margin, configs, **kwargs) >= target:
            high = middle
        else:
            low = middle + 1
    return low


PLANNING_CONFIDENCE = 0.65
#: Above this many seeds per config the verdict says what the number means instead of printing it.
SEEDS_SAID = 100


def pair_spread(comparison: Comparison, scores, first: int, second: int) -> tuple[float, float, bool]:
    """The sd of a per-seed difference between two configs from **their own** seeds (a third
    config's noise plays no part), its degrees of freedom, and whether the two are paired."""
    del comparison
    x = np.asarray(scores, dtype=float)
    both = np.isfinite(x[first]) & np.isfinite(x[second])
    if both.sum() >= 2:
        differences = x[first, both] - x[second, both]
        centred = differences - differences.mean()  # two-pass: scores of 1e10 keep their digits
        return math.sqrt(float((centred**2).sum()) / (both.sum() - 1)), float(both.sum() - 1), True
    a, b = x[first][np.isfinite(x[first])], x[second][np.isfinite(x[second])]
    if len(a) < 2 or len(b) < 2:
        return math.nan, 0.0, False
    return math.sqrt(float(np.var(a, ddof=1) + np.var(b, ddof=1))), float(min(len(a), len(b)) - 1), False


def plan_seeds(comparison: Comparison, scores, first: int, second: int, margin: float,
               *, target: float = POWER, confidence: float = PLANNING_CONFIDENCE) -> int | None:
    """Seeds per config to tell ``first`` from ``second`` at ``margin`` with ``target`` power.

    The sd of the two configs' own per-seed differences, taken at its ``confidence`` upper
    confidence limit (chi-square, its own degrees of freedom: the spread of a few seeds is
    underestimated as often as not, and a plan from an underestimate falls short);
    docs/statistics.md ("Seeds needed") has the power the suggestions achieve when re-simulated.
    """
    sd, df, paired = pair_spread(comparison, scores, first, second)
    if not (sd > 0 and df > 0):
        return None
    sd *= math.sqrt(df / stats.chi2.ppf(1 - confidence, df))
    return seeds_needed(sd, margin, max(comparison.stage_configs, 2), paired=paired, target=target,
                        prior_df=comparison.prior_df if math.isfinite(comparison.prior_df) else math.inf)


def resolvable_margin(comparison: Comparison, scores, first: int, second: int, seeds: int,
                      *, target: float = POWER, confidence: float = PLANNING_CONFIDENCE) -> float:
    """The smallest gap ``seeds`` seeds per config would tell apart with ``target`` power (the
    planning spread of :func:`plan_seeds`), by bisection on the margin."""
    sd, df, paired = pair_spread(comparison, scores, first, second)
    if not (sd > 0 and df > 0):
        return math.nan
    sd *= math.sqrt(df / stats.chi2.ppf(1 - confidence, df))
    configs = max(comparison.stage_configs, 2)
    low, high = 0.0, sd
    while power(seeds, sd, high, configs, paired=paired) < target:
        high *= 2
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if power(seeds, sd, middle, configs, paired=paired) >= target else (middle, high)
    return high


# -- the range of a metric --------------------------------------------------------------------------

_NON_NEGATIVE = ("mse", "mae", "rmse", "loss", "crossentropy", "mean_squared", "mean_absolute")
_UNIT = ("accuracy", "auc")


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take, from its name: MSE, MAE, RMSE, losses and cross-entropies
    ``[0, inf)``; accuracies and AUC ``[0, 1]``; anything else (a custom metric) unbounded."""
    name = str(metric).lower()
    if any(word in name for word in _UNIT):
        return 0.0, 1.0
    if any(word in name for word in _NON_NEGATIVE):
        return 0.0, math.inf
    return -math.inf, math.inf


def clip_interval(low, high, metric: str):
    """An interval kept inside :func:`metric_range` (arrays or floats; NaN stays NaN)."""
    bottom, top = metric_range(metric)
    return np.clip(low, bottom, top), np.clip(high, bottom, top)
