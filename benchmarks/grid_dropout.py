"""A dropout grid, plain Keras loop against ``tuning run`` with ``runner: auto`` (issue 16).

The grid is the one of the issue: LSTM with 16 or 32 cells x dropout 0 or 0.2 x 5 seeds x 10
epochs (20 fits), batch 32, on a weekly-like series (ten years of weeks: trend, a yearly and a
half-yearly cycle, AR(1) noise; written to a temporary CSV and read by ``problem: csv`` with a
look-back of 26 weeks and a horizon of 1). Once for a vanilla LSTM and once for a 2-layer stacked
LSTM. Each side runs in a fresh Python process, timed from the outside as wall time, so both pay
their interpreter and TensorFlow start-up:

* ``plain loop``: what a practitioner writes by hand: for every (units, dropout, seed),
  ``keras.utils.set_random_seed``, a ``keras.Sequential`` of ``LSTM`` layers and a ``Dense`` head,
  ``compile(Adam(0.001), problem loss)``, ``fit(x, y, epochs=10, batch_size=32,
  validation_data=...)``, ``predict`` on the validation windows; on the same arrays as the study
  (the ``csv`` problem's windows);
* ``tuning auto``: ``tuning run spec.yaml --quiet`` in a fresh SQLite store, the grid sampler,
  ``runner: auto`` (the default), ``jobs: 1``; with ``--jobs2``, also ``jobs: 2``.

Ratios are taken side by side: the variants of one family run interleaved and mirrored (plain,
auto, auto, plain, ...), ``--repeats`` times, and each ratio is the auto time of a round over the
plain time of the same round. Goal: auto <= 0.25 x the plain loop. The mean val_loss per config
of both sides is printed too (same distribution, not same values: other masks, other pipeline).

    cd /work/main && python benchmarks/grid_dropout.py --json /tmp/bench/grid_dropout.json   # ~15 min
    python benchmarks/grid_dropout.py --quick     # a smoke run, not a measurement
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

GOAL = 0.25
SIZES = {
    "full": {"weeks": 520, "look_back": 26, "units": [16, 32], "dropout": [0.0, 0.2], "seeds": 5, "epochs": 10},
    "quick": {"weeks": 120, "look_back": 8, "units": [4], "dropout": [0.0, 0.2], "seeds": 2, "epochs": 2},
}
FAMILIES = {"vanilla": 1, "stacked": 2}  # recurrent layers


def write_weekly_series(path: Path, weeks: int, seed: int = 16) -> None:
    """Ten years of a weekly-like series: level, trend, yearly and half-yearly cycles, AR(1) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    noise = np.zeros(weeks)
    for i in range(1, weeks):
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 3.0)
    value = 200 + 0.08 * t + 25 * np.sin(2 * np.pi * t / 52.18) + 8 * np.cos(2 * np.pi * t / 26.09) + noise
    lines = ["week,value"] + [f"{i},{v:.2f}" for i, v in enumerate(value)]
    path.write_text("\n".join(lines) + "\n")


