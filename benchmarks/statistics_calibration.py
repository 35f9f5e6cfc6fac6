"""Calibration of tuning/statistics.py on synthetic studies whose truth is known (no Keras).

A synthetic study is a (configs x seeds) matrix of scores, lower is better:
``score[i, s] = mu[i] + sqrt(rho) * u[s] + sqrt(1 - rho) * e[i, s]``, where ``u[s]`` is the
seed's shared effect (data order, initial weights) and ``e`` the config's own noise, both drawn
from one of three unit-variance distributions: ``normal``, ``heavy`` (Student t, 3 df) and
``skewed`` (exponential, minus its mean: a long tail on the bad side, like a seed that trains
badly). ``rho`` is then the correlation of two configs' scores over seeds.

Measured, each with its Monte-Carlo standard error (binomial, sqrt(p(1-p)/draws)):

* ``false_positive_rate``: all configs equal; the share of studies in which any config is left
  out of ``could_be_best`` (declared worse than the best). Nominal: <= 0.05.
* ``partial_false_positive_rate``: half the configs tied best, the other half 3 sd behind and 3
  times noisier (a bad config is often an erratic one); the share of studies in which any of the
  tied best is declared worse. Counted in ``false_positive_rate``'s worst case. Nominal: <= 0.05.
* ``best_excluded_rate``: one true best, every other config a quarter of a seed sd behind; the share of
  studies in which the true best is left out of ``could_be_best``. Nominal: <= 0.05.
* ``coverage``: the share of configs whose 95 % interval of the mean holds its true mean.
* ``power``: two configs, 5 seeds, a true gap of one seed sd: how often the worse one is left out,
  next to Welch's and the paired t-test's rejection rates (issue 12's table).
* ``seeds_needed``: top two configs a margin apart (the others far behind): seeds suggested from a
  first study, and the share of fresh studies with that many seeds that tell the two apart
  (the power the suggestion achieves; target 0.8, accepted >= 0.75).
* ``equivalence``: the second config exactly a margin behind the best: the share of studies that
  call it ``equivalent_to_best`` (a false claim; nominal <= 0.05).
* the old ``tied_with_best`` (Welch vs the observed best, Holm-corrected), for comparison.

    python benchmarks/statistics_calibration.py --quick            # under a minute; last line: the three rates
    python benchmarks/statistics_calibration.py --json out.json    # every scenario (about 7 minutes on 2 cores)
    python benchmarks/statistics_calibration.py --tables out.json  # that run's numbers as the tables of docs/statistics.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from itertools import product
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import describe_machine, write_json  # noqa: E402

from tuning.statistics import compare, plan_seeds, seeds_needed  # noqa: E402

LEVEL = 0.05


def noise(rng: np.random.Generator, kind: str, shape) -> np.ndarray:
    """Unit-variance, mean-zero draws of one of the three noise families."""
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "heavy":
        return rng.standard_t(3, shape) / math.sqrt(3.0)
    if kind == "skewed":
        return rng.exponential(1.0, shape) - 1.0
    raise ValueError(kind)


def study(rng: np.random.Generator, mu: np.ndarray, seeds: int, kind: str, rho: float) -> np.ndarray:
    shared = noise(rng, kind, (1, seeds))
    own = noise(rng, kind, (len(mu), seeds))
    return mu[:, None] + math.sqrt(rho) * shared + math.sqrt(1 - rho) * own


def mc_error(p: float, draws: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / draws)


def welch_holm_flags(x: np.ndarray) -> bool:
    """The old tied_with_best: any config flagged different from the observed best (Welch + Holm)."""
    means = x.mean(axis=1)
    best = int(np.argmin(means))
    others = [i for i in range(len(x)) if i != best]
    p = np.array([stats.ttest_ind(x[best], x[i], equal_var=False).pvalue for i in others])
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order]))
    return bool((adjusted <= LEVEL).any())


def calibration(configs: int, seeds: int, kind: str, rho: float, draws: int, rng: np.random.Generator,
                old: bool = False) -> dict:
    """False positives and coverage (all equal), best excluded (a staircase of means)."""
    equal = np.zeros(configs)
    behind = np.r_[0.0, np.full(configs - 1, 0.25)]  # one best, the others a quarter sd behind
    tied = max(configs // 2, 1)  # partial: the first half tied best, the rest 3 sd behind and 3x noisier
    partial = np.r_[np.zeros(tied), np.full(configs - tied, 3.0)]
    noisy = np.r_[np.ones(tied), np.full(configs - tied, 3.0)][:, None]
    flagged = excluded = covered = total = old_flagged = partial_flagged = 0
    t = stats.t.ppf(0.975, seeds - 1)
    for _ in range(draws):
        x = study(rng, equal, seeds, kind, rho)
        flagged += not compare(x, pvalues=False).could_be_best.all()
        if old:
            old_flagged += welch_holm_flags(x)
        half = t * x.std(axis=1, ddof=1) / math.sqrt(seeds)
        covered += int((np.abs(x.mean(axis=1)) <= half).sum())
        total += configs
        y = study(rng, behind, seeds, kind, rho)
        excluded += not compare(y, pvalues=False).could_be_best[0]
        if configs > 2:
            z = partial[:, None] + math.sqrt(rho) * noise(rng, kind, (1, seeds)) \
                + math.sqrt(1 - rho) * noisy * noise(rng, kind, (configs, seeds))
            partial_flagged += not compare(z, pvalues=False).could_be_best[:tied].all()
    row = {"configs": configs, "seeds": seeds, "noise": kind, "rho": rho, "draws": draws,
           "false_positive_rate": flagged / draws, "best_excluded_rate": excluded / draws,
           "coverage": covered / total,
           "partial_false_positive_rate": partial_flagged / draws if configs > 2 else math.nan}
    row["false_positive_se"] = mc_error(row["false_positive_rate"], draws)
    row["best_excluded_se"] = mc_error(row["best_excluded_rate"], draws)
    # configs within one study share the seed effect, so their coverage is not independent:
    # the error is computed over studies (draws), not configs
    row["coverage_se"] = mc_error(row["coverage"], draws)
    if old:
        row["old_false_positive_rate"] = old_flagged / draws
    return row


def power_table(draws: int, rng: np.random.Generator, seeds: int = 5, gap: float = 1.0) -> list[dict]:
    """Two configs a gap of one seed sd apart: ours, Welch's and the paired t-test's detection rates."""
    rows = []
    for rho in (0.0, 0.5, 0.8):
        ours = welch = paired = 0
        for _ in range(draws):
            x = study(rng, np.array([0.0, gap]), seeds, "normal", rho)
            ours += not compare(x, pvalues=False).could_be_best[1]
            welch += stats.ttest_ind(x[0], x[1], equal_var=False).pvalue <= LEVEL
            paired += stats.ttest_rel(x[0], x[1]).pvalue <= LEVEL
        rows.append({"rho": rho, "seeds": seeds, "gap_sd": gap, "draws": draws, "could_be_best": ours / draws,
                     "welch": welch / draws, "paired_t": paired / draws, "se": mc_error(0.5, draws)})
    return rows


def seeds_accuracy(configs: int, seeds: int, rho: float, draws: int, rng: np.random.Generator,
                   margin: float = 1.0, kind: str = "normal") -> dict:
    """Suggested seeds from one study, and whether a fresh study with that many tells the top two apart."""
    mu = np.concatenate([[0.0, margin], margin + 4.0 + np.arange(configs - 2)])
    suggested, detected, capped = [], 0, 0
    for _ in range(draws):
        x = study(rng, mu, seeds, kind, rho)
        comparison = compare(x, pvalues=False)
        needed = plan_seeds(comparison, x, 0, 1, margin)
        if needed is None:
            capped += 1
            continue
        suggested.append(needed)
        fresh = study(rng, mu, needed, kind, rho)
        detected += not compare(fresh, pvalues=False).could_be_best[1]
    achieved = detected / max(len(suggested), 1)
    sd_true = math.sqrt(2 * (1 - rho))
    true_needed = seeds_needed(sd_true, margin, 2, paired=True)  # the others drop out first: two remain
    return {"configs": configs, "first_seeds": seeds, "rho": rho, "noise": kind, "margin_sd": margin,
            "draws": draws, "median_suggested": float(np.median(suggested)) if suggested else math.nan,
            "true_needed": true_needed, "achieved_power": achieved, "achieved_se": mc_error(achieved, max(len(suggested), 1)),
            "over_cap": capped}


def equivalence_rate(configs: int, seeds: int, rho: float, draws: int, rng: np.random.Generator,
                     margin: float = 0.5) -> dict:
    """Second config exactly ``margin`` behind: how often it is (falsely) called equivalent."""
    mu = np.concatenate([[0.0, margin], margin + 4.0 + np.arange(configs - 2)])
    claimed = sum(bool(compare(study(rng, mu, seeds, "normal", rho), margin=margin, pvalues=False,
                               best=0).equivalent_to_best[1]) for _ in range(draws))
    return {"configs": configs, "seeds": seeds, "rho": rho, "margin_sd": margin, "draws": draws,
            "false_equivalence_rate": claimed / draws, "se": mc_error(claimed / draws, draws)}


def unequal_spread(configs: int, seeds: int, rho: float, draws: int, rng: np.random.Generator,
                   factor: float = 3.0) -> dict:
    """All means equal, but the last config's own noise is ``factor`` times the others' (pooling's
    assumption broken): how often is any config, and that noisy one, flagged worse?"""
    scale = np.r_[np.ones(configs - 1), factor][:, None]
    flagged = noisy = 0
    for _ in range(draws):
        x = math.sqrt(rho) * rng.standard_normal((1, seeds)) + math.sqrt(1 - rho) * scale * rng.standard_normal(
            (configs, seeds))
        could = compare(x, pvalues=False).could_be_best
        flagged += not could.all()
        noisy += not could[-1]
    return {"configs": configs, "seeds": seeds, "rho": rho, "factor": factor, "draws": draws,
            "false_positive_rate": flagged / draws, "noisy_flagged_rate": noisy / draws,
            "se": mc_error(flagged / draws, draws)}


def quick(draws: int, rng: np.random.Generator) -> tuple[list[dict], dict]:
    rows = [calibration(configs, seeds, kind, rho, draws, rng)
            for (configs, seeds), kind, rho in product([(2, 3), (5, 5), (20, 3), (50, 5)], ("normal", "heavy", "skewed"),
                                                         (0.0, 0.8))]
    worst = {"false_positive_rate": max(max(r["false_positive_rate"], np.nan_to_num(r["partial_false_positive_rate"]))
                                        for r in rows),
             "best_excluded_rate": max(r["best_excluded_rate"] for r in rows),
             "coverage": min(r["coverage"] for r in rows)}
    return rows, worst


def full(draws: int, rng: np.random.Generator) -> dict:
    report: dict = {"calibration": [], "power": [], "seeds_needed": [], "equivalence": []}
    for configs, seeds in product((2, 5, 10, 20, 50), (3, 5, 10, 20)):
        for kind, rho in product(("normal", "heavy", "skewed"), (0.0, 0.5, 0.8)):
            old = kind == "normal" and rho == 0.0
            row = calibration(configs, seeds, kind, rho, draws if configs < 50 else draws // 2, rng, old=old)
            report["calibration"].append(row)
            print(_fmt(row), flush=True)
    report["power"] = power_table(draws * 2, rng)
    for row in report["power"]:
        print(_fmt(row), flush=True)
    for configs, seeds, rho in product((2, 5, 20), (3, 5, 10), (0.0, 0.5, 0.8)):
        row = seeds_accuracy(configs, seeds, rho, draws // 4, rng)
        report["seeds_needed"].append(row)
        print(_fmt(row), flush=True)
    for configs, seeds, rho in product((2, 5, 20), (3, 5, 10), (0.0, 0.8)):
        row = equivalence_rate(configs, seeds, rho, draws, rng)
        report["equivalence"].append(row)
        print(_fmt(row), flush=True)
    return report


def tables(report: dict) -> str:
    """The markdown tables of docs/statistics.md from a saved ``--json`` report."""
    calib = report["calibration"]
    out = []
    cases = [(k, rho) for k in ("normal", "heavy", "skewed") for rho in (0.0, 0.5, 0.8)]
    head = " | ".join(f"{k} {rho:g}" for k, rho in cases)
    for key, title in (("false_positive_rate", "False-positive rate (all configs equal; nominal 0.05)"),
                       ("partial_false_positive_rate", "Partial false-positive rate (half tied best, half 3 sd "
                                                       "behind and 3x noisier; nominal 0.05)"),
                       ("best_excluded_rate", "Best-excluded rate (others a quarter sd behind; nominal <= 0.05)"),
                       ("coverage", "Coverage of the 95 % interval of a config's mean")):
        out += [f"**{title}**", "", f"| configs x seeds | {head} |" + (" old |" if key == "false_positive_rate" else ""),
                "|---|" + "---|" * (len(cases) + (key == "false_positive_rate"))]
        for configs, seeds in sorted({(r["configs"], r["seeds"]) for r in calib}):
            rows = {(r["noise"], r["rho"]): r for r in calib if (r["configs"], r["seeds"]) == (configs, seeds)}
            cells = " | ".join(f"{rows[c][key]:.3f}" if math.isfinite(rows[c][key]) else "–" for c in cases)
            old = rows[("normal", 0.0)].get("old_false_positive_rate")
            extra = f" {old:.3f} |" if key == "false_positive_rate" else ""
            out.append(f"| {configs} x {seeds} | {cells} |{extra}")
        out.append("")
    out += ["**Power: two configs, 5 seeds, a true gap of one seed sd**", "",
            "| correlation | could_be_best | Welch | paired t |", "|---|---|---|---|"]
    out += [f"| {r['rho']:g} | {r['could_be_best']:.3f} | {r['welch']:.3f} | {r['paired_t']:.3f} |" for r in report["power"]]
    out += ["", "**Seeds needed: the suggestion from a first study, and the power it achieves (target 0.80)**", "",
            "| configs | first seeds | correlation | median suggested | needed with the true sd (2 left) | achieved power |",
            "|---|---|---|---|---|---|"]
    out += [f"| {r['configs']} | {r['first_seeds']} | {r['rho']:g} | {r['median_suggested']:g} | {r['true_needed']} | "
            f"{r['achieved_power']:.3f} ± {r['achieved_se']:.3f} |" for r in report["seeds_needed"]]
    out += ["", "**False equivalence: the second config exactly a margin (0.5 sd) behind (nominal <= 0.05)**", "",
            "| configs | seeds | correlation | called equivalent |", "|---|---|---|---|"]
    out += [f"| {r['configs']} | {r['seeds']} | {r['rho']:g} | {r['false_equivalence_rate']:.3f} |"
            for r in report["equivalence"]]
    return "\n".join(out)


def _fmt(row: dict) -> str:
    return "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 scenarios, under a minute")
    parser.add_argument("--draws", type=int, default=None, help="simulated studies per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    parser.add_argument("--tables", type=Path, default=None, help="print the markdown tables of a saved --json run")
    parser.add_argument("--unequal", action="store_true",
                        help="only the scenarios where one config is 3x noisier than the others")
    args = parser.parse_args()
    if args.tables:
        import json

        print(tables(json.loads(args.tables.read_text())))
        return
    if args.unequal:
        for configs, seeds, rho in product((2, 5, 20), (3, 5, 10), (0.0, 0.8)):
            print(_fmt(unequal_spread(configs, seeds, rho, args.draws or 2000, np.random.default_rng(args.seed))))
        return
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.quick:
        rows, worst = quick(args.draws or 1500, rng)
        for row in rows:
            print(_fmt(row))
        report = {"calibration": rows, "worst": worst}
    else:
        report = full(args.draws or 2000, rng)
        calib = report["calibration"]
        worst = {"false_positive_rate": max(max(r["false_positive_rate"], np.nan_to_num(r["partial_false_positive_rate"]))
                                            for r in calib),
                 "best_excluded_rate": max(r["best_excluded_rate"] for r in calib),
                 "coverage": min(r["coverage"] for r in calib)}
        report["worst"] = worst
    report["seconds"] = time.perf_counter() - started
    if args.json:
        import scipy

        report["machine"] = describe_machine(np, scipy)
        write_json(args.json, report)
    print(f"false_positive_rate={worst['false_positive_rate']:.3f} best_excluded_rate={worst['best_excluded_rate']:.3f} "
          f"coverage={worst['coverage']:.3f}")


if __name__ == "__main__":
    main()
