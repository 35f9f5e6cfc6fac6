"""Racing over seeds against one seed and a fixed number of seeds, on synthetic studies with known truth.

Each scenario is a study of ``configs`` configs whose true means are a staircase: the best at 0,
the others ``gap * sqrt(i)`` seed-sd behind (i = 1, 2, ...; the runner-up one ``gap`` behind),
seed scores with a shared seed effect (correlation ``rho``) and, under ``unequal`` noise, a fifth
of the configs other than the best three times noisier. Every repetition draws one (configs,
``max``) matrix of seed scores and picks a config three ways:

* ``single``: one seed per config, the lowest score (what a single run shows);
* ``fixed``: all ``max`` seeds per config, the lowest mean (what ``repeats: max`` does);
* ``race``: :func:`tuning.racing.replay` on the same matrix (seeds from 3 up to ``max``), the
  lowest mean among the configs left with the most seeds;
* ``arriving`` (with ``--arriving``): the race a TPE or CMA-ES study runs
  (``Race(arriving=True)``), the configs joining one at a time in a random order.

A pick is right when its true mean is within 0.1 seed-sd of the best's (margin 0). Printed per
scenario: the right-pick rates (with the Monte-Carlo s.e.), the race's share of fixed's fits,
and the race's own error rate (the true best eliminated, and an all-equal study's any config
eliminated, at most the race's level 0.05 by construction). The last line (``--quick``: 40
scenarios, 300 repetitions each) is the average over the grid:

    single_correct=.. fixed_correct=.. race_correct=.. race_epoch_share=..

(``race_epoch_share``: without epoch pruning, the share of fixed's fits the race spent.)

Each scenario also prints ``pair_floor``: the share an oracle would spend that knows every true
gap and noise and gives each config the fewest seeds (at least ``min``) that order it against
the best, seed-paired, within 0.01 as often as ``max`` seeds do (the best gets as many as its
closest rival): no race that must be right as often as ``fixed`` can expect to spend much less,
so the grid's average of it says how low the goal can be set. ``--alpha`` sets the race's level;
``--no-spending`` tests every look at the full level (not a valid race: its error rate over the
looks is not kept; it shows what the accounting for repeated looks costs).

    python benchmarks/racing.py --quick              # ~3 min on 2 cores
    python benchmarks/racing.py --reps 1000 --json out.json
    python benchmarks/racing.py --quick --alpha 0.2  # what a looser race saves
    python benchmarks/racing.py --quick --no-spending
    python benchmarks/racing.py --quick --arriving   # also the race of a TPE or CMA-ES study (~3x longer)
    python benchmarks/racing.py --real               # a real 16-config study, every seed vs raced (~5 min)

``--real`` runs one tutorial-size study (the echo problem of studies/tuning_axes.yaml, 16 configs:
units, layers, learning rate and dropout) twice through ``tuning run`` in one go: every config
with 10 seeds, and raced from 3 to 10 seeds; then replays the race on the exhaustive study. One
line per run: fits, epochs, wall time, the pick, and whether the exhaustive study's seeds leave
the race's pick among the configs that could be the best.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

from tuning.racing import Race, replay  # noqa: E402

RIGHT_WITHIN = 0.1  # seed-sd: a pick this close to the true best counts as right


def study(rng: np.random.Generator, mu: np.ndarray, seeds: int, rho: float, scale: np.ndarray) -> np.ndarray:
    shared = rng.standard_normal((1, seeds))
    own = rng.standard_normal((len(mu), seeds))
    return mu[:, None] + math.sqrt(rho) * shared + math.sqrt(1 - rho) * scale[:, None] * own


def pair_floor(mu: np.ndarray, scale: np.ndarray, rho: float, race: Race, tolerance: float = 0.01) -> float:
    """The oracle's share of ``max``-seed fits (see the module's docstring)."""
    from scipy.stats import norm

    seeds = np.full(len(mu), race.min_seeds)
    for i in range(1, len(mu)):
        if mu[i] <= mu[0]:
            seeds[i] = race.max_seeds  # tied with the best: only every seed orders them as fixed does
            continue
        sd = math.sqrt((1 - rho) * (1 + scale[i] ** 2))  # a seed-paired difference's spread
        target = norm.cdf((mu[i] - mu[0]) * math.sqrt(race.max_seeds) / sd) - tolerance
        seeds[i] = next((n for n in range(race.min_seeds, race.max_seeds + 1)
                         if norm.cdf((mu[i] - mu[0]) * math.sqrt(n) / sd) >= target), race.max_seeds)
    seeds[0] = seeds[1:].max() if len(mu) > 1 else race.min_seeds
    return float(seeds.sum() / (len(mu) * race.max_seeds))


def scenario(configs: int, gap: float, noise: str, reps: int, rng: np.random.Generator, race: Race,
             rho: float = 0.5, with_arriving: bool = False) -> dict:
    mu = np.r_[0.0, gap * np.sqrt(np.arange(1, configs))] if gap > 0 else np.zeros(configs)
    scale = np.ones(configs)
    if noise == "unequal":
        scale[1:][: max(1, round(0.2 * configs))] = 3.0
    right = {"single": 0, "fixed": 0, "race": 0, **({"arriving": 0} if with_arriving else {})}
    fits = arriving_fits = 0
    best_dropped = arriving_best_dropped = 0
    for _ in range(reps):
        x = study(rng, mu, race.max_seeds, rho, scale)
        picks = {"single": int(np.argmin(x[:, 0])), "fixed": int(np.argmin(x.mean(axis=1)))}
        result = replay(x, race)
        picks["race"] = result.winner
        if with_arriving:
            order = rng.permutation(len(mu))  # configs proposed one at a time, in no particular order
            arriving = replay(x[order], replace(race, arriving=True))
            picks["arriving"] = None if arriving.winner is None else int(order[arriving.winner])
            arriving_fits += arriving.fits
            arriving_best_dropped += not arriving.alive[int(np.flatnonzero(order == 0)[0])]
        for how, pick in picks.items():
            right[how] += pick is not None and mu[pick] <= mu.min() + RIGHT_WITHIN
        fits += result.fits
        best_dropped += not result.alive[0]
    se = lambda p: math.sqrt(max(p * (1 - p), 1e-12) / reps)  # noqa: E731
    row = {"configs": configs, "gap_sd": gap, "noise": noise, "reps": reps,
           **{f"{how}_correct": count / reps for how, count in right.items()},
           "race_fit_share": fits / (reps * configs * race.max_seeds),
           "pair_floor": pair_floor(mu, scale, rho, race),
           "best_eliminated": best_dropped / reps}
    if with_arriving:
        row["arriving_fit_share"] = arriving_fits / (reps * configs * race.max_seeds)
        row["arriving_best_eliminated"] = arriving_best_dropped / reps
    row["race_se"] = se(row["race_correct"])
    row["fixed_se"] = se(row["fixed_correct"])
    return row


REAL_SPEC = """
name: {name}
problem:
  name: echo
  params: {{length: 5, n_features: 10, out_index: 2, n_train: 1000, n_val: 200, n_test: 200}}
