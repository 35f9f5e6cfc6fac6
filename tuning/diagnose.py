"""Moved to :mod:`tuning.analysis.diagnose`; this name keeps working for code that imports it."""

from tuning.analysis.diagnose import *  # noqa: F401,F403
from tuning.analysis.diagnose import __all__  # noqa: F401
