"""The :class:`Store`: one database behind one URL, Optuna's tables and ours.

A fit is the unit of recovery: it is committed in its own transaction the moment it finishes,
and the unique key means it is never stored, nor computed, twice. SQLite is the default; any
SQLAlchemy URL Optuna accepts (PostgreSQL for several machines) works the same. Opening a store to
write brings its tables to the current schema version (:mod:`tuning.store._migrations`); opening
it to read leaves it as it is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tuning.errors import StoreError
from tuning.results import PRUNED, FitResult
from tuning.store._claims import (
    Leases,
    count_fit_starts,
    fit_item,
    live_owners,
    retrying,
    workers_of,
)
from tuning.store._migrations import check_version, dropout_masks_from_v2, stored_version, upgrade
from tuning.store._schema import backend_state_table, claims_table, fits_table, metadata, studies_table
from tuning.store._signals import uninterrupted
from tuning.urls import database_of, shown_url
from tuning.vocabulary import DEFAULT_LEASE, default_storage


def normalise_url(storage: str) -> str:
    """The SQLAlchemy URL a storage names: a bare file path is a SQLite file; ``postgres://`` (the
    spelling of many hosting services, which SQLAlchemy dropped) is ``postgresql://``; and a
    ``postgresql://`` naming no driver gets the one installed (SQLAlchemy 2.1 assumes psycopg 3,
    while psycopg2 is the common one: ``pip install 'tuning[postgres]'``)."""
    try:
        database_of(storage)
    except ValueError as exc:
        raise StoreError(f"{shown_url(storage)}: {exc}") from None
    if "://" not in storage:
        return f"sqlite:///{storage}"
    scheme, rest = storage.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        import importlib.util

        installed = [d for d in ("psycopg", "psycopg2") if importlib.util.find_spec(d) is not None]
        return f"postgresql+{installed[0]}://{rest}" if installed else f"postgresql://{rest}"
    return storage


def open_store(storage: str | Store | None = None, *, create: bool = False) -> Store:
    """The store at ``storage`` (an open :class:`Store` is returned as it is; see :func:`default_storage`).

    Read paths take an open store so that one command opens one engine: a report reads the
    fits, the trials and the Optuna study through the same :class:`Store`.
    """
    if isinstance(storage, Store):
        return storage
    return Store(default_storage(storage), create=create)


def _first_line(error: BaseException) -> str:
    """A driver's message on one line (libpq's spans several: the error, then hints)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