model: {{family: stacked, optimizer: adam}}
fit: {{epochs: 10, batch_size: 32}}
space:
  units: [8, 32]
  layers: [1, 2]
  learning_rate: [0.001, 0.01]
  dropout: [0.0, 0.3]
sampler: grid
repeats: {repeats}
objective: {{metric: val_accuracy}}
runner: auto
jobs: 2
"""


def real(folder: Path) -> list[dict]:
    """The 16-config study with every seed and raced, through the CLI, side by side."""
    import subprocess

    from tuning import load_results
    from tuning.replay import replay_study

    folder.mkdir(parents=True, exist_ok=True)
    store = f"sqlite:///{folder / 'racing.db'}"
    rows = []
    runs = {"every_seed": "10", "race": "{strategy: race, min: 3, max: 10}"}
    for name, repeats in runs.items():
        path = folder / f"{name}.yaml"
        path.write_text(REAL_SPEC.format(name=name, repeats=repeats))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tuning.cli", "run", str(path), "--storage", store, "--quiet"], check=True)
        seconds = time.perf_counter() - started
        results = load_results(name, store)
        best = results.selection.table.iloc[0]
        rows.append({"run": name, "fits": len(results.fits), "epochs": int(results.fits["epochs_run"].sum()),
                     "seconds": seconds, "pick": best["config_key"], "pick_mean": float(best["mean"])})
    every = load_results("every_seed", store)
    could = set(every.selection.table.loc[every.selection.table["could_be_best"], "config_key"])
    for row in rows:
        row["pick_could_be_best_with_every_seed"] = row["pick"] in could
        row["fit_share"] = row["fits"] / rows[0]["fits"]
        row["epoch_share"] = row["epochs"] / rows[0]["epochs"]
        row["time_share"] = row["seconds"] / rows[0]["seconds"]
    replayed = replay_study(every, Race(3, 10))
    rows.append({"run": "replay on every_seed", "fits": replayed.result.fits, "fit_share": replayed.fit_share,
                 "epoch_share": replayed.epoch_share, "pick": replayed.picked,
                 "pick_could_be_best_with_every_seed": replayed.picked in could})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 repetitions per scenario")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--max-seeds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=0.05, help="the race's level")
    parser.add_argument("--arriving", action="store_true",
                        help="also race the configs as TPE or CMA-ES proposes them: one at a time (slower)")
    parser.add_argument("--no-spending", action="store_true",
                        help="test every look at the full level (not a valid race; for comparison)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--real", type=Path, nargs="?", const=Path("/tmp/tuning-racing-real"), default=None,
                        help="run the real 16-config study side by side in this folder (its store is racing.db)")
    args = parser.parse_args()
    if args.real:
        import shutil

        shutil.rmtree(args.real, ignore_errors=True)
        for row in real(args.real):
            print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        return
    reps = args.reps or (300 if args.quick else 1000)
    race = Race(min_seeds=3, max_seeds=args.max_seeds, level=args.alpha)
    if args.no_spending:
        import tuning.racing

        tuning.racing.level_at = lambda race, seeds: race.level
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    rows = []
    for configs, gap, noise in product((2, 5, 10, 20, 50), (0.5, 1.0, 2.0, 3.0), ("equal", "unequal")):
        row = scenario(configs, gap, noise, reps, rng, race, with_arriving=args.arriving)
        rows.append(row)
        print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    null = [scenario(configs, 0.0, noise, reps, rng, race, with_arriving=args.arriving)
            for configs, noise in product((2, 10, 50), ("equal", "unequal"))]
    for row in null:  # all configs equal: any elimination of the (tied) best is the race's error
        print(f"all equal: configs={row['configs']} noise={row['noise']} best_eliminated={row['best_eliminated']:.3f} "
              f"race_fit_share={row['race_fit_share']:.3f}"
              + (f" arriving_best_eliminated={row['arriving_best_eliminated']:.3f}" if args.arriving else ""), flush=True)
    mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]
            if key.endswith(("_correct", "_share", "_floor", "_eliminated"))}
    if args.json:
        write_json(args.json, {"rows": rows, "all_equal": null, "mean": mean, "race": race.__dict__,
                               "seconds": time.perf_counter() - started, "machine": describe_machine(np)})
    if args.arriving:
        print(f"configs arriving one at a time (TPE, CMA-ES), in random order: right {mean['arriving_correct']:.2f}, "
              f"share of fixed's fits {mean['arriving_fit_share']:.2f}")
    print(f"oracle pair_floor={mean['pair_floor']:.2f} (the share an oracle knowing the gaps would spend; "
          f"largest shortfall of race against fixed: {min(r['race_correct'] - r['fixed_correct'] for r in rows):.3f})")
    print(f"single_correct={mean['single_correct']:.2f} fixed_correct={mean['fixed_correct']:.2f} "
          f"race_correct={mean['race_correct']:.2f} race_epoch_share={mean['race_fit_share']:.2f}")


if __name__ == "__main__":
    main()
