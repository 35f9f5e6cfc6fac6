"""Which configs could be the best and which are equivalent to it: :func:`compare` and its moderated variances."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from tuning.objective import oriented_aggregate
from tuning.statistics._aggregates import N_BOOT

LEVEL = 0.05
DF_PER_SEED = 4.0
#: configs whose adjusted p is below this leave the step-down together (its p is then from that stage)
P_FLOOR = 1e-6
HETEROGENEITY_CONFIDENCE = 0.75
#: the step-down computes its tests afresh whenever 5 % of the configs have left, and at every step below this many
FRESH_BELOW = 30


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


# What scipy.special.polygamma and scipy.stats' chi2.ppf and t.isf compute, called directly: the
# same numbers to the bit (tests/test_statistics.py checks them against SciPy), without the argument
# checks and array wrapping that made them most of a comparison's time (racing compares after
# every seed).
def _trigamma(y):
    """polygamma(1, y)."""
    return special.zeta(2, y)


def _tetragamma(y):
    """polygamma(2, y)."""
    return -2.0 * special.zeta(3, y)


def _chi2_quantile(q: float, df: float) -> float:
    """stats.chi2.ppf(q, df)."""
    return float(2 * special.gammaincinv(df / 2, q))


def _t_upper_quantile(p, df):
    """stats.t.isf(p, df)."""
    return -special.stdtrit(df, p)


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (Smyth's Newton iteration, limma's trigammaInverse)."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(_trigamma(y))
        step = tri * (1 - tri / x) / float(_tetragamma(y))
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
    explained = float(_trigamma(values / 2)[where].mean())
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
        d0 = min(d0, fit(spread * (items - 1) / _chi2_quantile(1 - level, items - 1) - explained)[1])
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
    study_corr: float           # 1 - pooled var(difference) / (2 pooled var), clipped to [-1, 1]: the seed effect's share
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
    p_not_best: np.ndarray | None = None  # the smallest level at which MCB rules it out as the true best


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
    p_not_best = np.where(comparable, np.minimum(1.0, raw * max(k - 1, 1)), np.nan) if k >= 2 \
        else np.where(comparable, 1.0, np.nan)
    mcb = comparable & (p_not_best > level)
    upper_bound = np.full(k_all, np.nan)
    if k >= 2:
        with np.errstate(invalid="ignore"):
            finite_df = np.where(both, df, 1.0)
            values, where = np.unique(finite_df, return_inverse=True)  # few distinct df: one quantile each
            d = _t_upper_quantile(level / (k - 1), values)[where].reshape(df.shape)
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
    # An estimate from few seeds leaves [-1, 1] (2 or 3 seeds: -1.7 seen); a correlation cannot.
    study_corr = float(np.clip(1 - sd_paired**2 / (2 * sd_within**2), -1.0, 1.0)) \
        if sd_within and math.isfinite(sd_paired) else math.nan
    return Comparison(comparable, could.astype(bool), p_worse, paired_row, corr_row, diff_row, se_row, equivalent,
                      best, study_corr, sd_paired, sd_within, df_paired, df_unpaired, int(could.sum()), k,
                      upper_bound, prior[1], difference, se, df, mcb, p_not_best)


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
        values = oriented_aggregate(x[:, index], how, k)  # (configs, draws)
        values = np.where(np.isfinite(values), values, np.inf)
        lowest = values.min(axis=0)
        winners = (values == lowest) & np.isfinite(lowest)
        counts = winners.sum(axis=0)
        shares += (winners / np.maximum(counts, 1)).sum(axis=1)
    return shares / n_boot

