"""The ``csv`` problem: forecast one column of the user's own time series.

The order of operations is what keeps the validation score honest: rows are split
chronologically first; the transforms (log or Box-Cox, differencing) and the scaler are fitted
on the training rows only; windows are cut inside each split, so no statistic and no window ever
reaches across into later data. Forecasts are turned back into the series' own units before
they are scored, and the naive baselines (persistence, seasonal naive, the training mean) are
forecasts in those units too, so a transform changes the model's task but not the yardstick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuning.errors import DataError, SpecError
from tuning.problems._base import Baseline, Problem
from tuning.problems._csv_read import (
    column_not_found,
    fill_missing_dates,
    numeric_values,
    read_frame,
    resolve_path,
    rows_named,
    sort_by_time,
    value_columns,
)
from tuning.problems._synthetic import summary_line
from tuning.problems._transforms import POWERS, SeriesTransform, fit_boxcox

#: ``path`` value that selects the series shipped with the package.
SCALINGS = ("minmax", "standard", "none")
#: What ``missing_dates`` may say about dates the calendar of ``time_column`` misses.
MISSING_DATES = ("rows", "interpolate")


@dataclass(frozen=True)
class SeriesInverse:
    """Map model-space target values back to original units: undo the scaler, then the transforms.

    ``inverse(values)`` when nothing was differenced; ``inverse(values, history)`` otherwise,
    ``history`` holding each window's transformed values before it (:class:`Problem.history`).
    A module-level class rather than a closure so that a :class:`Problem` stays picklable when
    trials run in worker processes.
    """

    offset: float
    scale: float
    transform: SeriesTransform = SeriesTransform()
    column: int = 0

    def __call__(self, values: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64) * self.scale + self.offset
        if self.transform.identity:
            return values
        if self.transform.memory and history is None:
            raise DataError("a differenced series needs the values before each window to be undone")
        flat = values.reshape(len(values), -1)
        history = np.empty((len(values), 0)) if history is None else history
        return self.transform.invert(flat, history, self.column).reshape(values.shape)

    def to_model(self, forecast: np.ndarray, history: np.ndarray) -> np.ndarray:
        """A forecast in original units ``[n, h]`` in model space (what ``__call__`` undoes)."""
        forward = self.transform.forward(forecast, history, self.column)
        return ((forward - self.offset) / self.scale).astype(np.float32)


def fit_scaler(train_rows: np.ndarray, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-column ``(offset, scale)`` such that ``(value - offset) / scale`` is the scaled value.

    Fitted on training rows only, so validation and test values may fall outside [0, 1] (or
    away from mean 0): that is the truth about unseen data, and hiding it would flatter the
    model. A constant column gets scale 1 instead of a division by zero.

    Args:
        train_rows: [rows, columns] training values.
        scaling: ``"minmax"``, ``"standard"`` or ``"none"``.
    """
    n_columns = train_rows.shape[1]
    if scaling == "minmax":
        offset = train_rows.min(axis=0)
        scale = train_rows.max(axis=0) - offset
    elif scaling == "standard":
        offset = train_rows.mean(axis=0)
        scale = train_rows.std(axis=0)
    else:
        offset, scale = np.zeros(n_columns), np.ones(n_columns)
    scale = np.where(scale > 0, scale, 1.0)
    return offset, scale


def _windows(rows: np.ndarray, look_back: int, horizon: int, target_index: int):
    """Sliding windows inside one split: x [n, look_back, columns], y [n, horizon]."""
    windows = np.lib.stride_tricks.sliding_window_view(rows, look_back + horizon, axis=0)
    windows = windows.transpose(0, 2, 1)  # -> [n, look_back + horizon, columns]
    x = windows[:, :look_back, :]
    y = windows[:, look_back:, target_index]
    return x.astype(np.float32), y.astype(np.float32)


def _check_settings(look_back: int, horizon: int, scaling: str, train_fraction: float,
                    val_fraction: float) -> None:
    if look_back < 1:
        raise SpecError(f"must be >= 1, got {look_back}", field="problem.params.look_back")
    if horizon < 1:
        raise SpecError(f"must be >= 1, got {horizon}", field="problem.params.horizon")
    if scaling not in SCALINGS:
        raise SpecError(f"must be one of {', '.join(SCALINGS)}, got {scaling!r}",
                        field="problem.params.scaling")
    for key, fraction in (("train_fraction", train_fraction), ("val_fraction", val_fraction)):
        if not 0 < fraction < 1:
            raise SpecError(f"must be between 0 and 1, got {fraction}", field=f"problem.params.{key}")
    if train_fraction + val_fraction > 1 + 1e-9:
        raise SpecError(f"train_fraction + val_fraction must be <= 1, got {train_fraction} + {val_fraction}",
                        field="problem.params.val_fraction")


