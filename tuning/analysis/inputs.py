"""What the tables and the diagnosis read from a study: the :class:`StudyFrames` protocol.

:class:`tuning.analysis.Results` (in :mod:`~tuning.analysis.frames`) satisfies it, and its cached
tables are computed by the modules that read it (:mod:`~tuning.analysis.tables`,
:mod:`~tuning.analysis.diagnose`, :mod:`~tuning.analysis.exports`). Those modules hint this
protocol instead of importing ``Results``, so the imports inside the package run one way:
``frames -> tables, diagnose -> inputs``, type hints included. Any object with these attributes
(a test's hand-made study, say) can be given to them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FitCurves", "StudyFrames", "config_numbers", "param_cell", "param_order", "param_value"]

FitCurves = dict[tuple[str, int], dict[str, list[float]]]
"""(config_key, seed) -> curve name (``loss``, ``val_loss`` ...) -> one value per epoch."""


class StudyFrames(Protocol):
    """A study's fits, trials and curves as plain data (the attributes are :class:`~tuning.analysis.Results`')."""

    name: str
    fits: pd.DataFrame
    trials: pd.DataFrame
    fit_curves: FitCurves
    baseline: dict[str, float]
    metric: str
    direction: str
    spec: dict[str, Any]
    storage: str | None

    @property
    def curves(self) -> pd.DataFrame: ...


def param_cell(value: Any) -> Any:
    """A parameter's value as the frames hold it in ``param_*`` columns: a list (``units: [8, 8]``)
    as its text, so that it can be grouped and compared like any other value."""
    return str(value) if isinstance(value, list) else value


def param_value(cell: Any) -> Any:
    """A ``param_*`` cell back to the value the spec gave (:func:`param_cell`'s inverse): a list from
    its text, a NumPy scalar as Python's."""
    if isinstance(cell, str) and cell.startswith("["):
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    return cell.item() if hasattr(cell, "item") else cell


def param_order(value: Any) -> tuple:
    """Sort key of a ``param_*`` cell: numbers by size, and a list-valued one (held as its text) by its
    numbers, so ``[8, 8]`` comes before ``[16]`` and ``[32, 32]``; then text, then missing values."""
    listed = param_value(value) if isinstance(value, str) else None
    if isinstance(listed, list):
        try:
            return (0, tuple(float(v) for v in listed))
        except (ValueError, TypeError):
            pass
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, (0.0,)) if value != value else (0, (float(value),))
    return (2, (str(value),)) if value is not None else (3, ())


def config_numbers(fits: pd.DataFrame) -> dict[str, int]:
    """config_key -> the trial number the sentences name it by ("trial 3"): the fits' ``trial``,
    which :func:`~tuning.analysis.load_results` sets to the first trial that ran the config
    (:func:`tuning.trials.trial_numbers`), so a resumed config keeps it."""
    if fits.empty or "trial" not in fits.columns:
        return {}
    return {key: int(n) for key, n in fits.groupby("config_key", sort=False)["trial"].min().items() if n == n}


def varying_params(fits: pd.DataFrame) -> list[str]:
    """The ``param_*`` columns of a fits frame that take more than one value: the settings the
    study compared, the only ones worth naming a config by (a fixed setting is the same in every
    row, as scikit-learn's ``cv_results_`` lists only the searched parameters)."""
    return [c for c in fits.columns if c.startswith("param_") and fits[c].astype(str).nunique() > 1]
