"""A runner without Keras: a test double for the fits, so that the loop, the evaluator, the trial
records and the store are tested in milliseconds (on real SQLite and real Optuna).

Each (config, seed) gets made-up but deterministic scores and curves: ``val_loss`` falls with
``units`` and varies a little with the seed, so a study has a best config and seed noise. A config
with ``learning_rate`` >= 1 "diverges" (a failed fit, as a real diverging fit is recorded), and
``fail_seeds`` fail whatever the config. Every task handed over is kept in ``tasks``. An epoch
hook (a pruner) is told each fit's ``val_loss`` curve as ``fit_one`` tells it (:func:`hooked`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

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


def hooked(fit: FitResult, epoch_hook) -> FitResult:
    """``fit`` as one seed at a time would end with ``epoch_hook`` told its ``val_loss`` epoch by epoch
    (what ``fit_one``'s callback does): cut where the hook stops it, or not started if it skips it."""
    if epoch_hook is None or not fit.ok:
        return fit
    key = (fit.config_key, fit.seed)
    if getattr(epoch_hook, "skips", None) and epoch_hook.skips(key):
        return FitResult(fit.config_key, fit.seed, OK, stopped_by_hook=0)
    curve = fit.curves["val_loss"]
    for epoch, value in enumerate(curve[:-1]):  # a stop asked after the last epoch is no stop
        if np.asarray(epoch_hook(epoch, [key], np.array([value]))).any():
            cut = {name: values[: epoch + 1] for name, values in fit.curves.items()}
            return replace(fit, curves=cut, epochs_run=epoch + 1, stopped_by_hook=epoch + 1)
    return fit


class FakeRunner:
    """Implements :class:`tuning.runners.Runner` with :func:`fake_fit`; ``drop``: seeds it "loses";
    ``stop_after``: raise KeyboardInterrupt (a Ctrl-C) once that many tasks were handed over.
    Subclasses change the fits by overriding :meth:`fit`."""

    name = "fake"

    def __init__(self, *, trials_in_flight: int = 1, fail_seeds: tuple[int, ...] = (), drop: tuple[int, ...] = (),
                 stop_after: int | None = None, fits_at_once: int | None = None):
        self.trials_in_flight = trials_in_flight
        self.fits_at_once = fits_at_once  # None: handed every batch whole, as a fusing runner is
        self.fail_seeds, self.drop = set(fail_seeds), set(drop)
        self.stop_after = stop_after
        self.tasks: list[FitTask] = []

    def fit(self, task: FitTask) -> FitResult:
        return fake_fit(task, fail=task.seed in self.fail_seeds)

    def map(self, tasks: list[FitTask], epoch_hook=None) -> Iterator[FitResult]:
        for task in tasks:
            if self.stop_after is not None and len(self.tasks) >= self.stop_after:
                raise KeyboardInterrupt
            self.tasks.append(task)
            if task.seed not in self.drop:
                yield hooked(self.fit(task), epoch_hook)

    def order_grid(self, points: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(points)

    @property
    def seeds_seen(self) -> list[int]:
        return [task.seed for task in self.tasks]
