"""The store keeps each fit's trainable weight count and each study's data fingerprint, and reads stores
written before it did."""

from __future__ import annotations

import sqlite3

from tuning.results import FitResult
from tuning.store import Store


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
    record = Store(f"sqlite:///{path}", create=False).study_record("s")
    assert record["baseline"] == {"val_loss": 1.0} and record["data_fingerprint"] is None
    writer = Store(f"sqlite:///{path}")  # a run migrates the store, then records this run's data
    writer.update_study("s", data_fingerprint="def")
    assert writer.study_record("s")["data_fingerprint"] == "def"
