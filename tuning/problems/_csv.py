"""The ``csv`` problem: forecast one column of the user's own time series.

The order of operations is what keeps the validation score honest: rows are split
chronologically first, the scaler is fitted on the training rows only, and windows are cut
inside each split, so no statistic and no window ever reaches across into later data.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from tuning.errors import DataError, SpecError
from tuning.problems._base import Problem, persistence
from tuning.problems._synthetic import summary_line

#: ``path`` value that selects the series shipped with the package.
EXAMPLE_PATH = "example"
_EXAMPLE_FILE = "example_series.csv"
SCALINGS = ("minmax", "standard", "none")


@dataclass(frozen=True)
class AffineInverse:
    """Map scaled target values back to original units: ``value * scale + offset``.

    A module-level class rather than a closure so that a :class:`Problem` stays picklable when
    trials run in worker processes.
    """

    offset: float
    scale: float

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64) * self.scale + self.offset


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


def _resolve_path(path: str):
    """The file to read (a path, or a package resource) and the name to show in messages."""
    if path == EXAMPLE_PATH:
        return resources.files("tuning") / "data" / _EXAMPLE_FILE, _EXAMPLE_FILE
    return Path(path), path


def _read_frame(source, shown: str):
    # pandas is imported here so that listing or describing problems stays cheap.
    import pandas as pd

    if not source.is_file():
        raise SpecError(f"{shown}: file not found", field="problem.params.path")
    try:
        # as_file gives a real path even when the package is installed as a zip archive.
        with resources.as_file(source) as file:
            frame = pd.read_csv(file)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{shown}: file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{shown}: not a readable CSV file ({exc})") from exc
    if frame.empty:
        raise DataError(f"{shown}: file has a header but no rows")
    return frame


def _column_not_found(shown: str, column: str, frame) -> DataError:
    listed = ", ".join(repr(c) for c in frame.columns)
    return DataError(f"{shown}: column {column!r} not found; columns are {listed}")


def _numeric_values(frame, column: str, shown: str) -> np.ndarray:
    """One column as float64, refusing text and gaps with the row where they occur."""
    import pandas as pd

    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    not_numbers = values.isna() & raw.notna()
    if not_numbers.any():
        row = int(np.flatnonzero(not_numbers.to_numpy())[0])
        raise DataError(f"{shown}: column {column!r} has a non-numeric value {raw.iloc[row]!r} "
                        f"in data row {row + 1}")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(f"{shown}: column {column!r} has {int(values.isna().sum())} missing value(s), "
                        f"the first in data row {row + 1}; fill or drop them first")
    return values.to_numpy(dtype=np.float64)


def _sort_by_time(frame, time_column: str, shown: str):
    import warnings

    import pandas as pd

    if time_column not in frame.columns:
        raise _column_not_found(shown, time_column, frame)
    stamps = frame[time_column]
    if stamps.isna().any():
        raise DataError(f"{shown}: column {time_column!r} (time_column) has missing values")
    if not pd.api.types.is_numeric_dtype(stamps):
        # Dates written as text sort correctly only once parsed ("9/1/2020" < "10/1/2020").
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stamps = pd.to_datetime(stamps)
        except (ValueError, TypeError):
            pass  # not dates: keep the text order, which is right for ISO-like stamps
    order = np.argsort(stamps.to_numpy(), kind="stable")
    return frame.iloc[order]


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
    seed: int = 0,
) -> Problem:
    """Forecast the next values of one column of your own CSV time series (regression).

    Rows are split chronologically (train, then validation, then test), each column is scaled
    with statistics of the training rows only, and sliding windows are cut inside each split.
    Scores are reported in the target's original units; the baseline repeats the last
    observed target value (persistence).

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
        seed: accepted so every problem has the same interface; nothing here is random.
    """
    if not path:
        raise SpecError("is required: the CSV file to load, or 'example'", field="problem.params.path")
    _check_settings(look_back, horizon, scaling, train_fraction, val_fraction)
    source, shown = _resolve_path(path)
    frame = _read_frame(source, shown)
    if time_column is not None:
        frame = _sort_by_time(frame, time_column, shown)

    columns_given = columns is not None
    if columns is None:
        columns = [c for c in frame.select_dtypes("number").columns if c != time_column]
        if not columns:
            listed = ", ".join(repr(c) for c in frame.columns)
            raise DataError(f"{shown}: no numeric columns to forecast; columns are {listed}")
    elif not columns:
        raise SpecError("must name at least one column", field="problem.params.columns")
    for column in [*columns, *([target] if target is not None else [])]:
        if column not in frame.columns:
            raise _column_not_found(shown, column, frame)
    target = columns[0] if target is None else target
    if target not in columns and not columns_given:
        _numeric_values(frame, target, shown)  # a text target was left out for that reason: say so
    if target not in columns:
        raise SpecError(f"{target!r} must be one of the input columns {list(columns)}",
                        field="problem.params.target")
    target_index = list(columns).index(target)
    values = np.column_stack([_numeric_values(frame, c, shown) for c in columns])

    n_rows = len(values)
    train_end = int(round(n_rows * train_fraction))
    val_end = int(round(n_rows * (train_fraction + val_fraction)))
    parts = {"train": values[:train_end], "val": values[train_end:val_end], "test": values[val_end:]}
    if len(parts["test"]) == 0 and train_fraction + val_fraction >= 1 - 1e-9:
        del parts["test"]  # the user asked for no test split
    window = look_back + horizon
    for split, rows in parts.items():
        if len(rows) < window:
            raise DataError(
                f"{shown}: the {split} split has {len(rows)} of {n_rows} rows, but one window needs "
                f"look_back + horizon = {window} rows; use a longer series, a shorter look_back or "
                f"horizon, or other train_fraction/val_fraction")

    offset, scale = fit_scaler(parts["train"], scaling)
    windows = {split: _windows((rows - offset) / scale, look_back, horizon, target_index)
               for split, rows in parts.items()}
    x_test, y_test = windows.get("test", (None, None))
    params = dict(path=path, columns=list(columns), target=target, look_back=look_back, horizon=horizon,
                  scaling=scaling, train_fraction=train_fraction, val_fraction=val_fraction,
                  time_column=time_column, seed=seed)
    return Problem(
        name="csv",
        task="regression",
        x_train=windows["train"][0],
        y_train=windows["train"][1],
        x_val=windows["val"][0],
        y_val=windows["val"][1],
        naive_val=persistence(windows["val"][0], horizon, feature=target_index),
        x_test=x_test,
        y_test=y_test,
        naive_test=None if x_test is None else persistence(x_test, horizon, feature=target_index),
        inverse=AffineInverse(float(offset[target_index]), float(scale[target_index])),
        description=f"{summary_line(csv_series)} [{shown}: {target!r}, {horizon} step(s) "
                    f"from {look_back} of {len(columns)} column(s)]",
        params=params,
    )


#: Registry entries of this module.
PROBLEMS = {"csv": csv_series}
