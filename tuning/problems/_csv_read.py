"""Reading a CSV series: the file (or the shipped example), its columns, time order and numbers,
each mistake one line naming the file, the row and the column (the ``csv`` problem and ``tuning
init`` read through here)."""

from __future__ import annotations

import math
import warnings
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tuning.errors import DataError, SpecError, not_found

EXAMPLE_PATH = "example"
_EXAMPLE_FILE = "example_series.csv"


def resolve_path(path: str):
    """The file to read (a path, or a package resource) and the name to show in messages."""
    if path == EXAMPLE_PATH:
        return resources.files("tuning") / "data" / _EXAMPLE_FILE, _EXAMPLE_FILE
    return Path(path), path


def read_frame(source, shown: str):
    # pandas is imported here so that listing or describing problems stays cheap.
    import pandas as pd

    if not source.is_file():
        raise SpecError(f"{shown}: {not_found(str(source))}", field="problem.params.path")
    try:
        # as_file gives a real path even when the package is installed as a zip archive. Without
        # index_col=False, rows one field longer than the header would make the first column an
        # index and shift every name by one; with it, a separator ending each row (some spreadsheet
        # exports) is read away, and any other longer row makes pandas warn, which is refused.
        with resources.as_file(source) as file, warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(file, index_col=False)
    except pd.errors.ParserWarning:
        raise _rows_longer_than_header(source, shown) from None
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{shown}: file is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{shown}: not a readable CSV file ({' '.join(str(exc).split())})") from exc
    if len(frame.columns) == 1 and (error := _other_separator(shown, str(frame.columns[0]))):
        raise error
    if frame.empty:
        raise DataError(f"{shown}: file has a header but no rows")
    frame.attrs["lines"] = str(source)  # for _row: the file whose line numbers messages give
    return frame


def _rows_longer_than_header(source, shown: str) -> DataError:
    """The one line for a file some of whose rows have more fields than its header names."""
    import csv

    with resources.as_file(source) as file, open(file, encoding="utf-8", errors="replace", newline="") as text:
        records = [r for r in csv.reader(text) if r]
    header, longest = records[0], max(len(r) for r in records[1:])
    if len(header) == 1 and (error := _other_separator(shown, header[0])):
        return error  # "1;2,5" read with commas: a field more than the header "a;b"
    return DataError(f"{shown}: data rows have up to {longest} fields but the header names {len(header)} "
                     f"({', '.join(map(repr, header))}): a column without a name, or the separator inside a value")


def _other_separator(shown: str, header: str) -> DataError | None:
    """The one line for a file whose only "column" is a header joined by ';', tabs or '|'."""
    other = next((c for c in ";\t|" if c in header), None)
    if other is None:
        return None
    return DataError(f"{shown}: one column, {header!r}: its fields seem separated by "
                     f"{'tabs' if other == chr(9) else repr(other)}, and tuning reads comma-separated files; save it "
                     "as CSV with commas (and decimal points)")


def column_not_found(shown: str, column: str, frame, role: str) -> DataError:
    """ "data.csv: column 'Month' (time_column) not found; columns are ...": ``role`` is the
    problem parameter that named it, as the other column messages say."""
    listed = ", ".join(repr(c) for c in frame.columns)
    return DataError(f"{shown}: column {column!r} ({role}) not found; columns are {listed}")


def _data_row(frame, position: int) -> int:
    """The 1-based data row of a position, as the file has it (rows may have been sorted by time)."""
    return int(frame.index[position]) + 1


def _record_lines(path: str) -> list[int]:
    """The line of the file on which each data row starts (1-based, the header's line not included):
    what an editor shows. Blank lines, which pandas skips, are skipped; a quoted field may span lines."""
    import csv

    starts, line = [], 0
    with open(path, encoding="utf-8", errors="replace", newline="") as file:
        reader = csv.reader(file)
        for record in reader:
            start, line = line + 1, reader.line_num
            if len(record) <= 1 and not "".join(record).strip():
                continue  # a blank line
            starts.append(start)
    return starts[1:]


def rows_named(frame, *positions: int) -> str:
    """``data row 7 (line 8 of the file)``, or ``data rows 5 and 13 (lines 6 and 14 of the file)``:
    data rows counted from 1 below the header, and the lines an editor shows (they differ when the
    file has blank lines). Only the data rows when the lines cannot be told."""
    rows = [_data_row(frame, p) for p in positions]
    words = " and ".join(str(r) for r in rows)
    text = f"data row{'s' if len(rows) > 1 else ''} {words}"
    try:
        starts = _record_lines(frame.attrs["lines"])
        lines = [starts[r - 1] for r in rows]
    except (KeyError, OSError, IndexError, ValueError):
        return text
    return f"{text} (line{'s' if len(rows) > 1 else ''} {' and '.join(str(n) for n in lines)} of the file)"


