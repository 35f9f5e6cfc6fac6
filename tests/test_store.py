"""The store keeps each fit's trainable weight count and each study's data fingerprint, reads stores
written before it did, and carries a schema version its numbered migrations lead to."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tuning.errors import StoreError
from tuning.results import FitResult
from tuning.store import MIGRATIONS, SCHEMA_VERSION, Store, uninterrupted


def fit(seed: int, weights: int | None) -> FitResult:
    return FitResult("k1", seed, "ok", {"val_loss": 0.5 + seed}, {"loss": [1.0]}, 1, None, 0.1, None, weights)


def test_trainable_weights_round_trip(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    assert store.record_fit("s", {"units": 3}, fit(0, 64), 0)
    (back,) = store.fits("s")
    assert back.trainable_weights == 64
    assert next(store.fit_rows("s"))["trainable_weights"] == 64


def test_a_store_from_before_the_column_reads_as_it_is_and_gains_it_on_write(tmp_path):
    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}").record_fit("s", {"units": 3}, fit(0, 64), 0)
    with sqlite3.connect(path) as conn:  # as an older version wrote it
        conn.execute("ALTER TABLE tuning_fits DROP COLUMN trainable_weights")
        conn.execute("DROP TABLE tuning_schema")  # stores of then kept no schema version
    reader = Store(f"sqlite:///{path}", create=False)
    assert [f.trainable_weights for f in reader.fits("s")] == [None]
    with sqlite3.connect(path) as conn:  # reading never alters a store
        assert "trainable_weights" not in {row[1] for row in conn.execute("PRAGMA table_info(tuning_fits)")}
    writer = Store(f"sqlite:///{path}")
    assert writer.record_fit("s", {"units": 3}, fit(1, 35), 0)
    assert [f.trainable_weights for f in writer.fits("s")] == [None, 35]


def test_a_study_stored_before_data_fingerprints_reads_and_gains_one(tmp_path):
    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}").save_study("s", "{}", {"val_loss": 1.0}, fingerprint="abc")
    with sqlite3.connect(path) as conn:  # as an older version wrote it
        conn.execute("ALTER TABLE tuning_studies DROP COLUMN data_fingerprint")
        conn.execute("DROP TABLE tuning_schema")  # stores of then kept no schema version
    record = Store(f"sqlite:///{path}", create=False).study_record("s")
    assert record["baseline"] == {"val_loss": 1.0} and record["data_fingerprint"] is None
    writer = Store(f"sqlite:///{path}")  # a run migrates the store, then records this run's data
    writer.update_study("s", data_fingerprint="def")
    assert writer.study_record("s")["data_fingerprint"] == "def"


def schema_version(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version FROM tuning_schema").fetchall()


def test_a_new_store_carries_the_schema_version_its_migrations_lead_to(tmp_path):
    assert [m.to_version for m in MIGRATIONS] == list(range(2, SCHEMA_VERSION + 1))  # numbered, none missing
    path = tmp_path / "new.db"
    Store(f"sqlite:///{path}")
    assert schema_version(path) == [(SCHEMA_VERSION,)]
    Store(f"sqlite:///{path}")  # opening again changes nothing
    assert schema_version(path) == [(SCHEMA_VERSION,)]


def test_a_version_3_store_gains_the_tables_of_workers_and_is_read_as_it_is_before(tmp_path):
    path = tmp_path / "v3.db"
    Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # as version 3 wrote it: no claims, workers or fit starts
        for table in ("tuning_claims", "tuning_workers", "tuning_fit_starts"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE tuning_schema SET version = 3")
    read = Store(f"sqlite:///{path}", create=False)  # a read-only command: nothing altered
    assert read.workers("s") == [] and read.count_fit_starts("s") == 0 and read.live_owners("s") == set()
    assert schema_version(path) == [(3,)]
    Store(f"sqlite:///{path}")
    assert schema_version(path) == [(SCHEMA_VERSION,)]
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"tuning_claims", "tuning_workers", "tuning_fit_starts"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # several workers on one host


def test_a_version_2_store_gains_the_dropout_masks_of_its_procedure(tmp_path):
    """A store as the code before schema versions wrote it: a ``procedure`` column (fused | standalone,
    or NULL for a study stored before that column, read from its runner then)."""
    path = tmp_path / "v2.db"
    store = Store(f"sqlite:///{path}")
    for name, runner in (("a", "auto"), ("b", "fused"), ("c", "auto")):
        store.save_study(name, f'{{"runner": "{runner}"}}', {}, dropout_masks="seeded")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE tuning_studies DROP COLUMN dropout_masks")
        conn.execute("ALTER TABLE tuning_studies ADD COLUMN procedure VARCHAR(32)")
        conn.execute("UPDATE tuning_studies SET procedure = 'fused' WHERE name = 'a'")
        conn.execute("DROP TABLE tuning_schema")
    reader = Store(f"sqlite:///{path}", create=False)
    expected = {"a": "seeded", "b": "seeded", "c": "keras"}  # c: NULL procedure, runner auto of old = keras masks
    assert {n: reader.study_record(n)["dropout_masks"] for n in "abc"} == expected
    with sqlite3.connect(path) as conn:  # reading never alters a store
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'tuning_schema'").fetchall() == []
    writer = Store(f"sqlite:///{path}")
    assert schema_version(path) == [(SCHEMA_VERSION,)]
    with sqlite3.connect(path) as conn:
        assert dict(conn.execute("SELECT name, dropout_masks FROM tuning_studies")) == expected
    assert {n: writer.study_record(n)["dropout_masks"] for n in "abc"} == expected


def test_a_store_of_a_newer_schema_is_refused_in_one_line(tmp_path):
    path = tmp_path / "future.db"
    Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tuning_schema SET version = ?", (SCHEMA_VERSION + 1,))
    for create in (False, True):
        with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer") as error:
            Store(f"sqlite:///{path}", create=create)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_during_a_store_write_is_held_until_the_write_is_done(tmp_path, signum):
    """Ctrl-C or SIGTERM arriving mid-write waits for the write; then the handler in place gets it
    (a SIGTERM raised inside SQLAlchemy's session once left SQLite locked for the interrupt record)."""
    delivered: list[str] = []

    def handler(got, frame):
        delivered.append("handler")
        raise KeyboardInterrupt

    previous = signal.signal(signum, handler)
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(KeyboardInterrupt):
            with uninterrupted():
                os.kill(os.getpid(), signum)
                time.sleep(0.05)  # a signal is handled between bytecodes: it has arrived by now
                delivered.append("write")
                store.record_fit("s", {"units": 3}, fit(0, 64), 0)
    finally:
        signal.signal(signum, previous)
    assert delivered == ["write", "handler"]
    assert [f.seed for f in store.fits("s")] == [0]


HELD_UNDER_THE_DEFAULT = """
import os, signal, sys, time
from tuning.store import Store, uninterrupted
store = Store(sys.argv[1])
with uninterrupted():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)
    store.checkpoint()
    print("written", flush=True)
print("not reached", flush=True)
"""


def test_a_sigterm_held_where_no_handler_was_set_still_ends_the_process_after_the_write(tmp_path):
    """A process that never set a SIGTERM handler (a worker, a read command) is ended by it as
    before, only after the write: holding a signal must not swallow it."""
    done = subprocess.run([sys.executable, "-c", HELD_UNDER_THE_DEFAULT, f"sqlite:///{tmp_path / 's.db'}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.split() == ["written"]


def test_a_postgresql_url_without_a_driver_gets_the_installed_one():
    import importlib.util

    from tuning.store import normalise_url

    driver = next(d for d in ("psycopg", "psycopg2") if importlib.util.find_spec(d) is not None)
    for written in ("postgresql://u@h/db", "postgres://u@h/db"):  # postgres://: many hosts' spelling
        assert normalise_url(written) == f"postgresql+{driver}://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"  # a driver named stays
    assert normalise_url("runs/a.db") == "sqlite:///runs/a.db"


@pytest.mark.parametrize(("url", "words"), [
    ("postgresql://u@127.0.0.1:notaport/db", "cannot open store: ValueError: invalid literal"),
    ("nosuchdb://x/y", "nosuchdb://x/y: no database of kind 'nosuchdb' (expected a file path"),
    ("postgresql+nodriver://u@h/db", "cannot open store: Can't load plugin"),
    ("postgresql://nobody@127.0.0.1:1/x", "cannot open store: OperationalError: connection to server at"),
])
def test_a_store_that_cannot_be_opened_is_one_line_naming_its_url(url, words):
    with pytest.raises(StoreError) as caught:
        Store(url, create=False)
    assert words in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize("command", ["run", "worker"])
def test_run_or_worker_on_a_store_that_cannot_be_opened_says_so_not_that_it_went_away_mid_run(tmp_path, command):
    # It said "the store went away mid-run ...; every fit finished before is stored: continue with
    # `tuning resume ...`" and exit 1, for a run that never started.
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nproblem: {name: tenths}\nmodel: {units: 2}\nsampler: grid\nrepeats: 2\nfit: {epochs: 1}\n")
    for url in ("postgresql://nobody@127.0.0.1:1/x", f"sqlite:///{spec}/x.db"):  # a folder that is a file
        done = subprocess.run([sys.executable, "-m", "tuning.cli", command, str(spec), "--storage", url, "--quiet"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and "cannot open store" in done.stderr, done.stderr
        assert "went away" not in done.stderr and "Traceback" not in done.stderr


def test_a_database_without_the_projects_tables_holds_no_study_and_says_so_in_one_line(tmp_path):
    """A new PostgreSQL database that no run has used yet (here SQLite, the same path): a worker or
    status asking for a study by name gets the one-line 'no study', not the database's traceback."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE unrelated (a INTEGER)")
    store = Store(f"sqlite:///{path}", create=False)
    assert store.study_record("w1") is None and store.study_names() == []
    with pytest.raises(StoreError, match=r"no study named 'w1' \(studies: none\)"):
        store.require_study("w1")


def test_a_password_in_the_url_is_shown_as_stars_and_never_stored():
    from tuning.spec import load_spec
    from tuning.urls import shown_url

    url = "postgresql://tuning:s3cret@db-host:5432/tuning"
    assert shown_url(url) == "postgresql://tuning:***@db-host:5432/tuning"
    assert shown_url("sqlite:////tmp/a@b:c.db") == "sqlite:////tmp/a@b:c.db"  # a file name is not a password
    spec = load_spec({"name": "s", "problem": {"name": "tenths"}, "model": {"units": 2}, "sampler": "grid",
                     "space": {"units": [1, 2]}, "storage": url})
    assert spec.storage == url and "s3cret" not in spec.to_json() and "tuning:***@db-host" in spec.to_json()
