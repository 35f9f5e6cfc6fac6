"""``fit_replica_model``: one task fitted by the fused procedure, with a Keras model of its weights.

What ``tuning export`` needs for a fit a fused study stored: the replica's result (the same as the
seed's in a graph of several replicas, whose masks do not depend on the graph mates) and a plain
Keras model whose own predictions give the stored scores. Measured on the three cases below, all
5 seeds each (2026-12-01): a replica in a graph of 1 reproduces it in a graph of 5 to at most
7.4e-8 relative over every curve value and score (10 of the 15 bit for bit, the graph's first
replica always), and the model's own predictions score within 2.5e-8 relative of the replica's.
The tests allow 1e-6.
"""

from __future__ import annotations

import pytest
from helpers.fused_cases import CUMSUM, ECHO, SINE, assert_same_fit, tasks
from helpers.keras_calls import forward

from tuning.fit import cached_problem, fit_and_keep
from tuning.fit.fused import fit_group, fit_replica_model

CASES = [
    pytest.param({"family": "vanilla", "dropout": 0.3, "recurrent_dropout": 0.2}, SINE, id="vanilla-dropout-series"),
    pytest.param({"family": "stacked", "dropout": 0.2}, ECHO, id="stacked-dropout-multiclass"),
    pytest.param({"family": "bidirectional", "recurrent_dropout": 0.2}, CUMSUM, id="bidirectional-per-step-binary"),
]


@pytest.mark.parametrize(("config", "problem"), CASES)
def test_a_replica_fitted_alone_is_its_fit_in_a_graph_of_five_and_its_model_scores_the_same(config, problem):
    group = tasks(config, [0, 1, 2, 3, 4], problem, fit={"shuffle": True})
    five = fit_group(group)
    data = cached_problem(*problem)
    for index in (0, 3):  # the graph's first replica, and one inside it
        result, model = fit_replica_model(group[index])
        assert_same_fit(result, five[index], tolerance=1e-6)
        own = data.score(data.y_val, forward(model, data.x_val), None)  # model.predict's outputs, no trace
        for name, value in own.items():
            assert value == pytest.approx(result.scores[f"val_{name}"], rel=1e-6, abs=1e-7), name
        if data.has_test:
            test = data.score(data.y_test, forward(model, data.x_test), None)
            assert test["loss"] == pytest.approx(result.scores["test_loss"], rel=1e-6)


def test_without_dropout_the_replica_model_is_fit_ones_model():
    (task,) = tasks({"family": "vanilla"}, [2], SINE)  # op determinism on: fit_one to float32 rounding
    result, model = fit_replica_model(task)
    standalone, keras_model = fit_and_keep(task)
    assert_same_fit(result, standalone)
    assert model.count_params() == result.trainable_weights
    x_val = cached_problem(task.problem_name, task.problem_params_json).x_val
    assert forward(model, x_val) == pytest.approx(forward(keras_model, x_val), rel=1e-4, abs=1e-6)


def test_a_failed_replica_gives_no_model():
    (task,) = tasks({"family": "vanilla", "optimizer": "sgd", "learning_rate": 1.0e6, "loss": "mse"}, [0], SINE)
    result, model = fit_replica_model(task)
    assert not result.ok and model is None and "diverged" in result.error
