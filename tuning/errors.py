"""Exceptions raised by ``tuning``.

Every error the library raises on purpose derives from :class:`TuningError`, so callers
(the CLI first of all) can tell "the user asked for something impossible" from a bug::

    TuningError
     ├── SpecError        a study spec is invalid (unknown key, wrong type, bad range, no file)
     ├── DataError        a problem's data is unusable (wrong rank, missing column, too short)
     ├── StoreError       the store cannot be opened or holds no such study
     └── FitFailed        one (config, seed) fit failed (diverged, or raised); recorded, not fatal

Beside them, :class:`Terminated` (a ``KeyboardInterrupt``): a worker stopped by SIGTERM, which
leaves the study as a Ctrl-C does and exits 143.

User mistakes (``SpecError``, ``DataError``, ``StoreError``) are printed as one line by the CLI,
which exits with code 2. ``FitFailed`` never reaches the user as an exception: the evaluator
records it in the store and the study goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class TuningError(Exception):
    """Root of every error ``tuning`` raises on purpose."""


class SpecError(TuningError):
    """A study spec is invalid.

    The message names the file and the dotted path of the field at fault, e.g.
    ``studies/x.yaml: space.units: low must be <= high (got low=10, high=1)``.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source = source
        self.field = field
        self.detail = message
        parts = [p for p in (source, field) if p]
        super().__init__(": ".join([*parts, message]))


class DataError(TuningError):
    """A problem's data cannot be used as asked (wrong rank, missing column, too few rows)."""


class StoreError(TuningError):
    """The store cannot be opened, or it holds no study of the given name."""


class CutShort(TuningError):
    """Something the run does not own went away mid-study (a Dask scheduler): every finished fit is
    stored and the study can be resumed once it is back. The command line adds the resume command."""


class Terminated(KeyboardInterrupt):
    """SIGTERM reached a worker: it stops as after a Ctrl-C (trials interrupted, claims released)."""


class FitFailed(TuningError):
    """One fit of one config for one seed failed; ``reason`` says why in one line."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def not_found(path: str) -> str:
    """ "file not found", and for a relative path the folder it was read from: a command run from
    another directory (the report's export line, a worker) reads relative paths from its own."""
    import os

    return "file not found" if os.path.isabs(path) else f"file not found (a relative path is read from {os.getcwd()})"


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (or just ``Type``): how an exception raised by the user's
    code or by a library is quoted in a one-line error or a failed fit's reason."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


@contextmanager
def keyword_fields() -> Iterator[None]:
    """Inside ``with keyword_fields():`` a :class:`SpecError` that names a command-line flag
    (``--n-trials``, ``--config``) names the Python keyword instead (``n_trials``, ``config``): the
    checks are shared by the CLI and the Python API, and each side is told in its own words."""
    try:
        yield
    except SpecError as error:
        if not (error.field or "").startswith("--"):
            raise
        keyword = error.field.removeprefix("--").replace("-", "_")
        raise SpecError(error.detail.replace(error.field, keyword), source=error.source, field=keyword) from None
