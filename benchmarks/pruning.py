"""Pruning on the seed aggregate against no pruning and pruning on one seed's curve, on synthetic learning curves.

Part (a) of issue 26's proof: no Keras, learning curves whose truth is known. Each scenario is
a study of ``configs`` configs x ``SEEDS`` seeds x ``epochs`` epochs of a validation loss. Config
``c``'s noiseless curve decays to its final value, exponentially for half the configs and as a
power law for the others: ``final + height * exp(-t / tau)`` or ``final + height * (1 + t / tau)
** -3``, ``tau`` a tenth of the epochs and ``height`` 15 seed-sd, each times ``exp(N(0, 0.15))``
and ``exp(N(0, 0.1))`` per config. Final values are a staircase in seed-sd units (the best at 0,
the ``i``-th ``gap * sqrt(i)`` behind). A seed's curve adds a level (a seed effect shared by the
configs, correlation 0.5, sd 1: the seed-sd), its own speed (``tau`` times ``exp(N(0, 0.3))``)
and noise at every epoch (sd 0.3 ``low`` or 1.0 ``high``). Every fit stops on its own as Keras's
``EarlyStopping`` would with a patience of a fifth of the epochs, at least 10 (NaN after).
Under ``crossing`` the best is a slow starter (``tau`` an eighth of the epochs, 1.5 times as
high) and a third of the others fast starters (``tau`` halved): at the warm-up the best looks
worse than configs it beats at the end, the case that makes pruning risky. The configs arrive
in a random order (the best may be first or last), as a sampler proposes them.

The truth: a config's noiseless value at the last epoch; a pick is right within 0.1 seed-sd of
the best. Every repetition draws one study and picks three ways, with the same pruner
(``--pruner``, default ``median`` with its defaults in ``tuning.pruning.default_settings``):

* ``nopruning``: every fit to its own early stop, the best final seed aggregate;
* ``pruned``: :func:`tuning.pruning.replay_pruning` on the seed aggregate, the best final
  aggregate among the configs not pruned;
* ``single_seed_pruned``: the same pruner deciding on the first seed's curve alone (what a
  pruning callback on one fit does), the pick still on every seed of the configs kept;
* ``sequential`` (under ``--quick`` only with ``--sequential``): seeds fitted one at a time, each
  seed judged on the aggregate over the seeds fitted so far (from the ``--min-seeds``-th on).

Scenario grid (72): configs 5, 20, 50 x gap 0.5, 1, 2 seed-sd x epoch noise low, high x epochs
30, 100 x plain, crossing. Rows print the right-pick rates with their Monte-Carlo standard
errors, the share of the epochs trained without pruning that pruning trained, and how often the
true best was pruned. The last line is the average over the grid:

    nopruning_correct=.. pruned_correct=.. single_seed_pruned_correct=.. epoch_share=..

The goal (issue 26): ``pruned_correct`` within Monte-Carlo error of ``nopruning_correct`` on at
most 0.40 of the epochs, and above ``single_seed_pruned_correct``.

    python benchmarks/pruning.py --quick                  # 24 scenarios x 60 studies, 75-105 s on 2 shared cores
    python benchmarks/pruning.py --reps 100 --json out.json  # the 72 scenarios x 100 studies, ~17 min
    python benchmarks/pruning.py --quick --pruner hyperband
    python benchmarks/pruning.py --quick --seed 11 --warmup 0.1 --set n_startup_trials=3
    python benchmarks/pruning.py --quick --seed 11 --sequential --min-seeds 2

``--quick`` runs the 24 scenarios with epoch noise ``high`` and gaps 0.5 and 2 (the hard and
the easy end), 60 studies each. Settings explored with ``--set`` or ``--warmup`` (a share of the
epochs) are judged on another ``--seed`` than the one reported: the defaults were chosen on seed
11, the numbers in docs/performance.md are seed 0's. The default of 1,000 studies per scenario
takes about 3 hours on 2 cores.

What the per-epoch hook a pruner plugs into costs with no pruner set (issue 26's goal: at most
2 % of a study's time) is measured apart, against the code before it: benchmarks/epoch_hook.py.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

from tuning.pruning import PRUNERS, default_settings, replay_pruning  # noqa: E402

SEEDS = 5
RIGHT_WITHIN = 0.1  # seed-sd: a pick this close to the true best counts as right
PATIENCE = 0.2      # each fit's own early stopping: patience a fifth of the epochs (at least 10)
RHO = 0.5           # seed correlation of the final values
HEIGHT = 15.0       # seed-sd: how far above its final value a curve starts
SPEED_NOISE = 0.3   # a seed's own speed: tau times exp(N(0, SPEED_NOISE))
EPOCH_NOISE = {"low": 0.3, "high": 1.0}
GRID = {"configs": (5, 20, 50), "gap": (0.5, 1.0, 2.0), "noise": ("low", "high"), "epochs": (30, 100),
        "shape": ("plain", "crossing")}
QUICK_GRID = {**GRID, "gap": (0.5, 2.0), "noise": ("high",)}


def noiseless_curves(rng: np.random.Generator, configs: int, gap: float, epochs: int, crossing: bool):
    """Each config's final value and its curve's shape (height, tau, power law or not)."""
    final = np.r_[0.0, gap * np.sqrt(np.arange(1, configs))]
    tau = epochs / 10 * np.exp(rng.normal(0, 0.15, configs))
    height = HEIGHT * np.exp(rng.normal(0, 0.1, configs))
    power = rng.random(configs) < 0.5
    if crossing:
        tau[0], height[0] = epochs / 8, 1.5 * height[0]
        fast = 1 + rng.permutation(configs - 1)[: max(1, (configs - 1) // 3)]
        tau[fast] /= 2
    return final, tau, height, power


def shape(t: np.ndarray, tau: np.ndarray, power: np.ndarray) -> np.ndarray:
    """The decaying part of each curve at epochs ``t`` (tau and power broadcast against t)."""
    return np.where(power, (1 + t / tau) ** -3.0, np.exp(-t / tau))


def draw_study(rng: np.random.Generator, configs: int, gap: float, noise: str, epochs: int, crossing: bool):
    """(configs, SEEDS, epochs) validation losses, NaN after each fit's early stop, and each config's truth."""
    final, tau, height, power = noiseless_curves(rng, configs, gap, epochs, crossing)
    t = np.arange(epochs, dtype=float)
    truth = final + height * shape(np.array(epochs - 1.0), tau, power)
    seed_tau = tau[:, None] * np.exp(rng.normal(0, SPEED_NOISE, (configs, SEEDS)))
    level = math.sqrt(RHO) * rng.standard_normal((1, SEEDS)) + math.sqrt(1 - RHO) * rng.standard_normal((configs, SEEDS))
    curves = (final[:, None, None] + level[..., None]
              + height[:, None, None] * shape(t[None, None, :], seed_tau[..., None], power[:, None, None])
              + EPOCH_NOISE[noise] * rng.standard_normal((configs, SEEDS, epochs)))
    return early_stopped(curves), truth


def early_stopped(curves: np.ndarray) -> np.ndarray:
    """NaN after the epoch Keras's EarlyStopping (patience a fifth of the epochs, at least 10) would stop each fit at."""
    patience = max(10, round(PATIENCE * curves.shape[-1]))
    best_at = np.zeros(curves.shape[:-1], dtype=int)
    best = curves[..., 0].copy()
    stopped = np.full(curves.shape[:-1], curves.shape[-1])
    for epoch in range(1, curves.shape[-1]):
        better = curves[..., epoch] < best
        best = np.where(better, curves[..., epoch], best)
        best_at = np.where(better, epoch, best_at)
        stopping = (epoch - best_at >= patience) & (stopped == curves.shape[-1])
        stopped = np.where(stopping, epoch + 1, stopped)
    out = curves.copy()
    out[np.arange(curves.shape[-1]) >= stopped[..., None]] = np.nan
    return out


