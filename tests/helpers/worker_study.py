"""Worker processes of a study whose fits are the fake runner's (tests/helpers/fake_worker.py), and
what the worker tests read from their SQLite store (test_workers.py, test_workers_sharing.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HELPER = Path(__file__).resolve().parent / "fake_worker.py"
POINTS, SEEDS = 6, 3

SPEC = """\
name: w
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: 2, batch_size: 5}}
space:
  units: [1, 2, 3, 4, 5, 6]
sampler: grid
repeats: 3
storage: sqlite:///{db}
"""


RANDOM_SPEC = """\
name: w
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: 2, batch_size: 5}}
space:
  units: [1, 2, 3]
  learning_rate: {{low: 1.0e-4, high: 1.0e-2, log: true}}
sampler: {{name: random, seed: 3}}
n_trials: 6
repeats: 3
storage: sqlite:///{db}
"""


def start_workers(tmp_path: Path, count: int, fit_seconds: float, lease: float = 30,
                  text: str = SPEC) -> list[subprocess.Popen]:
    spec = tmp_path / "w.yaml"
    spec.write_text(text.format(db=tmp_path / "w.db"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH", "")])}
    return [subprocess.Popen([sys.executable, str(HELPER), str(spec), str(fit_seconds), str(lease)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]


def finish(procs: list[subprocess.Popen], timeout: float = 120) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.append((proc.returncode, stdout, stderr))
    return out


def query(db: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # tables not made yet
            return []


def wait_for(condition, procs, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert all(p.poll() is None for p in procs), finish(procs)
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)


def fitted_once(db: Path) -> list[tuple]:
    """The stored fits' (config_key, seed), having checked that each is stored once and was
    started once (none computed twice, not even by a worker that lost the race to store it)."""
    fits = query(db, "SELECT config_key, seed FROM tuning_fits")
    assert len(fits) == len(set(fits)), fits
    assert query(db, "SELECT COUNT(*) FROM tuning_fit_starts") == [(len(fits),)]
    return fits


def check_done_once(db: Path) -> None:
    """Every grid point x seed stored once, every point trialled once, no trial left RUNNING."""
    fits = query(db, "SELECT config_key, seed FROM tuning_fits")
    assert len(fits) == len(set(fits)) == POINTS * SEEDS
    states = query(db, "SELECT state, COUNT(*) FROM trials GROUP BY state")
    assert dict(states).get("RUNNING", 0) == 0
    complete = query(db, "SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'")[0][0]
    assert complete == POINTS
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]
