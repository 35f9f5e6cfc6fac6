"""What ``tuning`` costs on top of plain Keras, as ratios measured in one process.

What is measured
----------------
One small study - problem ``damped_sine`` (300 train / 100 val / 100 test series of 20 steps,
horizon 5), a vanilla LSTM with ``units`` in [4, 8, 16, 32], 3 seeds per config (12 fits),
5 epochs, batch 32 - is run four ways, each timed as wall time:

1. ``tuning, sequential``: ``tuning.run_study(spec, storage=<fresh SQLite file>,
   runner="sequential")`` - everything a user of the Python API pays: spec validation, the
   baseline, Optuna ask/tell, one SQLite transaction per fit, ``clear_session`` per fit.
2. ``tuning, --jobs 2``: the same study in a fresh store with ``jobs=2`` (joblib/loky worker
   processes, one TensorFlow thread each). Starting the workers (each imports TensorFlow) is
   part of what a user pays and is included; it is also timed on its own at the end.
3. ``plain loop, same pipeline``: a hand-written loop over the same 12 (config, seed) fits:
   ``keras.utils.set_random_seed``, ``build_model``, ``tuning.fit.pipeline.fit_data``,
   ``model.fit(..., validation_data=...)``, ``model.predict`` on val and test. That is exactly
   the Keras work of a study and none of its bookkeeping: the strict baseline of the target
   "tuning sequential / plain <= 1.10".
4. ``plain loop, NumPy arrays``: what a practitioner writes, ``model.fit(x, y,
   validation_data=(x_val, y_val), batch_size=32, epochs=5, shuffle=True)`` then
   ``model.evaluate`` on val and test. Reported for context only: Keras rebuilds its NumPy
   input pipeline every epoch, so the ``tf.data`` pipeline of ``tuning`` is expected to be
   *faster* than this loop, and a ratio against it would flatter ``tuning``.

The per-seed ``val_loss`` of the sequential study is checked against the plain loop (same
pipeline): same seed, same model, same batches, so they must agree to 1e-6 (they are identical).

Why these sizes
---------------
On 2 CPU cores a fit of this size takes about 2.5-3 s: roughly 1 s of fixed cost for a fresh
model (building it, tracing its train/test/predict functions) plus 5 epochs of 10 steps. The
bookkeeping of ``tuning`` is a fixed cost per fit and per trial, so a study of short fits is
the unflattering case (with long fits every overhead ratio tends to 1), and it is also the
common case of the tutorials' problems. 12 fits take 30-60 s per variant; the six timed runs
below plus warm-up then take 4-5 minutes (less as the overhead of ``tuning`` shrinks), about
the most a benchmark that people actually re-run should cost. Fewer fits would make the ratios noisier than the 10 % they are meant to resolve.
``--quick`` (2 configs x 2 seeds, 2 epochs, tiny data) is a smoke run of the script, not a
measurement.

How it is kept fair
-------------------
TensorFlow (and Optuna, SQLAlchemy, joblib) are imported and one tiny fit is run before any
timing, so no variant pays the imports; the import times are printed separately. The two
variants the 1.10 target compares are each run twice in mirrored order (plain, tuning, ...,
tuning, plain) and the minimum is kept, so neither profits from running first or last on a
machine whose load drifts. ``--jobs 2`` is run once only: loky keeps its workers alive, so a
second run in this process would skip the worker start-up a user pays. Nothing is asserted:
the targets are reported, and the script exits 0 unless something crashes.

Usage::

    python benchmarks/overhead.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _machine import describe_machine, write_json

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROBLEM = "damped_sine"
SIZES = {
    "full": {
        "problem_params": {"n_train": 300, "n_val": 100, "n_test": 100, "length": 20},
        "units": [4, 8, 16, 32], "seeds": [0, 1, 2], "epochs": 5, "batch_size": 32,
    },
    "quick": {
        "problem_params": {"n_train": 64, "n_val": 32, "n_test": 32, "length": 10},
        "units": [4, 8], "seeds": [0, 1], "epochs": 2, "batch_size": 32,
    },
}
# Mirrored so that neither side of the main ratio is favoured by its position.
SCHEDULE = {
    "full": ["plain_pipeline", "tuning_sequential", "tuning_jobs2", "plain_numpy", "tuning_sequential",
             "plain_pipeline"],
    "quick": ["plain_pipeline", "tuning_sequential", "tuning_jobs2", "plain_numpy"],
}
LABELS = {
    "tuning_sequential": "tuning, sequential",
    "tuning_jobs2": "tuning, --jobs 2",
    "plain_pipeline": "plain loop, same pipeline",
    "plain_numpy": "plain loop, NumPy arrays",
}
TARGET_SEQUENTIAL_RATIO = 1.10
JOBS = 2
SAME_LOSS_TOLERANCE = 1e-6


# -- set-up ---------------------------------------------------------------------------------------

def study_spec(sizes: dict[str, Any], name: str) -> dict[str, Any]:
    """The study as a spec mapping: a grid over ``units``, one fit per (config, seed)."""
    return {
        "name": name,
        "problem": {"name": PROBLEM, "params": sizes["problem_params"]},
        "model": {"family": "vanilla", "cell": "lstm"},
        "fit": {"epochs": sizes["epochs"], "batch_size": sizes["batch_size"], "shuffle": True},
        "space": {"units": sizes["units"]},
        "sampler": "grid",
        "repeats": {"seeds": sizes["seeds"]},
        "objective": {"metric": "val_loss", "aggregate": "mean"},
    }


def model_config(units: int) -> dict[str, Any]:
    """The model a trial of the study builds (``build_model`` fills in every other default)."""
    return {"family": "vanilla", "cell": "lstm", "units": units}


def import_and_warm_up() -> dict[str, float]:
    """Import everything the variants use and run one tiny fit both ways; return what each took."""
    seconds = {}
    # fit_one silences TensorFlow's retracing warnings (every fit traces a new model); do the same
    # here so that the plain loops print no more than the tuning runs.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    started = time.perf_counter()
    import keras
    import tensorflow as tf  # noqa: F401

    seconds["tensorflow+keras"] = time.perf_counter() - started
    started = time.perf_counter()
    import joblib  # noqa: F401
    import optuna  # noqa: F401
    import pandas  # noqa: F401
    import sqlalchemy  # noqa: F401

    import tuning.backends.optuna  # noqa: F401
    seconds["optuna+sqlalchemy+pandas+joblib"] = time.perf_counter() - started

    from tuning.fit.pipeline import fit_data
    from tuning.models import build_model
    from tuning.problems import load_problem

    started = time.perf_counter()
    problem = load_problem("tenths")
    keras.utils.set_random_seed(0)
    model = build_model(model_config(2), problem)
    data = fit_data(problem.x_train, problem.y_train, problem.x_val, problem.y_val, batch_size=5, seed=0, shuffle=True)
    model.fit(data.train, steps_per_epoch=data.steps_per_epoch, validation_data=data.validation,
              validation_steps=data.validation_steps, epochs=1, verbose=0, shuffle=False)
    model.predict(problem.x_val, verbose=0)
    model.fit(problem.x_train, problem.y_train, validation_data=(problem.x_val, problem.y_val), epochs=1, verbose=0,
              shuffle=True)
    model.evaluate(problem.x_val, problem.y_val, verbose=0)
    seconds["first tiny fit"] = time.perf_counter() - started
    return seconds


# -- the four variants ----------------------------------------------------------------------------

def time_tuning_study(sizes: dict[str, Any], workdir: Path, name: str, jobs: int) -> dict[str, Any]:
    """Run the study through ``tuning.run_study`` into a fresh SQLite file; the wall time includes everything."""
    import tuning

    storage = f"sqlite:///{workdir / (name + '.db')}"
    runner = "processes" if jobs > 1 else "sequential"
    started = time.perf_counter()
    outcome = tuning.run_study(study_spec(sizes, name), storage=storage, runner=runner, jobs=jobs)
    seconds = time.perf_counter() - started
    expected = len(sizes["units"]) * len(sizes["seeds"])
    if outcome.fits_run != expected or outcome.complete != len(sizes["units"]):
        raise RuntimeError(f"{name}: expected {expected} fits in {len(sizes['units'])} trials, got {outcome}")
    losses, fit_seconds = stored_val_losses(name, storage)
    return {"seconds": seconds, "val_loss": losses, "fit_seconds": fit_seconds}


def stored_val_losses(name: str, storage: str) -> tuple[dict[tuple[int, int], float], float]:
    """(units, seed) -> stored val_loss, and the sum of the stored ``fit_seconds`` (fit + scoring)."""
    import tuning

    fits = tuning.load_results(name, storage=storage).fits
    losses = {(int(row.param_units), int(row.seed)): float(row.val_loss) for row in fits.itertuples()}
    return losses, float(fits["fit_seconds"].sum())


def time_plain_pipeline(sizes: dict[str, Any], problem: Any) -> dict[str, Any]:
    """The Keras work of the study by hand: seed, build, ``fit_data``, fit, predict val and test."""
    import keras

    from tuning.fit.pipeline import fit_data
    from tuning.models import build_model

    predictions, fit_seconds = {}, 0.0
    started = time.perf_counter()
    for units in sizes["units"]:
        for seed in sizes["seeds"]:
            keras.utils.set_random_seed(seed)
            model = build_model(model_config(units), problem)
            fit_started = time.perf_counter()
            data = fit_data(problem.x_train, problem.y_train, problem.x_val, problem.y_val,
                            batch_size=sizes["batch_size"], seed=seed, shuffle=True)
            model.fit(data.train, steps_per_epoch=data.steps_per_epoch, validation_data=data.validation,
                      validation_steps=data.validation_steps, epochs=sizes["epochs"], verbose=0, shuffle=False)
            # the same prediction batch as tuning's scoring, so only the bookkeeping differs
            predictions[units, seed] = model.predict(problem.x_val, batch_size=len(problem.x_val), verbose=0)
            model.predict(problem.x_test, batch_size=len(problem.x_test), verbose=0)
            fit_seconds += time.perf_counter() - fit_started
    seconds = time.perf_counter() - started
    losses = {key: problem.score(problem.y_val, pred)["loss"] for key, pred in predictions.items()}
    return {"seconds": seconds, "val_loss": losses, "fit_seconds": fit_seconds}


def time_plain_numpy(sizes: dict[str, Any], problem: Any) -> dict[str, Any]:
    """The loop a practitioner writes: ``fit`` on NumPy arrays, ``evaluate`` on val and test."""
    import keras

    from tuning.models import build_model

    losses, fit_seconds = {}, 0.0
    started = time.perf_counter()
    for units in sizes["units"]:
        for seed in sizes["seeds"]:
            keras.utils.set_random_seed(seed)
            model = build_model(model_config(units), problem)
            fit_started = time.perf_counter()
            model.fit(problem.x_train, problem.y_train, validation_data=(problem.x_val, problem.y_val),
                      batch_size=sizes["batch_size"], epochs=sizes["epochs"], shuffle=True, verbose=0)
            val = model.evaluate(problem.x_val, problem.y_val, verbose=0, return_dict=True)
            model.evaluate(problem.x_test, problem.y_test, verbose=0)
            fit_seconds += time.perf_counter() - fit_started
            losses[units, seed] = float(val["loss"])
    return {"seconds": time.perf_counter() - started, "val_loss": losses, "fit_seconds": fit_seconds}


def stop_loky_workers() -> None:
    """Shut down joblib's reusable worker pool, so later variants share the cores with nobody."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def _import_tensorflow_in_worker() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf  # noqa: F401

    return os.getpid()


