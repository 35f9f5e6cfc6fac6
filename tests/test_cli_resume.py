"""End-to-end: the real ``tuning`` command in a subprocess, killed (SIGKILL, Ctrl-C) and resumed."""

from __future__ import annotations

import signal
import sqlite3

import pytest
from helpers.cli import run_tuning, start_tuning_and_wait_for_fits, stored_fits

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # real CLI runs: the fast tier leaves them out

GRID_POINTS, SEEDS = 3, 2


def _assert_complete_grid(db) -> None:
    rows = stored_fits(db)
    keys = {(key, seed) for _, key, seed, _ in rows}
    assert len(rows) == GRID_POINTS * SEEDS == len(keys), rows


def test_sigkill_then_resume_recomputes_nothing(tiny_spec, tmp_path):
    # sequential: the kill must land between the two seeds of a trial, so fits must arrive one by one
    # (the default runner fuses the seeds of a config and stores them together).
    spec, db = tiny_spec(runner="sequential")
    proc = start_tuning_and_wait_for_fits(spec, db, tmp_path, count=3)
    proc.kill()  # SIGKILL: no handler runs, the trial stays RUNNING in the store
    proc.wait()
    before = stored_fits(db)
    assert 3 <= len(before) < GRID_POINTS * SEEDS

    status = run_tuning("status", "tiny", "--storage", str(db), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "1 running" in status.stdout
    with sqlite3.connect(db) as conn:
        (killed,), = conn.execute("SELECT number FROM trials WHERE state = 'RUNNING'").fetchall()

    resumed = run_tuning("resume", "tiny", "--storage", str(db), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    # Only the fits missing at the kill were computed; the one of the killed trial was reused.
    assert f"{GRID_POINTS * SEEDS - len(before)} fits run" in resumed.stdout
    assert "3 complete, 0 failed of 3 planned" in resumed.stdout
    _assert_complete_grid(db)
    after = stored_fits(db)
    assert after[: len(before)] == before  # the same rows, untouched

    again = run_tuning("resume", "tiny", "--storage", str(db), "--quiet", cwd=tmp_path)
    assert again.returncode == 0 and "0 fits run" in again.stdout
    assert stored_fits(db) == after

    # A finished study is not reported as interrupted, and the killed trial's config keeps its
    # name: Optuna recorded the resume as a later trial, the user still reads "trial <killed>".
    status = run_tuning("status", "tiny", "--storage", str(db), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "3 complete, 0 running, 0 failed, 0 interrupted, 0 remaining of 3" in status.stdout, status.stdout
    assert "1 interrupted trial(s) taken up again by a later trial of their config" in status.stdout, status.stdout
    listed = [line.split(":")[0].split()[-1] for line in status.stdout.splitlines() if ". trial " in line]
    assert len(set(listed)) == GRID_POINTS and str(killed) in listed, status.stdout


def test_sigint_exits_130_and_resumes(tiny_spec, tmp_path):
    spec, db = tiny_spec()
    proc = start_tuning_and_wait_for_fits(spec, db, tmp_path, count=1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    # the study's own name and store, not the placeholder NAME
    assert f"continue with `tuning resume tiny --storage sqlite:///{db}`" in err, err
    before = stored_fits(db)

    with sqlite3.connect(db) as conn:
        states = [s for (s,) in conn.execute("SELECT state FROM trials")]
    assert "RUNNING" not in states  # Ctrl-C leaves no trial half-open

    rerun = run_tuning("run", str(spec), "--quiet", cwd=tmp_path)  # `run` on an existing study continues it
    assert rerun.returncode == 0, rerun.stderr
    assert f"{GRID_POINTS * SEEDS - len(before)} fits run" in rerun.stdout
    _assert_complete_grid(db)
