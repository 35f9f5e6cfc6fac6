"""What the per-epoch hook (issue 26) costs: today's code, no hook, and a hook that never stops, side by side.

Issue 26's goal: with no pruner set, the hook costs at most 2 % of a study's time. Three variants
fit the same small study:

* ``today``: the code before the hook (``--baseline``, default the commit before
  ``tuning/fit/_hook.py`` was added), extracted with ``git archive`` into a temporary folder;
* ``no_hook``: this tree, no hook (the default of every fit path);
* ``hook``: this tree, a hook that is told every epoch and answers "none stops" with one flag per
  fit (what a pruner that prunes nothing answers), so the whole path runs: the Keras callback in
  ``fit_one``, the per-replica values and the stop mask in the fused trainer.

The study: ``damped_sine`` (200 train / 60 val / 60 test series of 20 steps), a vanilla LSTM of
8 units, batch 32, ``--epochs`` epochs (default 15): 3 seeds through ``fit_one`` (TensorFlow) and
5 seeds as one TensorFlow fused graph (``fit_group``). Each variant runs in a fresh process
(``PYTHONPATH`` chooses the code), which first fits one untimed epoch so that no variant pays
TensorFlow's start; the variants run ``--reps`` times in rotated order (today, no_hook, hook;
no_hook, hook, today; ...) so that none profits from a machine whose load drifts. Reported per
variant: the median and the minimum of the timed fits' wall time, their ratio to ``today``, and
whether every per-seed score and curve equals ``today``'s (``no_hook`` must, bit for bit).

Wall times on 2 shared cores scatter by a few percent, more than the hook costs, so the hook's own
work is also timed directly: the callback's ``on_epoch_end`` and the fused trainer's per-epoch
hook code, called 20,000 times, in microseconds per epoch, against a study's seconds per epoch.

    python benchmarks/epoch_hook.py                   # 3 reps, about 6 minutes on 2 shared cores
    python benchmarks/epoch_hook.py --quick           # 1 rep, 3 epochs: a smoke run, not a measurement
    python benchmarks/epoch_hook.py --reps 5 --json reports/epoch_hook.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("today", "no_hook", "hook")

# One variant's study in a fresh process: its JSON on the last line.
WORKER = r"""
import json, sys, time
variant, epochs = sys.argv[1], int(sys.argv[2])
from tuning.fit import FitTask, fit_one
from tuning.fit.fused import fit_group
params = {"length": 20, "horizon": 5, "n_train": 200, "n_val": 60, "n_test": 60}
fit_section = {"shuffle": True}
def task(seed, e=epochs, units=8):
    return FitTask.make("damped_sine", params, fit_section, {"units": units, "epochs": e, "batch_size": 32}, seed)
calls = [0]
def never(epoch, fits, values):
    calls[0] += 1
    return [False] * len(fits)
hook = {"hook": never}.get(variant)
extra = () if hook is None else (hook,)
fit_one(task(99, 1))  # TensorFlow started, its functions traced once: paid by no variant
fit_group([task(s, 1) for s in (97, 98)])
started = time.perf_counter()
alone = [fit_one(task(seed), *extra) for seed in (0, 1, 2)]
one_seconds = time.perf_counter() - started
started = time.perf_counter()
fused = fit_group([task(seed) for seed in (0, 1, 2, 3, 4)], None, *extra)
fused_seconds = time.perf_counter() - started
print(json.dumps({"fit_one_seconds": one_seconds, "fused_seconds": fused_seconds, "hook_calls": calls[0],
                  "fits": [[f.seed, f.status, f.scores, f.curves, f.epochs_run] for f in alone + fused]}))
"""

# The hook's own work per epoch, timed directly in this tree.
DIRECT = r"""
import json, time
import numpy as np
from tuning.fit._hook import HookCallback, require_monitor, stop_mask
def never(epoch, fits, values):
    return [False] * len(fits)
class Model:
    stop_training = False
callback = HookCallback(never, ("c", 0), 100)
callback.set_model(Model())
logs = {"loss": 0.5, "mae": 0.4, "val_loss": 0.6, "val_mae": 0.5}
n = 20000
started = time.perf_counter()
for epoch in range(n):
    callback.on_epoch_end(epoch % 99, logs)
