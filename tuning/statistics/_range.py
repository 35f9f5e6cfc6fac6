"""Tukey's studentized range: the simultaneous critical values and p-values of all pairwise comparisons.

:func:`tuning.statistics.compare` steps down with Bonferroni-adjusted one-sided tests; the
studentized range serves Tukey and Games-Howell, the anchors it is measured against
(``benchmarks/statistics_calibration.py``), and anyone who wants them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special, stats
from scipy.interpolate import CubicSpline

from tuning.statistics._compare import LEVEL

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

