"""The tiny study's store (3 configs x 2 seeds, real fits, run once per session), a fit added to it, a rename."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tuning.results import FitResult
from tuning.store import Store

TINY = {"name": "tiny", "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 3, "batch_size": 5},
        "space": {"units": [1, 2, 3]}, "sampler": "grid", "repeats": 2}
PNG = b"\x89PNG\r\n\x1a\n"


def tiny_store(tmp_path_factory) -> Path:
    """The tiny study's store, run by the first module of the session that asks for it."""
    import tuning

    root = tmp_path_factory.getbasetemp() / "tiny-study"
    if not (root / "done").exists():
        root.mkdir(exist_ok=True)
        tuning.run_study({**TINY, "storage": f"sqlite:///{root / 'store.db'}"})
        (root / "done").touch()
    return root / "store.db"


def add_fit(url: str, study: str, seed: int, **fields) -> None:
    """Store one more fit for the study's first config, as a finished worker would."""
    store = Store(url, create=False)
    first = next(store.fit_rows(study))
    fit = FitResult(config_key=first["config_key"], seed=seed, status=fields.pop("status", "ok"),
                    scores=fields.pop("scores", first["scores"]), curves=first["curves"], epochs_run=3,
                    fit_seconds=0.1, **fields)
    assert store.record_fit(study, first["config"], fit, first["trial_number"])


def rename_study(url: str, old: str, new: str) -> None:
    """Give a stored study another name in our tables and Optuna's (a name nobody would type)."""
    with Store(url, create=False).engine.begin() as conn:
        conn.execute(sa.text("UPDATE tuning_studies SET name = :new WHERE name = :old"), {"new": new, "old": old})
        conn.execute(sa.text("UPDATE tuning_fits SET study = :new WHERE study = :old"), {"new": new, "old": old})
        conn.execute(sa.text("UPDATE studies SET study_name = :new WHERE study_name = :old"), {"new": new, "old": old})
