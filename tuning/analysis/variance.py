"""How much of a study's spread in scores is seed noise, and how much is the configs.

Every other importance plot answers "which parameter moves the score?" with one value per trial,
as if a trial's score were the config's. With seeds stored, the question comes before it: of the
variance of all seed scores, how much is *between* configs (what any parameter could explain)
and how much is *within* a config, from seed to seed (what no parameter explains)? A study whose
scores are 60 % seed noise ranks its configs on luck unless it averages many seeds.

The split is the one-way random-effects ANOVA estimate (method of moments, unbalanced groups):
within = the pooled variance of seeds around their config's mean (mean square within); between
= (mean square between - mean square within) / n0, n0 the effective seeds per config, clipped at
0 (a study whose configs differ less than seed noise predicts has no between-config variance to
share out). The seed-noise share is within / (within + between). Its accuracy is checked on a
synthetic study with known variances in tests/test_variance.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["VarianceSplit", "split_variance"]


@dataclass(frozen=True)
class VarianceSplit:
    """Variance components of a (configs, seeds) score matrix and the seed-noise share.

    ``within`` and ``between`` are variances in the metric's units squared; ``seed_share`` is
    ``within / (within + between)`` (NaN when it cannot be estimated: fewer than two configs, or
    no config with two seeds).
    """

    within: float
    between: float
    configs: int
    scores: int

    @property
    def seed_share(self) -> float:
        total = self.within + self.between
        return self.within / total if math.isfinite(total) and total > 0 else math.nan

    @property
    def config_share(self) -> float:
        share = self.seed_share
        return 1 - share if math.isfinite(share) else math.nan


def split_variance(scores: np.ndarray) -> VarianceSplit:
    """Within- and between-config variance of ``scores`` ((configs, seeds), NaN = missing seed).

    Configs without any finite score take no part; a config with one seed adds to the between
    part only (it has no spread of its own to measure).
    """
    matrix = np.asarray(scores, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"scores must be a (configs, seeds) matrix, got shape {matrix.shape}")
    finite = np.isfinite(matrix)
    n = finite.sum(axis=1)
    keep = n > 0
    matrix, finite, n = matrix[keep], finite[keep], n[keep]
    groups, total = len(n), int(n.sum())
    if groups < 2 or total - groups < 1:
        return VarianceSplit(math.nan, math.nan, groups, total)
    values = np.where(finite, matrix, 0.0)
    means = values.sum(axis=1) / n
    grand = values.sum() / total
    ss_within = float((np.where(finite, matrix - means[:, None], 0.0) ** 2).sum())
    ss_between = float((n * (means - grand) ** 2).sum())
    ms_within = ss_within / (total - groups)
    ms_between = ss_between / (groups - 1)
    n0 = (total - float((n ** 2).sum()) / total) / (groups - 1)
    between = max(0.0, (ms_between - ms_within) / n0)
    return VarianceSplit(ms_within, between, groups, total)
