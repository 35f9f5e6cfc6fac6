"""The store's tables beside Optuna's, as of :data:`SCHEMA_VERSION` (older stores are migrated).

* ``tuning_studies``: the validated spec of each study and its naive baseline, so that
  ``tuning resume NAME`` needs nothing but the store, and what makes a later run the same study
  (data and builder fingerprints, how its dropout masks are drawn);
* ``tuning_fits``: one row per (study, config_key, seed) with scores, per-epoch curves, epochs
  run, fit seconds, status, error text and the model's trainable weight count;
* ``tuning_backend_state``: the search state of the KerasTuner backend (its project files), so
  that a KerasTuner study resumes from the store alone;
* ``tuning_claims``, ``tuning_workers``, ``tuning_fit_starts``: who works on a study now (leases
  renewed by a heartbeat, :mod:`._claims`) and every fit a worker started, so that several workers
  share one study without computing a config or a fit twice;
* ``tuning_schema``: one row, the schema version of the tables above (:mod:`._migrations`).
"""

from __future__ import annotations

import sqlalchemy as sa

#: The schema version this code writes; :data:`tuning.store._migrations.MIGRATIONS` lead up to it.
SCHEMA_VERSION = 4

metadata = sa.MetaData()

studies_table = sa.Table(
    "tuning_studies",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("spec_json", sa.Text, nullable=False),
    sa.Column("baseline_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # What the study's fits were computed on (Problem.fingerprint): a resume on other data is refused.
    sa.Column("data_fingerprint", sa.String(64)),
    # How the study draws the dropout masks of its configs with dropout (tuning.vocabulary
    # DROPOUT_MASKS: "seeded" or "keras"), fixed when it is created, so that no config mixes the two.
    sa.Column("dropout_masks", sa.String(16)),
    # The model.builder's fingerprint (tuning.builders.fingerprint: its path and source file), so a
    # study is not continued with changed builder code; NULL for the built-in families.
    sa.Column("model_fingerprint", sa.String(64)),
)

fits_table = sa.Table(
    "tuning_fits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study", sa.String(255), nullable=False, index=True),
    sa.Column("config_key", sa.String(32), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("config_json", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("scores_json", sa.Text, nullable=False),
    sa.Column("curves_json", sa.Text, nullable=False),
    sa.Column("epochs_run", sa.Integer, nullable=False),
    sa.Column("best_epoch", sa.Integer),
    sa.Column("fit_seconds", sa.Float, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("trial_number", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("trainable_weights", sa.Integer),
    sa.UniqueConstraint("study", "config_key", "seed", name="uq_fit"),
)

#: Search state of a backend that keeps it in files (KerasTuner's oracle.json, trial_*/trial.json):
#: one row per (study, file path relative to the project folder), so that the store alone resumes it.
backend_state_table = sa.Table(
    "tuning_backend_state",
    metadata,
    sa.Column("study", sa.String(255), primary_key=True),
    sa.Column("path", sa.String(512), primary_key=True),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

#: One row per piece of work a worker holds: ``point:<config_key>`` (a config being trialled) or
#: ``fit:<config_key>:<seed>``. The primary key makes a claim atomic on every database; a row whose
#: ``expires_at`` has passed (its worker stopped renewing it) may be taken over by another worker.
claims_table = sa.Table(
    "tuning_claims",
    metadata,
    sa.Column("study", sa.String(255), primary_key=True),
    sa.Column("item", sa.String(160), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False, index=True),
    sa.Column("claimed_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("taken_from", sa.String(255)),  # the owner whose lease had expired, when taken over
)

#: One row per worker process that joined a study: its lease (renewed with its claims), what it
#: started and took over, and whether it stopped cleanly (``tuning status`` lists them).
workers_table = sa.Table(
    "tuning_workers",
    metadata,
    sa.Column("owner", sa.String(255), primary_key=True),
    sa.Column("study", sa.String(255), nullable=False, index=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running | stopped (lost: running, lease expired)
    sa.Column("fits_started", sa.Integer, nullable=False, default=0),
    sa.Column("takeovers", sa.Integer, nullable=False, default=0),
)

#: Every fit a worker started, written in the transaction that claimed it: fits computed = rows
#: here (a fit whose worker died holding it appears twice: once per worker that started it).
fit_starts_table = sa.Table(
    "tuning_fit_starts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study", sa.String(255), nullable=False, index=True),
    sa.Column("config_key", sa.String(32), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
)

#: The schema version of this store's tables: one row.
schema_table = sa.Table(
    "tuning_schema",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)
