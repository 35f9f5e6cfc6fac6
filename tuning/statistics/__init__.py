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

The package: :mod:`~tuning.statistics._compare` (could be best, equivalence, ``prob_best``),
:mod:`~tuning.statistics._planning` (power and seeds needed), :mod:`~tuning.statistics._aggregates`
(a config's interval, margins), :mod:`~tuning.statistics._range` (Tukey's studentized range, for
the anchors); the scipy-free rules (the aggregates and their names, margins, a metric's range) live
in :mod:`tuning.objective`, so that a study that does not race never loads SciPy.

Example:
    >>> import numpy as np
    >>> scores = np.array([[1.0, 1.1, 0.9, 1.0], [1.0, 1.2, 0.9, 1.1], [3.0, 3.1, 2.9, 3.2]])
    >>> compare(scores).could_be_best.tolist()
    [True, True, False]
"""

from tuning.objective import AGGREGATES, DEFAULT_MARGIN, metric_range, oriented_aggregate, parse_margin
from tuning.statistics._aggregates import N_BOOT, aggregate_interval, clip_interval, resolve_margin
from tuning.statistics._compare import (
    DF_PER_SEED,
    LEVEL,
    Comparison,
    compare,
    moderate,
    prior_variance,
    prob_best,
    reorder,
)
from tuning.statistics._planning import (
    MAX_SEEDS,
    PLANNING_CONFIDENCE,
    POWER,
    SEEDS_SAID,
    pair_spread,
    plan_seeds,
    power,
    resolvable_margin,
    seeds_needed,
)
from tuning.statistics._range import (
    critical_value,
    simultaneous_p,
    simultaneous_pvalues,
    studentized_range_isf,
    studentized_range_sf,
)

__all__ = [
    "AGGREGATES", "DEFAULT_MARGIN", "DF_PER_SEED", "LEVEL", "MAX_SEEDS", "N_BOOT", "PLANNING_CONFIDENCE", "POWER",
    "SEEDS_SAID", "Comparison", "aggregate_interval", "clip_interval", "compare", "critical_value",
    "metric_range", "moderate", "oriented_aggregate", "pair_spread", "parse_margin", "plan_seeds", "power", "prior_variance", "prob_best",
    "reorder", "resolvable_margin", "resolve_margin", "seeds_needed", "simultaneous_p", "simultaneous_pvalues",
    "studentized_range_isf", "studentized_range_sf",
]
