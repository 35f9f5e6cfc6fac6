"""What the tables and the diagnosis read from a study: the :class:`StudyFrames` protocol.

:class:`tuning.analysis.Results` (in :mod:`~tuning.analysis.frames`) satisfies it, and its cached
tables are computed by the modules that read it (:mod:`~tuning.analysis.tables`,
:mod:`~tuning.analysis.diagnose`, :mod:`~tuning.analysis.exports`). Those modules hint this
protocol instead of importing ``Results``, so the imports inside the package run one way:
``frames -> tables, diagnose -> inputs``, type hints included. Any object with these attributes
(a test's hand-made study, say) can be given to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FitCurves", "StudyFrames"]

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