def scenario(configs: int, gap: float, noise: str, epochs: int, crossing: bool, reps: int, rng: np.random.Generator,
             pruner: str, settings: dict, sequential: bool, warmup: float | None = None,
             min_seeds: int = 1) -> dict:
    ways = ["nopruning", "pruned", "single_seed_pruned"] + (["sequential"] if sequential else [])
    right = dict.fromkeys(ways, 0)
    best_pruned = dict.fromkeys(ways, 0)
    spent = dict.fromkeys(ways, 0.0)
    differences = {"pruned": [], "single_seed_pruned": []}  # right minus nopruning's right, per study
    aggregate_minus_single: list[int] = []
    run_settings = dict(settings)
    if warmup is not None:
        key = "min_resource" if pruner in ("successive_halving", "hyperband") else "n_warmup_steps"
        run_settings = {key: max(1, round(warmup * epochs)), **settings}
    for _ in range(reps):
        curves, truth = draw_study(rng, configs, gap, noise, epochs, crossing)
        order = rng.permutation(configs)
        curves, truth = curves[order], truth[order]
        best = int(np.argmin(truth))
        replays = {"pruned": replay_pruning(curves, pruner, **run_settings),
                   "single_seed_pruned": replay_pruning(curves, pruner, decide_on="first_seed", **run_settings)}
        if sequential:
            replays["sequential"] = replay_pruning(curves, pruner, one_seed_at_a_time=True, min_seeds=min_seeds,
                                                   **run_settings)
        full = replays["pruned"]
        picks = {"nopruning": int(np.nanargmin(full.final)), **{way: r.pick for way, r in replays.items()}}
        for way in ways:
            pick = picks[way]
            right[way] += _right(pick, truth)
            if way in replays:
                best_pruned[way] += bool(replays[way].pruned[best])
                spent[way] += replays[way].epoch_share
            else:
                spent[way] += 1.0
        for way, paired in differences.items():
            paired.append(_right(picks[way], truth) - _right(picks["nopruning"], truth))
        aggregate_minus_single.append(_right(picks["pruned"], truth) - _right(picks["single_seed_pruned"], truth))
    row = {"configs": configs, "gap_sd": gap, "noise": noise, "epochs": epochs,
           "shape": "crossing" if crossing else "plain", "reps": reps}
    for way in ways:
        p = right[way] / reps
        row[f"{way}_correct"] = p
        row[f"{way}_se"] = math.sqrt(max(p * (1 - p), 1e-12) / reps)
    for way, paired in differences.items():  # paired by study: the Monte-Carlo error of a difference
        row[f"{way}_minus_nopruning_se"] = float(np.std(paired, ddof=1) / math.sqrt(reps)) if reps > 1 else math.nan
    row["pruned_minus_single_seed_se"] = float(np.std(aggregate_minus_single, ddof=1) / math.sqrt(reps)) \
        if reps > 1 else math.nan
    for way in ways[1:]:
        row[f"{way}_epoch_share"] = spent[way] / reps
        row[f"{way}_best_pruned"] = best_pruned[way] / reps
    return row


