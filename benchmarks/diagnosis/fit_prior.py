"""Make the extrapolation's learned prior (``tuning/data/curve_prior.json``) and measure it by cross-validation.

Every val curve of >= 20 finite epochs in the development sets (the old corpus and the first two
fresh sets) is cut at half, as ``extrapolation.py`` does. Its first half becomes a row of shape
features (:func:`tuning.analysis.extrapolation.prior_row`), and its target is what the second half
really did beyond the saturating families' forecast, as a log-ratio of levels clipped to +-2. A
new curve's correction is the median of its ``k`` nearest rows' (:mod:`tuning.analysis.curve_prior`).
Chosen by the numbers below among k = 10, 15, 20 and a distance-weighted mean or a median (the
median of 10: the best cross-validated error, and one close but odd neighbour cannot set it).

Measured, never in-sample:

* leave one set out: each set's curves forecast from the rows of the other two;
* grouped 10-fold: configs dealt into 10 folds (all seeds of a config in one), each fold's
  curves forecast from the other nine.

The 80 % interval's quantiles are calibrated on out-of-set errors and their coverage measured
nested: each set's interval calibrated on the other sets' own out-of-set errors. Round 4 calibrated
them on the three sets above (leave one set out); the six fresh sets made after it (3 to 8) then
covered 0.65 to 0.90 of their real gains, five of six under 0.75. Round 12 (docs/analysis.md)
calibrates on all nine: the three above left out one at a time, and sets 3 to 8 as they are (none
of their curves is in the prior). The prior's rows stay those of the three sets, so every forecast
and every label is unchanged; only the interval moves.

Round 19 adds ``interval_q_seeds``: the quantiles of a fit's forecast given its seeds' first halves
(``extrapolated_gain(..., siblings=...)``, the median of the seeds' forecasts), calibrated on the
out-of-set errors of all fifteen development sets (the three above left out one at a time, sets 3
to 14 as they are) and printed with each set's nested coverage. The single-curve forecast and its
``interval_q`` are unchanged.

    python benchmarks/diagnosis/fit_prior.py            # writes the prior, prints the numbers
    python benchmarks/diagnosis/fit_prior.py --check    # the numbers only, the file untouched
"""

from __future__ import annotations

import argparse
import json
import math
import zlib
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from tuning.analysis.curve_prior import FEATURES, PRIOR_PATH, load_prior
from tuning.analysis.extrapolation import forecast, level_window, log_ratio, prior_row

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
SETS = ("diagnosis_corpus.json", "diagnosis_fresh.json", "diagnosis_fresh2.json")
#: Development sets made after the prior (round 4): out of set for it as they are, so their errors calibrate the interval.
LATER_SETS = tuple(f"diagnosis_fresh{i}.json" for i in range(3, 9))
#: Round 19: the sets the seeds' interval (``interval_q_seeds``) is calibrated on: every development set.
SEED_SETS = (*SETS, *(f"diagnosis_fresh{i}.json" for i in range(3, 15)))
K = 10          # neighbours
MIN_EPOCHS = 10  # the shortest first half stored (curves of >= 20 epochs)
FOLDS = 10


def finite(values: list) -> np.ndarray | None:
    if not values or any(v is None or not math.isfinite(v) for v in values):
        return None
    return np.asarray(values, dtype=float)