def _check_transforms(difference: int, seasonal_difference: int, transform: str, season: int | None) -> None:
    if difference not in (0, 1, 2):
        raise SpecError(f"must be 0, 1 or 2, got {difference}", field="problem.params.difference")
    if seasonal_difference == 1 or seasonal_difference < 0:
        raise SpecError(f"must be 0 (none) or a season length >= 2, got {seasonal_difference}"
                        + ("; for a lag of 1 use difference: 1" if seasonal_difference == 1 else ""),
                        field="problem.params.seasonal_difference")
    if transform not in POWERS:
        raise SpecError(f"must be one of {', '.join(POWERS)}, got {transform!r}", field="problem.params.transform")
    if season is not None and season < 2:
        raise SpecError(f"must be a season length >= 2, got {season}", field="problem.params.season")


def _fit_transform(values: np.ndarray, train_end: int, columns: list[str], transform: str, difference: int,
                   seasonal_difference: int, frame, shown: str) -> SeriesTransform:
    """The transform of every used column, its Box-Cox lambdas fitted on the training rows."""
    if transform != "none":
        bad = values <= 0
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"{shown}: column {columns[column]!r} has the value {values[row, column]:g} in "
                            f"{rows_named(frame, row)}: transform: {transform} needs values > 0; add a constant to "
                            "the column first, or use transform: none")
    lambdas = tuple(fit_boxcox(values[:train_end, c]) for c in range(values.shape[1])) if transform == "boxcox" else ()
    return SeriesTransform(transform, lambdas, difference, seasonal_difference)


