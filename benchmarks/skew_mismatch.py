"""Where the comparisons lose their level: one config's seed scores skewed, its rival's not.

docs/statistics.md measures skewed and bad-seed noise with every config drawing from the same law
(the per-seed differences stay symmetric) or a bad seed hurting all configs at once. A config
that sometimes trains badly beside one that never does is the case those scenarios miss: the
differences of the two are skewed, the sample of a few seeds usually misses the tail, and a t
statistic on them is too often far out on the other side. Three checks with known truth, each
``--reps`` synthetic studies (lower is better, seed scores independent across configs):

* ``could_be_best``: two configs of equal true mean, a calm one (normal, sd 1) and a skewed one
  (``lognormal``: a standardised log-normal, sigma 1, sd 3; ``badseed``: normal, plus 10 sd on a
  seed with probability 0.1, centred). The rate at which the calm one, a true best, is called
  worse (nominal at most 0.05).
* ``equivalent``: the true best normal (sd 1), a simpler config exactly one margin (1 sd) worse
  with skewed scores (log-normal, sd 3); the rate at which it is called ``equivalent_to_best``
  (nominal at most 0.05).
* ``race``: 20 seeds, the true best normal, its rival 0.2 sd worse and skewed (log-normal, sd 3),
  seed effect correlation 0.5; :func:`tuning.racing.replay` from 3 to 20 seeds, the rate at which
  the true best is eliminated (nominal at most the race's alpha, 0.05).

One line each, ``check scenario n=.. rate=.. ± s.e.``.

``--corrections`` measures instead what the known skewness corrections of a one-sided t would do
(two configs, a plain paired t at 0.05 one-sided, 20,000 studies a line): the plain t, Johnson's
(1978) modified t and Hall's (1992) monotone cubic transformation, each on the calm-vs-skewed case,
on equal normal configs, on two equally skewed configs (symmetric differences) and on a true gap of
one sd (power).

    python benchmarks/skew_mismatch.py --reps 2000    # about 15 s on one core
    python benchmarks/skew_mismatch.py --corrections  # about 5 s
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from tuning.racing import Race, replay
from tuning.statistics import compare


def skewed(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    """Mean 0, sd 1, a long tail on the bad (high) side."""
    if kind == "lognormal":
        z = np.exp(rng.normal(size=size))
        return (z - math.exp(0.5)) / math.sqrt((math.e - 1) * math.e)
    bad = rng.random(size) < 0.1  # a bad seed costs 10 sd; the rest are better by 1 sd on average
    raw = rng.normal(size=size) + np.where(bad, 10.0, 0.0) - 1.0
    return raw / math.sqrt(1 + 0.1 * 0.9 * 100)


def line(check: str, scenario: str, n: int, hits: int, reps: int) -> None:
    rate = hits / reps
    print(f"{check} {scenario} n={n} rate={rate:.3f} ± {math.sqrt(rate * (1 - rate) / reps):.3f}", flush=True)


def corrections(rng: np.random.Generator, reps: int = 20000) -> None:
    """Rejection rates of 'the first config is worse' for the plain, Johnson and Hall statistics."""
    from scipy import stats

    def rates(n: int, first, second) -> str:
        d = first((reps, n)) - second((reps, n))
        mean, sd = d.mean(axis=1), d.std(axis=1, ddof=1)
        t = mean / (sd / math.sqrt(n))
        centred = d - mean[:, None]
        skew = np.nan_to_num((centred**3).mean(axis=1) / (centred**2).mean(axis=1) ** 1.5)
        a = skew / (3 * math.sqrt(n))
        johnson = t + skew / (6 * math.sqrt(n)) + a * t**2
        hall = johnson + a**2 * t**3 / 3
        critical = stats.t.isf(0.05, n - 1)
        return " ".join(f"{name}={np.mean(value > critical):.3f}"
                        for name, value in (("plain", t), ("johnson", johnson), ("hall", hall)))

    normal = lambda shape: rng.normal(size=shape)  # noqa: E731
    cases = {
        "calm-vs-lognormal-sd3 (nominal 0.05)": (normal, lambda shape: 3.0 * skewed(rng, "lognormal", shape)),
        "calm-vs-badseed-sd3 (nominal 0.05)": (normal, lambda shape: 3.0 * skewed(rng, "badseed", shape)),
        "equal-normal (nominal 0.05)": (normal, normal),
        "both-lognormal (nominal 0.05)": (lambda shape: skewed(rng, "lognormal", shape),
                                          lambda shape: skewed(rng, "lognormal", shape)),
        "gap-1sd-normal (power)": (lambda shape: 1.0 + rng.normal(size=shape), normal),
    }
    for name, (first, second) in cases.items():
        for n in (3, 5, 10, 20):
            print(f"corrections {name} n={n} {rates(n, first, second)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corrections", action="store_true", help="measure Johnson's and Hall's corrections")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.corrections:
        corrections(rng)
        return
    reps = args.reps
    for kind, spread in (("lognormal", 3.0), ("badseed", 3.0)):
        for n in (3, 5, 10, 20):
            hits = 0
            for _ in range(reps):
                x = np.stack([rng.normal(size=n), spread * skewed(rng, kind, n)])
                hits += not compare(x, pvalues=False).could_be_best[0]
            line("could_be_best", f"calm-vs-{kind}-sd{spread:g}", n, hits, reps)
    for n in (3, 5, 10):
        hits = 0
        for _ in range(reps):
            x = np.stack([rng.normal(size=n), 1.0 + 3.0 * skewed(rng, "lognormal", n)])
            hits += bool(compare(x, margin=1.0, pvalues=False).equivalent_to_best[1])
        line("equivalent", "one-margin-worse-lognormal-sd3", n, hits, reps)
    race_reps = max(reps // 4, 50)
    hits = 0
    for _ in range(race_reps):
        shared = rng.normal(size=20)
        x = np.stack([math.sqrt(0.5) * shared + math.sqrt(0.5) * rng.normal(size=20),
                      0.2 + math.sqrt(0.5) * shared + math.sqrt(0.5) * 3.0 * skewed(rng, "lognormal", 20)])
        result = replay(x, Race(min_seeds=3, max_seeds=20))
        hits += any(e.config == 0 for e in result.eliminations)
    line("race", "best-vs-0.2sd-worse-lognormal-sd3", 20, hits, race_reps)


if __name__ == "__main__":
    main()