def _right(pick: int | None, truth: np.ndarray) -> int:
    return int(pick is not None and truth[pick] <= truth.min() + RIGHT_WITHIN)


def parse_settings(pairs: list[str]) -> dict:
    """``--set n_warmup_steps=5`` -> {"n_warmup_steps": 5} (ints, floats, or text)."""
    settings = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        for cast in (int, float, str):
            try:
                settings[key] = cast(text)
                break
            except ValueError:
                continue
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 scenarios x 60 studies")
    parser.add_argument("--reps", type=int, default=None, help="studies per scenario (default 1000; --quick 60)")
    parser.add_argument("--pruner", choices=[p for p in PRUNERS if p != "none"], default="median")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an Optuna setting of the pruner, overriding tuning's default")
    parser.add_argument("--warmup", type=float, default=None, metavar="SHARE",
                        help="the warm-up (n_warmup_steps, or min_resource) as a share of the epochs")
    parser.add_argument("--sequential", action="store_true", help="replay seeds one at a time under --quick too")
    parser.add_argument("--min-seeds", type=int, default=1,
                        help="seeds one at a time: the seed from which on seeds are judged (1: the first)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import optuna

    reps = args.reps or (60 if args.quick else 1000)
    grid = QUICK_GRID if args.quick else GRID
    settings = parse_settings(args.set)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    print(f"pruner {args.pruner}: {default_settings(args.pruner, None) | settings} "
          f"(n_warmup_steps / min_resource: a third of the epochs unless set)", flush=True)
    rows = []
    for configs, gap, noise, epochs, kind in product(*grid.values()):
        row = scenario(configs, gap, noise, epochs, kind == "crossing", reps, rng, args.pruner, settings,
                       sequential=args.sequential or not args.quick, warmup=args.warmup,
                       min_seeds=args.min_seeds)
        rows.append(row)
        print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    keys = [k for k in rows[0] if k.endswith(("_correct", "_epoch_share", "_best_pruned"))]
    mean = {key: float(np.mean([r[key] for r in rows])) for key in keys}
    se = {f"{way}_se": math.sqrt(sum(r[f"{way}_se"] ** 2 for r in rows)) / len(rows)
          for way in ("nopruning", "pruned", "single_seed_pruned")}
    paired = [r["pruned_correct"] - r["nopruning_correct"] for r in rows]
    paired_se = math.sqrt(sum(r["pruned_minus_nopruning_se"] ** 2 for r in rows)) / len(rows)
    single_se = math.sqrt(sum(r["pruned_minus_single_seed_se"] ** 2 for r in rows)) / len(rows)
    over_single = np.mean([r["pruned_correct"] - r["single_seed_pruned_correct"] for r in rows])
    seconds = time.perf_counter() - started
    if args.json:
        write_json(args.json, {"rows": rows, "mean": mean, "se": se, "pruner": args.pruner, "settings": settings,
                               "seed": args.seed, "reps": reps, "seconds": seconds,
                               "machine": describe_machine(np, optuna)})
    for kind in ("plain", "crossing"):
        part = [r for r in rows if r["shape"] == kind]
        print(f"{kind}: nopruning {np.mean([r['nopruning_correct'] for r in part]):.3f}  "
              f"pruned {np.mean([r['pruned_correct'] for r in part]):.3f} "
              f"(share {np.mean([r['pruned_epoch_share'] for r in part]):.2f})  "
              f"single seed {np.mean([r['single_seed_pruned_correct'] for r in part]):.3f} "
              f"(share {np.mean([r['single_seed_pruned_epoch_share'] for r in part]):.2f})")
    print(f"average over {len(rows)} scenarios x {reps} studies in {seconds:.0f} s: MC s.e. of the averages "
          f"{se['nopruning_se']:.3f} / {se['pruned_se']:.3f} / {se['single_seed_pruned_se']:.3f}; "
          f"pruned - nopruning {np.mean(paired):+.3f} (paired s.e. {paired_se:.3f}); "
          f"pruned - single_seed_pruned {over_single:+.3f} (paired s.e. {single_se:.3f}); true best pruned {mean['pruned_best_pruned']:.3f} "
          f"(single seed {mean['single_seed_pruned_best_pruned']:.3f})")
    print(f"nopruning_correct={mean['nopruning_correct']:.2f} pruned_correct={mean['pruned_correct']:.2f} "
          f"single_seed_pruned_correct={mean['single_seed_pruned_correct']:.2f} "
          f"epoch_share={mean['pruned_epoch_share']:.2f}")


if __name__ == "__main__":
    main()
