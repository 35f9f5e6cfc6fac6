"""The seed-noise share of a study's variance, checked against studies whose truth is known.

Scores are drawn as config effect + seed noise with chosen standard deviations, so the true share
of seed noise is sigma_w^2 / (sigma_w^2 + sigma_b^2); the estimate must land on it, balanced or
with missing seeds, and must not call a study without config differences anything but noise.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuning.analysis.variance import split_variance


def synthetic(rng, configs: int, seeds: int, between: float, within: float, missing: float = 0.0) -> np.ndarray:
    effects = rng.normal(0.5, between, configs)[:, None]
    scores = effects + rng.normal(0, within, (configs, seeds))
    if missing:
        scores[rng.random(scores.shape) < missing] = np.nan
    return scores


@pytest.mark.parametrize(("between", "within", "missing"),
                         [(2.0, 1.0, 0.0), (1.0, 1.0, 0.0), (0.5, 1.0, 0.0), (1.0, 0.3, 0.0), (1.0, 1.0, 0.3)])
def test_the_share_lands_on_the_known_truth(between, within, missing):
    rng = np.random.default_rng(7)
    truth = within**2 / (within**2 + between**2)
    shares = [split_variance(synthetic(rng, 200, 8, between, within, missing)).seed_share for _ in range(40)]
    # unbiased enough on average, and each study of 200 configs close to the truth
    assert abs(np.mean(shares) - truth) < 0.02, (np.mean(shares), truth)
    assert np.max(np.abs(np.array(shares) - truth)) < 0.1


def test_the_components_are_the_variances_drawn():
    found = split_variance(synthetic(np.random.default_rng(1), 2000, 10, 0.4, 0.2))
    assert found.within == pytest.approx(0.04, rel=0.05)
    assert found.between == pytest.approx(0.16, rel=0.1)
    assert found.configs == 2000 and found.scores == 20000
    assert found.config_share == pytest.approx(1 - found.seed_share)


def test_configs_that_do_not_differ_are_all_seed_noise():
    shares = [split_variance(synthetic(np.random.default_rng(s), 50, 5, 0.0, 1.0)).seed_share for s in range(20)]
    assert np.median(shares) > 0.9 and min(shares) > 0.6


def test_too_little_to_split_is_nan():
    assert math.isnan(split_variance(np.array([[1.0, 2.0, 3.0]])).seed_share)  # one config
    assert math.isnan(split_variance(np.array([[1.0], [2.0], [np.nan]])).seed_share)  # no config with 2 seeds
    assert math.isnan(split_variance(np.full((2, 2), 3.0)).seed_share)  # no variance at all
    with pytest.raises(ValueError, match="matrix"):
        split_variance(np.ones(3))


def crossed(rng, configs: int, seeds: int, between: float, shared: float, own: float) -> np.ndarray:
    """Scores of configs that share their seeds: config effect + the seed's luck common to every
    config + each config's own seed noise."""
    return (rng.normal(0.5, between, configs)[:, None] + rng.normal(0, shared, seeds)[None, :]
            + rng.normal(0, own, (configs, seeds)))


@pytest.mark.parametrize(("between", "shared", "own"), [(1.0, 1.0, 1.0), (0.5, 2.0, 0.5), (1.0, 0.0, 1.0),
                                                        (0.3, 1.0, 0.1)])
def test_a_shared_seed_effect_is_split_from_the_configs_and_their_own_noise(between, shared, own):
    # 300 studies of 30 configs x 30 seeds: each component's mean estimate within 4 Monte-Carlo
    # standard errors (and 8 % of the truth) of the variance drawn
    rng = np.random.default_rng(11)
    found = [split_variance(crossed(rng, 30, 30, between, shared, own)) for _ in range(300)]
    for name, truth in (("between", between**2), ("shared", shared**2), ("within", shared**2 + own**2)):
        values = np.array([getattr(f, name) for f in found])
        se = values.std(ddof=1) / math.sqrt(len(values))
        assert abs(values.mean() - truth) < max(4 * se, 0.08 * truth, 0.01), (name, values.mean(), truth, se)


def test_a_config_better_on_every_shared_seed_is_not_called_seed_noise():
    """A new user's study: units 8 beat units 4 on each of six seeds (scores 0.92 correlated across
    the two configs through the seeds). The one-way split counted the seeds' shared luck against
    the configs and said seed noise explains 100 %."""
    rng = np.random.default_rng(3)
    luck = rng.normal(0, 0.15, 6)
    scores = np.vstack([0.53 + luck + rng.normal(0, 0.02, 6), 0.34 + luck + rng.normal(0, 0.02, 6)])
    found = split_variance(scores)
    assert found.config_share > 0.2 and found.shared_share > 0.5, found  # the luck is large, but common to both
    assert found.within - found.shared < 0.1 * found.between  # each config's own noise is small beside the gap


def test_the_configs_variance_is_unbiased_when_the_seeds_are_shared_and_the_one_way_split_is_not():
    """The same two configs (0.53 and 0.34: a variance of 0.01805 between them) with the seeds' luck
    shared, 2,000 times: the crossed split lands on the truth within 4 Monte-Carlo s.e.; the same
    scores split one way (no seed in common, as the split read them before) fall short by about
    the shared variance over the seeds (0.0225 / 6), which is what called such a study noise."""
    rng = np.random.default_rng(5)
    crossed_estimates, one_way = [], []
    for _ in range(2000):
        luck = rng.normal(0, 0.15, 6)
        scores = np.vstack([0.53 + luck + rng.normal(0, 0.02, 6), 0.34 + luck + rng.normal(0, 0.02, 6)])
        crossed_estimates.append(split_variance(scores).between)
        apart = np.full((2, 12), np.nan)
        apart[0, :6], apart[1, 6:] = scores  # the same scores on seeds that share nothing
        one_way.append(split_variance(apart).between)
    truth = np.var([0.53, 0.34], ddof=1)
    found = np.array(crossed_estimates)
    assert abs(found.mean() - truth) < 4 * found.std(ddof=1) / math.sqrt(len(found)), (found.mean(), truth)
    assert np.mean(one_way) < truth - 0.5 * 0.15**2 / 6  # biased low by the shared luck
