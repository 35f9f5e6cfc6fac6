"""Coverage of each aggregate's 95 % interval (``aggregate_low/high``) on seed scores of known law.

For each aggregate (``mean_plus_std`` with k = 1, ``iqm``, ``median``), each law of seed scores
(normal, Student's t with 3 degrees of freedom, log-normal with sigma 1) and each number of seeds,
draws ``--reps`` configs' seed scores, computes the interval two ways side by side, and counts how
often it holds the aggregate's true value (computed from 2 million draws of the law):

* ``now``: :func:`tuning.statistics.aggregate_interval` (the noncentral-t pivot for
  ``mean_plus_std``, the trimmed-mean t for ``iqm``, order statistics for ``median``);
* ``bootstrap``: the seeded percentile bootstrap over the seeds it replaced (2,000 resamples).

One line per case, ``how law n now=.. bootstrap=..`` with the Monte-Carlo s.e.; the interval is
exact where the line says ``normal`` for ``mean_plus_std`` and distribution-free for ``median``.

    python benchmarks/aggregate_intervals.py --reps 2000    # about 40 s on one core
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

from tuning.objective import oriented_aggregate
from tuning.statistics import aggregate_interval

LAWS = {
    "normal": lambda rng, size: rng.normal(size=size),
    "t3": lambda rng, size: rng.standard_t(3, size=size),
    "lognormal": lambda rng, size: rng.lognormal(0.0, 1.0, size=size),
}


def true_value(how: str, draws: np.ndarray) -> float:
    if how == "mean_plus_std":
        return float(draws.mean() + draws.std())
    if how == "iqm":
        return float(stats.trim_mean(draws, 0.25))
    return float(np.median(draws))


def bootstrap_interval(x: np.ndarray, how: str, rng: np.random.Generator, n_boot: int = 2000) -> tuple[float, float]:
    boot = oriented_aggregate(x[rng.integers(0, len(x), (n_boot, len(x)))], how, 1.0)
    low, high = np.quantile(boot, [0.025, 0.975])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seeds", default="3,5,10,20", help="numbers of seeds per config")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for how in ("mean_plus_std", "iqm", "median"):
        for law, draw in LAWS.items():
            truth = true_value(how, draw(rng, 2_000_000))
            for n in map(int, args.seeds.split(",")):
                now = boot = 0
                for _ in range(args.reps):
                    x = draw(rng, n)
                    low, high = aggregate_interval(x, how)
                    now += low <= truth <= high
                    low, high = bootstrap_interval(x, how, rng)
                    boot += low <= truth <= high
                se = lambda hits: math.sqrt(hits / args.reps * (1 - hits / args.reps) / args.reps)  # noqa: E731
                print(f"{how} {law} n={n} now={now / args.reps:.3f}±{se(now):.3f} "
                      f"bootstrap={boot / args.reps:.3f}±{se(boot):.3f}", flush=True)


if __name__ == "__main__":
    main()
