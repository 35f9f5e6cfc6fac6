"""Shared by the fused-runner tests: tiny problems, tasks, and "is this replica its standalone fit"."""

from __future__ import annotations

import json

from tuning.fit import FitSettings, FitTask
from tuning.spec import config_key

SINE = ("damped_sine", json.dumps({"length": 8, "n_train": 48, "n_val": 16, "n_test": 16}))
ECHO = ("echo", json.dumps({"length": 4, "n_features": 5, "n_train": 48, "n_val": 16, "n_test": 16}))
CUMSUM = ("cumsum", json.dumps({"n_timesteps": 6, "n_train": 48, "n_val": 16, "n_test": 16}))
ADDITION = ("addition", json.dumps({"n_train": 48, "n_val": 16, "n_test": 16}))
EXACT = {"shuffle": True, "deterministic": True}  # fit_one turns op determinism on for this
TOLERANCE = 1e-4  # relative, on every curve value and score


def tasks(config, seeds, problem=SINE, fit=EXACT) -> list[FitTask]:
    config = {"units": 3, "epochs": 3, "batch_size": 16, **config}
    settings = FitSettings.resolve(fit, config)
    return [FitTask(problem[0], problem[1], config, config_key(config), seed, settings) for seed in seeds]


def relative_gap(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def assert_same_fit(fused_fit, standalone, tolerance=TOLERANCE):
    """Same status, curve names, epochs, best epoch; every value within ``tolerance`` relative."""
    assert fused_fit.seed == standalone.seed and fused_fit.config_key == standalone.config_key
    assert fused_fit.status == standalone.status, (fused_fit.error, standalone.error)
    assert list(fused_fit.curves) == list(standalone.curves)
    assert fused_fit.epochs_run == standalone.epochs_run and fused_fit.best_epoch == standalone.best_epoch
    # both runners record the model's size ("the simplest config equivalent to the best")
    assert fused_fit.trainable_weights == standalone.trainable_weights > 0
    for name, values in standalone.curves.items():
        assert len(fused_fit.curves[name]) == len(values)
        gaps = [relative_gap(a, b) for a, b in zip(fused_fit.curves[name], values, strict=True)]
        assert max(gaps) <= tolerance, (name, fused_fit.curves[name], values)
    assert set(fused_fit.scores) == set(standalone.scores)
    for name, value in standalone.scores.items():
        assert relative_gap(fused_fit.scores[name], value) <= tolerance, (name, fused_fit.scores[name], value)

