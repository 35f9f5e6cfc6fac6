"""Keras 3 on TensorFlow and on JAX, side by side in one run (issue 24): one line per case.

The same grid of fits, four ways, each case in a fresh process (Keras picks its backend when it is
first imported, so a process holds one backend) and timed from the process's start to its end,
imports and compilation included (wall time, and the CPU time of the process and its workers,
which a machine shared with other jobs disturbs less):

* ``keras-tf`` / ``keras-jax``: a plain Keras loop, one fit after another (``clear_session``,
  ``set_random_seed``, build, ``model.fit`` on NumPy arrays with a validation set), on each backend;
* ``tuning-tf``: ``tuning run`` on TensorFlow (``runner: auto``: the seeds of a config fused);
* ``tuning-jax``: ``tuning run`` on JAX (``keras_backend: jax``; ``runner: auto``: the seeds of a
  config fused with ``jax.vmap``);
* ``tuning-jax-seq``: the same with ``runner: sequential`` (one seed at a time, Keras's ``fit``);
* ``tuning-jax-warm``: ``tuning-jax`` again, a second study of the same shapes: JAX's persistent
  compilation cache (``$TUNING_JAX_CACHE``) now holds what ``tuning-jax`` compiled, as it does on a
  machine that has run such a study before. Every other JAX case starts from an empty cache of
  its own, so it measures the compiles.

``--study`` picks the grid, on damped sines (2,000 windows of 50 steps forecasting 5 with ``--size
full``; 1,000 of 30 with ``--size small``, the default, kinder to a shared 2-core machine):

* ``co2`` (the default): CO2-like, an LSTM of 16 or 32 cells x learning rate 0.01 or 0.001 x 5
  seeds (20 fits), batch 32, 10 epochs;
* ``families``: the tutorials' families (vanilla, stacked, bidirectional, gru, cnn_lstm,
  encoder_decoder) of 16 cells x 3 seeds (18 fits), 50 epochs; ``tuning`` cases only;
* ``builder``: your own model, a Conv1D + LSTM builder on an ``arrays`` problem read from an
  ``.npz`` file (the same windows), 8 or 16 filters x 16 or 32 cells x 2 seeds (8 fits), 20
  epochs; on TensorFlow fitted one at a time (a builder's models are not fused there), on JAX
  each config's 2 seeds fused (``tuning-jax-seq``: one at a time); ``tuning`` cases only.

The load average is printed before each case: on a shared machine compare cases of one run, not runs.

    cd /work/main && python benchmarks/backends.py --json /tmp/bench/backends.json
    python benchmarks/backends.py --size full --epochs 10
    python benchmarks/backends.py --study families --cases tuning-tf,tuning-jax,tuning-jax-warm
    python benchmarks/backends.py --study builder --cases tuning-tf,tuning-jax
    python benchmarks/backends.py --quick      # a smoke run of the script, not a measurement
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

SIZES = {
    "full": {"length": 50, "horizon": 5, "n_train": 2000, "n_val": 500, "n_test": 0},
    "small": {"length": 30, "horizon": 5, "n_train": 1000, "n_val": 300, "n_test": 0},
    "quick": {"length": 10, "horizon": 2, "n_train": 64, "n_val": 16, "n_test": 0},
}
UNITS = [16, 32]
LEARNING_RATES = [0.01, 0.001]
CASES = ("keras-tf", "keras-jax", "tuning-tf", "tuning-jax", "tuning-jax-warm", "tuning-jax-seq")

# The plain Keras loop, run in its own process with KERAS_BACKEND set before Keras is imported.
KERAS_LOOP = """
import json, sys
import keras
from tuning.problems import load_problem
args = json.loads(sys.argv[1])
p = load_problem("damped_sine", args["params"])
for units in args["units"]:
    for lr in args["learning_rates"]:
        for seed in range(args["seeds"]):
            keras.backend.clear_session(free_memory=False)
            keras.utils.set_random_seed(seed)
            model = keras.Sequential([keras.Input(p.x_train.shape[1:]), keras.layers.LSTM(units),
                                      keras.layers.Dense(p.y_train.shape[1])])
            model.compile(keras.optimizers.Adam(lr), "mae")
            model.fit(p.x_train, p.y_train, batch_size=32, epochs=args["epochs"],
                      validation_data=(p.x_val, p.y_val), verbose=0)
"""


FAMILIES = ["vanilla", "stacked", "bidirectional", "gru", "cnn_lstm", "encoder_decoder"]
#: study -> (default epochs, default seeds)
STUDIES = {"co2": (10, 5), "families": (50, 3), "builder": (20, 2)}

# The builder of the ``builder`` study, written beside its .npz file.
CONV_LSTM = """
import keras

def build(config, problem):
    inputs = keras.Input(shape=problem.input_shape)
    x = keras.layers.Conv1D(config["filters"], 3, padding="same", activation="relu")(inputs)
    x = keras.layers.LSTM(config["units"])(x)
    return keras.Model(inputs, keras.layers.Dense(problem.output_shape[-1])(x))
"""


def spec_text(study: str, name: str, params: dict, epochs: int, seeds: int, keras_backend: str, runner: str,
              workdir: Path) -> str:
    """The tuning spec of ``study``'s grid, on ``keras_backend`` with ``runner``."""
    problem = {"name": "damped_sine", "params": params}
    model = {"family": "vanilla", "optimizer": "adam", "loss": "mae"}
    space: dict = {"units": UNITS, "learning_rate": LEARNING_RATES}
    if study == "families":
        space = {"family": FAMILIES, "units": [16]}
    elif study == "builder":
        problem = {"name": "arrays", "params": {"path": str(_builder_files(params, workdir))}}
        model = {"builder": f"{workdir / 'conv_lstm.py'}:build", "optimizer": "adam", "loss": "mae"}
        space = {"filters": [8, 16], "units": UNITS}
    return json.dumps({
        "name": name, "problem": problem, "model": model, "fit": {"epochs": epochs, "batch_size": 32},
        "space": space, "sampler": "grid", "repeats": seeds, "objective": {"metric": "val_mae"},
        "keras_backend": keras_backend, "runner": runner,
    })


