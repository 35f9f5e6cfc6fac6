"""``tuning init``: a commented starter spec for a CSV series that ``tuning run`` accepts as it is.

The starter is meant to be right for the series in front of it rather than generic: the
look_back covers one season when the series has one, the grid is small enough to finish in
minutes on a laptop, 5 seeds show whether a difference is real, and a series whose later part
leaves the range of its earlier part (a trend) gets ``difference: 1``, the fix the report would
otherwise suggest after every config lost to persistence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuning.problems._base import REACH_TOLERANCE
from tuning.problems._csv import EXAMPLE_PATH, read_series

#: The shares ``csv`` splits by default: what the starter's look_back has to fit into.
_TRAIN, _VAL = 0.7, 0.15
_MIN_AUTOCORRELATION = 0.3


def season_of(values: np.ndarray) -> int | None:
    """The lag (>= 2, at most a quarter of the series) of the strongest autocorrelation of the
    step-to-step changes (the shortest within 90 % of it), when it is clearly there (> 0.3);
    ``None`` otherwise."""
    changes = np.diff(np.asarray(values, dtype=np.float64))
    changes = changes - changes.mean()
    top = len(changes) // 4
    if top < 2 or not changes.std() > 0:
        return None
    scores = {lag: float(np.corrcoef(changes[:-lag], changes[lag:])[0, 1]) for lag in range(2, top + 1)}
    best = max(scores.values())
    if not best > _MIN_AUTOCORRELATION:
        return None
    # A season's multiples correlate about as well as the season itself: take the shortest.
    return min(lag for lag, score in scores.items() if score >= 0.9 * best)


def trend_reach(values: np.ndarray) -> float:
    """How far the rows after the training share reach outside the training rows' range (0 inside,
    0.43 for 43 % of the range above its top or below its bottom) - the report's extrapolation test."""
    values = np.asarray(values, dtype=np.float64)
    train, later = values[: int(round(len(values) * _TRAIN))], values[int(round(len(values) * _TRAIN)):]
    low, span = train.min(), np.ptp(train)
    if not span > 0 or not len(later):
        return 0.0
    return float(max((later.max() - low) / span - 1, (low - later.min()) / span, 0.0))


def _line(text: str, comment: str = "") -> str:
    return f"{text:<32} # {comment}" if comment else text


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same string: plain when it is a simple
    word or path, else quoted (a column ``temp #1`` would otherwise lose `` #1`` as a comment)."""
    import json
    import re

    import yaml

    if re.fullmatch(r"[A-Za-z0-9_./:-]+", value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def starter_spec(path: str, target: str | None = None, name: str | None = None) -> str:
    """The YAML text of a starter study for the CSV series at ``path`` (``"example"``: the bundled one)."""
    shown, time_column, target, values = read_series(path, target)
    n = len(values)
    season = season_of(values)
    reach = trend_reach(values)
    trending = reach > REACH_TOLERANCE
    val_rows = int(round(n * (_TRAIN + _VAL))) - int(round(n * _TRAIN))
    room = val_rows - 1 - 4  # a window plus a few of them in the validation split
    if season is not None and season <= room:
        look_back, why = season, f"one season ({season} rows: the strongest autocorrelation of the changes)"
    else:
        look_back = max(1, min(10, room, n // 10))
        why = f"{look_back} rows (no clear season)" if season is None else f"{look_back} rows (a season of {season} does not fit the splits)"
    stem = Path(shown).stem if path != EXAMPLE_PATH else "example"
    name = name or stem
    lines = [
        f"# Starter study for {shown}, written by `tuning init`: forecast {target!r} one step ahead.",
        f"# {n} rows; 70 % train, 15 % validation, 15 % test, in time order. Every field: docs/spec.md.",
        f"name: {_scalar(name)}",
        "problem:",
        "  name: csv",
        "  params:",
        _line(f"    path: {_scalar(path)}", "the series bundled with tuning" if path == EXAMPLE_PATH
              else "relative to the directory you run tuning in"),
        f"    target: {_scalar(target)}",
    ]
    if time_column is not None:
        lines.append(_line(f"    time_column: {_scalar(time_column)}", "rows are sorted by it"))
    lines.append(_line(f"    look_back: {look_back}", f"input window: {why}"))
    lines.append("    horizon: 1")
    if trending:
        lines.append(_line("    difference: 1", f"the series trends (its last 30 % reach {reach:.0%} of the earlier "
                                                   "rows' range outside it): model the changes"))
    else:
        lines.append(_line("    # difference: 1", "no trend found; set it if the report warns about extrapolation"))
    if season is not None:
        lines.append(_line(f"    season: {season}", "adds the seasonal-naive baseline (the value one season before)"))
    lines += [
        "model:",
        "  family: vanilla                # one LSTM layer",
        "  cell: lstm",
        "space:                           # a small grid: 4 configs",
        "  units: [8, 32]",
        "  learning_rate: [0.001, 0.01]",
        "sampler: grid",
        "repeats: 5                       # seeds per config: enough to tell seed luck from a real difference",
        "objective:",
        "  metric: val_mae                # in the series' own units; compared with the strongest naive baseline",
        "fit:",
        "  epochs: 50",
        "  batch_size: 32",
        "  early_stopping: {monitor: val_loss, patience: 10}",
        f"storage: {_scalar(f'sqlite:///{name}.db')}",
    ]
    return "\n".join(lines) + "\n"
