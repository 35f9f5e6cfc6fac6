"""Fused dropout against Keras's dropout: the same procedure in distribution? (issue 16)

Under ``runner: auto`` a config with dropout is trained fused: each replica draws its dropout
masks from (seed, step), with Keras's rates and shapes (one mask per sequence; one per gate with
recurrent dropout), but not Keras's values. So a seed's fused fit and its ``fit_one`` differ value
by value, and the claim to check is that, over seeds, they are draws from the same distribution.

For each problem (a series: ``damped_sine``; a classification: ``echo``, 5 classes) and each
config (dropout only, dropout + recurrent dropout, a 2-layer stacked LSTM with both), ``--seeds``
seeds (default 40) are fitted twice: by ``fit_one`` (``runner: sequential``) and as replicas of
one fused graph (``fit_group``, what ``runner: auto`` runs). Compared, per config:

* the final scores (``val_loss``, and ``val_mae`` / ``val_accuracy``): Welch's t-test and the
  two-sample Kolmogorov-Smirnov test;
* the per-epoch validation curves (``val_loss`` after each epoch): a permutation test of the
  largest absolute Welch t over the epochs (runner labels permuted, 4,000 permutations), which
  keeps the level at 0.05 for the curve as a whole;
* the power: the smallest difference in mean the final-score Welch test detects with 80 %
  probability at level 0.05, ``(z_0.975 + z_0.8) * sqrt(s1^2/n1 + s2^2/n2)``, in the metric's
  units and in units of the seed standard deviation; for the curves the same with the
  permutation test's critical value of the max |t| in place of ``z_0.975``, at the worst epoch.

Under "same distribution" the p-values are uniform: with 6 configs x 3 tests at level 0.05 about
one rejection in the whole table is expected by chance. The script asserts nothing; it prints
the table and writes the numbers with ``--json``.

    cd /work/main && python benchmarks/fused_dropout.py --json /tmp/bench/fused_dropout.json   # ~10 min
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
    """Welch and KS p-values of one final score, and the Welch test's detectable difference."""
    from scipy import stats

    welch = stats.ttest_ind(fused, standalone, equal_var=False)
    ks = stats.ks_2samp(fused, standalone)
    pooled_sd = float(np.sqrt((fused.var(ddof=1) + standalone.var(ddof=1)) / 2))
    detectable = welch_power(fused, standalone, stats.norm.ppf(1 - LEVEL / 2))
    return {"mean_fused": float(fused.mean()), "mean_standalone": float(standalone.mean()),
            "sd_fused": float(fused.std(ddof=1)), "sd_standalone": float(standalone.std(ddof=1)),
            "welch_p": float(welch.pvalue), "ks_p": float(ks.pvalue), "detectable": detectable,
            "detectable_in_sd": detectable / pooled_sd if pooled_sd > 0 else float("nan")}


def compare_curves(fused: np.ndarray, standalone: np.ndarray, seed: int = 0) -> dict[str, float]:
    """(seeds, epochs) curves: permutation p-value of max_epoch |Welch t|, and the detectable difference.

    The permutation distribution of the max |t| gives the critical value ``c`` at level 0.05 for
    the whole curve; the difference detectable at 80 % power at epoch e is about
    ``(c + z_0.8) * se_e``, reported at the epoch where it is largest relative to the seed std.
    """
    from scipy import stats

    observed = float(np.max(np.abs(welch_t(fused, standalone))))
    both = np.concatenate([fused, standalone])
    n = len(fused)
    rng = np.random.default_rng(seed)
    maxima = np.empty(PERMUTATIONS)
    for i in range(PERMUTATIONS):
        order = rng.permutation(len(both))
        maxima[i] = np.max(np.abs(welch_t(both[order[:n]], both[order[n:]])))
    p = float((1 + np.sum(maxima >= observed)) / (1 + PERMUTATIONS))
    critical = float(np.quantile(maxima, 1 - LEVEL))
    se = np.sqrt(fused.var(axis=0, ddof=1) / n + standalone.var(axis=0, ddof=1) / len(standalone))
    sd = np.sqrt((fused.var(axis=0, ddof=1) + standalone.var(axis=0, ddof=1)) / 2)
    detectable = (critical + stats.norm.ppf(POWER)) * se
    in_sd = np.where(sd > 0, detectable / np.where(sd > 0, sd, 1), np.nan)
    worst = int(np.nanargmax(in_sd))
    return {"max_abs_t": observed, "permutation_p": p, "critical_max_t": critical,
            "worst_epoch": worst + 1, "detectable_at_worst": float(detectable[worst]),
            "detectable_in_sd_at_worst": float(in_sd[worst]),
            "mean_gap_max_in_sd": float(np.nanmax(np.abs(fused.mean(0) - standalone.mean(0)) / np.where(sd > 0, sd, np.nan)))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 seeds, 2 epochs, one config: a smoke run")
    parser.add_argument("--seeds", type=int, default=40, help="seeds per config and runner (default 40)")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args(argv)
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
            row: dict[str, Any] = {"problem": f"{label} ({problem})", "config": name, "seeds_ok": len(ok),
                                   "fused_seconds": fused_seconds, "standalone_seconds": standalone_seconds}
            for score in ("val_loss", metric):
                a = np.array([fused[i].scores[score] for i in ok])
                b = np.array([standalone[i].scores[score] for i in ok])
                row[score] = compare_final(a, b)
            curve_a = np.array([fused[i].curves["val_loss"] for i in ok])
            curve_b = np.array([standalone[i].curves["val_loss"] for i in ok])
            row["val_loss_curve"] = compare_curves(curve_a, curve_b)
            row["same_values_seeds"] = int(sum(fused[i].scores["val_loss"] == standalone[i].scores["val_loss"]
                                               for i in ok))
            report["rows"].append(row)
            print_row(row, metric)
    print_summary(report["rows"])
    machine["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    if args.json:
        write_json(args.json, report)
    return 0


def print_row(row: dict[str, Any], metric: str) -> None:
    print(f"\n{row['problem']}, {row['config']}: {row['seeds_ok']} seeds ok on both sides "
          f"(fused {row['fused_seconds']:.0f} s, fit_one {row['standalone_seconds']:.0f} s)")
    for score in ("val_loss", metric):
        r = row[score]
        print(f"  {score:<13} fused {r['mean_fused']:.4f} ± {r['sd_fused']:.4f}   fit_one {r['mean_standalone']:.4f}"
              f" ± {r['sd_standalone']:.4f}   Welch p {r['welch_p']:.2f}  KS p {r['ks_p']:.2f}   detectable "
              f"{r['detectable']:.4f} ({r['detectable_in_sd']:.2f} sd)")
    c = row["val_loss_curve"]
    print(f"  val_loss curve: max |t| {c['max_abs_t']:.2f} (critical {c['critical_max_t']:.2f}), permutation p "
          f"{c['permutation_p']:.2f}; detectable {c['detectable_at_worst']:.4f} "
          f"({c['detectable_in_sd_at_worst']:.2f} sd) at epoch {c['worst_epoch']}", flush=True)


def print_summary(rows: list[dict[str, Any]]) -> None:
    pvalues = []
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dict) and "welch_p" in value:
                pvalues += [value["welch_p"], value["ks_p"]]
        pvalues.append(row["val_loss_curve"]["permutation_p"])
    below = sum(p < LEVEL for p in pvalues)
    print(f"\n{len(pvalues)} p-values, {below} below {LEVEL} ({LEVEL * len(pvalues):.1f} expected by chance if the "
          f"distributions are the same); smallest {min(pvalues):.3f}")


if __name__ == "__main__":
    sys.exit(main())
