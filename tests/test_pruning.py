"""Pruning on the seed aggregate (tuning.pruning): who is stopped when, on curves whose truth is known."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from tuning.pruning import PRUNERS, EpochPruner, aggregate_curves, make_pruner, replay_pruning

EPOCHS = 12


def decaying(finals, seeds: int = 3, epochs: int = EPOCHS) -> np.ndarray:
    """(configs, seeds, epochs) noiseless losses falling to each config's final value."""
    finals = np.asarray(finals, dtype=float)
    curve = 2.0 * np.exp(-np.arange(epochs) / 3.0)
    return finals[:, None, None] + curve[None, None, :] + np.zeros((len(finals), seeds, 1))


def test_a_config_clearly_worse_than_the_finished_ones_is_pruned_right_after_the_warm_up():
    curves = decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0])
    replay = replay_pruning(curves, "median", n_warmup_steps=4)
    assert replay.stopped_at == [None] * 5 + [5]  # step 4 is the 5th epoch
    assert replay.pick == 0
    assert replay.epochs_spent[5] == 5 * 3 and replay.epochs_spent[:5].tolist() == [EPOCHS * 3] * 5
    assert replay.epoch_share == pytest.approx((5 * EPOCHS * 3 + 15) / (6 * EPOCHS * 3))


def test_a_stop_at_the_fits_last_epoch_is_not_a_prune_in_a_replay_as_in_a_live_fit():
    """Two-epoch fits: the default warm-up (1) judges only the last epoch. A replay of 400 such configs
    said 'pruned 312 of 400 configs' and 'spent 100% of the study's epochs', and picked among the
    88 left, while the live fit paths ignore a stop at a fit's last epoch and keep every config."""
    curves = decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0], epochs=2)
    together = replay_pruning(curves, "median")
    assert together.stopped_at == [None] * 6 and together.epoch_share == 1.0 and together.pick == 0
    # one seed at a time, the judgment at the first seed's last epoch skips the seeds after it: a prune
    apart = replay_pruning(curves, "median", one_seed_at_a_time=True)
    assert apart.stopped_at[5] == 2 and apart.decided_at_seed[5] == 0 and apart.epochs_spent[5] == 2
    # ... unless that seed was the config's last
    last = replay_pruning(decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0], seeds=1, epochs=2), "median",
                          one_seed_at_a_time=True)
    assert last.stopped_at == [None] * 6


def test_whether_seeds_train_together_follows_the_runner_the_study_really_gets():
    """The run's note asks this of the study: a builder's model on TensorFlow under ``auto`` is fitted
    one seed at a time (``sequential``), on JAX its seeds are fused."""
    from tuning.search.study_record import seeds_fitted_together
    from tuning.spec import load_spec

    base = {"name": "p", "problem": {"name": "tenths"}}
    builder = {"model": {"builder": "tests.helpers.builder_project:build"}}
    assert seeds_fitted_together(load_spec(base))
    assert not seeds_fitted_together(load_spec({**base, "runner": "processes"}))
    assert not seeds_fitted_together(load_spec({**base, **builder}))
    assert seeds_fitted_together(load_spec({**base, **builder, "keras_backend": "jax"}))


def test_the_note_says_a_warm_up_leaves_only_the_last_epoch_when_seeds_train_together():
    from tuning.pruning import why_nothing_pruned

    assert why_nothing_pruned("median", {}, 2, finished=50) == (
        "pruner median pruned nothing: its n_warmup_steps is 1 and the fits run 2 epochs, so it judged only their "
        "last epoch, when nothing is left to stop (pruner.settings: {n_warmup_steps: 0} judges from epoch 1)")
    assert why_nothing_pruned("median", {}, 2, finished=50, seeds_together=False) is None  # later seeds skippable
    assert why_nothing_pruned("successive_halving", {}, 2, finished=50).endswith(
        "(fits of more epochs leave it epochs to stop)")  # its first rung cannot be below 1


def test_nothing_is_pruned_before_five_configs_have_finished():
    replay = replay_pruning(decaying([0.1, 3.0, 4.0, 5.0, 6.0]), "median", n_warmup_steps=1)
    assert replay.stopped_at == [None] * 5 and replay.epoch_share == 1.0