def _mostly_numbers(column) -> bool:
    """A text column more than half of whose filled cells are numbers: a value column with a few
    text cells (``12.5``, ``13.1``, ``n.a.``, ...), which the value checks then name, rather than text."""
    import pandas as pd

    filled = column.dropna()
    if pd.api.types.is_numeric_dtype(column) or not len(filled):
        return pd.api.types.is_numeric_dtype(column)
    return bool(pd.to_numeric(filled.astype(str).str.strip(), errors="coerce").notna().mean() > 0.5)


def value_columns(frame) -> list[str]:
    """The columns that hold numbers: numeric ones, and text ones that are mostly numbers (the
    loader's checks then name the text cell's row instead of leaving the column out)."""
    return [c for c in frame.columns if _mostly_numbers(frame[c])]


def numeric_values(frame, column: str, shown: str) -> np.ndarray:
    """One column as float64, refusing text, gaps and infinities with the row where they occur."""
    import pandas as pd

    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    not_numbers = values.isna() & raw.notna()
    if not_numbers.all():  # not one number: the column holds something else (dates, names)
        kind = "dates (the time column?)" if _mostly_dates(raw) else "text"
        raise DataError(f"{shown}: column {column!r} holds {kind}, not numbers ({raw.iloc[0]!r} in "
                        f"{rows_named(frame, 0)}); only numbers can be forecast: name another column")
    if not_numbers.any():
        row = int(np.flatnonzero(not_numbers.to_numpy())[0])
        raise DataError(f"{shown}: column {column!r} has a non-numeric value {raw.iloc[row]!r} in "
                        f"{rows_named(frame, row)}; only numbers can be forecast: correct or remove that row")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(f"{shown}: column {column!r} has {int(values.isna().sum())} missing value(s), "
                        f"the first in {rows_named(frame, row)}; fill or drop them first")
    values = values.to_numpy(dtype=np.float64)
    infinite = ~np.isfinite(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise DataError(f"{shown}: column {column!r} has {int(infinite.sum())} infinite value(s), the first "
                        f"{values[row]} in {rows_named(frame, row)}; only finite numbers can be forecast")
    return values


def as_dates(column):
    """``column`` read as dates, NaT where a cell is not one: the one way this loader parses a time
    column. Written with slashes or dots, ``01/02/2015`` is the 2nd of January month-first and the
    1st of February day-first: pandas guesses month-first from the first cell, so a day-first file
    is read day-first when that parses more of its cells (``13/01/2020``) or, all cells parsing
    both ways, when it makes the time steps more regular (the 1st of every month, not twelve
    January days a year)."""
    import pandas as pd

    with warnings.catch_warnings():  # pandas warns when it guesses each cell's format; the guess is wanted
        warnings.simplefilter("ignore")
        guessed = pd.to_datetime(column, errors="coerce")
        if pd.api.types.is_numeric_dtype(column):
            return guessed
        day_first = pd.to_datetime(column, errors="coerce", dayfirst=True)
    parsed, parsed_day_first = int(guessed.notna().sum()), int(day_first.notna().sum())
    if parsed_day_first > parsed:
        return day_first
    if parsed_day_first == parsed and _irregularity(day_first) < _irregularity(guessed):
        return day_first
    return guessed


def _irregularity(dates) -> float:
    """How unequal the steps between the distinct dates are (their coefficient of variation)."""
    stamps = np.sort(dates.dropna().unique().astype("int64"))
    steps = np.diff(stamps).astype(float)
    if len(steps) < 2 or steps.mean() <= 0:
        return math.inf
    return float(steps.std() / steps.mean())


def _mostly_dates(raw) -> bool:
    """Whether most of a text column reads as dates."""
    return bool(as_dates(raw.astype(str)).notna().mean() > 0.5)


def sort_by_time(frame, time_column: str, shown: str):
    """Rows in time order; a gap, a stamp that is neither a number nor a date, or a repeated
    stamp is refused (two rows of one time step make "the next step" ambiguous)."""
    import pandas as pd

    if time_column not in frame.columns:
        raise column_not_found(shown, time_column, frame, "time_column")
    stamps = frame[time_column]
    where = f"{shown}: column {time_column!r} (time_column)"
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise DataError(f"{where} has no value in {rows_named(frame, row)}")
    if not pd.api.types.is_numeric_dtype(stamps):
        # Dates written as text sort correctly only once parsed ("9/1/2020" < "10/1/2020").
        parsed = as_dates(stamps)
        if parsed.isna().any():
            row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataError(f"{where} has {stamps.iloc[row]!r} in {rows_named(frame, row)}, which is "
                            "neither a number nor a date")
        stamps = parsed
    repeated = stamps.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        second = int(np.flatnonzero(repeated & (stamps == stamps.iloc[first]).to_numpy())[1])
        raise DataError(f"{where} has {frame[time_column].iloc[first]!r} twice, in "
                        f"{rows_named(frame, first, second)}; one row per time step")
    order = np.argsort(stamps.to_numpy(), kind="stable")
    return frame.iloc[order]


class SeriesRead(NamedTuple):
    """A CSV series as ``tuning init`` sees it."""

    shown: str  #: the file's name in messages
    time_column: str | None
    target: str
    values: np.ndarray  #: the target's values, in time order
    dates: Any = None  #: the time column parsed as dates (a ``pandas.DatetimeIndex``, in time order), or None


def read_series(path: str, target: str | None = None) -> SeriesRead:
    """A CSV series as ``tuning init`` sees it: name shown, time column, target, its values in time
    order, and the time column's dates (``None`` when it holds numbers, or there is none).

    The time column is the first column that does not hold numbers (it must parse as dates), else a
    first column that strictly increases (``year,spots``) when another numeric column follows; the
    target is ``target`` or the first other column of numbers (a column of numbers with a few text
    cells counts, and its first text cell is then the error). Every check of the loader applies.
    """
    import pandas as pd

    source, shown = resolve_path(path)
    frame = read_frame(source, shown)
    numeric = value_columns(frame)
    text = [c for c in frame.columns if c not in numeric]
    time_column = text[0] if text else None
    first = frame[numeric[0]] if numeric else None
    if time_column is None and len(numeric) >= 2 and pd.api.types.is_numeric_dtype(first) \
            and first.is_monotonic_increasing and first.is_unique:
        time_column = numeric[0]
    if time_column is not None:
        frame = sort_by_time(frame, time_column, shown)
    if target is None:
        numeric = [c for c in numeric if c != time_column]
        if not numeric:
            listed = ", ".join(repr(c) for c in frame.columns)
            raise DataError(f"{shown}: no numeric columns to forecast; columns are {listed}")
        target = numeric[0]
    elif target not in frame.columns:
        raise column_not_found(shown, target, frame, "target")
    values = numeric_values(frame, target, shown)
    dates = None
    if time_column is not None and not pd.api.types.is_numeric_dtype(frame[time_column]):
        dates = pd.DatetimeIndex(as_dates(frame[time_column]))
    return SeriesRead(shown, time_column, target, values, dates)


#: Calendar seasons: the rows in one cycle of the calendar for each spacing of the dates.
CALENDAR_SEASONS = {"hourly": 24, "daily": 7, "business-daily": 5, "weekly": 52, "monthly": 12, "quarterly": 4}
#: The spacing of each, in days, on average (a business day: weekends are no rows).
_SPACING_DAYS = {"hourly": 1 / 24, "daily": 1.0, "business-daily": 7 / 5, "weekly": 7.0, "monthly": 365.25 / 12,
                 "quarterly": 365.25 / 4}
#: Median spacings, in days, recognised when ``pandas.infer_freq`` finds no frequency (a missed
#: week or month): (low, high, name).
_MEDIANS = ((1 / 24 - 1e-6, 1 / 24 + 1e-6, "hourly"), (1 - 1e-6, 1 + 1e-6, "daily"), (7 - 1e-6, 7 + 1e-6, "weekly"),
            (28, 31, "monthly"), (89, 92, "quarterly"))


class Calendar(NamedTuple):
    """How dates are spaced: ``name`` (a key of :data:`CALENDAR_SEASONS`), the rows that spacing
    misses between the first date and the last, and the rows present."""

    name: str
    missing: int
    present: int

    @property
    def sparse(self) -> bool:
        """More of the calendar missing than present: the dates are not read as that calendar (for
        the season ``tuning init`` chooses, or for filling the missing dates in)."""
        return self.missing > self.present


def calendar_of(dates) -> Calendar | None:
    """How the dates are spaced and how many rows that spacing misses (0 when ``pandas.infer_freq``
    finds the frequency; with gaps it finds none, and the median spacing says it instead);
    ``None`` for dates spaced otherwise (yearly, every 2 weeks, irregular)."""
    import warnings

    import pandas as pd

    dates = pd.DatetimeIndex(dates)
    if len(dates) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            freq = pd.infer_freq(dates)
        except (TypeError, ValueError):
            freq = None
    freq = getattr(freq, "freqstr", freq)  # a string now; an offset in a later pandas
    if freq:
        code = freq.split("-")[0].upper()
        kind = code.removesuffix("S").removesuffix("E")
        named = {"H": "hourly", "D": "daily", "B": "business-daily", "W": "weekly", "M": "monthly", "BM": "monthly",
                 "Q": "quarterly", "BQ": "quarterly"}.get(kind if kind in ("M", "BM", "Q", "BQ") else code)
        return Calendar(named, 0, len(dates)) if named else None
    spacing = float(np.median((dates[1:] - dates[:-1]).total_seconds())) / 86_400  # in days
    named = next((name for low, high, name in _MEDIANS if low <= spacing <= high), None)
    if named is None:
        return None
    if named == "daily" and not (dates.dayofweek >= 5).any():
        named = "business-daily"  # no Saturday or Sunday: business days with a few holidays
        expected = int(np.busday_count(dates[0].date(), dates[-1].date())) + 1
    else:
        expected = int(round((dates[-1] - dates[0]).total_seconds() / 86_400 / _SPACING_DAYS[named])) + 1
    return Calendar(named, max(expected - len(dates), 0), len(dates))

def fill_missing_dates(frame, time_column: str, how: str, shown: str) -> tuple[Any, str]:
    """``frame`` (in time order) and what was done about dates its calendar misses, in words for
    the study's data line ("" when none are missing, or the stamps are not calendar dates).

    ``how="rows"`` keeps the rows as they are (a window, a season and the seasonal naive baseline
    then count rows, not days: say so); ``"interpolate"`` puts a row on every missing date, its
    values linearly interpolated between the rows either side, so that they count the calendar.
    """
    import pandas as pd

    stamps = frame[time_column]
    if pd.api.types.is_numeric_dtype(stamps):
        return frame, ""
    dates = pd.DatetimeIndex(as_dates(stamps))
    calendar = calendar_of(dates)
    if calendar is None or not calendar.missing or (calendar.sparse and how == "rows"):
        return frame, ""
    name, missing, present = calendar
    if calendar.sparse:
        raise DataError(f"{shown}: column {time_column!r} (time_column): {missing} {name} dates would be missing, "
                        f"more than the {present} present, so they are not filled in; set missing_dates: rows")
    if how == "rows":
        return frame, (f"{missing} {name} date(s) missing between the first and the last: windows, seasons and "
                       "the seasonal naive baseline count rows, not the calendar (missing_dates: interpolate "
                       "fills them in)")
    every = _calendar_dates(dates, name)
    if every is None or not dates.isin(every).all():
        raise DataError(f"{shown}: column {time_column!r} (time_column): its {name} dates do not fall on one "
                        "calendar, so the missing ones cannot be filled in; fill them in the file, or set "
                        "missing_dates: rows")
    filled = frame.set_index(dates).reindex(every)
    numbers = [c for c in filled.columns if c != time_column and pd.api.types.is_numeric_dtype(filled[c])]
    filled[numbers] = filled[numbers].interpolate(method="linear")
    filled[time_column] = every.strftime("%Y-%m-%d %H:%M:%S" if name == "hourly" else "%Y-%m-%d")
    return filled.reset_index(drop=True), f"{len(every) - len(dates)} missing {name} date(s) filled in by " \
                                          "linear interpolation"


def _calendar_dates(dates, name: str):
    """Every date of the ``name`` calendar from the first of ``dates`` to the last, or ``None``."""
    import pandas as pd

    first, last = dates[0], dates[-1]
    if name == "business-daily":
        return pd.bdate_range(first, last)
    if name in ("hourly", "daily", "weekly"):
        return pd.date_range(first, last, freq=pd.Timedelta(hours=1) if name == "hourly" else
                             pd.Timedelta(days=1 if name == "daily" else 7))
    months = 1 if name == "monthly" else 3
    day = int(dates[0].day)
    if (dates.day == day).all() and day <= 28:  # the same day of every month (the 1st, the 15th ...)
        return pd.date_range(first.replace(day=1), last, freq=f"{months}MS") + pd.Timedelta(days=day - 1)
    if dates.is_month_end.all():
        return pd.DatetimeIndex([d + pd.offsets.MonthEnd(0) for d in
                                 pd.date_range(first.replace(day=1), last, freq=f"{months}MS")])
    return None