callback_us = (time.perf_counter() - started) / n * 1e6
curves = [{"val_loss": [0.6]} for _ in range(5)]
fits = [("c", s) for s in range(5)]
alive = np.ones(5, dtype=bool)
started = time.perf_counter()
for epoch in range(n):  # what train_and_score does per epoch with a hook
    trained = np.flatnonzero(alive)
    told = stop_mask(never(epoch, [fits[r] for r in trained],
                           np.array([curves[r]["val_loss"][-1] for r in trained])), len(trained))
fused_us = (time.perf_counter() - started) / n * 1e6
print(json.dumps({"callback_us_per_epoch": callback_us, "fused_us_per_epoch_5_replicas": fused_us}))
"""


def run(code: str, tree: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERAS_BACKEND", None)
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_commit() -> str:
    """The commit before the one that added ``tuning/fit/_hook.py``."""
    added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", "tuning/fit/_hook.py"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    if not added:
        raise SystemExit("tuning/fit/_hook.py is not committed: pass --baseline REV")
    return f"{added[-1]}^"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--baseline", help="git revision of today's code (default: before the hook)")
    parser.add_argument("--quick", action="store_true", help="1 rep of 3 epochs: a smoke run")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    reps, epochs = (1, 3) if args.quick else (args.reps, args.epochs)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import describe_machine, write_json

    baseline = args.baseline or baseline_commit()
    machine = describe_machine()
    print(f"machine: {machine}")
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder)
        archive = subprocess.run(["git", "archive", baseline, "tuning"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        trees = {"today": old, "no_hook": ROOT, "hook": ROOT}
        runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        started = time.perf_counter()
        for rep in range(reps):
            order = VARIANTS[rep % 3:] + VARIANTS[:rep % 3]
            for variant in order:
                runs[variant].append(run(WORKER, trees[variant], variant, str(epochs)))
                last = runs[variant][-1]
                print(f"rep {rep + 1} {variant:8s} fit_one {last['fit_one_seconds']:6.2f} s  "
                      f"fused {last['fused_seconds']:6.2f} s", flush=True)
        direct = run(DIRECT, ROOT)
    total = {v: [r["fit_one_seconds"] + r["fused_seconds"] for r in runs[v]] for v in VARIANTS}
    today_median = statistics.median(total["today"])
    today_min = min(total["today"])
    report = {"machine": machine, "baseline": baseline, "reps": reps, "epochs": epochs, "variants": {},
              "direct": direct, "seconds": time.perf_counter() - started}
    print(f"\n{'variant':8s} {'median s':>9s} {'min s':>7s} {'median/today':>13s} {'min/today':>10s}  same fits as today")
    for variant in VARIANTS:
        same = all(r["fits"] == t["fits"] for r, t in zip(runs[variant], runs["today"], strict=True))
        median, low = statistics.median(total[variant]), min(total[variant])
        report["variants"][variant] = {"median_seconds": median, "min_seconds": low, "median_ratio": median / today_median,
                                       "min_ratio": low / today_min, "same_fits_as_today": same,
                                       "hook_calls": runs[variant][0]["hook_calls"]}
        print(f"{variant:8s} {median:9.2f} {low:7.2f} {median / today_median:13.3f} {low / today_min:10.3f}  {same}")
    # the study's time per epoch: 3 fit_one fits and one fused graph, each `epochs` epochs
    per_epoch = today_median / epochs
    hook_us = 3 * direct["callback_us_per_epoch"] + direct["fused_us_per_epoch_5_replicas"]
    report["hook_share_direct"] = hook_us * 1e-6 / per_epoch
    print(f"\nthe hook's own work: {direct['callback_us_per_epoch']:.1f} us per epoch in fit_one's callback, "
          f"{direct['fused_us_per_epoch_5_replicas']:.1f} us per epoch of a 5-replica fused graph; "
          f"the study spends {per_epoch:.3f} s per epoch: hook_share={report['hook_share_direct']:.5f}")
    if args.json:
        write_json(args.json, report)


if __name__ == "__main__":
    main()
