"""Memory of 200 small fits through the real ``tuning run`` on JAX (issue 24): is it flat?

``tuning run`` runs in a process of its own; every half second this script reads the resident
memory (RSS) of that process and of its children (``/proc``: worker processes count too) and how
many fits the store holds. The goal: after fit 50 the RSS stays within 100 MB of its value at fit
50 (a process that keeps every fit's model or compiled program grows with the fits instead).

The grid: an LSTM of 1 to 20 cells x learning rate 0.01 or 0.001 x 5 seeds = 200 fits of 3
epochs on the ``tenths`` problem (5 samples), so 20 shapes, each compiled once (``runner: auto``
fuses the seeds of the two learning rates of one width), from an empty JAX compilation cache.

    cd /work/main && python benchmarks/jax_memory.py --json /tmp/bench/jax_memory.json
    python benchmarks/jax_memory.py --runner sequential   # 200 Keras fits, one at a time
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

WIDTHS = list(range(1, 21))
LEARNING_RATES = [0.01, 0.001]
SEEDS = 5
MARK = 50  # the fit whose RSS the later ones are compared with
GOAL_MB = 100


def tree_rss_mb(pid: int) -> float:
    """RSS of ``pid`` and its descendants, in MB (0 for a process gone meanwhile)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def stored_fits(db: Path) -> int:
    """How many fits the store holds so far (0 before its tables exist)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM tuning_fits").fetchone()[0])
    except sqlite3.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runner", default="auto", help="the spec's runner (auto: seeds fused)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    fits = len(WIDTHS) * len(LEARNING_RATES) * SEEDS
    machine = describe_machine()
    with tempfile.TemporaryDirectory() as tmp:
        db, spec = Path(tmp) / "memory.db", Path(tmp) / "memory.yaml"
        spec.write_text(json.dumps({  # JSON is YAML
            "name": "memory", "problem": {"name": "tenths"}, "model": {"family": "vanilla", "optimizer": "adam"},
            "fit": {"epochs": args.epochs, "batch_size": 32}, "space": {"units": WIDTHS, "learning_rate": LEARNING_RATES},
            "sampler": "grid", "repeats": SEEDS, "keras_backend": "jax", "runner": args.runner}))
        env = {**os.environ, "KERAS_BACKEND": "jax", "TUNING_JAX_CACHE": str(Path(tmp) / "jax-cache")}
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "tuning.cli", "run", str(spec), "--quiet",
                                    "--storage", f"sqlite:///{db}"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        samples = []  # (seconds, fits stored, RSS MB)
        while process.poll() is None:
            samples.append((time.perf_counter() - started, stored_fits(db), tree_rss_mb(process.pid)))
            time.sleep(0.5)
        error = process.stderr.read().strip().splitlines()
        done = stored_fits(db)
    if process.returncode != 0 or done < fits:
        sys.exit(f"tuning run failed ({done} of {fits} fits): {error[-1] if error else '?'}")
    at_mark = next(rss for _, n, rss in samples if n >= MARK)
    after = [rss for _, n, rss in samples if n >= MARK]
    peak, peak_all = max(after), max(rss for *_, rss in samples)
    by_fits = {mark: next((rss for _, n, rss in samples if n >= mark), None) for mark in (1, 50, 100, 150, 200)}
    print(f"{fits} fits through tuning run on JAX (runner {args.runner}, {args.epochs} epochs) in "
          f"{samples[-1][0]:.0f} s, load {machine['load_average_at_start'][0]:.2f} at the start")
    print("RSS of the process tree at fit " + ", ".join(f"{m}: {v:.0f} MB" for m, v in by_fits.items() if v))
    print(f"peak after fit {MARK}: {peak:.0f} MB, {peak - at_mark:+.0f} MB against fit {MARK} "
          f"(goal: at most +{GOAL_MB}) -> {'met' if peak - at_mark <= GOAL_MB else 'NOT met'}; "
          f"peak of the run {peak_all:.0f} MB")
    if args.json:
        write_json(args.json, {"machine": machine, "runner": args.runner, "epochs": args.epochs, "fits": fits,
                               "rss_at": by_fits, "peak_after_mark": peak, "growth_mb": peak - at_mark,
                               "samples": samples})


if __name__ == "__main__":
    main()
