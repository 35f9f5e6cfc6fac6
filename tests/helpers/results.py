"""A study's Results built by hand (no store, no Keras): known scores for the analysis and report tests."""

from __future__ import annotations

import math

import pandas as pd

from tuning.analysis import Results
from tuning.analysis.inputs import param_cell

CURVE_COLUMNS = ["config_key", "seed", "epoch", "curve", "value"]


def make_results(scores: dict[str, list[float]], *, direction: str = "minimize", metric: str = "val_loss",
                 baseline: float = 1.0, params: dict[str, dict] | None = None, curves: pd.DataFrame | None = None,
                 failed: dict[str, int] | None = None, seeds: dict[str, list[int]] | None = None,
                 objective: dict | None = None, spec: dict | None = None) -> Results:
    """A study as load_results returns it, built by hand: one fit row per (config, seed).

    ``seeds`` gives a config's seed numbers (default 0, 1, ...); ``objective`` the spec's objective,
    ``spec`` the rest of the stored spec (``fit`` say).
    """
    rows = []
    for c, (key, values) in enumerate(scores.items()):
        settings = (params or {}).get(key, {"units": c})
        numbers = (seeds or {}).get(key, list(range(len(values))))
        for seed, value in zip(numbers, values, strict=True):
            rows.append({"trial": c, "config_key": key, "seed": seed, "status": "ok",
                         **{f"param_{k}": param_cell(v) for k, v in settings.items()}, metric: value, "train_loss": value / 2,
                         "epochs_run": 10, "best_epoch": None, "fit_seconds": 1.0 + seed, "error": None})
        for seed in range(len(values), len(values) + (failed or {}).get(key, 0)):
            rows.append({"trial": c, "config_key": key, "seed": seed, "status": "failed",
                         **{f"param_{k}": param_cell(v) for k, v in settings.items()}, metric: math.nan, "train_loss": math.nan,
                         "epochs_run": 0, "best_epoch": None, "fit_seconds": 0.5, "error": "diverged at epoch 1"})
    spec = {**(spec or {}), **({"objective": objective} if objective else {})}
    return Results("synthetic", pd.DataFrame(rows), pd.DataFrame(),
                   curves if curves is not None else pd.DataFrame(columns=CURVE_COLUMNS),
                   {metric: baseline}, metric, direction, spec)
