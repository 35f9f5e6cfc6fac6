"""tuning: which hyperparameters of a Keras sequence model are *really* better?

Every config is fitted once per seed; every seed's scores and learning curves are kept in one
store, and the reports say which differences are real and which are seed noise.

The public surface is small; heavy dependencies (TensorFlow, Optuna, pandas) load only when a
function that needs them is called.
"""

from tuning.api import Results, load_results, run_study, study_status
from tuning.diagnose import Thresholds, diagnose_config, diagnose_curve
from tuning.errors import DataError, FitFailed, SpecError, StoreError, TuningError
from tuning.results import FitResult, TrialResult, aggregate

__version__ = "0.1.0"

__all__ = [
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
    "diagnose_config",
    "diagnose_curve",
    "load_results",
    "run_study",
    "study_status",
]
