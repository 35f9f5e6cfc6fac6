"""Memory over a long study: the resident memory of ``tuning run``'s whole process tree, fit by fit.

What is measured
----------------
One grid study of tiny fits (``tenths``: 8 series, a vanilla LSTM, ``units`` 1-25 x 20 learning
rates x 2 seeds = 1,000 fits of 1 epoch) is run through the real ``tuning run`` command, once
per runner named with ``--runner`` (default: ``auto`` and ``sequential``). While it runs, the
resident memory (RSS) of the ``tuning`` process and all its descendants (worker processes, a Dask
cluster) is summed from ``/proc`` every half second, beside the number of fits the store holds.

Per runner, one line ``runner=.. rss_growth_mb=.. fits=..``: ``rss_growth_mb`` is the peak of the
tree's RSS after fit 100 minus its value at fit 100 (the goal: at most 200 MB, flat). Also the
slope of RSS against fits after fit 100 (MB per fit, least squares), the wall time, and how many
worker processes were seen (recycled workers are new pids).

``--code DIR`` runs another checkout's ``tuning`` (its directory goes first on ``PYTHONPATH``)
for a side-by-side with code from before a change; ``--recycle off`` runs with worker recycling
turned off (``recycle: {tasks: null, growth_mb: null}``), to measure what recycling costs.

Run: ``PYTHONPATH=. python benchmarks/soak.py`` (about 20 minutes on 2 cores; ``--fits 300`` for a
shorter one; ``--json PATH`` writes the samples). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from _machine import describe_machine, write_json  # noqa: E402

SPEC = """\
name: soak
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: 1, batch_size: 5}}
space:
  units: {units}
  learning_rate: {rates}
sampler: grid
repeats: 2
storage: sqlite:///{db}
{recycle}"""

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss_mb(root: int) -> tuple[float, set[int]]:
    """Summed RSS (MB) of ``root`` and every live descendant, and their pids (from ``/proc``)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss[int(entry.name)] = pages * PAGE
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in rss:
            continue
        seen.add(pid)
        todo += children.get(pid, [])
    return sum(rss[p] for p in seen) / 2**20, seen


def count_fits(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM tuning_fits").fetchone()[0]
    except sqlite3.Error:
        return 0


def soak(runner: str, fits: int, code: Path | None, recycle: str, workdir: Path) -> dict:
    configs = fits // 2
    units = list(range(1, 26))
    rates = [round(0.001 * (1 + i), 4) for i in range(max(1, -(-configs // len(units))))]
    db = workdir / f"soak-{runner}.db"
    spec = workdir / f"soak-{runner}.yaml"
    recycle_text = "recycle: {tasks: null, growth_mb: null}\n" if recycle == "off" else ""
    spec.write_text(SPEC.format(units=units, rates=rates, db=db, recycle=recycle_text))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "tuning.cli", "run", str(spec), "--runner", runner, "--quiet",
               "--n-trials", str(configs)]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    samples: list[tuple[float, int, float]] = []  # (seconds, fits stored, tree RSS MB)
    pids: set[int] = set()
    while proc.poll() is None:
        rss, tree = tree_rss_mb(proc.pid)
        pids |= tree
        samples.append((time.monotonic() - started, count_fits(db), rss))
        time.sleep(0.5)
    wall = time.monotonic() - started
    err = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"runner {runner}: tuning run failed ({proc.returncode}): {err[-2000:]}")
    done = count_fits(db)
    after = [(n, r) for _, n, r in samples if n >= 100]
    at_100 = after[0][1] if after else float("nan")
    peak = max((r for _, r in after), default=float("nan"))
    slope = float("nan")
    if len(after) > 2:
        xs, ys = [n for n, _ in after], [r for _, r in after]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else float("nan")
    return {"runner": runner, "fits": done, "rss_at_fit_100_mb": round(at_100, 1), "peak_after_100_mb": round(peak, 1),
            "rss_growth_mb": round(peak - at_100, 1), "slope_mb_per_fit": round(slope, 3), "wall_s": round(wall, 1),
            "processes_seen": len(pids) - 1, "code": str(code or ROOT), "recycle": recycle, "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", action="append", help="runner(s) to soak (default: auto and sequential)")
    parser.add_argument("--fits", type=int, default=1000)
    parser.add_argument("--code", type=Path, help="another checkout's tuning to run (side by side)")
    parser.add_argument("--recycle", choices=("default", "off"), default="default")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    machine = describe_machine()
    print(f"# machine: {machine['cpu']}, {machine['cores']} cores, load {machine['load_average_at_start']}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for runner in args.runner or ["auto", "sequential"]:
            result = soak(runner, args.fits, args.code, args.recycle, Path(tmp))
            results.append(result)
            print(f"runner={runner} rss_growth_mb={result['rss_growth_mb']} fits={result['fits']} "
                  f"(rss at fit 100 {result['rss_at_fit_100_mb']} MB, peak after {result['peak_after_100_mb']} MB, "
                  f"slope {result['slope_mb_per_fit']} MB/fit, {result['wall_s']} s, "
                  f"{result['processes_seen']} processes seen, recycle {args.recycle}, code {result['code']})",
                  flush=True)
    if args.json:
        write_json(args.json, {"machine": machine, "results": results})


if __name__ == "__main__":
    main()