def time_worker_startup(jobs: int) -> dict[str, Any]:
    """Seconds for a fresh loky pool of ``jobs`` workers to import TensorFlow (the ``--jobs`` entry fee)."""
    from joblib import Parallel, delayed

    stop_loky_workers()
    started = time.perf_counter()
    pids = Parallel(n_jobs=jobs, backend="loky")(delayed(_import_tensorflow_in_worker)() for _ in range(jobs))
    seconds = time.perf_counter() - started
    stop_loky_workers()
    return {"seconds": seconds, "distinct_workers": len(set(pids))}


# -- checks and report ----------------------------------------------------------------------------

def compare_losses(mine: dict[tuple[int, int], float], reference: dict[tuple[int, int], float]) -> dict[str, Any]:
    """Per (units, seed): how far ``mine`` is from ``reference``; all within 1e-6 counts as the same."""
    diffs = {key: abs(mine[key] - reference[key]) for key in reference if key in mine}
    missing = sorted(set(reference) - set(mine))
    worst = max(diffs.values()) if diffs else math.nan
    return {"compared": len(diffs), "missing": [list(k) for k in missing], "max_abs_diff": worst,
            "same": not missing and worst <= SAME_LOSS_TOLERANCE,
            "pairs": {f"units={k[0]},seed={k[1]}": [mine[k], reference[k]] for k in sorted(diffs)}}


