"""The old home of :mod:`tuning.refit` (which refits a stored config; :mod:`tuning.analysis.exports`
writes CSV files): importable here until every caller names ``tuning.refit``."""

from tuning.refit import Refit, choose, export_model, refit

__all__ = ["Refit", "choose", "export_model", "refit"]
