"""Backends propose configs; the evaluator fits them. Only Optuna for now (KerasTuner: issue 4).

Backends are imported on demand (``tuning.backends.optuna``) so that read-only commands stay
light.
"""
