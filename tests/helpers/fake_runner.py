"""A runner without Keras: a test double for the fits, so that the loop, the evaluator, the trial
records and the store are tested in milliseconds (on real SQLite and real Optuna).

Each (config, seed) gets made-up but deterministic scores and curves: ``val_loss`` falls with
``units`` and varies a little with the seed, so a study has a best config and seed noise. A config
with ``learning_rate`` >= 1 "diverges" (a failed fit, as a real diverging fit is recorded), and
``fail_seeds`` fail whatever the config. Every task handed over is kept in ``tasks``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tuning.fit import FitTask
from tuning.results import FAILED, OK, FitResult


def fake_scores(config: dict[str, Any], seed: int) -> dict[str, float]:
    """The scores a fit of ``config`` with ``seed`` "reaches": a function of the two, nothing else."""
    units = config.get("units", 1)
    units = sum(units) if isinstance(units, list) else units
    val_loss = 1.0 / (1.0 + units) + 0.01 * ((seed * 7919) % 13)
    return {"loss": val_loss * 0.9, "val_loss": val_loss, "val_mae": val_loss / 2}


def fake_fit(task: FitTask, *, fail: bool = False) -> FitResult:
    epochs = task.fit.epochs
    if fail or task.config.get("learning_rate", 0.0) >= 1.0:
        return FitResult(task.config_key, task.seed, FAILED, {}, {"loss": [float("nan")]}, 1, None, 0.001,
                         "diverged: loss is NaN at epoch 1")
    scores = fake_scores(task.config, task.seed)
    curves = {name: [value * (epochs - e) / epochs + value for e in range(epochs)] for name, value in scores.items()}
    return FitResult(task.config_key, task.seed, OK, scores, curves, epochs, epochs, 0.001, None, 10 * epochs)


class FakeRunner:
    """Implements :class:`tuning.runners.Runner` with :func:`fake_fit`; ``drop``: seeds it "loses"."""

    name = "fake"

    def __init__(self, *, trials_in_flight: int = 1, fail_seeds: tuple[int, ...] = (), drop: tuple[int, ...] = ()):
        self.trials_in_flight = trials_in_flight
        self.fail_seeds, self.drop = set(fail_seeds), set(drop)
        self.tasks: list[FitTask] = []

    def map(self, tasks: list[FitTask]) -> Iterator[FitResult]:
        for task in tasks:
            self.tasks.append(task)
            if task.seed not in self.drop:
                yield fake_fit(task, fail=task.seed in self.fail_seeds)

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(points)

    @property
    def seeds_seen(self) -> list[int]:
        return [task.seed for task in self.tasks]
