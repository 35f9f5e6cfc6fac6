"""How many seeds it would take: the power of :func:`~tuning.statistics.compare` and the seeds to plan for."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from tuning.statistics._compare import DF_PER_SEED, LEVEL, Comparison

POWER = 0.8
MAX_SEEDS = 1000


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
    shift = margin * math.sqrt(seeds) / sd_diff
    value = float(stats.nct.sf(crit, df, shift))
    if not math.isfinite(value):  # SciPy's noncentral t gives NaN far out (a shift of 1e14 sds), where
        value = 1.0 if shift > crit else 0.0  # the power is 0 or 1 to every digit shown
    return value


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


def pair_spread(scores, first: int, second: int) -> tuple[float, float, bool]:
    """The sd of a per-seed difference between two configs from **their own** seeds (a third
    config's noise plays no part), its degrees of freedom, and whether the two are paired."""
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


def _planning_spread(scores, first: int, second: int, confidence: float) -> tuple[float, bool]:
    """The pair's own spread at its ``confidence`` upper confidence limit (NaN when unknown), and
    whether it is paired: what :func:`plan_seeds` and :func:`resolvable_margin` plan with."""
    sd, df, paired = pair_spread(scores, first, second)
    if sd == 0 and df > 0:  # the pair's differences are the same on every seed: known to be no spread
        return 0.0, paired
    if not (sd > 0 and df > 0):
        return math.nan, paired
    return sd * math.sqrt(df / stats.chi2.ppf(1 - confidence, df)), paired


def plan_seeds(comparison: Comparison, scores, first: int, second: int, margin: float,
               *, target: float = POWER, confidence: float = PLANNING_CONFIDENCE) -> int | None:
    """Seeds per config to tell ``first`` from ``second`` at ``margin`` with ``target`` power.

    The sd of the two configs' own per-seed differences, taken at its ``confidence`` upper
    confidence limit (chi-square, its own degrees of freedom: the spread of a few seeds is
    underestimated as often as not, and a plan from an underestimate falls short);
    docs/statistics.md ("Seeds needed") has the power the suggestions achieve when re-simulated.
    """
    sd, paired = _planning_spread(scores, first, second, confidence)
    if sd == 0:  # no seed noise between the two: the fewest seeds a comparison takes tell any gap
        return 2
    if not sd > 0:
        return None
    return seeds_needed(sd, margin, max(comparison.stage_configs, 2), paired=paired, target=target,
                        prior_df=comparison.prior_df if math.isfinite(comparison.prior_df) else math.inf)


def resolvable_margin(comparison: Comparison, scores, first: int, second: int, seeds: int,
                      *, target: float = POWER, confidence: float = PLANNING_CONFIDENCE) -> float:
    """The smallest gap ``seeds`` seeds per config would tell apart with ``target`` power (the
    planning spread of :func:`plan_seeds`), by bisection on the margin."""
    sd, paired = _planning_spread(scores, first, second, confidence)
    if sd == 0:  # no seed noise between the two: any gap is told apart
        return 0.0
    if not sd > 0:
        return math.nan
    configs = max(comparison.stage_configs, 2)
    low, high = 0.0, sd
    while power(seeds, sd, high, configs, paired=paired) < target:
        high *= 2
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (low, middle) if power(seeds, sd, middle, configs, paired=paired) >= target else (middle, high)
    return high

