"""How a study scores a config: the aggregate over its seeds, the margin that matters, a metric's range.

A leaf (NumPy, no SciPy): the spec validates these names and margins while it loads, and the
statistics, the tables and the report read the same rules from here.
"""

from __future__ import annotations

import math
import re

import numpy as np

#: the aggregates over a config's seeds a study can optimise (lower is better after orienting)
AGGREGATES = ("mean", "median", "worst", "mean_plus_std", "iqm")
#: the equivalence margin when a study sets none
DEFAULT_MARGIN = "5%"

def orientation(direction: str) -> float:
    """+1 for ``minimize``, -1 for ``maximize``: a score times this is lower when better, the way
    the statistics, the race, the pruner and the tables compare configs.

    Raises:
        ValueError: ``direction`` is neither.
    """
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be minimize or maximize (got {direction!r})")
    return -1.0 if direction == "maximize" else 1.0


def parse_margin(value: object) -> tuple[float, bool]:
    """``0.01`` -> (0.01, False): in the metric's units; ``"2%"`` -> (0.02, True): of the best's aggregate.

    Raises:
        ValueError: in the user's words, for anything but a positive number or percentage.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a positive number or a percentage like '2%' (got {value!r})")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"must be a positive number or a percentage like '2%' (got {value!r})")
        return float(value), False
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)", text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"must be a positive number or a percentage like '2%' (got {value!r})")
    number = float(match.group(1))
    return (number / 100, True) if match.group(2) else (number, False)



_NON_NEGATIVE = ("mse", "mae", "rmse", "loss", "crossentropy", "mean_squared", "mean_absolute")
_UNIT = ("accuracy", "auc")


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take, from its name: MSE, MAE, RMSE, losses and cross-entropies
    ``[0, inf)``; accuracies and AUC ``[0, 1]``; anything else (a custom metric) unbounded."""
    name = str(metric).lower()
    if any(word in name for word in _UNIT):
        return 0.0, 1.0
    if any(word in name for word in _NON_NEGATIVE):
        return 0.0, math.inf
    return -math.inf, math.inf


def oriented_aggregate(values: np.ndarray, how: str = "mean", k: float = 1.0) -> np.ndarray:
    """The aggregate over the last axis, ignoring NaN (NaN where nothing is left). Lower is better.

    ``iqm`` is the interquartile mean (``scipy.stats.trim_mean(x, 0.25)``: the lowest and highest
    ``floor(n/4)`` seeds dropped), robust to a diverging seed yet less wasteful than the median.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    count = finite.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "mean":
            out = np.where(finite, x, 0.0).sum(axis=-1) / count
        elif how == "worst":
            out = np.where(finite, x, -np.inf).max(axis=-1)
        elif how == "mean_plus_std":
            mean = np.where(finite, x, 0.0).sum(axis=-1) / count
            squares = np.where(finite, (x - mean[..., None]) ** 2, 0.0).sum(axis=-1)
            std = np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1)), 0.0)
            out = mean + k * std
        elif how in ("median", "iqm"):
            ordered = np.sort(np.where(finite, x, np.inf), axis=-1)  # missing values sort last
            cut = count // 4 if how == "iqm" else None
            if how == "median":
                low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], -1)[..., 0]
                high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[..., None], -1)[..., 0]
                out = (low + high) / 2
            else:
                sums = np.concatenate([np.zeros(ordered.shape[:-1] + (1,)),
                                       np.cumsum(np.where(np.isfinite(ordered), ordered, 0.0), -1)], -1)
                top = np.take_along_axis(sums, (count - cut)[..., None], -1)[..., 0]
                bottom = np.take_along_axis(sums, cut[..., None], -1)[..., 0]
                out = (top - bottom) / (count - 2 * cut)
        else:
            raise ValueError(f"unknown aggregate {how!r}; expected one of {', '.join(AGGREGATES)}")
    return np.where(count > 0, out, np.nan)
