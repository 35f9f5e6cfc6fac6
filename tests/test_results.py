"""Tests of tuning.results: the per-seed aggregate a trial reports, and TrialResult statistics."""

from __future__ import annotations

import math
import statistics

import pytest

from tuning.results import FAILED, OK, FitResult, TrialResult
from tuning.results import aggregate_seeds as aggregate

VALUES = [0.2, 0.4, 0.9]
STD = statistics.stdev(VALUES)  # sample standard deviation


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_mean_and_median_do_not_depend_on_direction(direction):
    assert aggregate(VALUES, "mean", direction) == pytest.approx(0.5)
    assert aggregate(VALUES, "median", direction) == pytest.approx(0.4)
    assert aggregate([1.0, 2.0, 3.0, 10.0], "median", direction) == pytest.approx(2.5)


def test_worst_is_max_when_minimising_and_min_when_maximising():
    assert aggregate(VALUES, "worst", "minimize") == 0.9
    assert aggregate(VALUES, "worst", "maximize") == 0.2


def test_mean_plus_std_moves_towards_the_bad_side():
    low = aggregate(VALUES, "mean_plus_std", "minimize")
    high = aggregate(VALUES, "mean_plus_std", "maximize")
    assert low == pytest.approx(0.5 + STD)
    assert high == pytest.approx(0.5 - STD)
    assert low > 0.5 > high


def test_mean_plus_std_k_scales_the_spread():
    assert aggregate(VALUES, "mean_plus_std", "minimize", k=2.0) == pytest.approx(0.5 + 2 * STD)
    assert aggregate(VALUES, "mean_plus_std", "maximize", k=0.5) == pytest.approx(0.5 - 0.5 * STD)
    assert aggregate(VALUES, "mean_plus_std", "minimize", k=0.0) == pytest.approx(0.5)


def test_mean_plus_std_prefers_agreeing_seeds():
    steady, lucky = [0.5, 0.5, 0.5], [0.1, 0.5, 0.6]
    assert statistics.fmean(lucky) < statistics.fmean(steady)
    assert aggregate(steady, "mean_plus_std", "minimize") < aggregate(lucky, "mean_plus_std", "minimize")


def test_docstring_example():
    assert aggregate([0.2, 0.4], "mean_plus_std", "minimize", k=1.0) == pytest.approx(0.3 + math.sqrt(0.02))


@pytest.mark.parametrize("how", ["mean", "median", "worst", "mean_plus_std"])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_single_value_has_no_spread(how, direction):
    assert aggregate([0.7], how, direction, k=3.0) == 0.7


@pytest.mark.parametrize("how", ["mean", "median", "worst", "mean_plus_std"])
def test_empty_values_raise(how):
    with pytest.raises(ValueError, match="no values"):
        aggregate([], how, "minimize")


def test_unknown_aggregate_raises():
    with pytest.raises(ValueError, match="unknown aggregate"):
        aggregate(VALUES, "max", "minimize")


def fit(seed: int, value: float | None, *, metric: str = "val_loss") -> FitResult:
    if value is None:
        return FitResult("k", seed, FAILED, error=f"diverged at epoch 3, seed {seed}")
    return FitResult("k", seed, OK, scores={metric: value, "train_loss": value / 2}, epochs_run=5)


def test_trial_result_ignores_failed_fits():
    trial = TrialResult({"units": 4}, "k", [fit(0, 0.3), fit(1, None)], "val_loss", None, failure="seed 1")
    assert trial.fits[0].ok and not trial.fits[1].ok
    assert trial.seed_values == {0: 0.3}
    assert trial.mean == 0.3
    assert math.isnan(trial.std)  # one seed: its spread is unknown, not zero (as results.trials says)


def test_trial_result_statistics_over_ok_fits():
    trial = TrialResult({"units": 4}, "k", [fit(3, 0.2), fit(5, 0.4), fit(7, 0.9), fit(9, None)],
                        "val_loss", None)
    assert trial.seed_values == {3: 0.2, 5: 0.4, 7: 0.9}
    assert trial.mean == pytest.approx(0.5)
    assert trial.std == pytest.approx(STD)


def test_trial_result_uses_its_metric():
    fits = [fit(0, 0.8, metric="val_accuracy"), fit(1, 0.6, metric="val_accuracy")]
    trial = TrialResult({}, "k", fits, "val_accuracy", 0.7)
    assert trial.seed_values == {0: 0.8, 1: 0.6}
    other = TrialResult({}, "k", fits, "val_loss", None)
    assert other.seed_values == {}


def test_trial_result_with_no_ok_fit():
    trial = TrialResult({}, "k", [fit(0, None)], "val_loss", None, failure="all failed")
    assert trial.seed_values == {}
    assert math.isnan(trial.mean)
    assert math.isnan(trial.std)


def test_fit_result_to_dict_round_trips():
    result = fit(2, 0.25)
    again = FitResult(**result.to_dict())
    assert again == result
    assert result.to_dict()["scores"] == {"val_loss": 0.25, "train_loss": 0.125}
