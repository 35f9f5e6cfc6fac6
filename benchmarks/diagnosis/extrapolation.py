"""How good is :func:`tuning.extrapolated_gain`? Cut real curves at half and predict the second half.

Every curve of at least 20 finite epochs in a corpus (the old ``diagnosis_corpus.json`` and the
fresh sets ``diagnosis_fresh.json`` and ``diagnosis_fresh2.json``, reported apart) is cut after ``m = n // 2`` epochs; the first half
is given to ``tuning.extrapolated_gain(first_half, factor=n / m)``, and its prediction is compared
with the gain the curve really made: ``1 - level(end) / level(cut)``, each level the median of
the last tenth of the first half's epochs (at least 3) before that point, the same definition the
function forecasts. Printed: the median signed error (predicted - real, in units of the level),
the median absolute error, Spearman's rank correlation of predicted and real gains, and the share
of real gains inside the 80 % interval, each with a 95 % interval (bootstrap over curves for the
first three, Wilson for the coverage), then one line

    median_error=.. median_abs_error=.. spearman=.. coverage80=..

Round 4 corrects the families' forecast with a prior made from the val curves of the old corpus and
the first two fresh sets (``fit_prior.py``): a development set is forecast without its own curves in
the prior (leave one set out), and the train curve's first half is given beside a val curve. The
interval's quantiles saw every development set's out-of-set errors (so its coverage there is
partly in-sample; ``fit_prior.py`` prints the nested coverage). The third fresh set
(``diagnosis_fresh3.json``) was made after the round-4 freeze (880860b).

Beside the forecast, a yardstick that is not a forecast: each curve's gain "predicted" as the mean of
what the other seeds of its config really gained in their own second halves (it knows the future of
the config, not of the seed). It says how much of a second half's gain the config decides at all; a
forecast from one first half can beat it only through what that seed's own first half shows.

Round 19: each fit is forecast with its seeds' epochs up to the cut beside its own (the other seeds
of its config, cut at the same epoch: what a study knows when it quotes a fit's forecast; the median
of the seeds' forecasts, ``tuning.extrapolated_gain(..., siblings=...)``); ``--no-seeds`` forecasts
each fit from its own first half only, as before.

    python benchmarks/diagnosis/extrapolation.py [--corpus PATH] [--curve val|train] [--per-config] [--no-seeds]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from score import wilson  # the scorer's Wilson interval: one formula for both scripts

import tuning
from tuning.analysis.curve_prior import load_prior
from tuning.analysis.extrapolation import Gain, forecast, level_window

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def usable(values: list) -> bool:
    """Every value a finite number (stored curves hold None for a missing epoch)."""
    return all(v is not None and math.isfinite(v) for v in values)


def cut_at_half(values: list, train: list | None = None, exclude: frozenset = frozenset(),
                siblings: list = ()) -> tuple[float, Gain] | None:
    """(real gain of the second half, the forecast from the first half), or None if not usable.

    ``train``: the train curve beside a val curve (its first half is given too). ``exclude``: the
    prior's groups left out, so a development set is forecast without its own curves. ``siblings``:
    the other seeds' (curve, train) pairs; their epochs up to the cut are given too (round 19).
    """
    if len(values) < 20 or not usable(values):
        return None
    y = np.asarray(values, dtype=float)
    n = len(y)
    m = n // 2
    k = level_window(m)
    real = 1.0 - float(np.median(y[n - k:])) / float(np.median(y[m - k:m]))
    t = None
    if train and len(train) >= m and usable(train[:m]):
        t = np.asarray(train[:m], dtype=float)
    if not exclude and t is None:  # the seeds are cut at the same epoch, and checked, by the forecast
        return real, tuning.extrapolated_gain(y[:m], factor=n / m, siblings=siblings)
    return real, forecast(y[:m], n / m, train=t, exclude=exclude, siblings=siblings)


def own_groups(path: Path) -> frozenset:
    """The prior's group of a development set (its curves are in the prior), else nothing."""
    prior = load_prior()
    group = f"set:{path.name}"
    return frozenset({group}) if prior is not None and any(group in g for g in prior["groups"]) else frozenset()


def seed_means(configs: list[dict]) -> list[dict]:
    """Each config as one fit: its seeds' finite curves averaged epoch by epoch over their common length.

    The report quotes the forecast per config on this curve; the yardstick of other seeds is then
    undefined (one curve a config).
    """
    out = []
    for config in configs:
        fits = [f for f in config["fits"]
                if all(v is not None and math.isfinite(v) for v in f["val"] + f["train"])]
        if fits:
            n = min(len(f["val"]) for f in fits)
            out.append({"fits": [{key: list(np.mean([f[key][:n] for f in fits], axis=0)) for key in ("val", "train")}]})
    return out


