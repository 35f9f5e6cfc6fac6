"""The hand-written LSTM gradient (tuning/fit/fused/recurrence.py) against TensorFlow's autodiff of the same loop.

One training step of a replica-batched LSTM layer (R replicas, batch 32, 50 steps, 20 cells by
default, a linear head, mse): the graph's op count, the seconds to trace it, and the CPU seconds
per step, on one TensorFlow thread (as the fused runner runs; CPU time, so other processes on
the machine matter less than for wall time). Printed per variant; ``--json`` keeps the numbers.

    python benchmarks/recurrence.py                 # R = 1 and 10, LSTM(20)
    python benchmarks/recurrence.py --replicas 10 --units 50
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402


def time_step(replicas: int, units: int, steps: int, variant: str, batch: int = 32) -> dict:
    """Graph ops, tracing seconds and CPU milliseconds of one training step with ``variant``'s loop."""
    import numpy as np
    import tensorflow as tf

    from tuning.fit.fused.recurrence import lstm_sequence

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(replicas, batch, steps, 1)).astype(np.float32))
    y = tf.constant(rng.normal(size=(replicas, batch, 1)).astype(np.float32))
    kernel = tf.Variable(rng.normal(size=(replicas, 1, 4 * units)).astype(np.float32) * 0.3)
    recurrent = tf.Variable(rng.normal(size=(replicas, units, 4 * units)).astype(np.float32) * 0.3)
    head = tf.Variable(rng.normal(size=(replicas, units, 1)).astype(np.float32) * 0.3)

    def autodiff(xz, recurrent):  # the loop fused.py writes for other activations, left to TensorFlow
        h = tf.zeros([replicas, batch, units])
        c = h
        for x_t in tf.unstack(xz, axis=2):
            z = x_t + tf.matmul(h, recurrent)
            i, f, _, o = tf.split(tf.sigmoid(z), 4, axis=-1)
            c = f * c + i * tf.tanh(z[:, :, 2 * units:3 * units])
            h = o * tf.tanh(c)
        return h

    loop = autodiff if variant == "autodiff" else lstm_sequence

    @tf.function(autograph=False)
    def step():
        with tf.GradientTape() as tape:
            xz = tf.matmul(tf.reshape(x, [replicas, -1, 1]), kernel)
            h = loop(tf.reshape(xz, [replicas, batch, steps, 4 * units]), recurrent)
            loss = tf.reduce_sum(tf.square(tf.matmul(h, head) - y))
        return tape.gradient(loss, [kernel, recurrent, head])

    started = time.perf_counter()
    ops = len(step.get_concrete_function().graph.get_operations())
    step()  # tracing, and the first call's one-off work
    first_call = time.perf_counter() - started
    cpu = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(30):
            step()
        cpu.append((time.process_time() - started) / 30)
    return {"replicas": replicas, "variant": variant, "graph_ops": ops, "trace_seconds": first_call,
            "cpu_ms_per_step": 1000 * min(cpu)}


def as_the_fused_runner_runs():
    """Set this process's TensorFlow up as the fused runner's worker runs (one thread, Grappler off),
    before any op; returns the ``tensorflow`` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tuning.fit import configure_threads

    configure_threads(1)
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})  # as fused.py runs
    return tf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", nargs="*", type=int, default=[1, 10])
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    tf = as_the_fused_runner_runs()
    machine = describe_machine(tf)
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; TF threads 1; LSTM({args.units}), "
          f"{args.steps} steps, batch 32")
    rows = []
    for replicas in args.replicas:
        for variant in ("autodiff", "hand-written"):
            row = time_step(replicas, args.units, args.steps, variant)
            rows.append(row)
            print(f"  R={replicas:<3} {variant:<13} {row['graph_ops']:6d} ops  trace {row['trace_seconds']:5.2f} s  "
                  f"{row['cpu_ms_per_step']:6.2f} ms CPU a step", flush=True)
    if args.json:
        write_json(args.json, {"machine": machine, "units": args.units, "steps": args.steps, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