def development_rows(sets: tuple[str, ...] = SETS) -> list[dict]:
    """One dict per usable val curve: its features, target, real gain, groups, noise and its seeds' first halves."""
    rows = []
    for file in sets:
        for config in json.loads((DATA / file).read_text())["configs"]:
            for i, fit in enumerate(config["fits"]):
                y = finite(fit["val"])
                if y is None or len(y) < 2 * MIN_EPOCHS or float(y.min()) <= 0:
                    continue
                n, m = len(y), len(y) // 2
                k = level_window(m)
                t = finite(fit["train"])
                real = 1.0 - float(np.median(y[n - k:])) / float(np.median(y[m - k:m]))
                features, base = prior_row(y[:m], n / m, train=t[:m] if t is not None else None)
                target = float(np.clip(-math.log(max(1.0 - real, 1e-3)) - log_ratio(base), -2, 2))
                fold = zlib.crc32(f"{file}:{config['name']}".encode()) % FOLDS
                siblings = [(o["val"], o["train"]) for j, o in enumerate(config["fits"]) if j != i]  # cut by forecast
                rows.append({"features": features, "target": target, "real": real, "set": file, "fold": fold,
                             "groups": [f"set:{file}", f"fold:{fold}"], "y": y[:m], "factor": n / m,
                             "train": t[:m] if t is not None else None, "siblings": siblings})
    return rows


def write_prior(rows: list[dict], interval_q: tuple[float, float], seeds_q: tuple[float, float],
                path: Path = PRIOR_PATH) -> None:
    table = np.asarray([r["features"] for r in rows])
    data = {"about": "Nearest-neighbour prior of tuning.extrapolated_gain (issue 22, round 4): the shape features "
                     "of the development val curves cut at half and what their second half did beyond the "
                     "families' forecast (log-ratio of levels). Made by benchmarks/diagnosis/fit_prior.py.",
            "features": list(FEATURES), "k": K, "aggregate": "median", "min_epochs": MIN_EPOCHS, "interval_q": [round(q, 4) for q in interval_q],
            "interval_q_seeds": [round(q, 4) for q in seeds_q],
            "mean": [round(float(x), 6) for x in np.nanmean(table, axis=0)],
            "std": [round(float(x), 6) for x in np.nanstd(table, axis=0)],
            "rows": [[round(float(x), 5) if math.isfinite(x) else None for x in r["features"]] for r in rows],
            "target": [round(r["target"], 5) for r in rows], "groups": [r["groups"] for r in rows]}
    text = json.dumps(data, separators=(",", ":")).replace("NaN", "null")
    path.write_text(text + "\n")


