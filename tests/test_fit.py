"""One fit (``tuning.fit.fit_one``) and its typed settings, on real (tiny) Keras fits."""

from __future__ import annotations

import json
import re

import pytest

from tuning.fit import EarlyStopping, FitSettings, FitTask, cached_problem, fit_one, training_arrays
from tuning.spec import FitSpec, config_key

TENTHS = ("tenths", "{}")
TINY_CONFIG = {"units": 2, "epochs": 20, "batch_size": 5}  # with EARLY: 3 epochs run


def task(config=TINY_CONFIG, seed=0, problem=TENTHS, fit=None) -> FitTask:
    settings = FitSettings.resolve(fit or {"shuffle": True}, config)
    return FitTask(problem[0], problem[1], config, config_key(config), seed, settings)


#: No epoch of TINY_CONFIG on tenths improves val_loss by 10: early stopping ends each fit after patience + 1 = 3
#: epochs and restores epoch 1's weights.
EARLY = {"shuffle": True, "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 10.0}}


@pytest.fixture(scope="module")
def seed_0_fit():
    """``fit_one`` of TINY_CONFIG on tenths with seed 0 under EARLY, validated on the problem's own set: one
    Keras fit (about 2.5 s, most of it tracing) shared by the determinism, early-stopping and split tests."""
    return fit_one(task(seed=0, fit=EARLY))


def test_same_seed_same_scores_and_curves_other_seed_differs(seed_0_fit):
    first, again, other = seed_0_fit, fit_one(task(seed=0, fit=EARLY)), fit_one(task(seed=1, fit=EARLY))
    assert first.ok and first.scores == again.scores and first.curves == again.curves
    assert first.scores["val_loss"] != other.scores["val_loss"]


def test_fit_records_every_curve_and_final_scores():
    echo = ("echo", json.dumps({"length": 4, "n_features": 5, "n_train": 32, "n_val": 16, "n_test": 16}))
    fit = fit_one(task({"units": 3, "epochs": 2, "batch_size": 16}, problem=echo))
    assert fit.ok and fit.epochs_run == 2 and fit.fit_seconds > 0
    # LSTM(3) on 5 features: kernel 5x12 + recurrent 3x12 + bias 12; softmax head 3x5 + 5
    assert fit.trainable_weights == 5 * 12 + 3 * 12 + 12 + 3 * 5 + 5
    assert set(fit.curves) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in fit.curves.values())
    assert {"val_loss", "val_accuracy", "test_loss", "test_accuracy", "train_loss"} <= set(fit.scores)
    # The final val loss we score ourselves agrees with what Keras logged for the last epoch.
    assert fit.scores["val_loss"] == pytest.approx(fit.curves["val_loss"][-1], rel=1e-4)


def test_nan_loss_fails_the_fit_with_epoch_and_seed():
    sine = ("damped_sine", json.dumps({"length": 10, "n_train": 64, "n_val": 16, "n_test": 0}))
    config = {"units": 4, "optimizer": "sgd", "learning_rate": 1e6, "epochs": 4, "batch_size": 16, "loss": "mse"}
    fit = fit_one(task(config, seed=3, problem=sine))
    assert not fit.ok and fit.scores == {}
    assert re.fullmatch(r"diverged at epoch \d+, seed 3", fit.error)
    assert fit.epochs_run < 4  # training stopped at the first non-finite epoch


def test_early_stopping_stops_and_records_best_epoch(seed_0_fit):
    fit = seed_0_fit  # 20 epochs allowed under EARLY (min_delta 10)
    # No epoch improves val_loss by 10, so training stops after patience + 1 epochs.
    assert fit.ok and fit.epochs_run == 3 and fit.best_epoch == 1


def test_validation_split_holds_out_the_end_of_training_data(seed_0_fit):
    # tenths' 5 training rows: the first 4 train, the last one validates (round(5 * 0.75) = 4)
    split = {**EARLY, "validation": {"source": "split", "fraction": 0.25}}
    fit = fit_one(task(fit=split))
    problem_val = seed_0_fit  # the same config, settings and seed, validated on the problem's own set
    assert fit.ok and fit.scores["val_loss"] != problem_val.scores["val_loss"]
    x, y, x_val, y_val = training_arrays(cached_problem(*TENTHS), FitSettings.resolve(split, TINY_CONFIG))
    assert x.ravel().tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3]) and x_val.ravel().tolist() == pytest.approx([0.4])
    assert (len(y), y_val.ravel().tolist()) == (4, pytest.approx([0.5]))


def test_settings_take_the_spec_defaults_and_the_configs_searched_values():
    plain = FitSettings.resolve({}, {})
    spec = FitSpec()  # the one place the defaults are stated
    assert (plain.epochs, plain.batch_size, plain.shuffle) == (spec.epochs, spec.batch_size, spec.shuffle)
    assert plain.early_stopping is None and plain.validation_source == "problem"
    searched = FitSettings.resolve(FitSpec(early_stopping={"patience": 4}), {"epochs": 7, "batch_size": 3,
                                                                             "patience": 2})
    assert (searched.epochs, searched.batch_size) == (7, 3)
    assert searched.early_stopping == EarlyStopping("val_loss", 2, 0.0, True)
    # A dict (a stored spec's ``fit``) resolves as its FitSpec does; the settings are hashable.
    as_dict = FitSettings.resolve(FitSpec(early_stopping={"patience": 4}).model_dump(mode="json"), {})
    assert as_dict == FitSettings.resolve(FitSpec(early_stopping={"patience": 4}), {})
    assert as_dict.early_stopping.patience == 4 and hash(as_dict) == hash(FitSettings.resolve({"early_stopping": {"patience": 4}}, {}))
