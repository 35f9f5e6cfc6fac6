"""The evaluator (``tuning.search.evaluator``): stored fits reused, results checked and aggregated.

The fits come from :class:`helpers.fake_runner.FakeRunner` (no Keras); the store is a real SQLite one.
"""

from __future__ import annotations

import pytest
from helpers.fake_runner import FakeRunner, fake_scores

from tuning.search.evaluator import Evaluator
from tuning.spec import config_key
from tuning.store import Store
from tuning.trials import FixedSeeds

TINY_CONFIG = {"units": 2, "epochs": 2, "batch_size": 5}


class CountingRunner(FakeRunner):
    """The fake runner, counting the seeds it was asked to fit."""

    @property
    def seen(self) -> list[int]:
        return self.seeds_seen


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
    result = make_evaluator(store, FakeRunner(), metric="val_accuracy").evaluate(
        TINY_CONFIG, config_key(TINY_CONFIG), [0])
    assert result.value is None and "val_accuracy" in result.failure


def test_each_fit_is_recorded_as_it_arrives_and_the_objective_aggregates_the_seeds(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    seen: list[tuple[int, bool]] = []
    evaluator = make_evaluator(store, FakeRunner())
    result = evaluator.evaluate(TINY_CONFIG, config_key(TINY_CONFIG), FixedSeeds((0, 1, 2)),
                                on_fit=lambda fit, reused: seen.append((fit.seed, reused)))
    assert seen == [(0, False), (1, False), (2, False)] and store.count_fits("s") == 3
    values = [fake_scores(TINY_CONFIG, seed)["val_loss"] for seed in (0, 1, 2)]
    assert result.value == pytest.approx(sum(values) / 3) and result.seed_values == dict(zip((0, 1, 2), values, strict=True))
    seen.clear()
    evaluator.evaluate(TINY_CONFIG, config_key(TINY_CONFIG), [1, 2], on_fit=lambda fit, reused: seen.append((fit.seed, reused)))
    assert seen == []  # already handed over in this trial (a race asks for a config's seeds every round)
    evaluator.concluded(config_key(TINY_CONFIG))
    evaluator.evaluate(TINY_CONFIG, config_key(TINY_CONFIG), [1, 2], on_fit=lambda fit, reused: seen.append((fit.seed, reused)))
    assert seen == [(1, True), (2, True)]  # a later trial of the config reuses them, and says so


def test_a_failed_seed_fails_the_trial_with_its_reason(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    result = make_evaluator(store, FakeRunner(fail_seeds=(1,))).evaluate(TINY_CONFIG, config_key(TINY_CONFIG), [0, 1])
    assert result.value is None and "diverged" in result.failure
    assert store.count_fits("s") == 2  # the failed fit is stored too, with its reason


def test_several_configs_go_to_the_runner_in_one_call(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    configs = [{**TINY_CONFIG, "units": u} for u in (1, 2, 3)]
    runner = FakeRunner()
    results = list(make_evaluator(store, runner).evaluate_many([(c, config_key(c)) for c in configs], [0, 1]))
    assert sorted(r.config["units"] for r in results) == [1, 2, 3] and len(runner.tasks) == 6


def test_a_runner_that_drops_work_is_a_bug_named_as_such(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    with pytest.raises(RuntimeError, match="runner returned no result"):
        make_evaluator(store, FakeRunner(drop=(1,))).evaluate(TINY_CONFIG, config_key(TINY_CONFIG), [0, 1])