def predictions(rows: list[dict], group: str | None, seeds: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each row's forecast with its own ``group`` (its set, or its fold) left out of the prior (``None``:
    a row not in the prior), and its interval's scale; ``seeds``: with its seeds' first halves (round 19).

    The scale is read back from the interval: ``low = gain + q_low * scale`` with the stored ``q_low``.
    """
    q_low = load_prior()["interval_q_seeds" if seeds else "interval_q"][0]
    found = [forecast(r["y"], r["factor"], train=r["train"], siblings=r["siblings"] if seeds else (),
                      exclude=set() if group is None else {r["groups"][0 if group == "set" else 1]})
             for r in rows]
    if seeds:  # the curves whose seeds took part (a config of one seed has the single curve's quantiles)
        found = [g if g.families[-1][0] == "seeds' median" else None for g in found]
        return (np.asarray([g.gain if g else math.nan for g in found]),
                np.asarray([(g.low - g.gain) / q_low if g else math.nan for g in found]))
    return np.asarray([g.gain for g in found]), np.asarray([(g.low - g.gain) / q_low for g in found])


def quantiles(real: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> tuple[float, float]:
    return tuple(float(q) for q in np.quantile((real - pred) / scale, [0.1, 0.9]))


def summary(real: np.ndarray, pred: np.ndarray) -> str:
    err = pred - real
    return (f"median_error={np.median(err):.3f} median_abs_error={np.median(np.abs(err)):.3f} "
            f"spearman={spearmanr(pred, real)[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="measure the stored prior; do not write it")
    args = parser.parse_args()
    rows = development_rows()
    if not args.check:
        write_prior(rows, (-1.5, 0.7), (-0.4, 0.4))  # provisional quantiles: the forecasts below need the rows
        load_prior.cache_clear()
    real = np.asarray([r["real"] for r in rows])
    sets = np.asarray([r["set"] for r in rows])
    families = np.asarray([prior_row(r["y"], r["factor"], train=r["train"])[1] for r in rows])
    (by_set, scale), (by_fold, _) = predictions(rows, "set"), predictions(rows, "fold")
    print(f"{len(rows)} development val curves of >= 20 epochs, cut at half; k = {K}")
    print(f"  families alone (round 3)        {summary(real, families)}")
    print(f"  + prior, leave one set out      {summary(real, by_set)}")
    print(f"  + prior, grouped {FOLDS}-fold       {summary(real, by_fold)}")
    later = development_rows(LATER_SETS)
    by_later, later_scale = predictions(later, None)
    pooled_real = np.concatenate([real, [r["real"] for r in later]])
    pooled_pred, pooled_scale = np.concatenate([by_set, by_later]), np.concatenate([scale, later_scale])
    pooled_sets = np.concatenate([sets, [r["set"] for r in later]])
    q = quantiles(pooled_real, pooled_pred, pooled_scale)
    for file in (*SETS, *LATER_SETS):
        own = pooled_sets == file
        inner = quantiles(pooled_real[~own], pooled_pred[~own], pooled_scale[~own])  # from the other sets only
        low = pooled_pred[own] + inner[0] * pooled_scale[own]
        high = np.minimum(pooled_pred[own] + inner[1] * pooled_scale[own], 1)
        covered = np.mean((pooled_real[own] >= low) & (pooled_real[own] <= high))
        if file in SETS:
            print(f"  {file:24s} n={own.sum():3d} families {summary(real[sets == file], families[sets == file])}")
        print(f"  {file:24s} n={own.sum():3d} prior    {summary(pooled_real[own], pooled_pred[own])} "
              f"coverage80={covered:.2f} (quantiles {inner[0]:.3f}, {inner[1]:.3f} from the other sets)")
    print(f"interval quantiles from all out-of-set errors: {q[0]:.3f}, {q[1]:.3f}")
    seeds_q = seeds_quantiles(rows)
    if not args.check:
        write_prior(rows, q, seeds_q)
        print(f"wrote {PRIOR_PATH}")


def seeds_quantiles(rows: list[dict]) -> tuple[float, float]:
    """Round 19: the quantiles of the forecast with the seeds' first halves (the median of the seeds'
    forecasts), from the out-of-set errors of every development set, with each set's coverage nested."""
    later = development_rows(SEED_SETS[len(SETS):])
    (pred, scale), (pred_later, scale_later) = predictions(rows, "set", seeds=True), predictions(later, None, seeds=True)
    real = np.asarray([r["real"] for r in rows + later])
    sets = np.asarray([r["set"] for r in rows + later])
    pred, scale = np.concatenate([pred, pred_later]), np.concatenate([scale, scale_later])
    alone = np.concatenate([predictions(rows, "set")[0], predictions(later, None)[0]])
    used = np.isfinite(pred)
    q = quantiles(real[used], pred[used], scale[used])
    print(f"with the seeds' first halves (round 19), {used.sum()} of {len(real)} curves with other seeds:")
    for file in SEED_SETS:
        own, other = (sets == file) & used, (sets != file) & used
        inner = quantiles(real[other], pred[other], scale[other])
        covered = np.mean((real[own] >= pred[own] + inner[0] * scale[own])
                          & (real[own] <= np.minimum(pred[own] + inner[1] * scale[own], 1)))
        print(f"  {file:24s} n={own.sum():3d} alone {summary(real[own], alone[own])}")
        print(f"  {file:24s} n={own.sum():3d} seeds {summary(real[own], pred[own])} coverage80={covered:.2f} "
              f"(quantiles {inner[0]:.3f}, {inner[1]:.3f} from the other sets)")
    print(f"seeds' interval quantiles from all out-of-set errors: {q[0]:.3f}, {q[1]:.3f}")
    return q


if __name__ == "__main__":
    main()
