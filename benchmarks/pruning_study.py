"""Pruning on a real study: the same tutorial study with and without an epoch pruner, side by side.

Part (b) of issue 26's proof. A damped-sine forecasting study of 12 configs (LSTM units 2, 4, 8,
16 x learning rate 0.001, 0.003, 0.01) x 3 seeds x 30 epochs (no early stopping, so every
epoch a pruner saves is an epoch not trained) is run by the real ``tuning run`` command, once
with ``pruner: none`` and once per ``--pruner`` (default ``median`` with
``tuning.pruning.default_settings``: 5 startup configs, a warm-up of a third of the epochs), each
in a store of its own, one after the other in this run. Runner ``auto`` (fused seeds) with
``--jobs`` worker processes (default 1: with workers, a graph's copy of the pruner does not see
the configs other workers finish, as Optuna's parallel workers do not).

Per run: wall time, epochs trained (summed over the fits), configs pruned, the config picked (the
best complete trial) and whether it is the exhaustive run's pick. The last line:

    study_epoch_share=.. same_pick=.. wall_ratio=..      (for the first --pruner)

    python benchmarks/pruning_study.py                      # two runs, about 70 s on 2 cores
    python benchmarks/pruning_study.py --pruner median --pruner successive_halving --json out.json
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

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

STUDY = {
    "name": "pruning",
    "problem": {"name": "damped_sine", "params": {"length": 30, "horizon": 5, "n_train": 1000, "n_val": 300,
                                                  "n_test": 300}},
    "model": {"family": "vanilla", "units": 8, "optimizer": "adam", "learning_rate": 0.01},
    "fit": {"epochs": 30, "batch_size": 32},
    "space": {"units": [2, 4, 8, 16], "learning_rate": [0.001, 0.003, 0.01]},
    "sampler": "grid",
    "repeats": 3,
    "objective": {"metric": "val_mae", "aggregate": "mean"},
    "runner": "auto",
}


def run_study(folder: Path, pruner: str, jobs: int) -> dict:
    spec = {**STUDY, "pruner": pruner, "jobs": jobs, "storage": f"sqlite:///{folder / 'study.db'}"}
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    started = time.perf_counter()
    done = subprocess.run(["tuning", "run", str(folder / "spec.yaml"), "--quiet"], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"tuning run ({pruner}) failed: {done.stderr.strip()}")
    with sqlite3.connect(folder / "study.db") as conn:
        epochs, fits = conn.execute("SELECT SUM(epochs_run), COUNT(*) FROM tuning_fits").fetchone()
        pruned = conn.execute("SELECT COUNT(DISTINCT config_key) FROM tuning_fits WHERE status = 'pruned'").fetchone()[0]
    from tuning.analysis import load_results
    from tuning.store import open_store

    results = load_results("pruning", open_store(spec["storage"]))
    complete = results.trials[results.trials["status"] == "complete"]
    best = complete.sort_values("mean").iloc[0]
    return {"pruner": pruner, "wall_seconds": round(wall, 1), "epochs": int(epochs), "fits": int(fits),
            "configs_pruned": int(pruned), "pick": best["config_key"],
            "pick_params": {k.removeprefix("param_"): best[k] for k in ("param_units", "param_learning_rate")},
            "pick_mean": float(best["mean"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pruner", action="append", default=None, help="pruner(s) to run beside none (default median)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    pruners = args.pruner or ["median"]
    machine = describe_machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ["none", *pruners]:
            folder = Path(tmp) / pruner
            folder.mkdir()
            rows.append(run_study(folder, pruner, args.jobs))
            row = rows[-1]
            print(f"{pruner:>20}: {row['wall_seconds']:7.1f} s  {row['epochs']:5d} epochs  "
                  f"{row['configs_pruned']:2d} configs pruned  pick {row['pick_params']} ({row['pick_mean']:.4f})",
                  flush=True)
    full = rows[0]
    for row in rows[1:]:
        row["epoch_share"] = row["epochs"] / full["epochs"]
        row["wall_ratio"] = row["wall_seconds"] / full["wall_seconds"]
        row["same_pick"] = row["pick"] == full["pick"]
    first = rows[1]
    print(f"study_epoch_share={first['epoch_share']:.2f} same_pick={int(first['same_pick'])} "
          f"wall_ratio={first['wall_ratio']:.2f}")
    if args.json:
        write_json(args.json, {"machine": machine, "jobs": args.jobs, "study": STUDY, "runs": rows})


if __name__ == "__main__":
    main()
