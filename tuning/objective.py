"""How a study scores a config: the aggregate over its seeds, the margin that matters, a metric's range.

A leaf (no NumPy, no SciPy): the spec validates these names and margins while it loads, and the
statistics, the tables and the report read the same rules from here.
"""

from __future__ import annotations

import math
import re

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