def problem_params(csv: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    return {"path": str(csv), "look_back": sizes["look_back"], "horizon": 1, "time_column": "week"}


def write_spec(folder: Path, family: str, sizes: dict[str, Any], csv: Path, jobs: int) -> Path:
    spec = {
        "name": f"grid-{family}", "problem": {"name": "csv", "params": problem_params(csv, sizes)},
        "model": {"family": family}, "fit": {"epochs": sizes["epochs"], "batch_size": 32},
        "space": {"units": sizes["units"], "dropout": sizes["dropout"]}, "sampler": "grid",
        "repeats": sizes["seeds"], "objective": {"metric": "val_loss"}, "runner": "auto", "jobs": jobs,
        "storage": f"sqlite:///{folder / 'study.db'}",
    }
    path = folder / "spec.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return path


PLAIN_LOOP = r'''
import json, sys, time
import numpy as np
import keras
from tuning.problems import load_problem

params, layers, sizes = json.loads(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
problem = load_problem("csv", params)
x, y, xv, yv = problem.x_train, problem.y_train, problem.x_val, problem.y_val
scores = {}
for units in sizes["units"]:
    for dropout in sizes["dropout"]:
        for seed in range(sizes["seeds"]):
            keras.utils.set_random_seed(seed)
            stack = [keras.Input(shape=x.shape[1:])]
            for i in range(layers):
                stack.append(keras.layers.LSTM(units, dropout=dropout, return_sequences=i < layers - 1))
            stack.append(keras.layers.Dense(y.shape[-1]))
            model = keras.Sequential(stack)
            model.compile(optimizer=keras.optimizers.Adam(0.001), loss=problem.loss)
            model.fit(x, y, epochs=sizes["epochs"], batch_size=32, validation_data=(xv, yv), verbose=0)
            prediction = model.predict(xv, verbose=0)
            scores.setdefault(f"{units}/{dropout}", []).append(problem.score(yv, prediction, None)["loss"])
print(json.dumps(scores))
'''


def run_plain(csv: Path, family: str, sizes: dict[str, Any]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PLAIN_LOOP, json.dumps(problem_params(csv, sizes)),
                          str(FAMILIES[family]), json.dumps(sizes)], capture_output=True, text=True, check=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    seconds = time.perf_counter() - started
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, {k: float(np.mean(v)) for k, v in scores.items()}


def run_tuning(csv: Path, family: str, sizes: dict[str, Any], jobs: int) -> tuple[float, dict[str, float], dict]:
    with tempfile.TemporaryDirectory() as folder:
        spec = write_spec(Path(folder), family, sizes, csv, jobs)
        tuning = Path(sys.executable).with_name("tuning")
        command = [str(tuning)] if tuning.exists() else [sys.executable, "-m", "tuning.cli"]
        started = time.perf_counter()
        subprocess.run([*command, "run", str(spec), "--quiet"], check=True, capture_output=True, text=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        seconds = time.perf_counter() - started
        from tuning.store import Store

        store = Store(f"sqlite:///{Path(folder) / 'study.db'}", create=False)
        rows = list(store.fit_rows(f"grid-{family}"))
        scores: dict[str, list[float]] = {}
        for row in rows:
            scores.setdefault(f"{row['config']['units']}/{row['config']['dropout']}", []).append(row["scores"]["val_loss"])
        graphs = len({(row["config"]["units"], row["fit_seconds"]) for row in rows})
        masks = store.study_record(f"grid-{family}")["dropout_masks"]
        store.engine.dispose()
    return seconds, {k: float(np.mean(v)) for k, v in scores.items()}, {"fits": len(rows), "graphs": graphs,
                                                                        "dropout_masks": masks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=2, help="mirrored rounds per family (default 2)")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), help="vanilla and/or stacked")
    parser.add_argument("--jobs2", action="store_true", help="also time `tuning run` with jobs: 2")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    import keras
    import optuna
    import tensorflow as tf

    machine = describe_machine(tf, keras, optuna)
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; load average "
          f"{', '.join(f'{v:.2f}' for v in machine['load_average_at_start'] or [])}; python {machine['python']}, "
          f"tensorflow {machine['tensorflow']}, keras {machine['keras']}")
    fits = len(sizes["units"]) * len(sizes["dropout"]) * sizes["seeds"]
    print(f"grid: units {sizes['units']} x dropout {sizes['dropout']} x {sizes['seeds']} seeds x {sizes['epochs']} "
          f"epochs ({fits} fits), batch 32, weekly-like series of {sizes['weeks']} weeks, look-back "
          f"{sizes['look_back']}", flush=True)
    report: dict[str, Any] = {"machine": machine, "sizes": sizes, "families": {}}
    variants = ["auto"] + (["auto-jobs2"] if args.jobs2 else [])
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "weekly.csv"
        write_weekly_series(csv, sizes["weeks"])
        for family in args.families:
            rounds = []
            for index in range(args.repeats):
                order = ["plain", *variants] if index % 2 == 0 else [*variants[::-1], "plain"]
                times: dict[str, Any] = {}
                for variant in order:
                    load = os.getloadavg()[0]
                    if variant == "plain":
                        seconds, scores = run_plain(csv, family, sizes)
                        extra: dict[str, Any] = {}
                    else:
                        seconds, scores, extra = run_tuning(csv, family, sizes, 2 if variant == "auto-jobs2" else 1)
                    times[variant] = {"seconds": seconds, "load": load, "mean_val_loss": scores, **extra}
                    print(f"  {family} round {index + 1}: {variant:<11} {seconds:6.1f} s (load {load:.1f}) "
                          f"{' '.join(f'{k}:{v:.4f}' for k, v in sorted(scores.items()))} "
                          f"{extra or ''}", flush=True)
                for variant in variants:
                    times[variant]["ratio_to_plain"] = times[variant]["seconds"] / times["plain"]["seconds"]
                rounds.append(times)
            report["families"][family] = rounds
            print(f"\n{family}: {'round':<7}{'plain s':>9}" + "".join(f"{v + ' s':>14}{'/ plain':>9}" for v in variants))
            for index, times in enumerate(rounds):
                print(f"{'':<8}{index + 1:<7}{times['plain']['seconds']:>9.1f}" + "".join(
                    f"{times[v]['seconds']:>14.1f}{times[v]['ratio_to_plain']:>9.2f}" for v in variants))
            for variant in variants:
                ratios = [times[variant]["ratio_to_plain"] for times in rounds]
                verdict = "met" if max(ratios) <= GOAL else ("met in some rounds" if min(ratios) <= GOAL else "MISSED")
                print(f"  goal {variant} <= {GOAL} x plain: {min(ratios):.2f}-{max(ratios):.2f} -> {verdict}\n", flush=True)
    machine["load_average_at_end"] = os.getloadavg()
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
