"""The evaluator and its runners, on real (tiny) Keras fits."""

from __future__ import annotations

import json
import re

import pytest

from tuning.repeats import Evaluator, FitTask, ProcessRunner, SequentialRunner, fit_one
from tuning.spec import config_key
from tuning.store import Store

TENTHS = ("tenths", "{}")
TINY_CONFIG = {"units": 2, "epochs": 2, "batch_size": 5}


def task(config=TINY_CONFIG, seed=0, problem=TENTHS, fit=None) -> FitTask:
    return FitTask(problem[0], problem[1], config, config_key(config), seed, fit or {"shuffle": True})


def test_same_seed_same_scores_and_curves_other_seed_differs():
    first, again, other = fit_one(task(seed=0)), fit_one(task(seed=0)), fit_one(task(seed=1))
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


def test_early_stopping_stops_and_records_best_epoch():
    early = {"shuffle": True, "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 10.0}}
    fit = fit_one(task({"units": 2, "epochs": 20, "batch_size": 5}, fit=early))
    # No epoch improves val_loss by 10, so training stops after patience + 1 epochs.
    assert fit.ok and fit.epochs_run == 3 and fit.best_epoch == 1


def test_validation_split_holds_out_the_end_of_training_data():
    sine = ("damped_sine", json.dumps({"length": 10, "n_train": 40, "n_val": 8, "n_test": 0}))
    split = {"shuffle": True, "validation": {"source": "split", "fraction": 0.25}}
    fit = fit_one(task({"units": 2, "epochs": 1, "batch_size": 40}, problem=sine, fit=split))
    problem_val = fit_one(task({"units": 2, "epochs": 1, "batch_size": 40}, problem=sine))
    assert fit.ok and fit.scores["val_loss"] != problem_val.scores["val_loss"]


class CountingRunner(SequentialRunner):
    """A real sequential runner that also counts the fits it was asked to run."""

    def __init__(self):
        self.seen: list[int] = []

    def map(self, tasks):
        self.seen.extend(t.seed for t in tasks)
        yield from super().map(tasks)


def make_evaluator(store: Store, runner, metric="val_loss") -> Evaluator:
    return Evaluator(
        runner, problem_name="tenths", problem_params={}, fit_settings={"shuffle": True}, metric=metric,
        aggregate="mean", direction="minimize", k=1.0,
        record=lambda fit: store.record_fit("s", TINY_CONFIG, fit, 0), finished=lambda key: store.fits("s", key),
    )


def test_evaluator_never_refits_a_stored_seed(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    key = config_key(TINY_CONFIG)
    first_runner = CountingRunner()
    first = make_evaluator(store, first_runner).evaluate(TINY_CONFIG, key, [0, 1])
    assert first_runner.seen == [0, 1] and first.value == pytest.approx(first.mean)

    more_runner = CountingRunner()
    more = make_evaluator(store, more_runner).evaluate(TINY_CONFIG, key, [0, 1, 2])
    assert more_runner.seen == [2]  # seeds 0 and 1 came from the store
    assert more.seed_values[0] == first.seed_values[0] and len(more.seed_values) == 3
    assert store.count_fits("s") == 3


def test_unknown_metric_fails_the_trial_not_the_study(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    result = make_evaluator(store, SequentialRunner(), metric="val_accuracy").evaluate(
        TINY_CONFIG, config_key(TINY_CONFIG), [0])
    assert result.value is None and "val_accuracy" in result.failure


def test_process_runner_gives_the_sequential_scores():
    tasks = [task(seed=s) for s in (0, 1)]
    sequential = {f.seed: f.scores for f in SequentialRunner().map(tasks)}
    parallel = {f.seed: f.scores for f in ProcessRunner(2).map(tasks)}
    assert parallel.keys() == {0, 1}
    for seed in (0, 1):
        assert parallel[seed]["val_loss"] == pytest.approx(sequential[seed]["val_loss"], rel=1e-6)
