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
from tuning.problems._csv_read import CALENDAR_SEASONS, EXAMPLE_PATH, calendar_of, read_series

#: The shares ``csv`` splits by default: what the starter's look_back has to fit into.
_TRAIN, _VAL = 0.7, 0.15
_MIN_AUTOCORRELATION = 0.3


def _changes_autocorrelation(values: np.ndarray) -> dict[int, float]:
    """The autocorrelation of the step-to-step changes at every lag from 2 to a quarter of the series
    (empty when it is too short or the changes are constant)."""
    changes = np.diff(np.asarray(values, dtype=np.float64))
    changes = changes - changes.mean()
    top = len(changes) // 4
    if top < 2 or not changes.std() > 0:
        return {}
    return {lag: float(np.corrcoef(changes[:-lag], changes[lag:])[0, 1]) for lag in range(2, top + 1)}


def season_of(values: np.ndarray) -> int | None:
    """The lag (>= 2, at most a quarter of the series) of the strongest autocorrelation of the
    step-to-step changes (the shortest within 90 % of it), when it is clearly there (> 0.3);
    ``None`` otherwise."""
    scores = _changes_autocorrelation(values)
    if not scores or not max(scores.values()) > _MIN_AUTOCORRELATION:
        return None
    best = max(scores.values())
    # A season's multiples correlate about as well as the season itself: take the shortest.
    return min(lag for lag, score in scores.items() if score >= 0.9 * best)


def choose_season(values: np.ndarray, dates=None) -> tuple[int | None, str]:
    """The season ``tuning init`` writes, and why, in words for the spec's comment.

    With dates spaced by a calendar (weekly 52, monthly 12, daily 7, hourly 24, quarterly 4,
    business-daily 5), that season when the autocorrelation of the changes confirms it: above 0.3
    (the bar of :func:`season_of`) at its lag or one lag either side (a year is 52.18 weeks). Dates
    with gaps hold fewer rows per season: the lags down to the season times the share of rows
    present count too (20 of 440 weeks missing: from 49). Otherwise the rule of :func:`season_of`.
    """
    scores = _changes_autocorrelation(values)
    calendar = calendar_of(dates) if dates is not None else None
    doubt = ""
    if calendar is not None and calendar.sparse:
        doubt = (f"; the {calendar.name} dates are not read as a calendar: {calendar.missing} of its rows would be "
                 f"missing, more than the {calendar.present} present")
        calendar = None
    if calendar is not None:
        name, missing, _ = calendar
        season = CALENDAR_SEASONS[name]
        dated = f"{name} dates" + (f", {missing} missing" if missing else "")
        shortest = max(2, min(season - 1, int(np.floor(season * len(values) / (len(values) + missing))) - 1))
        near = {lag: scores[lag] for lag in range(shortest, season + 2) if lag in scores}
        if near:
            lag = max(near, key=near.get)
            if near[lag] > _MIN_AUTOCORRELATION:
                return season, f"the calendar ({dated}), autocorrelation of the changes {near[lag]:.2f} at lag {lag}"
            doubt = (f"; the calendar's {season} ({dated}) is not confirmed: autocorrelation of the changes "
                     f"{near[lag]:.2f} at lag {lag}, not above {_MIN_AUTOCORRELATION}")
        else:
            doubt = f"; the calendar's {season} ({dated}) is not confirmed: a season is more than a quarter of the rows"
    season = season_of(values)
    if season is None:
        return None, "no clear season" + doubt
    return season, f"the strongest autocorrelation of the changes, {scores[season]:.2f} at lag {season}" + doubt


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
    shown, time_column, target, values, dates = read_series(path, target)
    n = len(values)
    season, chosen = choose_season(values, dates)
    reach = trend_reach(values)
    trending = reach > REACH_TOLERANCE
    val_rows = int(round(n * (_TRAIN + _VAL))) - int(round(n * _TRAIN))
    room = val_rows - 1 - 4  # a window plus a few of them in the validation split
    if season is not None and season <= room:
        look_back, why = season, f"one season ({season} rows)"
    else:
        look_back = max(1, min(10, room, n // 10))
        why = f"{look_back} row(s)" + ("" if season is None else f" (a season of {season} does not fit the splits)")
        if look_back < 3:
            why += (f"; only {n} rows, {val_rows} of them for validation: too few for a longer window or a score "
                    "to trust; a longer series helps most")
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
    calendar = calendar_of(dates) if dates is not None else None
    if calendar is not None and calendar.missing and not calendar.sparse:
        lines.append(_line("    missing_dates: interpolate", f"{calendar.missing} {calendar.name} date(s) missing: "
                                                             "filled in, so windows and seasons count the calendar"))
    lines.append(f"    # season: {season if season is not None else 'none'}: {chosen}")
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

