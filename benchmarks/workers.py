"""Workers sharing a study: fits per minute with 1 and 2 workers, and what a claim costs per fit.

What is measured
----------------
1. **Throughput.** One grid study - ``damped_sine`` (600 train / 150 val series of 30 steps), a
   vanilla LSTM with ``units`` in [8, 12, 16, 20, 24, 28], 2 seeds (12 fits), 8 epochs, batch 32,
   ``runner: sequential`` - is run to the end by one ``tuning worker`` on a fresh SQLite store,
   then by two ``tuning worker`` processes started together on another fresh store. Every worker
   process is pinned to one thread in both arms (``TF_NUM_INTRAOP_THREADS=1``,
   ``TF_NUM_INTEROP_THREADS=1``, ``OMP_NUM_THREADS=1``), so the second arm can use the second core
   and nothing else differs. The CPU seconds of the worker processes (user + system) are
   recorded with each arm, and the load average: on a machine shared with other jobs the second
   core is only partly free, which CPU seconds per fit tell apart from work done twice. A third
   arm is the control: two processes, each the only worker of its own study on its own store,
   started together - what two fitting processes get from this machine when they share nothing.
   The arms alternate (1, 2, separate, 1, 2, separate with ``--rounds 2``) so that none
   gets the quieter minutes of a shared machine. Two rates per run: over the wall time from the
   first process's start to the last one's exit (start-up included: importing TensorFlow), and
   over the fitting phase (first fit started to last fit stored, from the store's records).
   Two more arms fuse each config's seeds (``runner: auto``): one process, and ``--runner dask
   --jobs 2``, a Dask LocalCluster of two single-threaded worker processes that the run starts
   (and stops); the ratio of the two is what a Dask cluster of 2 gives over one process.
2. **Claim overhead per fit.** The study's loop run in this process with a runner that fits
   nothing (made-up scores, no Keras), so that the store's work is all there is: 30 configs x 3
   seeds, once on a SQLite file and once on a PostgreSQL server started for the purpose
   (tests/helpers/postgres.py). Every call into this worker's claims (configs and fits claimed,
   released, renewed by the heartbeat; who else holds work) is timed, and their sum is divided by
   the fits. The fits' own writes (which were there before claims) are not counted, except the
   delete of the fit's claim, which shares the fit's transaction.

Run: ``PYTHONPATH=. python benchmarks/workers.py`` (about 5 minutes on 2 cores), ``--quick`` for
a smoke run; ``--json PATH`` writes the numbers. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

from _machine import describe_machine, write_json  # noqa: E402

SPEC = """\
name: bench
problem: {{name: damped_sine, params: {{n_train: {n_train}, n_val: {n_val}, n_test: 0, length: 30}}}}
model: {{units: 8}}
fit: {{epochs: {epochs}, batch_size: 32}}
space:
  units: {units}
