"""What real curves that looked like this one went on to do: a nearest-neighbour prior over curve shapes.

Saturating families forecast a curve that keeps flattening well, and a curve that turns up
(overfitting), wanders (an unstable optimiser) or drops late badly: on the development curves their
forecast was close on underfit curves and poor on the rest (docs/analysis.md, round 4). This module
corrects it with what real curves did. Each development curve (the val curves of the diagnosis
corpus and the first two fresh sets, cut at half) is a row of shape features of its first half (the
families' forecasts, the level's recent fall, where the minimum was, the rise since, the noise, the
train curve's fall and the val/train gap's growth) and what its second half did, as a log-ratio
of levels beyond the families' forecast. A new curve's correction is the distance-weighted mean
of its nearest rows. No training happens here: the rows ship with the package
(``tuning/data/curve_prior.json``, made by ``benchmarks/diagnosis/fit_prior.py``), and reading
them needs NumPy only.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tuning.analysis.shape import epoch_noise, median_of

__all__ = ["PRIOR_PATH", "curve_features", "load_prior", "prior_correction"]

PRIOR_PATH = Path(__file__).resolve().parents[1] / "data" / "curve_prior.json"

#: The features, in the stored order; the last six read the train curve (left out without one).
FEATURES = ("gain", "fall_quarter", "fall_half", "minimum_at", "above_minimum", "noise", "log_epochs",
            "improved", "gain_exponential", "gain_power_law", "gain_log_power",
            "train_fall_quarter", "train_fall_half", "log_gap", "gap_growth_quarter", "gap_growth_half", "train_gain")
VAL_ONLY = 11


def _level(y: np.ndarray, end: int, k: int) -> float:
    """Median of the ``k`` epochs before ``end`` (all before it when there are fewer)."""
    return median_of(y[max(0, end - k): max(end, 1)])


def curve_features(y: np.ndarray, families: dict[str, float], gain: float, k: int,
                   train: np.ndarray | None = None, train_gain: float = math.nan) -> np.ndarray:
    """The shape features of a loss curve ``y`` (positive, finite), NaN for the train ones without ``train``.

    ``families``/``gain``: the saturating families' own forecasts and their weighted one; ``k``:
    the epochs a level is the median of.
    """
    n = len(y)
    level = _level(y, n, k)
    quarter, half = _level(y, 3 * n // 4, k), _level(y, n // 2, k)
    smooth = np.convolve(y, np.ones(k) / k, mode="valid")
    best = int(np.argmin(smooth))
    values = [float(np.clip(gain, -2, 1)), math.log(quarter / level), math.log(half / level), (best + k) / n,
              math.log(level / smooth[best]), epoch_noise(y) / level, math.log(n), math.log(float(smooth.max()) / level),
              *(float(np.clip(families.get(name, gain), -2, 1)) for name in ("exponential", "power law", "log-power"))]
    if train is not None and len(train) == n and np.all(np.isfinite(train)) and float(np.min(train)) > 0:
        t_level = _level(train, n, k)
        t_quarter, t_half = _level(train, 3 * n // 4, k), _level(train, n // 2, k)
        gap = math.log(level / t_level)
        values += [math.log(t_quarter / t_level), math.log(t_half / t_level), gap, gap - math.log(quarter / t_quarter),
                   gap - math.log(half / t_half), float(np.clip(train_gain, -2, 1)) if math.isfinite(train_gain) else 0.0]
    else:
        values += [math.nan] * (len(FEATURES) - VAL_ONLY)
    return np.asarray(values, dtype=float)


@lru_cache(maxsize=4)
def load_prior(path: str = str(PRIOR_PATH)) -> dict[str, Any] | None:
    """The stored rows (features, corrections, groups), their scaling, ``k`` and the interval quantiles."""
    file = Path(path)
    if not file.exists():
        return None
    data = json.loads(file.read_text())
    data["rows"] = np.asarray(data["rows"], dtype=float)
    data["target"] = np.asarray(data["target"], dtype=float)
    data["mean"] = np.asarray(data["mean"], dtype=float)
    data["std"] = np.asarray(data["std"], dtype=float)
    return data


def prior_correction(features: np.ndarray, prior: dict[str, Any] | None = None,
                     exclude: set | frozenset = frozenset()) -> tuple[float, float]:
    """The distance-weighted mean and spread (std) of the log-ratio corrections of the ``k`` stored curves nearest ``features``.

    Without train features only the val columns are compared. ``exclude`` names groups (a set or a
    fold of configs, as stored) whose rows take no part: how the benchmark forecasts a development
    curve without its own set (leave one set out). (0.0, 0.0) when there is no prior.
    """
    prior = prior if prior is not None else load_prior()
    if prior is None:
        return 0.0, 0.0
    columns = np.arange(len(FEATURES)) if np.all(np.isfinite(features)) else np.arange(VAL_ONLY)
    keep = np.ones(len(prior["rows"]), dtype=bool)
    if exclude:
        keep = np.asarray([not ({*groups} & set(exclude)) for groups in prior["groups"]], dtype=bool)
    rows = prior["rows"][keep][:, columns]
    target = prior["target"][keep]
    if not len(rows):
        return 0.0, 0.0
    scale = prior["std"][columns]
    distance = np.sqrt(np.nansum(((rows - features[columns]) / scale) ** 2, axis=1))
    nearest = np.argsort(distance)[: int(prior["k"])]
    values = target[nearest]
    if prior.get("aggregate") == "median":
        centre = float(np.median(values))
        return centre, float(1.4826 * np.median(np.abs(values - centre)))
    weights = 1.0 / np.maximum(distance[nearest], 1e-9)
    weights /= weights.sum()
    mean = float(weights @ values)
    return mean, float(math.sqrt(max(float(weights @ (values - mean) ** 2), 0.0)))