def _seasonal_naive(values: np.ndarray, last: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """For each window ending at row ``last``, the target ``season`` steps before each future step
    (or whole seasons before, for steps beyond one season)."""
    steps = np.arange(horizon)
    lags = season * np.ceil((steps + 1) / season).astype(int)
    return values[last[:, None] + 1 + steps[None, :] - lags[None, :]]


def csv_series(
    *,
    path: str,
    columns: list[str] | None = None,
    target: str | None = None,
    look_back: int = 10,
    horizon: int = 1,
    scaling: str = "minmax",
    train_fraction: float = 0.7,
    val_fraction: float = 0.15,
    time_column: str | None = None,
    difference: int = 0,
    seasonal_difference: int = 0,
    transform: str = "none",
    season: int | None = None,
    missing_dates: str = "rows",
    seed: int = 0,
) -> Problem:
    """Forecast the next values of one column of your own CSV time series (regression).

    Rows are split chronologically (train, then validation, then test); every used column is
    transformed (``transform``, then differencing) and scaled with statistics of the training
    rows only, and sliding windows are cut inside each split. Scores are reported in the
    target's original units; the baselines are persistence (the last observed value), seasonal
    naive (the value one season before, with ``season`` or ``seasonal_difference``) and the
    training mean, and a study is compared with the strongest of them.

    Args:
        path: the CSV file, or ``"example"`` for the monthly series shipped with ``tuning``.
        columns: value columns used as input features; default every numeric column except
            ``time_column``.
        target: the column to forecast; default the first of ``columns``. It must be one of
            the input columns, since persistence and most models lean on its own past.
        look_back: past steps in each input window.
        horizon: future steps of the target predicted at once.
        scaling: ``"minmax"``, ``"standard"`` or ``"none"``.
        train_fraction: share of rows, from the start, used for training.
        val_fraction: share of the following rows used for validation; the rest is test
            (no test split when the two fractions add up to 1).
        time_column: if given, rows are sorted by this column before anything else.
        difference: 1 or 2: model the changes from step to step (removes a trend); 0: none.
        seasonal_difference: K >= 2: model the change from K steps before (removes a season).
        transform: ``"log"`` or ``"boxcox"`` (lambda fitted on the training rows) before
            differencing, for a variance that grows with the level; values must be > 0.
        season: season length of the seasonal-naive baseline (default ``seasonal_difference``).
        missing_dates: when ``time_column`` holds dates spaced by a calendar (hourly, daily,
            business-daily, weekly, monthly, quarterly) with some of its dates missing:
            ``"rows"`` keeps the rows as they are (windows, seasons and the seasonal naive
            baseline then count rows, and the study's data line says so), ``"interpolate"`` adds
            a row on each missing date with its values linearly interpolated, so that they count
            the calendar ("the same day last week" is 7 rows back).
        seed: accepted so every problem has the same interface; nothing here is random.
    """
    if not path:
        raise SpecError("is required: the CSV file to load, or 'example'", field="problem.params.path")
    _check_settings(look_back, horizon, scaling, train_fraction, val_fraction)
    _check_transforms(difference, seasonal_difference, transform, season)
    source, shown = resolve_path(path)
    frame = read_frame(source, shown)
    if missing_dates not in MISSING_DATES:
        raise SpecError(f"must be one of {', '.join(MISSING_DATES)}, got {missing_dates!r}",
                        field="problem.params.missing_dates")
    if time_column is not None:
        frame = sort_by_time(frame, time_column, shown)

    columns_given = columns is not None
    if columns is None:
        columns = [c for c in value_columns(frame) if c != time_column]
        if not columns:
            listed = ", ".join(repr(c) for c in frame.columns)
            raise DataError(f"{shown}: no numeric columns to forecast; columns are {listed}")
    elif not columns:
        raise SpecError("must name at least one column", field="problem.params.columns")
    for column, role in [*((c, "columns") for c in columns), *([(target, "target")] if target is not None else [])]:
        if column not in frame.columns:
            raise column_not_found(shown, column, frame, role)
    target = columns[0] if target is None else target
    if target not in columns and not columns_given:
        numeric_values(frame, target, shown)  # a text target was left out for that reason: say so
    if target not in columns:
        raise SpecError(f"{target!r} must be one of the input columns {list(columns)}",
                        field="problem.params.target")
    target_index = list(columns).index(target)
    # The values are checked on the file's own rows, before missing dates are filled in: a text cell
    # or an empty one is named by its line, and an empty cell is refused, not interpolated over.
    checked = {c: numeric_values(frame, c, shown) for c in dict.fromkeys(columns)}
    gaps = ""
    if time_column is not None:
        frame = frame.assign(**checked)
        frame, gaps = fill_missing_dates(frame, time_column, missing_dates, shown)
        checked = {c: frame[c].to_numpy(dtype=np.float64) for c in checked}
    values = np.column_stack([checked[c] for c in columns])

    n_rows = len(values)
    train_end = int(round(n_rows * train_fraction))
    val_end = int(round(n_rows * (train_fraction + val_fraction)))
    season = season or seasonal_difference or None
    if season is not None and season >= train_end:
        raise SpecError(f"a season of {season} rows needs more than the {train_end} training rows",
                        field="problem.params.season")
    series = _fit_transform(values, train_end, list(columns), transform, difference, seasonal_difference, frame,
                            shown)
    memory = series.memory
    transformed = series.power_forward(values)
    changes = series.differenced(transformed)  # row i is the series' row i + memory
    bounds = {"train": (memory, train_end), "val": (train_end, val_end), "test": (val_end, n_rows)}
    if val_end == n_rows and train_fraction + val_fraction >= 1 - 1e-9:
        del bounds["test"]  # the user asked for no test split
    window = look_back + horizon
    for split, (start, end) in bounds.items():
        if end - start < window:
            consumed = f" ({memory} consumed by differencing)" if split == "train" and memory else ""
            raise DataError(
                f"{shown}: the {split} split has {end - start} of {n_rows} rows{consumed}, but one window needs "
                f"look_back + horizon = {window} rows; use a longer series, a shorter look_back or "
                f"horizon, or other train_fraction/val_fraction")

    offset, scale = fit_scaler(changes[: train_end - memory], scaling)
    scaled = (changes - offset) / scale
    inverse = SeriesInverse(float(offset[target_index]), float(scale[target_index]), series, target_index)
    windows, history, last_rows = {}, {}, {}
    for split, (start, end) in bounds.items():
        windows[split] = _windows(scaled[start - memory:end - memory], look_back, horizon, target_index)
        last = np.arange(start, end - window + 1) + look_back - 1  # the row of each window's last input
        last_rows[split] = last
        history[split] = transformed[last[:, None] + np.arange(1 - memory, 1)[None, :], target_index]

    level = values[:, target_index]
    forecasts = {"persistence": lambda last: np.repeat(level[last][:, None], horizon, axis=1)}
    if season is not None:
        forecasts[f"seasonal naive ({season})"] = lambda last: _seasonal_naive(level, last, horizon, season)
    mean = float(level[:train_end].mean())
    forecasts["training mean"] = lambda last: np.full((len(last), horizon), mean)
    baselines = tuple(
        Baseline(name, *(inverse.to_model(forecast(last_rows[s]), history[s]) if s in bounds else None
                         for s in ("val", "test")))
        for name, forecast in forecasts.items())

    x_test, y_test = windows.get("test", (None, None))
    params = dict(path=path, columns=list(columns), target=target, look_back=look_back, horizon=horizon,
                  scaling=scaling, train_fraction=train_fraction, val_fraction=val_fraction,
                  time_column=time_column, difference=difference, seasonal_difference=seasonal_difference,
                  transform=transform, season=season, missing_dates=missing_dates, seed=seed)
    done = series.describe()
    told = "; ".join(part for part in (gaps, "" if done == "none" else f"{done} (fitted on the training rows)") if part)
    return Problem(
        name="csv",
        task="regression",
        x_train=windows["train"][0],
        y_train=windows["train"][1],
        x_val=windows["val"][0],
        y_val=windows["val"][1],
        x_test=x_test,
        y_test=y_test,
        baselines=baselines,
        inverse=inverse,
        history=history if memory else None,
        transforms=told,
        check_range=True,
        description=f"{summary_line(csv_series)} [{shown}: {target!r}, {horizon} step(s) "
                    f"from {look_back} of {len(columns)} column(s)"
                    + ("" if done == "none" else f"; {done}") + "]",
        params=params,
    )


#: Registry entries of this module.
PROBLEMS = {"csv": csv_series}