sampler: grid
repeats: 2
runner: sequential
storage: sqlite:///{db}
"""
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "3"}


#: name -> (processes started, each on a study of its own, runner, jobs). The first three fit one
#: seed at a time in each process; the last two fuse each config's seeds (``auto``), in one process
#: or on a Dask LocalCluster of two single-threaded worker processes started by the run.
ARMS = {"1 worker": (1, False, "sequential", 1), "2 workers on one study": (2, False, "sequential", 1),
        "2 separate studies": (2, True, "sequential", 1), "1 fused process": (1, False, "auto", 1),
        "Dask LocalCluster of 2": (1, False, "dask", 2)}


def run_arm(workers: int, folder: Path, quick: bool, separate: bool = False, epochs: int = 8,
            runner: str = "sequential", jobs: int = 1) -> dict:
    """One study to the end with ``workers`` processes; its rates. ``separate``: the control, each
    process a single worker on a study of its own (its own store), all at once: what the machine
    gives ``workers`` processes fitting side by side when they share nothing."""
    stores = [folder / f"arm{workers}{'s' if separate else ''}-{time.time_ns()}-{n}.db"
              for n in range(workers if separate else 1)]
    commands = []
    for db in stores:
        spec = folder / f"{db.stem}.yaml"
        spec.write_text(SPEC.format(n_train=120 if quick else 600, n_val=40 if quick else 150,
                                    epochs=2 if quick else epochs, units="[8, 16]" if quick else "[8, 12, 16, 20, 24, 28]",
                                    db=db))
        commands.append([sys.executable, "-m", "tuning.cli", "worker", str(spec), "--quiet", "--runner", runner,
                         "--jobs", str(jobs)])
    if not separate:
        commands *= workers
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for command in commands]
    try:
        errors = [proc.communicate(timeout=1800)[1] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.time() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    if any(proc.returncode for proc in procs):
        raise RuntimeError(f"a worker failed: {errors}")
    counts, first, last, starts, per_worker, tails = 0, math.inf, 0.0, 0, [], []
    for db in stores:
        with sqlite3.connect(db) as conn:
            n, end = conn.execute("SELECT COUNT(*), MAX(created_at) FROM tuning_fits").fetchone()
            begin, started = conn.execute("SELECT MIN(started_at), COUNT(*) FROM tuning_fit_starts").fetchone()
            per_worker += [k for (k,) in conn.execute("SELECT fits_started FROM tuning_workers")]
            # Each worker's last fit stored: how long it had nothing to fit before the study ended.
            ends = conn.execute("SELECT s.owner, MAX(f.created_at) FROM tuning_fit_starts s JOIN tuning_fits f "
                                "ON f.config_key = s.config_key AND f.seed = s.seed GROUP BY s.owner").fetchall()
            tails += [round(end - owner_end, 1) for _, owner_end in ends]
        counts, first, last, starts = counts + n, min(first, begin), max(last, end), starts + started
    fits = (counts, last)
    fitting = last - first
    return {"workers": workers, "separate_studies": separate, "runner": runner, "jobs": jobs,
            "fits": fits[0], "fits_started": starts,
            "fits_per_worker": per_worker, "idle_at_the_end_s": sorted(tails),
            "wall_s": round(wall, 2), "fitting_s": round(fitting, 2), "cpu_s": round(cpu, 1),
            "cpu_s_per_fit": round(cpu / fits[0], 2), "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "fits_per_min_wall": round(60 * fits[0] / wall, 2), "fits_per_min_fitting": round(60 * fits[0] / fitting, 2)}


def claim_overhead(url: str, configs: int) -> dict:
    """Seconds spent in this worker's claims per fit, on the store at ``url``."""
    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search
    from tuning.spec import load_spec
    from tuning.store import Leases

    spent = {"seconds": 0.0, "calls": 0}
    originals = {name: getattr(Leases, name) for name in ("claim", "release", "renew", "held_by_others", "register",
                                                          "stop", "expire", "running_on")}

    def timed(function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent["seconds"] += time.perf_counter() - start
                spent["calls"] += 1
        return wrapper

    for name, function in originals.items():
        setattr(Leases, name, timed(function))
    spec = load_spec({"name": "claims", "problem": {"name": "tenths"}, "model": {"units": 2},
                      "fit": {"epochs": 2, "batch_size": 5}, "space": {"units": list(range(1, configs + 1))},
                      "sampler": "grid", "repeats": 3, "storage": url})
    try:
        start = time.perf_counter()
        outcome = run_search(spec, runner=FakeRunner())
        total = time.perf_counter() - start
    finally:
        for name, function in originals.items():
            setattr(Leases, name, function)
    fits = outcome.fits_run
    return {"fits": fits, "claim_calls": spent["calls"], "claim_ms_per_fit": round(1000 * spent["seconds"] / fits, 2),
            "study_ms_per_fit": round(1000 * total / fits, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="pairs of arms (1 worker, then 2), alternated")
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of every fit (longer fits amortise start-up)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--dask-only", action="store_true", help="only the fused arms: 1 process, and Dask")
    parser.add_argument("--workers-only", action="store_true",
                        help="only the one-seed-at-a-time arms: 1 worker, 2 workers, 2 separate studies")
    parser.add_argument("--skip-claims", action="store_true", help="no claim-overhead measurement")
    parser.add_argument("--no-control", action="store_true", help="without the arm of 2 separate studies")
    parser.add_argument("--json", type=Path, help="also write the numbers here as JSON")
    args = parser.parse_args()

    import optuna
    import sqlalchemy

    report: dict = {"machine": describe_machine(optuna, sqlalchemy), "command": " ".join(sys.argv)}
    with tempfile.TemporaryDirectory(prefix="tuning-workers-") as tmp:
        folder = Path(tmp)
        if not args.skip_throughput:
            arms = []
            for round_number in range(args.rounds):
                for name, (workers, separate, runner, jobs) in ARMS.items():
                    if (args.dask_only and runner not in ("auto", "dask")) or (
                            args.workers_only and runner in ("auto", "dask")) or (args.no_control and separate):
                        continue
                    arm = {"round": round_number, "arm": name,
                           **run_arm(workers, folder, args.quick, separate, args.epochs, runner, jobs)}
                    print(json.dumps(arm), flush=True)
                    arms.append(arm)
            report["throughput"] = arms
            for key in ("fits_per_min_wall", "fits_per_min_fitting"):
                rate = {name: sum(a[key] for a in arms if a["arm"] == name) / args.rounds for name in ARMS
                        if any(a["arm"] == name for a in arms)}
                for name in rate:
                    base = rate["1 fused process"] if ARMS[name][2] in ("auto", "dask") else rate.get("1 worker")
                    if base:
                        report[f"speedup_{key}_{name.replace(' ', '_')}"] = round(rate[name] / base, 3)
                print(f"{key}: " + ", ".join(f"{name} {value:.2f}" for name, value in rate.items())
                      + (f"; 2 workers / 1 {rate['2 workers on one study'] / rate['1 worker']:.2f}x, "
                         + (f"2 separate / 1 {rate['2 separate studies'] / rate['1 worker']:.2f}x"
                            if "2 separate studies" in rate else "")
                         if "1 worker" in rate else "")
                      + (f"; Dask LocalCluster of 2 / 1 fused process "
                         f"{rate['Dask LocalCluster of 2'] / rate['1 fused process']:.2f}x"
                         if "1 fused process" in rate else ""), flush=True)
    if args.skip_claims:
        if args.json:
            write_json(args.json, report)
        return
    with tempfile.TemporaryDirectory(prefix="tuning-workers-") as tmp:
        folder = Path(tmp)
        configs = 5 if args.quick else 30
        report["claims_sqlite"] = claim_overhead(f"sqlite:///{folder / 'claims.db'}", configs)
        print("sqlite", report["claims_sqlite"], flush=True)
        from helpers.postgres import postgres_server

        with postgres_server() as url:
            report["claims_postgresql"] = claim_overhead(url, configs)
        print("postgresql", report["claims_postgresql"], flush=True)
    if args.json:
        write_json(args.json, report)


if __name__ == "__main__":
    main()
