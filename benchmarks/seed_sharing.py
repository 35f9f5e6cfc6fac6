"""Seed sharing between workers: more workers than configs, every worker busy.

``PYTHONPATH=. python benchmarks/seed_sharing.py [--workers 10] [--seconds 1.0]`` runs a grid study
of 3 configs x 10 seeds with that many workers on one SQLite file, each fit taking ``--seconds``
(the fake fits of tests/helpers/fake_worker.py: no Keras, so that only the sharing is measured).
It prints the fits each worker started, how many fits ran at once (the most and the mean over the
fitting phase) and that phase's wall time. Without seed sharing only 3 workers (one per config)
would fit: 10 seeds each, 10 fit-lengths at least. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEC = """\
name: w
problem: {name: tenths}
model: {units: 2}
fit: {epochs: 2, batch_size: 5}
space:
  units: [1, 2, 3]
sampler: grid
repeats: 10
storage: sqlite:///DB
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory(prefix="tuning-sharing-") as tmp:
        spec, db = Path(tmp) / "w.yaml", Path(tmp) / "w.db"
        spec.write_text(SPEC.replace("DB", str(db)))
        command = [sys.executable, str(ROOT / "tests" / "helpers" / "fake_worker.py"), str(spec), str(args.seconds), "6"]
        procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(args.workers)]
        errors = [proc.communicate()[1] for proc in procs]
        if any(proc.returncode for proc in procs):
            raise RuntimeError(f"a worker failed: {errors}")
        with sqlite3.connect(db) as conn:
            fits = conn.execute("SELECT COUNT(*) FROM tuning_fits").fetchone()[0]
            per_worker = sorted(n for (n,) in conn.execute("SELECT fits_started FROM tuning_workers"))
            spans = conn.execute("SELECT s.started_at, f.created_at FROM tuning_fit_starts s JOIN tuning_fits f "
                                 "ON f.config_key = s.config_key AND f.seed = s.seed").fetchall()
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    at_once = [sum(1 for s, e in spans if s <= t <= e) for t in np.linspace(first, last, 200)]
    print(f"{fits} fits, {len(spans)} started; fits started per worker {per_worker}; at once: most {max(at_once)}, "
          f"mean {np.mean(at_once):.1f}; fitting phase {last - first:.1f} s for {fits} fits of {args.seconds:g} s")


if __name__ == "__main__":
    main()
