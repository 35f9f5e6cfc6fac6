"""tuning: which hyperparameters of a Keras sequence model are *really* better?

Every config is fitted once per seed; every seed's scores and learning curves are kept in one
store, and the reports say which differences are real and which are seed noise.

The public surface is small; heavy dependencies (TensorFlow, Optuna, pandas) load only when a
function that needs them is called.
"""

import typing as _typing

from tuning.api import delete_study, run_study, study_status
from tuning.errors import DataError, FitFailed, SpecError, StoreError, TuningError
from tuning.results import FitResult, TrialResult, aggregate, aggregate_seeds

if _typing.TYPE_CHECKING:
    from tuning.analysis import Results, Thresholds, diagnose_config, diagnose_curve, load_results
    from tuning.analysis.diagnose import extrapolated_gain
    from tuning.problems import ArrayProblem

__version__ = "0.1.0"

#: Names served from :mod:`tuning.analysis` on first use (it imports pandas and SciPy).
_FROM_ANALYSIS = ("Results", "Thresholds", "diagnose_config", "diagnose_curve", "load_results")
#: Served from :mod:`tuning.analysis.diagnose` (NumPy and SciPy only).
_FROM_DIAGNOSE = ("extrapolated_gain",)


def __getattr__(name: str):
    if name == "ArrayProblem":
        from tuning.problems import ArrayProblem

        return ArrayProblem
    if name in _FROM_ANALYSIS:
        import tuning.analysis

        return getattr(tuning.analysis, name)
    if name in _FROM_DIAGNOSE:
        import tuning.analysis.diagnose

        return getattr(tuning.analysis.diagnose, name)
    raise AttributeError(f"module 'tuning' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM_ANALYSIS, *_FROM_DIAGNOSE, "ArrayProblem"})

__all__ = [
    "ArrayProblem",
    "DataError",
    "FitFailed",
    "FitResult",
    "Results",
    "SpecError",
    "StoreError",
    "Thresholds",
    "TrialResult",
    "TuningError",
    "aggregate",
    "aggregate_seeds",
    "delete_study",
    "diagnose_config",
    "diagnose_curve",
    "extrapolated_gain",
    "load_results",
    "run_study",
    "study_status",
]
