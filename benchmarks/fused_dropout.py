"""Fused dropout against Keras's dropout: the same procedure in distribution? (issue 16)

Under ``runner: auto`` a config with dropout is trained fused: each replica draws its dropout
masks from (seed, step), with Keras's rates and shapes (one mask per sequence; one per gate with
recurrent dropout), but not Keras's values. So a seed's fused fit and its ``fit_one`` differ value
by value, and the claim to check is that, over seeds, they are draws from the same distribution.

For each problem (a series: ``damped_sine``; a classification: ``echo``, 5 classes) and each
config (dropout only, dropout + recurrent dropout, a 2-layer stacked LSTM with both), ``--seeds``
seeds (default 40) are fitted twice: by ``fit_one`` (``runner: sequential``) and as replicas of
one fused graph (``fit_group``, what ``runner: auto`` runs). Seed s starts both of its fits from
the same initial weights and the same batch order; only the dropout masks differ. So the two fits
of a seed are correlated (r = 0.7-0.98 in the quick run), and under "same procedure" they are
exchangeable. Compared, per config:

* the final scores (``val_loss``, and ``val_mse`` / ``val_accuracy``): as two samples, Welch's
  t-test and the two-sample Kolmogorov-Smirnov test (valid, but conservative with correlated
  pairs), and paired by seed, the t-test on the per-seed differences (the sharper test);
* the per-epoch validation curves (``val_loss`` after each epoch): the largest absolute t over
  the epochs, by permutation (4,000 permutations; level 0.05 for the curve as a whole): two
  samples (runner labels permuted, Welch t) and paired (each seed's difference curve's sign
  flipped, paired t);
* the power: the smallest difference in mean each test detects with 80 % probability at level
  0.05, ``(z_0.975 + z_0.8) * se`` with ``se = sqrt(s1^2/n1 + s2^2/n2)`` (two samples) or
  ``sd(differences)/sqrt(n)`` (paired), in the metric's units and in units of the seed standard
  deviation; for the curves the permutation test's critical max |t| in place of ``z_0.975``, at
  the epoch where the detectable difference is largest in seed standard deviations.

Under "same distribution" the p-values are uniform, so about 5 % of them fall below 0.05 by
chance. The script asserts nothing; it prints the table, and ``--json`` writes the numbers and
every seed's scores and curves (``--reanalyse FILE`` recomputes the tests from them).

    cd /work/main && python benchmarks/fused_dropout.py --json /tmp/bench/fused_dropout.json   # ~35 min on a loaded machine
    python benchmarks/fused_dropout.py --quick     # a smoke run, not a measurement
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROBLEMS = {
    "series": ("damped_sine", {"length": 20, "horizon": 1, "n_train": 256, "n_val": 128, "n_test": 0},
               "val_mse"),
    "classification": ("echo", {"length": 6, "n_features": 5, "n_train": 256, "n_val": 128, "n_test": 0},
                       "val_accuracy"),
}
CONFIGS = {
    "vanilla, dropout 0.3": {"family": "vanilla", "units": 8, "dropout": 0.3},
    "vanilla, dropout 0.2 + recurrent 0.2": {"family": "vanilla", "units": 8, "dropout": 0.2,
                                             "recurrent_dropout": 0.2},
    "stacked 2x8, dropout 0.2 + recurrent 0.2": {"family": "stacked", "units": 8, "dropout": 0.2,
                                                 "recurrent_dropout": 0.2},
}
COMMON = {"epochs": 10, "batch_size": 32, "learning_rate": 0.01}
POWER = 0.80
LEVEL = 0.05
PERMUTATIONS = 4000


def welch_power(a: np.ndarray, b: np.ndarray, critical: float) -> float:
    """Smallest |mean(a) - mean(b)| a two-sided test with this critical value detects at 80 % power."""
    from scipy import stats

    return float((critical + stats.norm.ppf(POWER)) * np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def welch_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch's t along axis 0 (seeds), for every column (epoch) at once."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return (a.mean(axis=0) - b.mean(axis=0)) / np.where(se > 0, se, np.inf)


def compare_final(fused: np.ndarray, standalone: np.ndarray) -> dict[str, float]:
    """One final score: two-sample (Welch, KS) and paired (by seed) tests, and what each would detect.

    Seed s starts both fits from the same weights and batch order, so the pairs are correlated:
    the two-sample tests are valid but conservative, the paired t-test on the per-seed differences
    is the sharper one (under "same procedure" the two fits of a seed are exchangeable).
    """
    from scipy import stats

    z = stats.norm.ppf(1 - LEVEL / 2)
    pooled_sd = float(np.sqrt((fused.var(ddof=1) + standalone.var(ddof=1)) / 2))
    difference = fused - standalone
    detectable = welch_power(fused, standalone, z)
    paired_detectable = float((z + stats.norm.ppf(POWER)) * difference.std(ddof=1) / np.sqrt(len(difference)))
    return {"mean_fused": float(fused.mean()), "mean_standalone": float(standalone.mean()),
            "sd_fused": float(fused.std(ddof=1)), "sd_standalone": float(standalone.std(ddof=1)),
            "pair_correlation": float(np.corrcoef(fused, standalone)[0, 1]),
            "welch_p": float(stats.ttest_ind(fused, standalone, equal_var=False).pvalue),
            "ks_p": float(stats.ks_2samp(fused, standalone).pvalue),
            "paired_p": float(stats.ttest_rel(fused, standalone).pvalue),
            "detectable": detectable, "detectable_in_sd": detectable / pooled_sd,
            "paired_detectable": paired_detectable, "paired_detectable_in_sd": paired_detectable / pooled_sd}


def paired_t(difference: np.ndarray) -> np.ndarray:
    """One-sample t of per-seed differences along axis 0, for every column (epoch) at once."""
    se = difference.std(axis=0, ddof=1) / np.sqrt(len(difference))
    return difference.mean(axis=0) / np.where(se > 0, se, np.inf)


def compare_curves(fused: np.ndarray, standalone: np.ndarray, seed: int = 0) -> dict[str, float]:
    """(seeds, epochs) curves: max over epochs of |t|, two-sample and paired, by permutation.

    Two-sample: runner labels permuted over all 2n curves, statistic max_epoch |Welch t|. Paired:
    the sign of each seed's difference curve flipped at random, statistic max_epoch |paired t|.
    Each permutation distribution gives the critical value ``c`` at level 0.05 for the curve as
    a whole; the difference detectable at 80 % power at epoch e is about ``(c + z_0.8) * se_e``,
    reported at the epoch where it is largest in units of the seed standard deviation.
    """
    from scipy import stats

    n = len(fused)
    rng = np.random.default_rng(seed)
    both = np.concatenate([fused, standalone])
    difference = fused - standalone
    observed = float(np.max(np.abs(welch_t(fused, standalone))))
    observed_paired = float(np.max(np.abs(paired_t(difference))))
    maxima = np.empty(PERMUTATIONS)
    paired_maxima = np.empty(PERMUTATIONS)
    for i in range(PERMUTATIONS):
        order = rng.permutation(len(both))
        maxima[i] = np.max(np.abs(welch_t(both[order[:n]], both[order[n:]])))
        signs = rng.choice([-1.0, 1.0], size=(n, 1))
        paired_maxima[i] = np.max(np.abs(paired_t(difference * signs)))
    sd = np.sqrt((fused.var(axis=0, ddof=1) + standalone.var(axis=0, ddof=1)) / 2)
    sd = np.where(sd > 0, sd, np.nan)
    out = {"max_abs_t": observed, "max_abs_paired_t": observed_paired,
           "mean_gap_max_in_sd": float(np.nanmax(np.abs(difference.mean(0)) / sd))}
    ses = {"two_sample": (maxima, np.sqrt(fused.var(axis=0, ddof=1) / n + standalone.var(axis=0, ddof=1) / n),
                          observed),
           "paired": (paired_maxima, difference.std(axis=0, ddof=1) / np.sqrt(n), observed_paired)}
    for name, (null, se, stat) in ses.items():
        critical = float(np.quantile(null, 1 - LEVEL))
        detectable = (critical + stats.norm.ppf(POWER)) * se
        worst = int(np.nanargmax(detectable / sd))
        out[name] = {"permutation_p": float((1 + np.sum(null >= stat)) / (1 + PERMUTATIONS)),
                     "critical_max_t": critical, "worst_epoch": worst + 1,
                     "detectable_at_worst": float(detectable[worst]),
                     "detectable_in_sd_at_worst": float(detectable[worst] / sd[worst])}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 seeds, 2 epochs, one config: a smoke run")
    parser.add_argument("--seeds", type=int, default=40, help="seeds per config and runner (default 40)")
    parser.add_argument("--json", type=Path, help="write every number (and every seed's scores and curves) here")
    parser.add_argument("--reanalyse", type=Path, help="recompute the tests from the fits of an earlier --json file")
    args = parser.parse_args(argv)
    if args.reanalyse:
        report = json.loads(args.reanalyse.read_text())
        for row in report["rows"]:
            analyse(row)
            print_row(row)
        print_summary(report["rows"])
        if args.json:
            write_json(args.json, report)
        return 0
    seeds = list(range(4 if args.quick else args.seeds))
    configs = dict(list(CONFIGS.items())[:1]) if args.quick else CONFIGS
    common = {**COMMON, "epochs": 2} if args.quick else COMMON

    from tuning.fit import FitSettings, FitTask, configure_threads, fit_one, import_tensorflow_quietly

    import_tensorflow_quietly()
    from tuning.fit.fused import GRAPH_THREADS, fit_group

    configure_threads(GRAPH_THREADS)  # the fused runner's threads, for both sides (one process)
    import keras
    import scipy
    import tensorflow as tf

    from tuning.spec import config_key

    machine = describe_machine(tf, keras, scipy)
    print(f"machine: {machine['cpu']}, {machine['cores']} cores; load average "
          f"{', '.join(f'{v:.2f}' for v in machine['load_average_at_start'] or [])}; python {machine['python']}, "
          f"tensorflow {machine['tensorflow']}")
    print(f"{len(seeds)} seeds per config and runner; {common}; shuffle on, no early stopping", flush=True)
    report: dict[str, Any] = {"machine": machine, "seeds": len(seeds), "common": common, "rows": []}
    for label, (problem, params, metric) in PROBLEMS.items():
        params_json = json.dumps(params, sort_keys=True)
        for name, config in configs.items():
            config = {**config, **common}
            settings = FitSettings.resolve({"shuffle": True}, config)
            tasks = [FitTask(problem, params_json, config, config_key(config), s, settings) for s in seeds]
            started = time.perf_counter()
            fused = fit_group(tasks)
            fused_seconds = time.perf_counter() - started
            started = time.perf_counter()
            standalone = [fit_one(task) for task in tasks]
            standalone_seconds = time.perf_counter() - started
            ok = [i for i in range(len(seeds)) if fused[i].ok and standalone[i].ok]
            row: dict[str, Any] = {
                "problem": f"{label} ({problem})", "config": name, "metric": metric, "seeds_ok": len(ok),
                "fused_seconds": fused_seconds, "standalone_seconds": standalone_seconds,
                "fits": {side: [{"seed": fits[i].seed, "scores": fits[i].scores, "val_loss": fits[i].curves["val_loss"]}
                                for i in ok] for side, fits in (("fused", fused), ("standalone", standalone))}}
            analyse(row)
            report["rows"].append(row)
            print_row(row)
    print()
    print_summary(report["rows"])
    machine["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    if args.json:
        write_json(args.json, report)
    return 0


def analyse(row: dict[str, Any]) -> None:
    """The tests of one config, from its fits (``row["fits"]``), into ``row["tests"]``."""
    fused, standalone = row["fits"]["fused"], row["fits"]["standalone"]
    assert [f["seed"] for f in fused] == [f["seed"] for f in standalone]
    tests: dict[str, Any] = {}
    for score in ("val_loss", row["metric"]):
        tests[score] = compare_final(np.array([f["scores"][score] for f in fused]),
                                     np.array([f["scores"][score] for f in standalone]))
    tests["val_loss_curve"] = compare_curves(np.array([f["val_loss"] for f in fused]),
                                             np.array([f["val_loss"] for f in standalone]))
    tests["same_value_seeds"] = sum(a["scores"]["val_loss"] == b["scores"]["val_loss"]
                                    for a, b in zip(fused, standalone, strict=True))
    row["tests"] = tests


def print_row(row: dict[str, Any]) -> None:
    tests = row["tests"]
    print(f"\n{row['problem']}, {row['config']}: {row['seeds_ok']} seeds ok on both sides "
          f"(fused {row['fused_seconds']:.0f} s, fit_one {row['standalone_seconds']:.0f} s)")
    for score in ("val_loss", row["metric"]):
        r = tests[score]
        print(f"  {score:<13} fused {r['mean_fused']:.4f} ± {r['sd_fused']:.4f}   fit_one {r['mean_standalone']:.4f}"
              f" ± {r['sd_standalone']:.4f}   Welch p {r['welch_p']:.2f}  KS p {r['ks_p']:.2f}  paired p "
              f"{r['paired_p']:.2f} (pair r {r['pair_correlation']:.2f})   detectable {r['detectable']:.4f} "
              f"({r['detectable_in_sd']:.2f} sd), paired {r['paired_detectable']:.4f} "
              f"({r['paired_detectable_in_sd']:.2f} sd)")
    c = tests["val_loss_curve"]
    for name in ("two_sample", "paired"):
        t = c[name]
        print(f"  val_loss curve, {name:<10}: permutation p {t['permutation_p']:.2f} (critical max |t| "
              f"{t['critical_max_t']:.2f}); detectable {t['detectable_at_worst']:.4f} "
              f"({t['detectable_in_sd_at_worst']:.2f} sd) at epoch {t['worst_epoch']}", flush=True)


def print_summary(rows: list[dict[str, Any]]) -> None:
    pvalues: dict[str, list[float]] = {"two-sample": [], "paired": []}
    for row in rows:
        tests = row["tests"]
        for score in ("val_loss", row["metric"]):
            pvalues["two-sample"] += [tests[score]["welch_p"], tests[score]["ks_p"]]
            pvalues["paired"].append(tests[score]["paired_p"])
        pvalues["two-sample"].append(tests["val_loss_curve"]["two_sample"]["permutation_p"])
        pvalues["paired"].append(tests["val_loss_curve"]["paired"]["permutation_p"])
    for kind, values in pvalues.items():
        below = sum(p < LEVEL for p in values)
        print(f"{kind}: {len(values)} p-values, {below} below {LEVEL} ({LEVEL * len(values):.1f} expected by chance "
              f"if the distributions are the same); smallest {min(values):.3f}")


if __name__ == "__main__":
    sys.exit(main())
