"""A trending series before and after ``difference: 1``: mean ± std over seeds, skill against the
strongest naive baseline (the numbers of docs/series.md).

The series is the bundled example (``tuning/data/example_series.csv``: trend 0.5 a month, a yearly
season, noise) plus ``--extra-trend`` per month, so that the validation and test years lie well
above the training range, as in a real rising series (CO2, prices, traffic). The same small grid
runs twice, once on the levels (min-max scaled on the training rows) and once on the month-to-month
changes; everything else is equal, and both are scored in the series' own units on the same
validation windows against the same baselines.

Usage::

    python benchmarks/series_difference.py [--extra-trend 1.0] [--repeats 5] [--epochs 200] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe_machine, write_json  # noqa: E402


def spec(name: str, csv: Path, storage: str, repeats: int, epochs: int, extra: dict) -> dict:
    return {
        "name": name,
        "problem": {"name": "csv", "params": {"path": str(csv), "time_column": "month", "look_back": 12,
                                              "season": 12, **extra}},
        "model": {"family": "vanilla", "cell": "lstm"},
        "space": {"units": [8, 32], "learning_rate": [0.003, 0.01]},
        "sampler": "grid",
        "repeats": repeats,
        "objective": {"metric": "val_mae"},
        "fit": {"epochs": epochs, "batch_size": 32, "early_stopping": {"monitor": "val_loss", "patience": 20}},
        "storage": storage,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-trend", type=float, default=1.0, help="added to the example series per month")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="write the numbers as JSON")
    args = parser.parse_args()

    import tensorflow as tf

    import tuning
    from tuning.analysis import select, summary_table, verdict

    frame = pd.read_csv(resources.files("tuning") / "data" / "example_series.csv")
    frame["value"] = frame["value"] + args.extra_trend * np.arange(len(frame))
    machine = describe_machine(tf)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "trending.csv"
        frame.to_csv(csv, index=False)
        storage = f"sqlite:///{folder}/series.db"
        for name, extra in (("levels", {}), ("difference 1", {"difference": 1})):
            started = time.perf_counter()
            tuning.run_study(spec(name.replace(" ", "-"), csv, storage, args.repeats, args.epochs, extra))
            seconds = time.perf_counter() - started
            results = tuning.load_results(name.replace(" ", "-"), storage)
            summary = summary_table(results)
            best = summary.iloc[0]
            test = results.fits.groupby("config_key")["test_mae"].agg(["mean", "std"]).loc[best["config_key"]]
            baselines = {k: v["val_mae"] for k, v in results.baseline["baselines"].items()}
            warnings = verdict(results, select(results)).warnings
            rows.append({
                "study": name, "best_config": f"units={best['param_units']}, learning_rate={best['param_learning_rate']}",
                "val_mae_mean": best["mean"], "val_mae_std": best["std"], "n_seeds": int(best["n_seeds"]),
                "test_mae_mean": test["mean"], "test_mae_std": test["std"],
                "skill_vs_baseline": best["skill_vs_baseline"], "baseline": best["baseline"],
                "baselines_val_mae": baselines, "worst_config_val_mae": summary["mean"].max(),
                "configs_beating_baseline": int((summary["skill_vs_baseline"] > 0).sum()), "configs": len(summary),
                "warnings": warnings, "seconds": round(seconds, 1)})
    print(f"{'study':<14} {'best val MAE (mean ± std)':>26} {'test MAE':>16} {'skill':>7}  baseline   configs > baseline")
    for r in rows:
        print(f"{r['study']:<14} {r['val_mae_mean']:>14.3f} ± {r['val_mae_std']:<9.3f} {r['test_mae_mean']:>8.3f} ± "
              f"{r['test_mae_std']:<5.2f} {r['skill_vs_baseline']:>7.2f}  {r['baseline']}  "
              f"{r['configs_beating_baseline']} of {r['configs']}")
        for line in r["warnings"]:
            print(f"    warning: {line}")
    print("baselines (val MAE):", rows[0]["baselines_val_mae"])
    if args.out:
        write_json(args.out, {"machine": machine, "args": vars(args) | {"out": str(args.out)}, "studies": rows})


if __name__ == "__main__":
    main()
