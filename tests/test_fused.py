"""Fused fits: every seed of a config as one replica of one graph (tuning/fit/fused/, tuning/runners/).

Each replica must be its seed's standalone fit (``fit_one``): same initial weights, same batches,
its own gradients and optimizer state. Without dropout and with deterministic ops the curves
agree to float32 rounding (the same operations in another order); with dropout the masks are
the replica's own, so only the distribution of results can be compared.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.fused_cases import ECHO, EXACT, SINE, assert_same_fit, tasks

from tuning.fit import fit_one
from tuning.fit import fused as fit_fused
from tuning.fit.fused import fit_group
from tuning.runners import FusedRunner, SequentialRunner, make_runner


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_configs_differing_in_learning_rate_and_initializer_share_a_graph_as_their_own_fits():
    # Stretch of issue 6: per-replica learning rates (each replica's optimizer step scaled by its
    # rate over replica 0's) and per-replica initial weights; each replica is still its own fit.
    group = (tasks({"family": "vanilla", "learning_rate": 0.01}, [0, 1], SINE)
             + tasks({"family": "vanilla", "learning_rate": 0.003, "initializer": "he_normal"}, [0], SINE)
             + tasks({"family": "vanilla"}, [2], SINE))  # the default rate, 0.001
    momentum = (tasks({"family": "gru", "optimizer": "sgd", "learning_rate": 0.1}, [0], SINE)
                + tasks({"family": "gru", "optimizer": "sgd", "learning_rate": 0.02}, [1], SINE))
    for chunk in (group, momentum):
        results = fit_group(chunk)
        assert len({r.fit_seconds for r in results}) == 1  # one graph
        for result, task in zip(results, chunk, strict=True):
            assert_same_fit(result, fit_one(task))
    runner = FusedRunner(fallback=SequentialRunner())
    shared = list(runner.map(group + tasks({"family": "vanilla", "units": 2}, [0], SINE)))
    assert runner.counts == {"fused": 5, "fallback": 0}
    seconds = {r.config_key: r.fit_seconds for r in shared}
    assert len({seconds[t.config_key] for t in group}) == 1 and len(set(seconds.values())) == 2


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_configs_differing_only_in_epochs_and_patience_share_a_graph_as_their_own_fits():
    # Stretch of issue 16: each replica trains its own epochs and stops by its own patience.
    early = {**EXACT, "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 0.002}}
    group = (tasks({"family": "vanilla", "epochs": 2}, [0, 1], SINE, fit=early)
             + tasks({"family": "vanilla", "epochs": 6, "patience": 1}, [0], SINE, fit=early)
             + tasks({"family": "vanilla", "epochs": 6, "learning_rate": 0.02}, [2], SINE, fit=early))
    runner = FusedRunner(fallback=SequentialRunner())
    plans, fallback = runner.pack(group)
    assert len(plans) == 1 and len(plans[0].tasks) == 4 and fallback == []
    results = plans[0].fit()
    standalone = [fit_one(task) for task in group]
    assert [r.epochs_run for r in results] == [s.epochs_run for s in standalone]
    assert len({s.epochs_run for s in standalone}) > 1  # the replicas really ended apart
    for result, alone in zip(results, standalone, strict=True):
        assert_same_fit(result, alone)
    points = [{"units": 2, "epochs": e} for e in (2, 4)] + [{"units": 3, "epochs": 2}]
    assert fit_fused.order_for_sharing([points[0], points[2], points[1]], keras_masks=True) == points


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_under_fused_dropout_rates_are_per_replica_and_a_seed_does_not_depend_on_its_graph_mates():
    low = tasks({"family": "vanilla", "dropout": 0.2, "recurrent_dropout": 0.1}, [0, 1], SINE)
    high = tasks({"family": "vanilla", "dropout": 0.4, "recurrent_dropout": 0.3}, [0], SINE)
    for result, task in zip(fit_group(low + high), low + high, strict=True):
        assert_same_fit(result, fit_group([task])[0])  # its own rates and masks, whoever shares the graph
    runner = FusedRunner(fallback=SequentialRunner())
    results = list(runner.map(low + high + tasks({"family": "vanilla"}, [0], SINE)))
    assert runner.counts == {"fused": 4, "fallback": 0}
    seconds = {(r.config_key, r.seed): r.fit_seconds for r in results}
    assert len({seconds[(t.config_key, t.seed)] for t in low + high}) == 1  # one graph; no dropout: another
    assert len(set(seconds.values())) == 2


def test_batch_orders_are_the_orders_fit_data_gives_each_seed():
    import keras

    from tuning.fit.pipeline import fit_data

    x = np.arange(10, dtype=np.float32)[:, None, None]
    orders = fit_fused.batch_orders(10, 4, [3, 8], epochs=2, shuffle=True)
    for r, seed in enumerate([3, 8]):
        keras.utils.set_random_seed(seed)
        data = fit_data(x, x[:, 0], x, x[:, 0], batch_size=4, seed=seed, shuffle=True)
        batches = iter(data.train)
        seen = [next(batches)[0].numpy()[:, 0, 0] for _ in range(2 * data.steps_per_epoch)]
        assert np.array_equal(np.concatenate(seen).astype(int), orders[:, r].reshape(-1))
    assert not np.array_equal(orders[0, 0], orders[1, 0])  # reshuffled every epoch


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_unsupported_config_falls_back_with_a_notice(monkeypatch):
    # Every config build_model makes is fused today: the planner is told that it does not compute
    # the mse loss, so an explicit ``loss: mse`` config must go to the fallback runner.
    from tuning.fit.fused import _plan  # the support check's list of losses

    monkeypatch.setattr(_plan, "FUSED_LOSSES", tuple(name for name in _plan.FUSED_LOSSES if name != "mse"))
    notices: list[str] = []
    runner = FusedRunner(notice=notices.append, fallback=SequentialRunner())
    refused = tasks({"family": "vanilla", "loss": "mse", "epochs": 1}, [0, 1])
    plain = tasks({"family": "vanilla", "epochs": 1}, [0, 1])
    results = list(runner.map(refused + plain))
    assert sorted((r.config_key, r.seed) for r in results) == sorted((t.config_key, t.seed) for t in refused + plain)
    assert len(notices) == 1 and "not fused" in notices[0] and "'mse'" in notices[0] and "\n" not in notices[0]
    assert runner.counts == {"fused": 2, "fallback": 2}
    by_key = {(r.config_key, r.seed): r for r in results}
    for task in refused:  # the fallback's fits are fit_one's, bit for bit
        assert by_key[(task.config_key, task.seed)].scores == fit_one(task).scores


def test_runner_groups_by_config_and_splits_by_memory():
    from tuning.spec import RUNNERS

    assert "fused" in RUNNERS and isinstance(make_runner("fused", 1), FusedRunner)
    five = tasks({"family": "vanilla", "epochs": 1}, [0, 1, 2, 3, 4])
    two = tasks({"family": "vanilla", "units": 2, "epochs": 1}, [0, 1])
    # The replicas per graph follow the memory budget: a big one allows the cap, a tiny one 1.
    assert fit_fused.plan_graphs(five[:1], memory_budget=1 << 40)[0].capacity == fit_fused.MAX_REPLICAS
    assert [len(p.tasks) for p in fit_fused.plan_graphs(five, memory_budget=1)] == [1] * 5
    # Packing is planning only: which graphs, which seeds; nothing is trained.
    runner = FusedRunner(max_replicas=2)
    plans, fallback = runner.pack(five + two)
    chunks = [(plan.tasks[0].config_key, [t.seed for t in plan.tasks]) for plan in plans]
    key5, key2 = five[0].config_key, two[0].config_key
    assert chunks == [(key5, [0, 1]), (key5, [2, 3]), (key5, [4]), (key2, [0, 1])] and fallback == []
    # only the first graph of a config carries its check (the others' first seeds were not built)
    assert [plan.checked is not None for plan in plans] == [True, False, False, True]
    results = list(runner.map(five + two))
    assert sorted((r.config_key, r.seed) for r in results) == sorted((t.config_key, t.seed) for t in five + two)
    assert runner.counts == {"fused": 7, "fallback": 0}


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
@pytest.mark.parametrize("problem", [pytest.param(SINE, id="series"), pytest.param(ECHO, id="classification")])
def test_with_dropout_fused_and_standalone_scores_and_curves_are_indistinguishable(problem):
    """6 seeds, dropout and recurrent dropout 0.4: fused masks are the replicas' own, not Keras's.

    The fast version of ``benchmarks/fused_dropout.py`` (40 seeds, 3 configs, two problems,
    docs/performance.md "Fused dropout"). Welch's t-test and the two-sample KS test on the final
    val_loss, the paired t-test by seed (a seed's two fits share initial weights and batches, only
    the masks differ), and Welch's t-test on every epoch's val_loss (Bonferroni over the epochs),
    each at level 0.01: the test fails only if one of them rejects "same distribution". With 6
    seeds a side it only catches gross differences: the smallest mean difference Welch detects at
    80 % power at level 0.01 is about (2.58 + 0.84) * sqrt(2/6) = 2.0 seed standard deviations.
    Seeded, so deterministic.
    """
    from scipy import stats

    seeds = list(range(6))
    config = {"family": "vanilla", "units": 4, "dropout": 0.4, "recurrent_dropout": 0.4, "learning_rate": 0.02,
              "epochs": 3}
    group = tasks(config, seeds, problem, fit={"shuffle": True})
    fused_fits = fit_group(group)
    standalone_fits = [fit_one(t) for t in group]
    fused_scores = [r.scores["val_loss"] for r in fused_fits]
    standalone_scores = [r.scores["val_loss"] for r in standalone_fits]
    welch = stats.ttest_ind(fused_scores, standalone_scores, equal_var=False)
    ks = stats.ks_2samp(fused_scores, standalone_scores)
    paired = stats.ttest_rel(fused_scores, standalone_scores)
    assert min(welch.pvalue, ks.pvalue, paired.pvalue) > 0.01, (welch, ks, paired, fused_scores, standalone_scores)
    curves = np.array([r.curves["val_loss"] for r in fused_fits]), np.array([r.curves["val_loss"] for r in standalone_fits])
    per_epoch = stats.ttest_ind(*curves, equal_var=False, axis=0).pvalue
    assert min(per_epoch) * len(per_epoch) > 0.01, per_epoch
    # Not trivially: the masks differ, so seed by seed the two runners' fits differ.
    assert max(abs(a - b) for a, b in zip(fused_scores, standalone_scores, strict=True)) > 1e-4
    # And dropout did change the fits (the masks are drawn, not skipped).
    plain = fit_group(tasks({**config, "dropout": 0.0, "recurrent_dropout": 0.0}, seeds[:2], problem,
                            fit={"shuffle": True}))
    assert plain[0].scores["val_loss"] != fused_scores[0]


def test_the_work_is_shared_out_over_the_workers():
    from tuning.runners._executors import share_out

    ten, three = tasks({"family": "vanilla"}, list(range(10))), tasks({"family": "vanilla", "units": 2}, [0, 1, 2])
    assert [len(c) for c in share_out([ten], 2)] == [5, 5]
    assert [len(c) for c in share_out([ten, three], 2)] == [10, 3]  # every worker has a share already
    assert [len(c) for c in share_out([three[:1]], 2)] == [1]  # one task cannot be split
    assert sorted(t.seed for c in share_out([ten], 4) for t in c) == list(range(10))


def test_grid_points_that_can_share_a_graph_are_made_adjacent():
    points = [{"units": 1, "dropout": 0.1}, {"units": 2, "dropout": 0.1}, {"units": 1, "dropout": 0.2},
              {"units": 2, "dropout": 0.0}]
    # under fused, dropout rates are per replica (whether a layer drops is not)
    assert fit_fused.order_for_sharing(points, keras_masks=False) == [points[0], points[2], points[1], points[3]]
    assert fit_fused.order_for_sharing(points, keras_masks=True) == points  # auto: dropout values differ
    lr = [{"units": u, "learning_rate": r} for r in (0.1, 0.01) for u in (1, 2)]
    assert fit_fused.order_for_sharing(lr, keras_masks=True) == [lr[0], lr[2], lr[1], lr[3]]
