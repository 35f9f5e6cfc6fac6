"""Fused seeds (issue 6): time of R seeds fused in one graph, as a ratio to one standalone fit.

For each config, in one process: one standalone ``fit_one`` (seed 0), then ``fit_group`` with
R = 1, 5, 10, 20 replicas (seeds 0..R-1), then the standalone fit again (mirrored). The process
runs with the fused runner's TensorFlow threads (``tuning.fit.fused.GRAPH_THREADS``, one: the
replica-batched ops are too small to gain from a second thread and lose to its synchronisation);
a standalone Keras fit may prefer TensorFlow's default threads, so it is also timed twice in a
fresh process with the default threads (``--threads`` pins both sides instead). The reference
"one standalone fit" is the fastest of all standalone timings. Printed per R: seconds, time(fused R) / time(one standalone fit), and
the speed-up over R sequential standalone fits, estimated as R x time(one standalone fit) (the
R sequential fits are not run: that would take most of the benchmark's time and tell nothing
the single fit does not, since ``fit_one`` fits one seed after another).

Every timed fused fit includes everything ``fit_group`` does: building the R standalone models
for their initial weights, the batch orders, tracing the graph, training, validation, scoring.

    cd /work/main && python benchmarks/fused.py --json /tmp/bench/fused.json
    python benchmarks/fused.py --quick     # a smoke run of the script, not a measurement
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

PROBLEM = "damped_sine"
SIZES = {
    "full": {"problem_params": {"length": 50, "horizon": 5, "n_train": 2000, "n_val": 500, "n_test": 0},
             "epochs": 5, "replicas": [1, 5, 10, 20],
             "configs": {"vanilla-20": {"family": "vanilla", "units": 20},
                         "stacked-20x2": {"family": "stacked", "units": 20},
                         "vanilla-50": {"family": "vanilla", "units": 50},
                         "vanilla-10": {"family": "vanilla", "units": 10}}},
    "quick": {"problem_params": {"length": 10, "horizon": 2, "n_train": 64, "n_val": 16, "n_test": 0},
              "epochs": 2, "replicas": [1, 3], "configs": {"vanilla-4": {"family": "vanilla", "units": 4}}},
}
GOAL = 1.5  # 10 seeds fused within 1.5 x the time of one standalone fit


def load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def timed(function) -> tuple[float, float, Any]:
    """(wall seconds, load average before, result)."""
    before = load()
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, before, result


def standalone_with_default_threads(task) -> list[float]:
    """Seconds of two ``fit_one`` of ``task`` in a fresh process with TensorFlow's default threads (after a warm-up)."""
    import subprocess
    from dataclasses import asdict

    script = (
        "import json, sys, time\n"
        "from tuning.fit import EarlyStopping, FitSettings, FitTask, fit_one\n"
        "fields = json.loads(sys.argv[1]); fit = fields.pop('fit'); early = fit.pop('early_stopping')\n"
        "task = FitTask(**fields, fit=FitSettings(**fit, early_stopping=early and EarlyStopping(**early)))\n"
        "fit_one(FitTask(task.problem_name, task.problem_params_json, {**task.config, 'epochs': 1}, 'warm', 0, task.fit))\n"
        "times = []\n"
        "for _ in range(2):\n"
        "    started = time.perf_counter(); fit_one(task); times.append(time.perf_counter() - started)\n"
        "print(json.dumps(times))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, json.dumps(asdict(task))], capture_output=True, text=True,
                         check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_grid(named_config, make_tasks, rows) -> dict:
    """A small grid x seeds as one graph (stretch of issue 6) and as one graph per config."""
    from tuning.fit import fused
    from tuning.runners import FusedRunner, SequentialRunner

    name, config = named_config
    grid = [{**config, "learning_rate": rate, "initializer": init}
            for rate in (0.01, 0.003, 0.001) for init in ("glorot_uniform", "he_normal")]
    tasks = [task for point in grid for task in make_tasks(point, 5)]
    out = {"config": name, "configs": len(grid), "seeds": 5}
    runs = {"one graph per config": lambda: [r for point in grid for r in fused.fit_group(make_tasks(point, 5))],
            "one shared graph": lambda: list(FusedRunner(fallback=SequentialRunner()).map(tasks))}
    for label, run in runs.items():
        seconds, load_before, results = timed(run)
        graphs = len({r.fit_seconds for r in results})
        out[label] = {"seconds": seconds, "load": load_before, "graphs": graphs, "ok": sum(r.ok for r in results)}
        print(f"\ngrid {len(grid)} configs x 5 seeds of {name}, {label}: {seconds:.1f} s in {graphs} graph(s) "
              f"(load {load_before:.1f}), {out[label]['ok']}/{len(tasks)} ok", flush=True)
    if name in rows:
        reference = min(rows[name]["standalone_seconds"] + rows[name]["standalone_default_threads_seconds"])
        out["one_standalone_fit"] = reference
        for label in ("one graph per config", "one shared graph"):
            print(f"  {label}: {out[label]['seconds'] / reference:.2f} x one standalone fit, "
                  f"{len(tasks) * reference / out[label]['seconds']:.1f} x faster than {len(tasks)} fits")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--configs", nargs="*", help="names of the configs to run (default: all)")
    parser.add_argument("--replicas", nargs="*", type=int, help="replica counts (default 1 5 10 20)")
    parser.add_argument("--threads", type=int, help="TensorFlow intra/inter-op threads for both sides "
                        "(default: the fused runner's for the process, and a subprocess with TF's default for standalone fits)")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--grid", action="store_true",
                        help="also time a 3 learning rates x 2 initializers x 5 seeds grid of the first config: "
                             "one shared graph (per-replica rates) against one graph per config")
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    replicas = args.replicas or sizes["replicas"]
    configs = {k: v for k, v in sizes["configs"].items() if not args.configs or k in args.configs}

    from tuning.fit import FitSettings, FitTask, configure_threads, fit_one, import_tensorflow_quietly

    import_tensorflow_quietly()
    from tuning.fit.fused import GRAPH_THREADS

    configure_threads(args.threads or GRAPH_THREADS)  # before any op runs, for the whole process
    import keras
    import optuna
    import tensorflow as tf

    from tuning.fit.fused import fit_group
    from tuning.runners import FusedRunner, SequentialRunner
    from tuning.spec import config_key

    machine = describe_machine(tf, keras, optuna)
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; load average "
          f"{', '.join(f'{v:.2f}' for v in machine['load_average_at_start'] or [])}")
    print(f"python {machine['python']}, tensorflow {machine['tensorflow']}, keras {machine['keras']}; "
          f"TF threads in this process: {args.threads or GRAPH_THREADS}")
    machine["tf_threads"] = args.threads
    params = json.dumps(sizes["problem_params"], sort_keys=True)
    print(f"problem {PROBLEM} {sizes['problem_params']}, batch 32, {sizes['epochs']} epochs, no early stopping")

    def make_tasks(config: dict, count: int) -> list[FitTask]:
        config = {**config, "epochs": sizes["epochs"], "batch_size": 32}
        return [FitTask(PROBLEM, params, config, config_key(config), seed, FitSettings.resolve({"shuffle": True}, config))
                for seed in range(count)]

    # Warm-up: TensorFlow's first fit and first fused graph pay one-off costs in this process.
    warm = {"family": "vanilla", "units": 4}
    fit_one(make_tasks(warm, 1)[0])
    fit_group(make_tasks(warm, 2))
    two_workers = FusedRunner(jobs=2, fallback=SequentialRunner())
    list(two_workers.map(make_tasks(warm, 2)))  # starts both workers (TensorFlow imported in each)

    report: dict[str, Any] = {"machine": machine, "problem": PROBLEM, **sizes, "configs": configs, "rows": {}}
    for name, config in configs.items():
        (task,) = make_tasks(config, 1)
        first, load_first, single = timed(lambda task=task: fit_one(task))
        print(f"\n{name}: standalone fit_one {first:.1f} s (load {load_first:.1f})", flush=True)
        rows = []
        for count in replicas:
            seconds, load_before, results = timed(lambda count=count, config=config: fit_group(make_tasks(config, count)))
            ok = sum(r.ok for r in results)
            rows.append({"replicas": count, "seconds": seconds, "load": load_before, "ok": ok,
                         "val_loss_seed0": results[0].scores.get("val_loss")})
            print(f"  fused R={count:<3} {seconds:6.1f} s (load {load_before:.1f}), {ok}/{count} ok", flush=True)
        if 10 in replicas:  # the runner with --jobs 2: the 10 replicas as two graphs of 5, one per worker
            seconds, load_before, results = timed(lambda config=config: list(two_workers.map(make_tasks(config, 10))))
            rows.append({"replicas": 10, "jobs": 2, "seconds": seconds, "load": load_before,
                         "ok": sum(r.ok for r in results)})
            print(f"  fused R=10, --jobs 2 (two graphs of 5 in two workers) {seconds:6.1f} s (load {load_before:.1f})",
                  flush=True)
        again, load_again, _ = timed(lambda task=task: fit_one(task))
        print(f"  standalone fit_one again {again:.1f} s (load {load_again:.1f})", flush=True)
        default_threads = [] if args.threads else standalone_with_default_threads(task)
        if default_threads:
            print(f"  standalone fit_one, TF's default threads (fresh process): "
                  f"{', '.join(f'{t:.1f}' for t in default_threads)} s", flush=True)
        reference = min([first, again, *default_threads])
        for row in rows:
            row["ratio_to_one_fit"] = row["seconds"] / reference
            row["speedup_over_sequential"] = row["replicas"] * reference / row["seconds"]
        print(f"  {'R':>4}{'seconds':>9}{'/ one fit':>11}{'x faster than R fits':>22}{'load':>7}")
        for row in rows:
            label = f"{row['replicas']}/j2" if row.get("jobs") else str(row["replicas"])
            print(f"  {label:>4}{row['seconds']:>9.1f}{row['ratio_to_one_fit']:>11.2f}"
                  f"{row['speedup_over_sequential']:>22.1f}{row['load']:>7.1f}")
        ten = next((r for r in rows if r["replicas"] == 10 and not r.get("jobs")), None)
        if ten is not None:
            verdict = "met" if ten["ratio_to_one_fit"] <= GOAL else "MISSED"
            print(f"  goal: 10 seeds <= {GOAL} x one fit: {ten['ratio_to_one_fit']:.2f} -> {verdict}")
        report["rows"][name] = {"standalone_seconds": [first, again], "standalone_loads": [load_first, load_again],
                                "standalone_default_threads_seconds": default_threads,
                                "val_loss_seed0_standalone": single.scores.get("val_loss"), "fused": rows}
    if args.grid:
        report["grid"] = time_grid(next(iter(configs.items())), make_tasks, report["rows"])
    machine["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"\nload average at the end {', '.join(f'{v:.2f}' for v in machine['load_average_at_end'] or [])}")
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
