"""Learning-curve diagnosis: hand-made curves for every label and edge case, then real Keras fits."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from tuning.api import Results
from tuning.diagnose import (
    GOOD_FIT,
    LABELS,
    OVERFIT,
    UNDERFIT,
    UNSTABLE,
    Thresholds,
    diagnose_config,
    diagnose_curve,
    diagnose_study,
    mean_curve,
)

EPOCHS = np.arange(100)


def overfit_curves() -> tuple[list[float], list[float]]:
    """Train falls all along; val bottoms out at epoch 30 and ends 50 % higher."""
    train = 1.0 * np.exp(-EPOCHS / 20) + 0.01
    val = np.where(EPOCHS <= 29, 1.0 - 0.7 * EPOCHS / 29, 0.3 + 0.15 * (EPOCHS - 29) / 70)
    return train.tolist(), val.tolist()


def good_curves(seed: int = 0) -> tuple[list[float], list[float]]:
    """Both converge to a plateau by epoch 30 of 60, with 1 % noise."""
    rng = np.random.default_rng(seed)
    e = np.arange(60)
    train = 0.1 + 0.9 * np.exp(-e / 5) + rng.normal(0, 0.001, 60)
    val = 0.12 + 0.9 * np.exp(-e / 5) + rng.normal(0, 0.001, 60)
    return train.tolist(), val.tolist()


# -- hand-made curves, one per label ----------------------------------------------------------------


def test_overfit_evidence_has_the_numbers():
    found = diagnose_curve(*overfit_curves())
    assert found.label == OVERFIT and found.best_epoch == 30 and found.epochs == 100
    assert re.fullmatch(r"val loss lowest at epoch 30/100 \(0\.3\), \d+ % higher over the last 20 epochs while train "
                        r"fell \d+ %; gap [\d.]+x train", found.evidence), found.evidence
    assert found.val_rise > 0.3 and found.train_fall > 0.5 and found.gap_ratio > 10
    assert "dropout" in found.suggestion and "early stopping" in found.suggestion


def test_overfit_threshold_is_a_parameter():
    # With a higher rise threshold the gap rule still sees val stall while train falls...
    assert diagnose_curve(*overfit_curves(), Thresholds(overfit_rise=0.6)).label == OVERFIT
    # ...and with both loosened the same curves are no longer called overfit.
    assert diagnose_curve(*overfit_curves(), Thresholds(overfit_rise=0.6, gap_ratio=50)).label != OVERFIT


def test_overfit_by_gap_when_val_stalls_and_train_keeps_falling():
    train = np.linspace(0.3, 0.05, 50).tolist()
    found = diagnose_curve(train, [0.3] * 50)
    assert found.label == OVERFIT and "stalled" in found.evidence and "gap" in found.evidence
    assert found.gap_ratio >= Thresholds().gap_ratio


def test_good_fit():
    found = diagnose_curve(*good_curves())
    assert found.label == GOOD_FIT, found.evidence
    assert found.evidence.startswith("val loss 0.12 (mean of the last 12 of 60 epochs)")
    assert "gap 1.2x train" in found.evidence and abs(found.tail_drop) < 0.05


def test_still_improving_is_underfit_with_more_epochs_suggested():
    curve = (1.0 - 0.03 * np.arange(20)).tolist()
    found = diagnose_curve(curve, curve)
    assert found.label == UNDERFIT and "still falling" in found.evidence and "more epochs" in found.suggestion
    assert found.tail_drop > 0.05


def test_early_stopped_run_is_not_told_to_train_longer():
    curve = (1.0 - 0.03 * np.arange(20)).tolist()
    found = diagnose_curve(curve, curve, max_epochs=100)
    assert found.label != UNDERFIT and found.evidence.endswith("stopped early after 20 of 100 epochs")


def test_close_to_the_naive_baseline_is_underfit():
    train, val = good_curves()
    found = diagnose_curve(train, val, baseline=0.125)
    assert found.label == UNDERFIT and "x the naive baseline's (0.125)" in found.evidence
    assert found.skill == pytest.approx(1 - 0.12 / 0.125, abs=0.01)
    assert diagnose_curve(train, val, baseline=1.0).label == GOOD_FIT


def test_diverged_nan_is_unstable_with_the_epoch():
    train = [1.0, 0.8, 0.7, 0.9, 3.0, 40.0, math.nan]
    found = diagnose_curve(train, [1.0, 0.9, 0.8, 1.0, 4.0, math.inf, math.nan])
    assert found.label == UNSTABLE and found.diverged_epoch == 6
    assert found.evidence == "diverged at epoch 6/7 (val loss inf)" and "learning rate" in found.suggestion


def test_rising_train_loss_is_unstable():
    train = [1.0, 0.5, 0.6, 0.9, 1.2, 1.5]
    found = diagnose_curve(train, train)
    assert found.label == UNSTABLE and "train loss" in found.evidence and "learning rate" in found.suggestion


def test_val_rising_while_train_does_not_fall_is_unstable_not_overfit():
    train = [1.0, 0.5, 0.4] + [0.4] * 17
    val = [1.0, 0.5, 0.4] + np.linspace(0.4, 0.6, 17).tolist()
    found = diagnose_curve(train, val)
    assert found.label == UNSTABLE and "did not fall" in found.evidence


def test_minimum_inside_the_tail_is_not_overfitting_yet():
    train = np.linspace(1.0, 0.5, 20).tolist()
    val = np.linspace(1.0, 0.5, 20).tolist()
    val[-3:] = [0.3, 0.6, 0.6]  # a noisy dip in the last epochs
    assert diagnose_curve(train, val).label != OVERFIT


# -- edge cases -------------------------------------------------------------------------------------


def test_flat_curve_is_underfit_unless_already_far_better_than_the_baseline():
    flat = [0.5] * 10
    found = diagnose_curve(flat, flat)
    assert found.label == UNDERFIT and found.evidence.startswith("val loss flat: within 0.0 % over 10 epochs")
    assert diagnose_curve(flat, flat, baseline=5.0).label == GOOD_FIT  # it learnt everything in epoch 1


def test_flat_at_zero_does_not_divide_by_zero():
    assert diagnose_curve([0.0] * 5, [0.0] * 5).label in LABELS


@pytest.mark.parametrize("epochs", [1, 2])
def test_too_few_epochs_to_judge_is_underfit(epochs):
    found = diagnose_curve([0.5] * epochs, [0.6] * epochs)
    assert found.label == UNDERFIT and found.epochs == epochs
    assert found.evidence.startswith(f"{epochs} epoch{'s' if epochs > 1 else ''}: too few to judge")


def test_no_epochs_at_all_raises():
    with pytest.raises(ValueError, match="no epochs"):
        diagnose_curve([], [])


def test_train_only_cannot_overfit_and_says_which_curve():
    found = diagnose_curve((1.0 - 0.03 * np.arange(20)).tolist(), None)
    assert found.label == UNDERFIT and found.evidence.startswith("train loss still falling")
    assert math.isnan(found.val_rise) and math.isnan(found.gap_ratio)
    assert diagnose_curve(overfit_curves()[0], []).label != OVERFIT
    found = diagnose_curve([], overfit_curves()[1])  # val only: a rise is still read as overfitting
    assert found.label == OVERFIT and found.evidence.endswith("(no train curve logged)")


def test_thresholds_are_frozen_and_documented_defaults():
    th = Thresholds()
    assert (th.improving_drop, th.overfit_rise, th.gap_ratio, th.seeds_cv) == (0.05, 0.10, 3.0, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        th.overfit_rise = 0.2  # type: ignore[misc]


# -- configs: seed-mean curves ----------------------------------------------------------------------


def test_mean_curve_averages_the_seeds_still_running():
    assert mean_curve([[1.0, 2.0, 3.0], [3.0, 4.0], []]).tolist() == [2.0, 3.0, 3.0]


def test_config_with_early_stopped_seeds_of_unequal_length():
    train, val = overfit_curves()
    found = diagnose_config({0: (train, val), 1: (train[:60], val[:60]), 2: (train[:45], val[:45])})
    assert found.label == OVERFIT and found.seeds == 3 and found.epochs == 100
    assert found.evidence.startswith("mean of 3 seeds (runs of 45-100 epochs: later epochs average the seeds "
                                     "still running): val loss lowest at epoch 30/100")
    assert found.evidence.endswith("per seed: 2 overfit, 1 good fit")  # 45 epochs: +8 % only


def test_config_with_one_diverged_seed_is_unstable():
    train, val = good_curves()
    found = diagnose_config({0: (train, val), 1: (train, val), 2: ([1.0, 0.9, 5.0, math.nan], [1.0, 1.0, 9.0, math.nan])})
    assert found.label == UNSTABLE and found.diverged_epoch == 4
    assert found.evidence == "diverged: seed 2 at epoch 4 (1 of 3 seeds)"


def test_config_whose_seeds_disagree_is_unstable():
    runs = {s: good_curves(s) for s in range(3)}
    found = diagnose_config(runs, final_scores=[0.1, 0.5, 0.9])
    assert found.label == UNSTABLE and found.seeds_cv == pytest.approx(0.8)
    assert found.evidence.startswith("seeds disagree: final score 0.5 +- 0.4 (CV 80 %) over 3 seeds")
    assert diagnose_config(runs, final_scores=[0.12, 0.121, 0.119]).label == GOOD_FIT


def test_study_table_has_a_row_per_fit_and_per_config():
    train, val = overfit_curves()
    curves = [
        {"config_key": key, "seed": seed, "epoch": e + 1, "curve": name, "value": v}
        for key, seed, pair in (("a", 0, (train, val)), ("a", 1, (train, val)), ("b", 0, ([1.0, math.nan], [1.0, math.nan])))
        for name, values in zip(("loss", "val_loss"), pair, strict=True) for e, v in enumerate(values)
    ]
    fits = pd.DataFrame([
        {"config_key": "a", "seed": 0, "status": "ok", "param_epochs": 100, "val_loss": val[-1], "error": None},
        {"config_key": "a", "seed": 1, "status": "ok", "param_epochs": 100, "val_loss": val[-1], "error": None},
        {"config_key": "b", "seed": 0, "status": "failed", "param_epochs": 100, "val_loss": math.nan,
         "error": "diverged at epoch 2, seed 0"},
        {"config_key": "b", "seed": 1, "status": "failed", "param_epochs": 100, "val_loss": math.nan,
         "error": "ValueError: bad shape (seed 1)"},
    ])
    results = Results("s", fits, pd.DataFrame(), pd.DataFrame(curves), {"val_loss": 2.0}, "val_loss", "minimize", {})
    table = diagnose_study(results)
    assert table["scope"].tolist() == ["fit"] * 4 + ["config"] * 2
    assert table["label"].fillna("missing").tolist() == [OVERFIT, OVERFIT, UNSTABLE, "missing", OVERFIT, UNSTABLE]
    assert table["seed"].isna().tolist() == [False] * 4 + [True] * 2
    assert table.loc[3, "evidence"] == "no curve: ValueError: bad shape (seed 1)"
    assert table.loc[4, "skill"] == pytest.approx(1 - np.mean(val[-20:]) / 2.0)


# -- real Keras fits ---------------------------------------------------------------------------------

# (problem, problem params, config, fit settings): each chosen so the label has a wide margin.
REAL = {
    # One memory cell, lr 1e-4, 5 epochs: the loss barely moves and stays 4x the naive baseline.
    UNDERFIT: ("damped_sine", {"length": 20, "n_train": 200, "n_val": 100, "n_test": 0},
               {"units": 1, "epochs": 5, "batch_size": 50, "learning_rate": 1e-4}, {}),
    # 64 cells memorise 20 echo samples: train loss -> 0.0002 while val loss triples.
    OVERFIT: ("echo", {"length": 5, "n_features": 10, "n_train": 20, "n_val": 100, "n_test": 0},
              {"units": 64, "epochs": 100, "batch_size": 20, "learning_rate": 0.01}, {}),
    # 8 cells on 700 noisy two-sine series with early stopping: both losses level off together
    # near the noise floor, at ~0.04x the naive baseline (seeds 0-3 all gave this label).
    GOOD_FIT: ("two_sine", {"n_series": 1000, "n_steps": 10},
               {"units": 8, "epochs": 60, "batch_size": 70, "learning_rate": 0.02},
               {"early_stopping": {"patience": 5}}),
}


@pytest.fixture(scope="module")
def real_fits():
    from tuning.problems import load_problem
    from tuning.repeats import FitTask, fit_one
    from tuning.spec import config_key

    fitted = {}
    for label, (problem, params, config, fit) in REAL.items():
        task = FitTask(problem, json.dumps(params), config, config_key(config), 0, {"shuffle": True, **fit})
        result = fit_one(task)
        assert result.ok, result.error
        fitted[label] = (result, load_problem(problem, params).baseline()["val_loss"])
    return fitted


@pytest.mark.parametrize("label", [UNDERFIT, OVERFIT, GOOD_FIT])
def test_real_keras_fit_gets_its_label(real_fits, label):
    fit, baseline = real_fits[label]
    config = REAL[label][2]
    found = diagnose_curve(fit.curves["loss"], fit.curves["val_loss"], baseline=baseline, max_epochs=config["epochs"])
    assert found.label == label, found.evidence
    assert diagnose_curve(fit.curves["loss"], fit.curves["val_loss"], max_epochs=config["epochs"]).label == label


def test_real_keras_fits_as_one_config(real_fits):
    fit, baseline = real_fits[OVERFIT]
    curves = (fit.curves["loss"], fit.curves["val_loss"])
    found = diagnose_config({0: curves, 1: (curves[0][:70], curves[1][:70])}, None, baseline=baseline)
    assert found.label == OVERFIT and "runs of 70-100 epochs" in found.evidence
