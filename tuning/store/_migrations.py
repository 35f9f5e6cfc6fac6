"""Numbered migrations: each brings a store's tables from the version before it to ``to_version``.

A store made before versions were kept has no ``tuning_schema`` table: it is version 1 (its
tables may lack the columns added while it was in use). :func:`upgrade` runs every migration past
the store's version, in order, when a command opens the store to write (``tuning run`` /
``resume``); read-only commands read a store as it is and never alter it, so the readers know how
an older version says the same thing (:func:`dropout_masks_from_v2`). A store of a newer version
than this code knows is refused with the upgrade to run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from tuning.errors import StoreError
from tuning.store._schema import SCHEMA_VERSION, claims_table, fit_starts_table, schema_table, workers_table


@dataclass(frozen=True)
class Migration:
    """One step: ``apply`` (on an open transaction) leads a store to ``to_version``."""

    to_version: int
    what: str
    apply: Callable[[sa.Connection], None]


#: A version-2 study's ``procedure`` -> its dropout masks (the old words for the same two ways).
PROCEDURE_MASKS = {"fused": "seeded", "standalone": "keras"}


def dropout_masks_from_v2(procedure: str | None, spec: dict) -> str:
    """A version-2 study's dropout masks, from its ``procedure`` column (``fused`` / ``standalone``),
    else (a study stored before that column) from the runner it was run with then, when ``auto``
    fused only the configs without dropout: ``seeded`` for ``fused``, ``keras`` for the rest."""
    if procedure is not None:
        return PROCEDURE_MASKS[procedure]
    return "seeded" if spec.get("runner", "auto") == "fused" else "keras"


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _add_column(conn: sa.Connection, table: str, column: str, sql_type: str) -> None:
    if column not in _columns(conn, table):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))


def _to_2(conn: sa.Connection) -> None:
    for table, column, sql_type in (("tuning_fits", "trainable_weights", "INTEGER"),
                                    ("tuning_studies", "data_fingerprint", "VARCHAR(64)"),
                                    ("tuning_studies", "procedure", "VARCHAR(32)"),
                                    ("tuning_studies", "model_fingerprint", "VARCHAR(64)")):
        _add_column(conn, table, column, sql_type)


def _to_3(conn: sa.Connection) -> None:
    _add_column(conn, "tuning_studies", "dropout_masks", "VARCHAR(16)")
    rows = conn.execute(sa.text("SELECT name, spec_json, procedure FROM tuning_studies")).all()
    for name, spec_json, procedure in rows:
        masks = dropout_masks_from_v2(procedure, json.loads(spec_json))
        conn.execute(sa.text("UPDATE tuning_studies SET dropout_masks = :masks WHERE name = :name"),
                     {"masks": masks, "name": name})


def _to_4(conn: sa.Connection) -> None:
    # New tables only (an older tuning never wrote them); the owner tags of older trials name no
    # worker, so their RUNNING trials count as orphaned under leases, as their processes are gone.
    for table in (claims_table, workers_table, fit_starts_table):
        table.create(conn, checkfirst=True)


MIGRATIONS = (
    Migration(2, "the columns added one by one before versions were kept: trainable_weights, data_fingerprint, "
                 "procedure, model_fingerprint", _to_2),
    Migration(3, "tuning_studies.dropout_masks (seeded | keras) from the procedure column (fused | standalone)", _to_3),
    Migration(4, "tuning_claims, tuning_workers, tuning_fit_starts: leases of workers sharing a study", _to_4),
)


def stored_version(conn: sa.Connection) -> int | None:
    """The store's schema version; 1 for tables made before versions were kept; ``None`` for no tables."""
    inspector = sa.inspect(conn)
    if inspector.has_table("tuning_schema"):
        version = conn.execute(sa.select(schema_table.c.version)).scalar()
        if version is not None:
            return int(version)
    return 1 if inspector.has_table("tuning_studies") else None


def check_version(version: int | None, url: str) -> None:
    """Refuse a store written by a newer ``tuning`` (its tables mean something this code does not know)."""
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(f"{url}: store schema version {version} is newer than this tuning's ({SCHEMA_VERSION}); "
                         "upgrade tuning (pip install -U tuning) to open it")


def upgrade(engine: sa.Engine, create_tables: Callable[[sa.Connection], None], url: str) -> int | None:
    """Bring the store to :data:`SCHEMA_VERSION` (creating it if empty); return the version it had
    (``None``: it was empty). Another process upgrading the same store at once is no error."""
    for attempt in range(6):
        try:
            return _upgrade(engine, create_tables, url)
        except sa.exc.SQLAlchemyError:
            # Workers started together on a new store all create its tables (SQLite runs each
            # CREATE TABLE in its own transaction): wait for the other one, or take its tables as
            # they are and finish the job.
            time.sleep(0.1 * (attempt + 1))
            with engine.connect() as conn:
                if stored_version(conn) == SCHEMA_VERSION:  # the other process got there first
                    return SCHEMA_VERSION
            if attempt == 5:
                raise
    raise AssertionError("unreachable")


def _upgrade(engine: sa.Engine, create_tables: Callable[[sa.Connection], None], url: str) -> int | None:
    with engine.begin() as conn:
        version = stored_version(conn)
        check_version(version, url)
        create_tables(conn)  # the tables this version has that the store lacks (all of them when new)
        if version == SCHEMA_VERSION:
            return version
        for migration in MIGRATIONS:
            if version is not None and migration.to_version > version:
                migration.apply(conn)
        conn.execute(schema_table.delete())
        conn.execute(schema_table.insert().values(version=SCHEMA_VERSION))
    return version