def evaluate(configs: list[dict], curve: str = "val", boot: int = 2000, seed: int = 0,
             exclude: frozenset = frozenset(), seeds: bool = True) -> dict:
    real, pred, low, high, siblings = [], [], [], [], []
    for config in configs:
        fits = config["fits"]
        found = [cut_at_half(fit[curve], fit["train"] if curve == "val" else None, exclude,
                             [(o[curve], o["train"] if curve == "val" else None) for o in fits if o is not fit]
                             if seeds else ())
                 for fit in fits]
        found = [f for f in found if f is not None and math.isfinite(f[1].gain)]
        for i, (r, g) in enumerate(found):
            real.append(r)
            pred.append(g.gain)
            low.append(g.low)
            high.append(g.high)
            others = [o for j, (o, _) in enumerate(found) if j != i]
            siblings.append(float(np.mean(others)) if others else math.nan)
    real, pred, low, high, siblings = map(np.asarray, (real, pred, low, high, siblings))
    n = len(real)
    err = pred - real
    covered = int(np.sum((real >= low) & (real <= high)))
    rng = np.random.default_rng(seed)
    stats = {"median_error": [], "median_abs_error": [], "spearman": []}
    for _ in range(boot):
        i = rng.integers(0, n, n)
        stats["median_error"].append(np.median(err[i]))
        stats["median_abs_error"].append(np.median(np.abs(err[i])))
        stats["spearman"].append(spearmanr(pred[i], real[i])[0])
    out = {"n": n, "median_error": float(np.median(err)), "median_abs_error": float(np.median(np.abs(err))),
           "spearman": float(spearmanr(pred, real)[0]), "coverage80": covered / n,
           "coverage80_ci": wilson(covered, n), "too_low": float(np.mean(pred < real)),
           "median_real": float(np.median(real)), "median_pred": float(np.median(pred))}
    for key, values in stats.items():
        out[f"{key}_ci"] = tuple(float(x) for x in np.nanpercentile(values, [2.5, 97.5]))
    known = np.isfinite(siblings)
    out["ceiling_n"] = int(known.sum())
    if known.sum() > 2:
        out["ceiling_spearman"] = float(spearmanr(siblings[known], real[known])[0])
        out["ceiling_median_abs_error"] = float(np.median(np.abs(siblings[known] - real[known])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, nargs="*",
                        default=[DATA / "diagnosis_corpus.json", DATA / "diagnosis_fresh.json",
                                 DATA / "diagnosis_fresh2.json", DATA / "diagnosis_fresh3.json"])
    parser.add_argument("--curve", choices=("val", "train"), default="val")
    parser.add_argument("--no-seeds", action="store_true",
                        help="forecast each fit from its own first half only (before round 19), not with its seeds'")
    parser.add_argument("--per-config", action="store_true",
                        help="forecast each config's seed-mean curve (what the report quotes) instead of each fit's")
    args = parser.parse_args()
    for path in args.corpus:
        if not path.exists():
            print(f"{path.name}: missing")
            continue
        exclude = own_groups(path)
        configs = json.loads(path.read_text())["configs"]
        r = evaluate(seed_means(configs) if args.per_config else configs, args.curve, exclude=exclude,
                     seeds=not args.no_seeds)
        if exclude:
            print(f"{path.name}: a development set; forecast without its own curves in the prior (leave one set out)")

        def ci(key: str, r: dict = r) -> str:
            return f"[{r[key + '_ci'][0]:.3f}, {r[key + '_ci'][1]:.3f}]"

        print(f"{path.name}, {args.curve} curves cut at half: {r['n']} curves; real gain median {r['median_real']:.3f}, "
              f"predicted {r['median_pred']:.3f}; predicted too low on {r['too_low']:.0%}")
        print(f"  median error {r['median_error']:+.3f} {ci('median_error')}, median |error| "
              f"{r['median_abs_error']:.3f} {ci('median_abs_error')}, Spearman {r['spearman']:.2f} {ci('spearman')}, "
              f"80 % interval covers {r['coverage80']:.2f} [{r['coverage80_ci'][0]:.2f}, {r['coverage80_ci'][1]:.2f}]")
        if "ceiling_spearman" in r:
            print(f"  what the other seeds of the same config really gained in their second halves, as the "
                  f"forecast ({r['ceiling_n']} curves): median |error| {r['ceiling_median_abs_error']:.3f}, "
                  f"Spearman {r['ceiling_spearman']:.2f}")
        print(f"median_error={r['median_error']:.3f} median_abs_error={r['median_abs_error']:.3f} "
              f"spearman={r['spearman']:.2f} coverage80={r['coverage80']:.2f}")


if __name__ == "__main__":
    main()
