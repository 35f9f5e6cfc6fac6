"""Per-epoch cost of Keras input pipelines on a tiny problem: NumPy arrays vs ``tuning.fit.pipeline``.

``tuning/fit/pipeline.py`` claims that with NumPy arrays Keras rebuilds its input pipeline every
epoch, which on the small data sets of sequence-model tutorials costs more than the training
step itself. This script measures that claim on the 5-sample ``tenths`` problem (the problem of
``studies/cells.yaml``, and of the old quickstart: a vanilla LSTM with 10 units, batch 5, so one
step per epoch).

What is measured: milliseconds per epoch in steady state, for

1. ``numpy``: ``model.fit(x, y, batch_size=5, shuffle=True)``, no validation;
2. ``numpy + validation_data``: the same with ``validation_data=(x_val, y_val)``;
3. ``fit_data + validation``: ``tuning.fit.pipeline.fit_data`` (repeated ``tf.data``, validation
   cached and repeated) with ``steps_per_epoch``/``validation_steps``, as ``fit_one`` calls it;
4. ``fit_data, no validation``: its training dataset alone, for symmetry with 1.

Each epoch's cost is the interval between consecutive ``on_epoch_end`` callbacks, which spans
everything Keras does for an epoch (building the epoch's iterator, the steps, validation,
callbacks). The first epochs (tracing) are dropped and the mean of the rest is reported: the
time a user pays per epoch. (Not the median: epoch times are bimodal here - with ``fit_data``
and validation about half the epochs take ~11 ms and half ~24 ms - so the median jumps between
the two modes from run to run while the mean is stable.) Each variant is run twice, in
mirrored order, on a fresh seeded model, and the smaller mean is kept. Only ratios between the
variants are meant to carry over to another machine.

Usage::

    python benchmarks/pipeline.py [--epochs 150] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

VARIANTS = ["numpy", "numpy + validation_data", "fit_data + validation", "fit_data, no validation"]
SKIP_EPOCHS = 3  # the first epochs trace the train and test functions
BATCH_SIZE = 5
UNITS = 10


def epoch_clock():
    """A Keras callback that records the time at the end of every epoch."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends: list[float] = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    return EpochClock()


def fit_one_variant(variant: str, problem: Any, epochs: int, seed: int = 0) -> list[float]:
    """Fit a fresh model with one input pipeline; return the seconds of each epoch after the first."""
    import keras

    from tuning.fit.pipeline import fit_data
    from tuning.models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model({"family": "vanilla", "units": UNITS}, problem)
    clock = epoch_clock()
    x, y, x_val, y_val = problem.x_train, problem.y_train, problem.x_val, problem.y_val
    if variant.startswith("numpy"):
        validation = (x_val, y_val) if "validation" in variant else None
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, validation_data=validation,
                  callbacks=[clock], verbose=0)
    else:
        data = fit_data(x, y, x_val, y_val, batch_size=BATCH_SIZE, seed=seed, shuffle=True)
        with_validation = "no validation" not in variant
        model.fit(data.train, steps_per_epoch=data.steps_per_epoch,
                  validation_data=data.validation if with_validation else None,
                  validation_steps=data.validation_steps if with_validation else None,
                  epochs=epochs, shuffle=False, callbacks=[clock], verbose=0)
    return [b - a for a, b in zip(clock.ends, clock.ends[1:], strict=False)]


def steady_ms_per_epoch(intervals: list[float]) -> float:
    """Mean epoch time in ms, leaving out the epochs that traced functions."""
    return 1000 * statistics.fmean(intervals[SKIP_EPOCHS:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150, help="epochs per fit (default 150)")
    parser.add_argument("--json", type=Path, help="write the numbers to this file")
    args = parser.parse_args(argv)
    if args.epochs < SKIP_EPOCHS + 5:
        parser.error(f"--epochs must be at least {SKIP_EPOCHS + 5}")

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    import keras
    import tensorflow as tf

    from tuning.problems import load_problem

    problem = load_problem("tenths")
    fit_one_variant("fit_data + validation", problem, SKIP_EPOCHS + 5)  # warm-up, not timed
    fit_one_variant("numpy + validation_data", problem, SKIP_EPOCHS + 5)

    runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for order in (VARIANTS, VARIANTS[::-1]):
        for variant in order:
            runs[variant].append(steady_ms_per_epoch(fit_one_variant(variant, problem, args.epochs)))

    best = {v: min(ms) for v, ms in runs.items()}
    reference = best["fit_data + validation"]
    print(f"tenths (5 train, 5 val samples), LSTM({UNITS}), batch {BATCH_SIZE}, {args.epochs} epochs; "
          f"tensorflow {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} cores")
    print(f"{'input pipeline':<26}{'ms/epoch':>10}{'runs':>16}{'/ fit_data + val':>18}")
    for variant in VARIANTS:
        all_runs = ", ".join(f"{ms:.1f}" for ms in runs[variant])
        print(f"{variant:<26}{best[variant]:>10.1f}{all_runs:>16}{best[variant] / reference:>18.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"epochs": args.epochs, "skip_epochs": SKIP_EPOCHS, "ms_per_epoch": best,
                                         "runs": runs, "tensorflow": tf.__version__, "keras": keras.__version__,
                                         "cores": os.cpu_count()}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
