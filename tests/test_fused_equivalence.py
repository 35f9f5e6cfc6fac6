"""Fused and standalone fits agree: each replica is its seed's ``fit_one``, for every family and head.

Without dropout and with deterministic ops the curves agree to float32 rounding (the same
operations in another order); the last cases are where batches (a short last batch) or ops (no
determinism, 10 epochs) could make them drift.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.fused_cases import (
    ADDITION,
    CUMSUM,
    ECHO,
    EXACT,
    SINE,
    TOLERANCE,
    assert_same_fit,
    relative_gap,
    tasks,
)

from tuning.fit import fit_one
from tuning.fit.fused import fit_group
from tuning.runners import FusedRunner, SequentialRunner

FAMILY_CASES = [
    # two bidirectional LSTM layers: a stack of tanh LSTMs (what the stacked family builds, two layers
    # by default) and both directions in one case, which cost two standalone fits before
    pytest.param({"family": "bidirectional", "layers": 2}, CUMSUM, id="bidirectional-stacked-binary-per-step"),
    pytest.param({"family": "gru", "layers": 2}, ECHO, id="gru-multiclass"),
    pytest.param({"family": "cnn_lstm", "pool_size": 2, "filters": 4}, SINE, id="cnn_lstm-pooled"),
    pytest.param({"family": "encoder_decoder"}, ADDITION, id="encoder_decoder-multiclass-sequence"),
    pytest.param({"family": "encoder_decoder", "cell": "gru"}, SINE, id="encoder_decoder-gru-horizon"),
    pytest.param({"family": "dense"}, SINE, id="dense-flattened-window"),
    pytest.param({"family": "dense"}, CUMSUM, id="dense-per-step"),
    # relu cells: the time loop tuning/fit/fused/recurrence.py does not take, differentiated by TensorFlow
    pytest.param({"family": "stacked", "activation": "relu"}, SINE, id="stacked-relu-autodiff-loop"),
    pytest.param({"family": "gru", "activation": "relu"}, SINE, id="gru-relu-autodiff-loop"),
]


# vanilla: test_each_of_several_replicas_is_its_standalone_twin (slow tier), the NaN and short-batch tests
# here, and the early-stopping test (slow tier).
@pytest.mark.parametrize(("config", "problem"), FAMILY_CASES)
def test_one_replica_reproduces_fit_one_over_three_epochs(config, problem):
    (task,) = tasks(config, [5], problem)
    (fused_fit,) = fit_group([task])
    assert_same_fit(fused_fit, fit_one(task))


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_each_of_several_replicas_is_its_standalone_twin():
    group = tasks({"family": "vanilla", "optimizer": "rmsprop"}, [0, 1, 2], ECHO)
    results = fit_group(group)
    assert [r.seed for r in results] == [0, 1, 2]
    for result, task in zip(results, group, strict=True):
        standalone = fit_one(task)
        assert relative_gap(result.curves["loss"][0], standalone.curves["loss"][0]) <= TOLERANCE
        assert_same_fit(result, standalone)
    # Different seeds really are different replicas.
    assert len({r.curves["loss"][0] for r in results}) == 3


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_early_stopping_and_best_weight_restore_per_replica():
    early = {**EXACT, "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 10.0}}
    group = tasks({"family": "vanilla", "epochs": 8}, [0, 1], SINE, fit=early)
    for result, task in zip(fit_group(group), group, strict=True):
        standalone = fit_one(task)
        # No epoch improves by 10: both stop after patience + 1 epochs and score epoch 1's weights.
        assert result.epochs_run == standalone.epochs_run == 3 and result.best_epoch == 1
        assert_same_fit(result, standalone)


@pytest.fixture(scope="module")
def short_batches():
    """Vanilla on the sine in batches of 10 with seeds 0, 4 and 2, and the standalone ``fit_one`` of
    seeds 0 and 2: shared by the NaN and the short-batch tests (a standalone fit is about 2.5 s of
    tracing, the fused graph under 1 s). 48 windows in batches of 10: four full batches and a short
    one of 8 each epoch, which the fused trainer pads with weight-0 samples."""
    group = tasks({"family": "vanilla", "batch_size": 10}, [0, 4, 2], SINE)
    return group, {task.seed: fit_one(task) for task in group if task.seed != 4}


def test_a_nan_in_one_replica_fails_that_seed_only(monkeypatch, short_batches):
    # The one test that reaches into the planning module: it poisons the weights fit_group copies.
    from tuning.fit.fused import _plan

    original = _plan.initial_weights

    def poisoned(*args, **kwargs):
        weights = original(*args, **kwargs)
        weights[1][-1] = np.full_like(weights[1][-1], np.nan)  # replica 1's head bias
        return weights

    monkeypatch.setattr(_plan, "initial_weights", poisoned)
    group, standalone = short_batches
    results = fit_group(group)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == "diverged at epoch 1, seed 4" and results[1].scores == {}
    assert results[1].epochs_run == 1 and math.isnan(results[1].curves["loss"][0])
    for index in (0, 2):  # the healthy replicas never saw the NaN: each is still its standalone fit
        assert_same_fit(results[index], standalone[group[index].seed])


def test_a_training_set_that_does_not_divide_by_the_batch_size_keeps_its_short_last_batch(short_batches):
    # Every replica must still be its standalone fit, the short last batch of each epoch included.
    group, standalone = short_batches
    pair = [group[0], group[2]]  # seeds 0 and 2, without the poisoned graph mate of the NaN test
    for result, task in zip(fit_group(pair), pair, strict=True):
        assert_same_fit(result, standalone[task.seed])


# The fast tier's longest real-model run (10 epochs, two standalone fits and the fused graph, 6 to 13 s on
# 2 cores): the slow tier's. Its code path stays in the fast tier: FusedRunner.map against fit_one through
# the real loop to 1e-4 (test_search_loop.py, auto study), FusedRunner.map packing and fitting
# (test_fused.py), shuffled epochs with a short last batch against fit_one (the short-batch test above).
@pytest.mark.slow
def test_ten_epochs_without_deterministic_ops_agree_with_the_sequential_runner():
    # Without op determinism TensorFlow may sum in another order each run; over 10 epochs the
    # final scores of the fused and the sequential runner must still agree to 1e-4 relative.
    group = tasks({"family": "vanilla", "epochs": 10, "batch_size": 10}, [0, 1], SINE, fit={"shuffle": True})
    fused_fits = {f.seed: f for f in FusedRunner(fallback=SequentialRunner()).map(group)}
    sequential = {f.seed: f for f in SequentialRunner().map(group)}
    for seed, standalone in sequential.items():
        assert fused_fits[seed].ok and standalone.ok and fused_fits[seed].epochs_run == 10
        assert set(fused_fits[seed].scores) == set(standalone.scores)
        for name, value in standalone.scores.items():
            assert relative_gap(fused_fits[seed].scores[name], value) <= TOLERANCE, (seed, name)