def test_the_aggregate_keeps_a_config_whose_first_seed_alone_looks_hopeless():
    curves = decaying([1.0, 1.0, 1.0, 1.0, 1.0, 0.2], seeds=5)
    curves[5, 0, :8] += 3.0  # its first seed starts badly, then catches up with the others
    on_aggregate = replay_pruning(curves, "median", n_warmup_steps=2)
    on_first_seed = replay_pruning(curves, "median", n_warmup_steps=2, decide_on="first_seed")
    assert on_aggregate.stopped_at[5] is None and on_aggregate.pick == 5
    assert on_first_seed.stopped_at[5] == 3 and on_first_seed.pick != 5


def test_a_replay_is_deterministic_hyperband_included():
    rng = np.random.default_rng(4)
    curves = decaying(rng.uniform(0, 2, 12)) + rng.normal(0, 0.3, (12, 3, EPOCHS))
    for name in ("hyperband", "successive_halving", "percentile"):
        first, second = replay_pruning(curves, name), replay_pruning(curves, name)
        assert first.stopped_at == second.stopped_at and first.pick == second.pick
        assert np.array_equal(first.epochs_spent, second.epochs_spent)
    assert any(replay_pruning(curves, "hyperband").stopped_at)


def test_an_accuracy_is_maximised_the_same_way_a_loss_is_minimised():
    losses = decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0])
    on_loss = replay_pruning(losses, "median", n_warmup_steps=4)
    on_accuracy = replay_pruning(10.0 - losses, "median", direction="maximize", n_warmup_steps=4)
    assert on_accuracy.stopped_at == on_loss.stopped_at == [None] * 5 + [5]
    assert on_accuracy.pick == on_loss.pick == 0
    assert np.allclose(on_accuracy.final, 10.0 - on_loss.final)


def test_none_never_prunes():
    rng = np.random.default_rng(0)
    curves = decaying(rng.uniform(0, 5, 10)) + rng.normal(0, 1.0, (10, 3, EPOCHS))
    replay = replay_pruning(curves, "none")
    assert replay.stopped_at == [None] * 10 and replay.epoch_share == 1.0
    assert replay.pick == int(np.argmin(replay.final))


def test_a_fit_that_stopped_early_keeps_its_best_value_and_is_not_counted_as_training():
    curves = np.array([[[3.0, 2.0, 1.0, 1.5], [3.0, 2.0, 2.5, np.nan]]])  # seed 1 stopped after 3 epochs
    assert aggregate_curves(curves[0]).tolist() == [3.0, 2.0, 1.5, 1.5]  # best so far, carried after the stop
    assert aggregate_curves(-curves[0], direction="maximize").tolist() == [-3.0, -2.0, -1.5, -1.5]
    assert replay_pruning(curves, "none").epochs_full.tolist() == [7.0]


def test_seeds_one_at_a_time_decide_on_the_seeds_fitted_so_far_and_skip_the_rest():
    curves = decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0, 0.15])
    replay = replay_pruning(curves, "median", n_warmup_steps=4, one_seed_at_a_time=True)
    assert replay.stopped_at[5] == 5 and replay.decided_at_seed[5] == 0  # on its first seed's epochs
    assert replay.epochs_spent[5] == 5  # its other seeds were never fitted
    assert replay.stopped_at[6] is None and replay.epochs_spent[6] == 3 * EPOCHS


