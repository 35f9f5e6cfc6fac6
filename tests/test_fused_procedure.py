"""A study's dropout masks (issue 16): ``runner: auto`` fuses dropout configs (seeded masks), and a
stored study keeps the masks it was started with, so that no config mixes Keras's masks with the
fused ones.

The old store is made honestly: a study is run with ``runner: sequential`` (every fit
``fit_one``'s, as the old ``auto`` stored a dropout config), and then its record is given the old
shape by SQL: the spec's runner set to ``auto``, the ``dropout_masks`` and ``procedure`` columns and
the schema version dropped, as in a store (schema version 1) written before either was recorded.
"""

from __future__ import annotations

import json

import pytest
from helpers.reporters import Notes

from tuning.fit import FitTask, fit_one
from tuning.fit.fused import fit_group
from tuning.search.loop import run_search as run_study
from tuning.spec import apply_overrides, load_spec
from tuning.store import Store


def spec(folder, name="s", **changes) -> dict:
    base = {
        "name": name, "problem": {"name": "tenths"}, "model": {"units": 2},
        "fit": {"epochs": 2, "batch_size": 5}, "space": {"dropout": [0.0, 0.3]}, "sampler": "grid",
        "repeats": 1, "storage": f"sqlite:///{folder / 'study.db'}",
    }
    base.update(changes)
    return base


def run(data: dict, **overrides) -> tuple[object, list[str]]:
    reporter = Notes()
    outcome = run_study(apply_overrides(load_spec(data), **overrides), reporter=reporter)
    return outcome, reporter.notes


def task_of(store: Store, study: str, row: dict) -> FitTask:
    stored = load_spec(store.study_record(study)["spec"])
    return FitTask.from_spec(stored, row["config"], row["seed"], row["config_key"])


def dropout_rows(store: Store, study: str) -> dict[int, dict]:
    return {row["seed"]: row for row in store.fit_rows(study) if row["config"]["dropout"] > 0}


def make_old_auto_store(folder) -> str:
    """A study as a store from before dropout masks were recorded holds it: spec runner ``auto``, no
    ``procedure`` column, and the dropout config's fits ``fit_one``'s (what the old ``auto`` ran for it)."""
    import sqlalchemy as sa

    outcome, _ = run(spec(folder, runner="sequential"))
    assert outcome.complete == 2
    url = f"sqlite:///{folder / 'study.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        (spec_json,) = conn.execute(sa.text("SELECT spec_json FROM tuning_studies WHERE name = 's'")).one()
        old = {**json.loads(spec_json), "runner": "auto"}
        conn.execute(sa.text("UPDATE tuning_studies SET spec_json = :s WHERE name = 's'"), {"s": json.dumps(old)})
        conn.execute(sa.text("ALTER TABLE tuning_studies DROP COLUMN dropout_masks"))
        conn.execute(sa.text("DROP TABLE tuning_schema"))
    engine.dispose()
    # Read as it is (reading never alters a store): the masks the migration will record, from its runner then.
    assert Store(url, create=False).study_record("s")["dropout_masks"] == "keras"
    assert "dropout_masks" not in {c["name"] for c in sa.inspect(sa.create_engine(url)).get_columns("tuning_studies")}
    return url


@pytest.mark.slow  # over 8 s of real fits on 2 cores: out of the fast tier
def test_a_study_stored_by_the_old_auto_keeps_fitting_dropout_configs_with_keras_masks(tmp_path):
    from tuning.search.loop import resolve_resume_spec

    url = make_old_auto_store(tmp_path)
    resumed = resolve_resume_spec("s", url)  # what `tuning resume s` continues: runner auto
    assert resumed.runner == "auto"
    outcome, notes = run(json.loads(resumed.to_json()), repeats=3)
    assert (outcome.fits_run, outcome.fits_reused) == (4, 2)
    assert len(notes) == 1 and "keeps the keras dropout masks" in notes[0] and "\n" not in notes[0]
    store = Store(url, create=False)
    assert store.study_record("s")["dropout_masks"] == "keras"  # recorded now, from its runner then
    rows = dropout_rows(store, "s")
    assert sorted(rows) == [0, 1, 2]
    for row in rows.values():  # every seed, old and new: fit_one's own masks, bit for bit
        assert row["scores"] == fit_one(task_of(store, "s", row)).scores
    # And a later run asking for sequential is no contradiction: same dropout masks, no notice.
    again, notes = run(json.loads(resumed.to_json()), repeats=4, runner="sequential")
    assert again.fits_run == 2 and notes == []


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_a_fused_study_keeps_its_dropout_masks_when_a_run_names_sequential_and_is_deterministic(tmp_path):
    first, notes = run(spec(tmp_path / "a", repeats=2))  # runner auto (the default)
    assert first.complete == 2 and notes == []
    store = Store(f"sqlite:///{tmp_path / 'a' / 'study.db'}", create=False)
    assert store.study_record("s")["dropout_masks"] == "seeded"
    rows = dropout_rows(store, "s")
    assert len({row["fit_seconds"] for row in rows.values()}) == 1  # the dropout config's seeds: one graph
    # Determinism of fused dropout: the same spec and seeds in a fresh store, the same per-seed scores.
    run(spec(tmp_path / "b", repeats=2))
    twin = Store(f"sqlite:///{tmp_path / 'b' / 'study.db'}", create=False)
    assert {(r["config_key"], r["seed"]): r["scores"] for r in twin.fit_rows("s")} == \
        {(r["config_key"], r["seed"]): r["scores"] for r in store.fit_rows("s")}
    # A later run naming sequential would fit the new seed with Keras's masks: the seeded masks are kept.
    more, notes = run(spec(tmp_path / "a", repeats=3, runner="sequential"))
    assert more.fits_run == 2 and len(notes) == 1 and "keeps the seeded dropout masks" in notes[0]
    row = dropout_rows(store, "s")[2]
    task = task_of(store, "s", row)
    alone = fit_group([task])[0]  # the seed's fused fit (its masks do not depend on its graph mates)
    for name, value in alone.scores.items():
        assert row["scores"][name] == pytest.approx(value, rel=1e-6), name
    assert row["scores"] != fit_one(task).scores
    assert store.study_record("s")["dropout_masks"] == "seeded"


@pytest.mark.slow
def test_the_command_keeps_the_dropout_masks_and_says_so_in_one_line(tmp_path):
    from helpers.cli import run_tuning

    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(spec(tmp_path)))  # JSON is YAML; runner auto, a dropout axis
    first = run_tuning("run", str(path), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "keeps the" not in first.stderr
    more = run_tuning("run", str(path), "--runner", "sequential", "--repeats", "2", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    lines = [line for line in more.stderr.splitlines() if "keeps the seeded dropout masks" in line]
    assert len(lines) == 1 and "Traceback" not in more.stderr
    assert "runner 'sequential' would fit its dropout configs another way" in lines[0]  # one line, not wrapped
    store = Store(f"sqlite:///{tmp_path / 'study.db'}", create=False)
    assert store.study_record("s")["dropout_masks"] == "seeded"
    rows = dropout_rows(store, "s")
    assert sorted(rows) == [0, 1] and len({row["fit_seconds"] for row in rows.values()}) == 2  # seed 1 fused alone
    assert rows[1]["scores"] != fit_one(task_of(store, "s", rows[1])).scores
    status = run_tuning("status", str(path), cwd=tmp_path)  # the study says which dropout masks it draws
    assert "  dropout masks: seeded (every config fused, dropout included" in status.stdout, status.stdout
