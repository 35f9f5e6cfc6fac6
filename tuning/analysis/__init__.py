"""The analysis of a study: its results as DataFrames, the tables, the diagnosis and the exports.

Plain pandas, NumPy and SciPy on what the store holds; nothing here imports TensorFlow, so every
table works where no backend is installed.

* :mod:`~tuning.analysis.frames`: :class:`Results` and :func:`load_results` (the input);
* :mod:`~tuning.analysis.seeds`: which fits count, the one per-config table of seed statistics;
* :mod:`~tuning.analysis.tables`: the summary (``cv_results_`` plus intervals, could-be-best,
  equivalence, skill, diagnosis), the verdict, marginals;
* :mod:`~tuning.analysis.diagnose`: the learning-curve diagnosis of configs and of a study (one
  table), over :mod:`~tuning.analysis.curves` (the rules for one curve),
  :mod:`~tuning.analysis.shape` (what they measure on a curve), :mod:`~tuning.analysis.labels`
  (labels, thresholds, the ``Diagnosis``) and :mod:`~tuning.analysis.extrapolation` (the forecast,
  ``tuning.extrapolated_gain``);
* :mod:`~tuning.analysis.exports`: CSV/JSON of every table and the curves;
* :mod:`~tuning.analysis.inputs`: the ``StudyFrames`` protocol the tables and the diagnosis read.

Data flows one way, type hints included: frames -> seeds, tables, diagnose, inputs; exports ->
tables, diagnose; tables -> seeds, diagnose, :mod:`tuning.statistics`, inputs; diagnose -> curves
-> extrapolation -> shape -> labels. ``Results`` (frames) is the facade above the tables; they
read it through ``StudyFrames`` and never import it. The method notes are docs/analysis.md and
docs/statistics.md.

Example:
    >>> results = tuning.load_results("quickstart")                           # doctest: +SKIP
    >>> summary_table(results)[["param_units", "mean", "could_be_best", "prob_best"]]  # doctest: +SKIP
"""

from tuning.analysis.diagnose import Diagnosis, Thresholds, diagnose_config, diagnose_curve, diagnose_study
from tuning.analysis.exports import analysis_tables, export_curves, export_tables
from tuning.analysis.frames import CURVE_COLUMNS, FitCurves, Results, load_results, trials_table
from tuning.analysis.seeds import config_table, good_scores, seed_matrix
from tuning.analysis.tables import (
    DESCRIBE,
    SELECTION,
    STATS,
    Selection,
    marginals,
    objective_of,
    select,
    skill_score,
    summary_table,
)
from tuning.analysis.verdicts import Verdict, config_names, verdict

__all__ = [
    "CURVE_COLUMNS", "DESCRIBE", "SELECTION", "STATS", "Diagnosis", "FitCurves", "Results", "Selection",
    "Thresholds", "Verdict", "analysis_tables", "config_names", "config_table", "diagnose_config",
    "diagnose_curve", "diagnose_study", "export_curves", "export_tables", "good_scores", "load_results",
    "marginals", "objective_of", "seed_matrix", "select", "skill_score", "summary_table", "trials_table",
    "verdict",
]