class Store:
    """The project's tables in the database at ``url`` (created on first use).

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///tuning.db`` or ``postgresql://...``.
        create: create the database and tables if missing; read-only commands pass ``False``
            so that a mistyped path is reported instead of creating an empty store.
    """

    def __init__(self, url: str, *, create: bool = True):
        self.url = normalise_url(url)
        self.shown = shown_url(self.url)  #: the URL as printed and written into reports: no password
        self._optuna = None
        self._columns_of: dict[str, list] = {}  # table -> the columns this database has
        if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
            path = Path(self.url.removeprefix("sqlite:///"))
            if not create and not path.exists():
                raise StoreError(f"{path}: no such store (run a study first, or pass --storage)")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # a file where a folder should be, no permission ...
                blocking = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
                why = (f"{blocking} is a file, not a folder" if blocking is not None and not blocking.is_dir()
                       else f"cannot make its folder {path.parent}: {exc.strerror}")
                raise StoreError(f"{self.shown}: cannot open store: {why}") from None
        kwargs: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            # Several processes may open the file; wait for a lock rather than fail at once.
            kwargs["connect_args"] = {"timeout": 60}
        try:
            self.engine = sa.create_engine(self.url, **kwargs)
            if create:
                upgrade(self.engine, metadata.create_all, self.shown)
                if self.engine.dialect.name == "sqlite" and path_of_file(self.url):
                    # Readers do not block the writer nor it them: several workers on one host
                    # (the mode is the file's, kept for every later connection).
                    with self.engine.connect() as conn:
                        retrying(lambda: conn.exec_driver_sql("PRAGMA journal_mode=WAL"))
            else:
                with self.engine.connect() as conn:
                    check_version(stored_version(conn), self.shown)
        except sa.exc.NoSuchModuleError as exc:  # a database this project knows, a driver SQLAlchemy does not
            raise StoreError(f"{self.shown}: cannot open store: {_first_line(exc)}") from None
        except (sa.exc.SQLAlchemyError, ValueError) as exc:  # ValueError: a URL SQLAlchemy cannot read
            why = getattr(exc, "orig", None) or exc
            raise StoreError(f"{self.shown}: cannot open store: {type(why).__name__}: {_first_line(why)}") from None
        except ModuleNotFoundError as exc:
            hint = " (pip install 'tuning[postgres]')" if self.url.startswith("postgresql") else ""
            raise StoreError(f"{self.shown}: database driver missing: {exc.name}{hint}") from None

    def checkpoint(self) -> None:
        """Write a SQLite file's write-ahead log back into the file (best effort; nothing for other
        databases): once a run ends, the ``.db`` file alone holds the study, so copying or mailing
        it copies everything (with WAL, recent commits live in ``-wal`` until a checkpoint)."""
        if self.engine.dialect.name != "sqlite" or not path_of_file(self.url):
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except sa.exc.SQLAlchemyError:  # another worker busy writing: its own end checkpoints
            pass

    def optuna_storage(self):
        """An Optuna ``RDBStorage`` on the same database (one per store: it opens its own engine)."""
        if self._optuna is None:
            import optuna

            kwargs = {"connect_args": {"timeout": 60}} if self.url.startswith("sqlite") else None
            for attempt in range(5):
                try:
                    self._optuna = optuna.storages.RDBStorage(self.url, engine_kwargs=kwargs)
                    break
                except sa.exc.SQLAlchemyError:  # workers started at once all creating Optuna's tables
                    if attempt == 4:
                        raise
                    time.sleep(0.2 + 0.3 * attempt)
        return self._optuna

    # -- studies -------------------------------------------------------------------------------

    def save_study(self, name: str, spec_json: str, baseline: dict[str, float], fingerprint: str | None = None,
                   dropout_masks: str | None = None, model_fingerprint: str | None = None) -> bool:
        """Create a study's record; False when another worker created it first (nothing written)."""
        try:
            with uninterrupted(), self.engine.begin() as conn:
                conn.execute(
                    studies_table.insert().values(
                        name=name, spec_json=spec_json, baseline_json=json.dumps(baseline), created_at=time.time(),
                        data_fingerprint=fingerprint, dropout_masks=dropout_masks, model_fingerprint=model_fingerprint,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def update_study(self, name: str, **columns: Any) -> None:
        """Set columns of a study's record: ``spec_json`` (more trials or seeds, another runner), or
        the data and model fingerprints of a study stored before they were kept."""
        with uninterrupted(), self.engine.begin() as conn:
            conn.execute(studies_table.update().where(studies_table.c.name == name).values(**columns))

    def study_record(self, name: str) -> dict[str, Any] | None:
        """The stored spec (as a dict) and baseline of a study, or ``None``.

        Read from a store of an older schema version as it is (reading never alters a store):
        ``dropout_masks`` is then what the migration would write. A database without the project's
        tables (a new PostgreSQL database no run has used yet) holds no study.
        """
        if not sa.inspect(self.engine).has_table("tuning_studies"):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*self._present_columns(studies_table))
                               .where(studies_table.c.name == name)).first()
        if row is None:
            return None
        spec = json.loads(row.spec_json)
        masks = getattr(row, "dropout_masks", None)
        if masks is None:  # a store of schema version 2 or older, read as it is
            masks = dropout_masks_from_v2(self._old_procedure(name), spec)
        return {"name": row.name, "spec": spec, "baseline": json.loads(row.baseline_json),
                "created_at": row.created_at, "data_fingerprint": getattr(row, "data_fingerprint", None),
                "dropout_masks": masks, "model_fingerprint": getattr(row, "model_fingerprint", None)}

    def _old_procedure(self, name: str) -> str | None:
        """The ``procedure`` column of a version-2 store (``None`` where it has none)."""
        if "procedure" not in {c["name"] for c in sa.inspect(self.engine).get_columns("tuning_studies")}:
            return None
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT procedure FROM tuning_studies WHERE name = :name"),
                                {"name": name}).scalar()

    def require_study(self, name: str) -> dict[str, Any]:
        """:meth:`study_record`, or the one :class:`StoreError` every command gives for a missing study."""
        record = self.study_record(name)
        if record is None:
            known = ", ".join(self.study_names()) or "none"
            raise StoreError(f"{self.shown}: no study named {name!r} (studies: {known})")
        return record

    def study_names(self) -> list[str]:
        if not sa.inspect(self.engine).has_table("tuning_studies"):
            return []
        with self.engine.connect() as conn:
            return [r.name for r in conn.execute(sa.select(studies_table.c.name).order_by(studies_table.c.created_at))]

    # -- fits ----------------------------------------------------------------------------------

    def record_fit(self, study: str, config: dict[str, Any], fit: FitResult, trial_number: int | None,
                   owner: str | None = None) -> bool:
        """Store one finished fit at once, in its own transaction. Returns False if it was there.

        ``owner``: the worker whose claim on the fit is released in the same transaction, so that
        no other worker sees the fit neither stored nor claimed."""
        row = dict(
            study=study, config_key=fit.config_key, seed=fit.seed, config_json=json.dumps(config, sort_keys=True),
            status=fit.status, scores_json=json.dumps(fit.scores), curves_json=json.dumps(fit.curves),
            epochs_run=fit.epochs_run, best_epoch=fit.best_epoch, fit_seconds=fit.fit_seconds,
            error=fit.error, trial_number=trial_number, created_at=time.time(),
            trainable_weights=fit.trainable_weights,
        )
        def act() -> bool:
            try:
                with self.engine.begin() as conn:
                    conn.execute(fits_table.insert().values(**row))
                    if owner is not None:
                        c = claims_table.c
                        conn.execute(claims_table.delete().where(
                            c.study == study, c.owner == owner, c.item == fit_item(fit.config_key, fit.seed)))
            except sa.exc.IntegrityError:
                return False
            return True

        with uninterrupted():
            stored = retrying(act)
            if not stored and owner is not None:  # stored already (by a worker whose lease ran out): let go
                self.leases(study, owner).release([fit_item(fit.config_key, fit.seed)])
        return stored

    def fits(self, study: str, config_key: str | None = None) -> list[FitResult]:
        """Finished fits of a study (of one config if ``config_key`` is given), oldest first."""
        query = sa.select(*self._fit_columns()).where(fits_table.c.study == study)
        if config_key is not None:
            query = query.where(fits_table.c.config_key == config_key)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(fits_table.c.id)).all()
        return [_fit_from_row(r) for r in rows]

    def fit_scores(self, study: str) -> list[tuple[str, int, str, dict[str, float]]]:
        """(config_key, seed, status, scores) of every fit of a study, oldest first: what a race
        decides from at every round, without the curves that are most of a fit's row."""
        c = fits_table.c
        query = sa.select(c.config_key, c.seed, c.status, c.scores_json).where(c.study == study).order_by(c.id)
        with self.engine.connect() as conn:
            return [(r.config_key, r.seed, r.status, json.loads(r.scores_json)) for r in conn.execute(query)]

    def fit_rows(self, study: str) -> Iterator[dict[str, Any]]:
        """Every fit of a study as a plain dict, config included (for tables and reports)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*self._fit_columns()).where(fits_table.c.study == study)
                                .order_by(fits_table.c.id)).all()
        for r in rows:  # plain dicts straight from the row: a large study has 10^4 fits of 10^2-point curves
            yield dict(
                config_key=r.config_key, seed=r.seed, status=r.status, scores=json.loads(r.scores_json),
                curves=json.loads(r.curves_json), epochs_run=r.epochs_run, best_epoch=r.best_epoch,
                fit_seconds=r.fit_seconds, error=r.error, config=json.loads(r.config_json),
                trial_number=r.trial_number, created_at=r.created_at,
                trainable_weights=getattr(r, "trainable_weights", None),
            )

    def fit_config(self, study: str, config_key: str) -> dict[str, Any]:
        """The config of a stored fit, exactly as the study fitted it (one row, no curves read)."""
        query = sa.select(fits_table.c.config_json).where(
            (fits_table.c.study == study) & (fits_table.c.config_key == config_key)).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise StoreError(f"study {study!r} has no fit of config {config_key}")
        return json.loads(row.config_json)

    def _fit_columns(self) -> list:
        """The fit table's columns this database has (see :meth:`_present_columns`)."""
        return self._present_columns(fits_table)

    def _present_columns(self, table: sa.Table) -> list:
        """The columns of ``table`` this database has: a store written before a column was added
        (``trainable_weights``, ``dropout_masks``) is read as it is (reading never alters a store)."""
        if table.name not in self._columns_of:
            inspector = sa.inspect(self.engine)
            present = {c["name"] for c in inspector.get_columns(table.name)} \
                if inspector.has_table(table.name) else set(table.c.keys())
            self._columns_of[table.name] = [c for c in table.c if c.name in present]
        return self._columns_of[table.name]

    def count_fits(self, study: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(fits_table.c.study == study)).scalar_one()

    def delete_study(self, name: str) -> int:
        """Remove ``name`` from the store: Optuna's study and trials, then its record, fits, claims,
        workers' rows and backend state; the number of fits removed. Optuna's goes first: stopped
        in between (a Ctrl-C is held until both are done), the store still lists the study, and a
        second delete finishes it, while the other order would leave Optuna's trials for a new
        study of the same name to continue. The caller checks that no live worker holds it."""
        import optuna

        from tuning.store._schema import fit_starts_table, workers_table

        fits = self.count_fits(name)
        with uninterrupted():
            try:
                optuna.delete_study(study_name=name, storage=self.optuna_storage())
            except KeyError:  # no Optuna study of that name (already deleted, or never asked)
                pass
            present = set(sa.inspect(self.engine).get_table_names())
            with self.engine.begin() as conn:
                for table in (fits_table, claims_table, workers_table, fit_starts_table, backend_state_table):
                    if table.name in present:
                        conn.execute(table.delete().where(table.c.study == name))
                conn.execute(studies_table.delete().where(studies_table.c.name == name))
        return fits

    # -- workers sharing a study (claims with leases: _claims) ----------------------------------

    def leases(self, study: str, owner: str, lease: float = DEFAULT_LEASE) -> Leases:
        """The claims of worker ``owner`` on ``study``."""
        return Leases(self.engine, study, owner, lease)

    def live_owners(self, study: str) -> set[str]:
        """Workers on ``study`` whose lease is still renewed."""
        return live_owners(self.engine, study)

    def workers(self, study: str) -> list[dict[str, Any]]:
        """Every worker that joined ``study`` and what it holds (``tuning status``)."""
        return workers_of(self.engine, study)

    def count_fit_starts(self, study: str) -> int:
        """Fits started on ``study`` by every worker: the fits computed, a dead worker's included."""
        return count_fit_starts(self.engine, study)

    # -- backend state (KerasTuner's project files) ---------------------------------------------

    def save_backend_state(self, study: str, files: dict[str, str]) -> None:
        """Write (insert or replace) some files of a study's backend state in one transaction.

        One transaction for all of them, so a kill leaves either the old snapshot or the new one.
        """
        if not files:
            return
        now = time.time()
        table = backend_state_table
        with uninterrupted(), self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.study == study, table.c.path.in_(list(files))))
            conn.execute(table.insert(), [dict(study=study, path=path, content=content, updated_at=now)
                                          for path, content in files.items()])

    def backend_state(self, study: str) -> dict[str, str]:
        """The stored backend files of a study, path -> content (empty for an Optuna study)."""
        if not sa.inspect(self.engine).has_table("tuning_backend_state"):
            return {}
        table = backend_state_table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.path, table.c.content).where(table.c.study == study)).all()
        return {r.path: r.content for r in rows}


def path_of_file(url: str) -> str | None:
    """The file of a SQLite URL, ``None`` for an in-memory database or another database."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return None
    return url.removeprefix("sqlite:///")


def _fit_from_row(row: Any) -> FitResult:
    return FitResult(
        config_key=row.config_key, seed=row.seed, status=row.status, scores=json.loads(row.scores_json),
        curves=json.loads(row.curves_json), epochs_run=row.epochs_run, best_epoch=row.best_epoch,
        fit_seconds=row.fit_seconds, error=row.error, trainable_weights=getattr(row, "trainable_weights", None),
        stopped_by_hook=row.epochs_run if row.status == PRUNED else None,  # a pruned fit stopped where its curves end
    )
