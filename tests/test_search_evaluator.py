"""The evaluator (``tuning.search.evaluator``): stored fits reused, results checked and aggregated."""

from __future__ import annotations

import pytest

from tuning.runners import SequentialRunner
from tuning.search.evaluator import Evaluator
from tuning.spec import config_key
from tuning.store import Store

TINY_CONFIG = {"units": 2, "epochs": 2, "batch_size": 5}


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
