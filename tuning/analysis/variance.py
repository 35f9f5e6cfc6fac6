"""How much of a study's spread in scores is seed noise, and how much is the configs.

Every other importance plot answers "which parameter moves the score?" with one value per trial,
as if a trial's score were the config's. With seeds stored, the question comes before it: of the
variance of all seed scores, how much is *between* configs (what any parameter could explain)
and how much is *within* a config, from seed to seed (what no parameter explains)? A study whose
scores are 60 % seed noise ranks its configs on luck unless it averages many seeds.

The configs of a study share their seeds (seed 3 splits, shuffles and draws its dropout masks the
same way for every config), so part of the seed noise is **shared**: a lucky seed is lucky for
every config and moves them together, leaving their order as it was. Where at least two configs
share at least two seeds, the split is the two-way random-effects ANOVA of that crossed block
(configs x the seeds all of them have, one score a cell, method of moments): between = the
configs' variance, shared = the seeds' common variance, and the rest each config's own seed
noise; within is shared + own. A one-way split of such a study counts the shared part twice
against the configs ((mean square between - mean square within) / seeds falls short by the
shared variance over the seeds) and could call a config that wins on every seed pure noise.
Otherwise (scattered missing seeds, no common block) it is the one-way random-effects estimate
(unbalanced groups): within = the pooled variance of seeds around their config's mean; between
= (mean square between - mean square within) / n0, n0 the effective seeds per config. Both clip
a variance at 0 (configs that differ less than the noise predicts have none to share out). The
seed-noise share is within / (within + between). Its accuracy is checked on synthetic studies
with known variances, shared seed effects among them, in tests/test_variance.py.
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
    shared: float = math.nan  #: the part of ``within`` every config shares (the seeds' common luck), when crossed

    @property
    def shared_share(self) -> float:
        """The share of all the variance that is seed luck shared by every config (NaN if unknown)."""
        total = self.within + self.between
        return self.shared / total if math.isfinite(self.shared) and total > 0 else math.nan

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
    common = finite.all(axis=0)
    if common.sum() >= 2:
        return _crossed(matrix[:, common], groups, total)
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


def _crossed(block: np.ndarray, groups: int, total: int) -> VarianceSplit:
    """The two-way split of a complete (configs, seeds) block: configs, shared seed luck, own noise."""
    configs, seeds = block.shape
    grand = block.mean()
    rows, columns = block.mean(axis=1), block.mean(axis=0)
    residual = block - rows[:, None] - columns[None, :] + grand
    ms_own = float((residual ** 2).sum()) / ((configs - 1) * (seeds - 1))
    ms_configs = seeds * float(((rows - grand) ** 2).sum()) / (configs - 1)
    ms_seeds = configs * float(((columns - grand) ** 2).sum()) / (seeds - 1)
    between = max(0.0, (ms_configs - ms_own) / seeds)
    shared = max(0.0, (ms_seeds - ms_own) / configs)
    return VarianceSplit(shared + ms_own, between, groups, total, shared)
