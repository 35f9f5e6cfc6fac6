"""The real ``tuning`` command in a subprocess, and the fits a SQLite store holds meanwhile."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

TINY_SPEC = """\
name: {name}
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: {epochs}, batch_size: 5}}
space:
  units: [1, 2, 3]
sampler: grid
repeats: 2
storage: sqlite:///{db}
"""


def tuning_command() -> list[str]:
    """The installed ``tuning`` console script (falls back to ``python -m tuning.cli``)."""
    exe = shutil.which("tuning")
    return [exe] if exe else [sys.executable, "-m", "tuning.cli"]


def stored_fits(db: Path) -> list[tuple]:
    """(id, config_key, seed, created_at) of every fit in a SQLite store, oldest first; [] before
    the study has created its tables."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT id, config_key, seed, created_at FROM tuning_fits ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []


def start_tuning_and_wait_for_fits(spec: Path, db: Path, cwd: Path, count: int) -> subprocess.Popen:
    """``tuning run SPEC --quiet`` started in a subprocess, returned once ``count`` fits are stored
    (to be killed mid-study)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--quiet"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_fits(proc, db, count)
    return proc


def wait_for_fits(proc: subprocess.Popen, db: Path, count: int, timeout: float = 240) -> None:
    """Wait until ``db`` holds ``count`` fits; fail if ``proc`` ends first or nothing comes."""
    import time

    deadline = time.monotonic() + timeout
    while len(stored_fits(db)) < count:
        assert proc.poll() is None, f"study ended before {count} fits: {proc.communicate()}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.2)


def run_tuning(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([*tuning_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