def _builder_files(params: dict, workdir: Path) -> Path:
    """The ``builder`` study's data (the damped sines' windows as an .npz file) and builder module."""
    import numpy as np

    from tuning.problems import load_problem

    path = workdir / "windows.npz"
    if not path.exists():
        p = load_problem("damped_sine", params)
        np.savez(path, x_train=p.x_train, y_train=p.y_train, x_val=p.x_val, y_val=p.y_val)
        (workdir / "conv_lstm.py").write_text(CONV_LSTM)
    return path


def fit_count(study: str, seeds: int) -> int:
    """How many fits ``study``'s grid makes with ``seeds`` seeds."""
    configs = {"co2": len(UNITS) * len(LEARNING_RATES), "families": len(FAMILIES), "builder": 2 * len(UNITS)}
    return configs[study] * seeds


def command(study: str, case: str, params: dict, epochs: int, seeds: int, workdir: Path) -> tuple[list[str], dict]:
    """The command that runs ``case`` and its environment."""
    backend = "jax" if "jax" in case else "tensorflow"
    # each JAX case its own empty compilation cache, but the warm one, which finds tuning-jax's
    cache = workdir / f"jax-cache-{case.removesuffix('-warm')}"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "TUNING_JAX_CACHE": str(cache)}
    if case.startswith("keras"):
        args = {"params": params, "units": UNITS, "learning_rates": LEARNING_RATES, "epochs": epochs, "seeds": seeds}
        return [sys.executable, "-c", KERAS_LOOP, json.dumps(args)], env
    spec = workdir / f"{case}.yaml"
    runner = "sequential" if case.endswith("-seq") else "auto"
    # a study of its own (a second run of one study would reuse the stored fits)
    name = f"{study}_{case.replace('-', '_')}"
    spec.write_text(spec_text(study, name, params, epochs, seeds, backend, runner, workdir))  # JSON is YAML
    return [sys.executable, "-m", "tuning.cli", "run", str(spec), "--quiet",
            "--storage", f"sqlite:///{workdir / 'bench.db'}"], env


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (and theirs): on a machine shared
    with other jobs, a steadier measure of a case's work than its wall time."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--study", choices=sorted(STUDIES), default="co2")
    parser.add_argument("--epochs", type=int, help="default: the study's (co2 10, families 50, builder 20)")
    parser.add_argument("--seeds", type=int, help="default: the study's (co2 5, families 3, builder 2)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated, of " + ", ".join(CASES))
    parser.add_argument("--quick", action="store_true", help="tiny data, 2 epochs, 2 seeds: a smoke run")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    cases = args.cases.split(",")
    if "tuning-jax-warm" in cases and "tuning-jax" not in cases[:cases.index("tuning-jax-warm")]:
        parser.error("tuning-jax-warm finds the programs tuning-jax compiled: name tuning-jax before it")
    if args.study != "co2" and any(case.startswith("keras") for case in cases):
        parser.error(f"the plain Keras loop is the co2 grid's only: --cases tuning-... for --study {args.study}")
    epochs, seeds = args.epochs or STUDIES[args.study][0], args.seeds or STUDIES[args.study][1]
    size, epochs, seeds = ("quick", 2, 2) if args.quick else (args.size, epochs, seeds)
    params = SIZES[size]
    fits = fit_count(args.study, seeds)
    print(f"study {args.study}: {fits} fits ({seeds} seeds), {epochs} epochs, size {size}: {params}")
    machine = describe_machine()  # the load average before the first case
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            cmd, env = command(args.study, case, params, epochs, seeds, Path(tmp))
            load = os.getloadavg()[0]
            cpu_before = _children_cpu()
            started = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
            seconds = time.perf_counter() - started
            cpu = _children_cpu() - cpu_before
            ok = done.returncode == 0
            rows.append({"case": case, "seconds": seconds, "cpu_seconds": cpu, "load_before": load, "ok": ok,
                         "error": None if ok else (done.stderr.strip().splitlines() or ["?"])[-1]})
            print(f"{case:15s} {seconds:7.1f} s wall, {cpu:7.1f} s CPU  ({seconds / fits:.2f} s a fit; "
                  f"load {load:.2f} before)" + ("" if ok else f"  FAILED: {rows[-1]['error']}"), flush=True)
    for measure in ("seconds", "cpu_seconds"):
        by_case = {r["case"]: r[measure] for r in rows if r["ok"]}
        for a, b in (("keras-jax", "keras-tf"), ("tuning-jax", "tuning-tf"), ("tuning-jax-warm", "tuning-tf"),
                     ("tuning-jax", "keras-jax"), ("tuning-jax", "tuning-jax-seq")):
            if a in by_case and b in by_case:
                print(f"{a} / {b} ({'wall' if measure == 'seconds' else 'CPU'}): {by_case[a] / by_case[b]:.2f}")
    if args.json:
        from importlib.metadata import version

        versions = {name: version(name) for name in ("keras", "jax", "tensorflow")}
        write_json(args.json, {"machine": machine, **versions, "study": args.study, "size": size, "params": params,
                               "epochs": epochs, "seeds": seeds, "fits": fits, "rows": rows})


if __name__ == "__main__":
    main()
