"""Where JAX's epochs lose to TensorFlow's fused graph (issue 24): one replica-batched LSTM step, four ways.

One training step (forward and gradient) of R replicas of an LSTM layer with a linear head (batch
32, T steps, one feature, mse), each way in a fresh process of its own, side by side in one run:

- ``tf-hand-written``: TensorFlow's fused graph as the fused runner builds it (the hand-written
  gradient of ``tuning/fit/fused/recurrence.py``, one TensorFlow thread, Grappler off);
- ``jax-keras-scan``: Keras's own stateless ``train_step`` of ``LSTM(H)`` under ``jax.vmap``, the
  step the fused JAX runner compiles (``tuning/fit/jax/_fused.py``);
- ``jax-keras-unrolled``: the same with ``LSTM(unroll=True)`` (straight-line code, no while loop);
- ``jax-hand-written``: the TensorFlow graph's layout written in JAX (replicas as a batch axis of
  ``einsum``, ``jax.lax.scan`` over time, ``jax.grad``), the obvious next step if Keras's layer
  were the slow part.

Printed per way: the seconds of the first call (tracing and compiling), and milliseconds a step,
wall and CPU (CPU counts every thread of the process: what a step costs a shared machine). The
TensorFlow row is ``benchmarks/recurrence.py``'s measurement (CPU only; the gradient without the
optimizer's update, which the JAX rows include: plain SGD).

    python benchmarks/jax_recurrence.py                       # R = 10, LSTM(16), 30 steps: ~1 min
    python benchmarks/jax_recurrence.py --replicas 3 --units 32 --steps 50
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

WAYS = ("tf-hand-written", "jax-keras-scan", "jax-keras-unrolled", "jax-hand-written")
BATCH = 32


def _timed(step, *, steps: int = 60) -> dict:
    """First-call seconds, then the best of three blocks' wall and CPU milliseconds a step."""
    started = time.perf_counter()
    step()
    first = time.perf_counter() - started
    wall, cpu = [], []
    for _ in range(3):
        w, c = time.perf_counter(), time.process_time()
        for _ in range(steps // 3):
            step()
        wall.append((time.perf_counter() - w) / (steps // 3))
        cpu.append((time.process_time() - c) / (steps // 3))
    return {"first_call_seconds": first, "wall_ms_per_step": 1000 * min(wall), "cpu_ms_per_step": 1000 * min(cpu)}


def _tf_hand_written(replicas: int, units: int, steps: int) -> dict:
    from recurrence import as_the_fused_runner_runs, time_step

    as_the_fused_runner_runs()
    row = time_step(replicas, units, steps, "hand-written", batch=BATCH)
    return {"first_call_seconds": row["trace_seconds"], "wall_ms_per_step": None,
            "cpu_ms_per_step": row["cpu_ms_per_step"]}


def _jax_keras(replicas: int, units: int, steps: int, unroll: bool) -> dict:
    import jax
    import keras
    import numpy as np

    def model(seed: int):
        keras.utils.set_random_seed(seed)
        built = keras.Sequential([keras.Input((steps, 1)), keras.layers.LSTM(units, unroll=unroll),
                                  keras.layers.Dense(1)])
        built.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        built.optimizer.build(built.trainable_variables)
        return built

    models = [model(seed) for seed in range(replicas)]

    def stacked(variables_of):
        return [np.stack([np.asarray(v) for v in same]) for same in zip(*[variables_of(m) for m in models], strict=True)]

    state = [stacked(lambda m: m.trainable_variables), stacked(lambda m: m.non_trainable_variables),
             stacked(lambda m: m.optimizer.variables), stacked(lambda m: m.metrics_variables)]
    train_step = jax.jit(jax.vmap(models[0].train_step))
    rng = np.random.default_rng(0)
    batch = (rng.normal(size=(replicas, BATCH, steps, 1)).astype(np.float32),
             rng.normal(size=(replicas, BATCH, 1)).astype(np.float32))

    def step():
        logs, state[:] = train_step(tuple(state), batch)
        jax.block_until_ready(logs)

    return _timed(step)


def _jax_hand_written(replicas: int, units: int, steps: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    params = {"kernel": rng.normal(size=(replicas, 1, 4 * units)) * 0.3,
              "recurrent": rng.normal(size=(replicas, units, 4 * units)) * 0.3,
              "bias": np.zeros((replicas, 4 * units)), "head": rng.normal(size=(replicas, units, 1)) * 0.3}
    params = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in params.items()}
    x = jnp.asarray(rng.normal(size=(replicas, BATCH, steps, 1)), dtype=jnp.float32)
    y = jnp.asarray(rng.normal(size=(replicas, BATCH, 1)), dtype=jnp.float32)

    def loss(p):
        inputs = jnp.einsum("rbtf,rfg->trbg", x, p["kernel"]) + p["bias"][None, :, None, :]

        def cell(carry, z_in):
            h, c = carry
            z = z_in + jnp.einsum("rbh,rhg->rbg", h, p["recurrent"])
            i, f, g, o = jnp.split(z, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

        zeros = jnp.zeros((replicas, BATCH, units), jnp.float32)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), inputs)
        return jnp.sum(jnp.square(jnp.einsum("rbh,rho->rbo", h, p["head"]) - y))

    @jax.jit
    def sgd(p):
        grads = jax.grad(loss)(p)
        return jax.tree.map(lambda value, grad: value - 0.01 * grad, p, grads)

    current = [params]

    def step():
        current[0] = sgd(current[0])
        jax.block_until_ready(current[0])

    return _timed(step)


def run_way(way: str, replicas: int, units: int, steps: int) -> dict:
    """One way's numbers, in this process (``main`` starts one process per way)."""
    if way == "tf-hand-written":
        return _tf_hand_written(replicas, units, steps)
    if way == "jax-hand-written":
        return _jax_hand_written(replicas, units, steps)
    return _jax_keras(replicas, units, steps, unroll=way == "jax-keras-unrolled")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--units", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run this way here, print its JSON
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_way(args.one, args.replicas, args.units, args.steps)))
        return 0

    print(f"machine: {describe_machine()['cpu']}; R={args.replicas} replicas, LSTM({args.units}), "
          f"{args.steps} steps, batch {BATCH}", flush=True)
    rows = []
    for way in args.ways.split(","):
        backend = "tensorflow" if way.startswith("tf") else "jax"
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([sys.executable, __file__, "--one", way, "--replicas", str(args.replicas),
                               "--units", str(args.units), "--steps", str(args.steps)],
                              capture_output=True, text=True, env=env, check=True)
        row = {"way": way, **json.loads(done.stdout.strip().splitlines()[-1])}
        rows.append(row)
        wall = row["wall_ms_per_step"]
        print(f"  {way:<19} first call {row['first_call_seconds']:6.2f} s  "
              f"{'' if wall is None else f'{wall:7.2f} ms wall  '}{row['cpu_ms_per_step']:7.2f} ms CPU a step",
              flush=True)
    if args.json:
        write_json(args.json, {"machine": describe_machine(), "replicas": args.replicas, "units": args.units,
                               "steps": args.steps, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