def test_the_pruner_keeps_one_value_per_epoch_and_refuses_a_config_it_stopped():
    pruner = EpochPruner("median", n_startup_trials=1, n_warmup_steps=0)
    for epoch, value in enumerate([1.0, 0.5]):
        assert not pruner.report("a", epoch, value)
    with pytest.raises(ValueError, match="one value per epoch"):
        pruner.report("a", 1, 0.4)
    pruner.complete("a")
    assert pruner.report("b", 0, 9.0) and pruner.stopped == {"b": 1}
    with pytest.raises(ValueError, match="pruned already"):
        pruner.report("b", 1, 9.0)
    assert not pruner.report("c", 0, 0.9, seeds=1)
    assert not pruner.report("c", 0, 0.8, seeds=2)  # one more seed: a new trial, epoch 0 again
    states = [t.state for t in pruner.study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == 1


def test_each_name_is_optunas_own_pruner_and_an_unknown_name_is_refused():
    names = {"median": "MedianPruner", "percentile": "PercentilePruner", "none": "NopPruner",
             "successive_halving": "SuccessiveHalvingPruner", "hyperband": "HyperbandPruner"}
    assert set(names) == set(PRUNERS)
    for name, cls in names.items():
        assert type(make_pruner(name, epochs=30)).__name__ == cls
    assert make_pruner("median", epochs=60)._n_warmup_steps == 20
    with pytest.raises(ValueError, match="pruner must be one of"):
        make_pruner("asha")
    # a misspelt setting is named beside the ones the pruner has, not as Optuna's __init__ TypeError
    with pytest.raises(ValueError, match="pruner 'median' has no setting 'reduction_factor'; its settings: "
                                         "n_startup_trials, n_warmup_steps, interval_steps, n_min_trials$"):
        make_pruner("median", reduction_factor=3)
    with pytest.raises(ValueError, match="'n_startup_trial'; its settings: percentile, n_startup_trials, "):
        make_pruner("percentile", n_startup_trial=3)


def test_a_stop_asked_at_the_last_epoch_counts_the_config_as_finished_live_as_after_a_resume():
    """A config the pruner asks to stop at the epoch its fits end anyway trains to its end and is
    stored complete; a study resumed from the store counts it among the finished configs, so the
    process that ran it must too, or the next config is judged against another median."""
    from tuning.pruning import SeedAggregatePruning, stored_decisions

    a, b, c = [1.0, 0.5, 0.4], [0.9, 0.45, 0.6], [0.95, 0.48, 0.3]
    settings = {"n_startup_trials": 1, "n_warmup_steps": 0}
    live = SeedAggregatePruning("median", "val_loss", "minimize", "mean", 3, settings)
    for key, curve in (("a", a), ("b", b)):
        asked = [bool(live(e, [(key, 0), (key, 1)], np.array([v, v])).any()) for e, v in enumerate(curve)]
        assert asked == [False, False, key == "b"]  # b: worse than a only at its last epoch
        live.config_done(key, stopped=False)  # the fit paths ignore a stop at the last epoch
    fits = [(key, seed, False, curve) for key, curve in (("a", a), ("b", b)) for seed in (0, 1)]
    history, stored, _ = stored_decisions(fits, direction="minimize", aggregate="mean", training=["c"])
    resumed = SeedAggregatePruning("median", "val_loss", "minimize", "mean", 3, settings, history, stored)
    decisions = [[bool(hook(e, [("c", 0)], np.array([v])).any()) for e, v in enumerate(c[:2])]
                 for hook in (live, resumed)]
    # against a alone c goes on at epoch 1 (0.48 < 0.5); against a and b it stops (0.48 > 0.475)
    assert decisions[0] == decisions[1] == [False, True]


def test_seeds_one_at_a_time_from_min_seeds_train_the_first_seeds_in_full():
    curves = decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0])
    replay = replay_pruning(curves, "median", n_warmup_steps=4, one_seed_at_a_time=True, min_seeds=2)
    assert replay.stopped_at[5] == 5 and replay.decided_at_seed[5] == 1
    assert replay.epochs_spent[5] == EPOCHS + 5  # its first seed in full, its second up to the stop


def test_the_pruning_hook_pickles_to_a_worker_and_decides_there_as_here():
    import pickle

    from tuning.pruning import SeedAggregatePruning, stored_decisions

    epochs = np.arange(12)
    good = [list(0.1 + np.exp(-epochs / 3)), list(0.12 + np.exp(-epochs / 3))]
    fits = [("a", 0, False, good[0]), ("a", 1, False, good[1]), ("b", 0, False, good[0]), ("b", 1, False, good[1]),
            ("c", 0, True, list(2.0 + np.exp(-epochs[:4] / 3))), ("d", 0, False, good[0][:6])]
    history, stored, pruned = stored_decisions(fits, direction="minimize", aggregate="mean", training=["d", "e"])
    assert [(c.config, c.pruned, len(c.curve)) for c in history] == [("a", False, 12), ("b", False, 12), ("c", True, 4)]
    assert stored == {"d": [good[0][:6]], "e": []} and pruned == {}
    hook = SeedAggregatePruning("median", "val_loss", "minimize", "mean", 12,
                                {"n_startup_trials": 1, "n_warmup_steps": 1}, history, stored)
    copy = pickle.loads(pickle.dumps(hook))  # before any call: what a worker process receives
    bad = 3.0 + np.exp(-epochs / 3)
    here = [hook(e, [("e", 0), ("e", 1)], np.array([bad[e], bad[e]])) for e in range(3)]
    there = [copy(e, [("e", 0), ("e", 1)], np.array([bad[e], bad[e]])) for e in range(3)]
    assert [list(a) for a in here] == [list(a) for a in there] == [[False, False], [True, True], [True, True]]
    assert hook.pruned == copy.pruned == {"e": 2} and hook.skips(("e", 2))
    # d: one seed stored, a second one training: judged on the two seeds' aggregate, good enough to go on
    assert not hook(0, [("d", 1)], np.array([good[1][0]])).any()