def machine_summary() -> dict[str, Any]:
    import keras
    import optuna
    import tensorflow as tf

    return describe_machine(tf, keras, optuna)


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Best (minimum) wall time of each variant and its ratios to the two plain loops."""
    best = {name: min(r["seconds"] for r in rs) for name, rs in runs.items()}
    rows = {}
    for name in LABELS:
        if name not in best:
            continue
        fastest = min(runs[name], key=lambda r: r["seconds"])
        rows[name] = {
            "label": LABELS[name], "seconds": best[name], "all_seconds": [r["seconds"] for r in runs[name]],
            "ratio_to_plain_pipeline": best[name] / best["plain_pipeline"],
            "ratio_to_plain_numpy": best[name] / best["plain_numpy"],
            "fit_seconds": fastest["fit_seconds"],
        }
    return rows


def print_table(rows: dict[str, dict[str, Any]], fits: int) -> None:
    print()
    print(f"{'variant':<28}{'seconds':>9}{'runs':>14}{'/ plain (pipeline)':>20}{'/ plain (NumPy)':>17}"
          f"{'sum of fits':>13}")
    for row in rows.values():
        runs = ", ".join(f"{s:.1f}" for s in row["all_seconds"])
        print(f"{row['label']:<28}{row['seconds']:>9.1f}{runs:>14}{row['ratio_to_plain_pipeline']:>20.3f}"
              f"{row['ratio_to_plain_numpy']:>17.3f}{row['fit_seconds']:>13.1f}")
    print(f"(seconds: the fastest run; sum of fits: fit + predict/evaluate seconds of the {fits} fits of that run,")
    print(" for tuning the stored fit_seconds, which leave out clear_session/gc and building the model)")


def print_breakdown(rows: dict[str, dict[str, Any]], fits: int) -> dict[str, float]:
    """Where the wall time goes beyond the fits themselves, per fit; and how well --jobs 2 parallelises."""
    tuning, plain, jobs = rows["tuning_sequential"], rows["plain_pipeline"], rows["tuning_jobs2"]
    outside = {
        "tuning_sequential_outside_fits_s": tuning["seconds"] - tuning["fit_seconds"],
        "plain_pipeline_outside_fits_s": plain["seconds"] - plain["fit_seconds"],
        "jobs2_parallel_efficiency": jobs["fit_seconds"] / (JOBS * jobs["seconds"]),
    }
    print(f"outside the fits: tuning sequential {outside['tuning_sequential_outside_fits_s']:.1f} s "
          f"({1000 * outside['tuning_sequential_outside_fits_s'] / fits:.0f} ms per fit), plain loop "
          f"{outside['plain_pipeline_outside_fits_s']:.1f} s "
          f"({1000 * outside['plain_pipeline_outside_fits_s'] / fits:.0f} ms per fit, building models)")
    print(f"tuning --jobs {JOBS}: sum of fits / ({JOBS} x wall) = {outside['jobs2_parallel_efficiency']:.0%} of "
          f"the {JOBS} workers' time spent fitting")
    return outside


def mirrored_mean_ratio(runs: dict[str, list[dict[str, Any]]]) -> float | None:
    """tuning sequential / plain (same pipeline) from the means of their mirrored runs.

    The minimum guards against load spikes; the mean of an A B ... B A schedule cancels a drift
    that grows linearly with the age of the process (TensorFlow leaks graph objects on every
    fit, so later runs in a process are slower). Both are printed; they should agree.
    """
    tuning, plain = runs["tuning_sequential"], runs["plain_pipeline"]
    if len(tuning) < 2 or len(plain) < 2:
        return None
    tuning_mean = sum(r["seconds"] for r in tuning) / len(tuning)
    plain_mean = sum(r["seconds"] for r in plain) / len(plain)
    return tuning_mean / plain_mean


def run_to_run_spread(runs: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Slowest / fastest run - 1 of every variant that ran more than once: the noise floor."""
    return {name: max(r["seconds"] for r in rs) / min(r["seconds"] for r in rs) - 1
            for name, rs in runs.items() if len(rs) > 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the script, not a measurement")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args(argv)
    size_name = "quick" if args.quick else "full"
    sizes = SIZES[size_name]
    fits = len(sizes["units"]) * len(sizes["seeds"])

    total_started = time.perf_counter()
    imports = import_and_warm_up()
    machine = machine_summary()
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; load average "
          f"{', '.join(f'{v:.2f}' for v in machine['load_average_at_start'] or [])}")
    print(f"python {machine['python']}, tensorflow {machine['tensorflow']}, keras {machine['keras']}, "
          f"optuna {machine['optuna']}")
    print("one-off costs before timing: " + ", ".join(f"{k} {v:.1f} s" for k, v in imports.items()))
    print(f"study: {PROBLEM} {sizes['problem_params']}, units {sizes['units']} x seeds {sizes['seeds']} "
          f"= {fits} fits, {sizes['epochs']} epochs, batch {sizes['batch_size']}")

    from tuning.problems import load_problem

    problem = load_problem(PROBLEM, sizes["problem_params"])
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="tuning-overhead-") as tmp:
        for index, variant in enumerate(SCHEDULE[size_name], start=1):
            name = f"overhead_{variant}_{index}"
            if variant == "tuning_sequential":
                result = time_tuning_study(sizes, Path(tmp), name, jobs=1)
            elif variant == "tuning_jobs2":
                result = time_tuning_study(sizes, Path(tmp), name, jobs=JOBS)
                stop_loky_workers()
            elif variant == "plain_pipeline":
                result = time_plain_pipeline(sizes, problem)
            else:
                result = time_plain_numpy(sizes, problem)
            runs.setdefault(variant, []).append(result)
            print(f"  [{index}/{len(SCHEDULE[size_name])}] {LABELS[variant]:<28} {result['seconds']:6.1f} s", flush=True)
    startup = time_worker_startup(JOBS)
    print(f"  loky start-up alone: {JOBS} fresh workers importing TensorFlow take {startup['seconds']:.1f} s")

    rows = summarise(runs)
    print_table(rows, fits)
    breakdown = print_breakdown(rows, fits)

    plain = runs["plain_pipeline"][0]["val_loss"]
    checks = {
        "tuning_sequential_vs_plain_pipeline": compare_losses(runs["tuning_sequential"][0]["val_loss"], plain),
        "tuning_jobs2_vs_plain_pipeline": compare_losses(runs["tuning_jobs2"][0]["val_loss"], plain),
    }
    if len(runs["plain_pipeline"]) > 1:
        checks["plain_pipeline_repeat"] = compare_losses(runs["plain_pipeline"][-1]["val_loss"], plain)
    if len(runs["tuning_sequential"]) > 1:
        checks["tuning_sequential_repeat"] = compare_losses(runs["tuning_sequential"][-1]["val_loss"], plain)
    print()
    for name, check in checks.items():
        verdict = "same" if check["same"] else "DIFFERENT"
        print(f"val_loss {name}: {verdict} ({check['compared']} (config, seed) pairs, "
              f"max |diff| {check['max_abs_diff']:.2e})")

    sequential_ratio = rows["tuning_sequential"]["ratio_to_plain_pipeline"]
    jobs_ratio = rows["tuning_jobs2"]["ratio_to_plain_pipeline"]
    targets = {
        "sequential_over_plain_pipeline_le_1.10": sequential_ratio <= TARGET_SEQUENTIAL_RATIO,
        "jobs2_faster_than_plain_pipeline": jobs_ratio < 1.0,
    }
    per_fit_ms = 1000 * (rows["tuning_sequential"]["seconds"] - rows["plain_pipeline"]["seconds"]) / fits
    mirrored = mirrored_mean_ratio(runs)
    print()
    print(f"target tuning sequential / plain (same pipeline) <= {TARGET_SEQUENTIAL_RATIO:.2f}: "
          f"{sequential_ratio:.3f} -> {'met' if targets['sequential_over_plain_pipeline_le_1.10'] else 'MISSED'} "
          f"({per_fit_ms:+.0f} ms per fit)")
    if mirrored is not None:
        print(f"  the same ratio from the means of the mirrored runs (cancels a linear drift): {mirrored:.3f}")
    spread = run_to_run_spread(runs)
    if spread:
        print("  run-to-run spread of the same variant: "
              + ", ".join(f"{LABELS[name]} {value:.0%}" for name, value in spread.items())
              + " (a ratio nearer to its target than this is within the noise of this machine)")
    print(f"target tuning --jobs {JOBS} faster than the plain loop: {jobs_ratio:.3f} -> "
          f"{'met' if targets['jobs2_faster_than_plain_pipeline'] else 'MISSED'}")
    total = time.perf_counter() - total_started
    machine["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"benchmark wall time {total:.0f} s; load average at the end "
          f"{', '.join(f'{v:.2f}' for v in machine['load_average_at_end'] or [])}")

    if args.json:
        report = {
            "sizes": size_name, "problem": PROBLEM, **sizes, "fits": fits, "schedule": SCHEDULE[size_name],
            "machine": machine, "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "one_off_seconds": imports, "worker_startup": startup, "variants": rows, "breakdown": breakdown,
            "checks": checks,
            "targets": targets, "per_fit_overhead_ms": per_fit_ms, "mirrored_mean_ratio": mirrored,
            "run_to_run_spread": spread, "total_seconds": total,
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