def test_a_config_whose_pruned_seed_is_stored_is_pruned_before_it_trains_again():
    from tuning.pruning import SeedAggregatePruning, stored_decisions

    fits = [("a", 0, False, [1.0, 0.5, 0.4]), ("b", 0, True, [3.0, 2.9])]
    history, stored, pruned = stored_decisions(fits, direction="minimize", aggregate="mean", training=["b"])
    assert [c.config for c in history] == ["a"] and pruned == {"b": 2}
    hook = SeedAggregatePruning("median", "val_loss", "minimize", "mean", 3, {}, history, stored, pruned)
    assert hook.skips(("b", 1)) and not hook.skips(("a", 1))


@pytest.mark.parametrize("name", ["median", "percentile"])
def test_the_reason_a_pruner_pruned_nothing_is_given_exactly_when_it_could_not_have(name):
    """The note after a run: checked against Optuna's pruner itself, on a study whose last config is
    hopeless (it is pruned whenever the pruner can prune at all)."""
    from tuning.pruning import why_nothing_pruned

    for n_configs in range(2, 8):
        for startup in range(1, 7):
            for warmup in (2, EPOCHS - 1, EPOCHS, EPOCHS + 3):
                settings = {"n_startup_trials": startup, "n_warmup_steps": warmup}
                replay = replay_pruning(decaying([0.1 * (i + 1) for i in range(n_configs - 1)] + [5.0]), name,
                                        **settings)
                pruned = any(stop is not None for stop in replay.stopped_at)
                reason = why_nothing_pruned(name, settings, EPOCHS, finished=n_configs)
                assert (reason is not None) == (not pruned), (n_configs, settings, reason)
    assert why_nothing_pruned(name, {}, None, finished=9) is None  # searched epochs, enough configs
    assert why_nothing_pruned(name, {"n_warmup_steps": 50}, None, finished=9) is None  # not known to be too long
    assert why_nothing_pruned(name, {}, 30, finished=3) == (
        f"pruner {name} pruned nothing: it judges a config only once n_startup_trials=5 others have finished, "
        "and this study finished 3 (pruner.settings: {n_startup_trials: 1} starts sooner)")


@pytest.mark.parametrize("name", ["successive_halving", "hyperband"])
def test_a_rung_as_long_as_the_fits_is_the_reason_nothing_was_pruned(name):
    from tuning.pruning import why_nothing_pruned

    curves = decaying([0.1, 0.2, 0.3, 0.4, 0.5, 5.0, 5.1, 5.2])
    for first_rung in (2, EPOCHS):
        replay = replay_pruning(curves, name, min_resource=first_rung)
        reason = why_nothing_pruned(name, {"min_resource": first_rung}, EPOCHS, finished=8)
        assert (reason is None) == any(stop is not None for stop in replay.stopped_at), (first_rung, reason)


def test_a_replayed_pruner_picks_by_the_studys_objective_not_by_the_curves_lowest_epoch():
    """Config b dips lowest mid-run but ends worse; a, steady, ends best and is the study's best by
    its final scores. Without pruning the replay picks a, and says it is the study's best."""
    import pandas as pd
    from helpers.results import make_results

    from tuning.replay import replay_pruner_on_study

    epochs = np.arange(10)
    shapes = {"a": 1.0 - 0.05 * epochs, "b": np.where(epochs < 5, 1.0 - 0.15 * epochs, 0.9)}
    rows = [{"config_key": key, "seed": seed, "epoch": int(e), "curve": "val_loss", "value": float(v) + 0.01 * seed}
            for key, shape in shapes.items() for seed in range(3) for e, v in zip(epochs, shape, strict=True)]
    finals = {key: [float(shape[-1]) + 0.01 * seed for seed in range(3)] for key, shape in shapes.items()}
    results = make_results(finals, curves=pd.DataFrame(rows))
    assert results.selection.table.iloc[0]["config_key"] == "a"  # 0.55 at the end against 0.9
    replayed = replay_pruner_on_study(results, "none")
    assert replayed.picked == replayed.exhaustive_best == "a"
    assert replayed.text.splitlines()[1].startswith("picked trial 0, the study's best with every epoch too")
