"""Make the labelled learning-curve corpus from real Keras fits, resumably, and export it.

Every case of ``cases.py`` is a one-config ``tuning`` study in ``work/corpus.db``: re-running
this script skips the studies (and fits) already finished, so a generation interrupted by Ctrl-C
or a session's end continues where it stopped. ``--export`` writes the curves, labels and split
to ``tests/data/diagnosis_corpus.json`` (curves only, no models), which the tests and ``score.py``
read without training. ``--plot`` draws every case's seeds to ``work/<label>.png`` for looking.

    python benchmarks/diagnosis/make_corpus.py            # fit what is missing, then export
    python benchmarks/diagnosis/make_corpus.py --only echo-long-seeds --plot
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = HERE / "work"
DATA = ROOT / "tests" / "data" / "diagnosis_corpus.json"
sys.path.insert(0, str(HERE))

from cases import CASES, own_regime  # noqa: E402

SPLIT_SEED = 20261201
"""Fixed once: which configs are in the tuning half and which are held out."""


def write_series(work: Path) -> None:
    """The generated CSV series: noisy sine, an unscaled series near 10 with noise variance ~9, AR(2)."""
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    t = np.arange(400)
    noisy = np.sin(2 * np.pi * t / 25) + 0.6 * rng.standard_normal(len(t))
    t = np.arange(3000)
    big = 10 + 5 * np.sin(2 * np.pi * t / 50) + 3 * rng.standard_normal(len(t))
    ar = np.zeros(3000)
    noise = rng.standard_normal(len(ar))
    for i in range(2, len(ar)):
        ar[i] = 1.2 * ar[i - 1] - 0.5 * ar[i - 2] + noise[i]
    for name, values in (("noisy_sine.csv", noisy), ("big_scale.csv", big), ("ar_series.csv", ar)):
        path = work / name
        if not path.exists():
            path.write_text("value\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")


def resolved_spec(entry: dict, storage: str) -> dict:
    spec = json.loads(json.dumps(entry["spec"]).replace("{work}", str(WORK)))
    spec["storage"] = storage
    return spec


def fit_cases(cases: list[dict], storage: str) -> None:
    import tuning

    for i, entry in enumerate(cases, 1):
        print(f"[{i}/{len(cases)}] {entry['name']} ({entry['truth']})", flush=True)
        tuning.run_study(resolved_spec(entry, storage), quiet=True)


def split_of(cases: list[dict], previous: dict[str, str]) -> dict[str, str]:
    """Each config's half: "tune" (thresholds may be chosen on it) or "heldout" (for the claim).

    Split once, by config (all seeds on one side): a config keeps the half it was given when the
    corpus was first exported (``previous``, read from the data file). A config added later goes to
    the half with fewer configs of its label, by a fixed-seed coin when both have as many.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    split = {name: half for name, half in previous.items() if any(c["name"] == name for c in cases)}
    for entry in sorted(cases, key=lambda c: c["name"]):
        if entry["name"] in split:
            continue
        same = [split[c["name"]] for c in cases if c["truth"] == entry["truth"] and c["name"] in split]
        tune, held = same.count("tune"), same.count("heldout")
        split[entry["name"]] = "tune" if tune < held else "heldout" if held < tune else str(rng.choice(["tune", "heldout"]))
    return split


def _round(values: list[float]) -> list[float | None]:
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in values]


def export(cases: list[dict], storage: str, path: Path) -> dict:
    import tuning

    previous = {c["name"]: c["split"] for c in json.loads(DATA.read_text())["configs"]} if DATA.exists() else {}
    split = split_of(CASES, previous)
    configs = []
    for entry in cases:
        results = tuning.load_results(entry["spec"]["name"], storage=storage)
        spec = results.spec
        early = spec["fit"].get("early_stopping")
        baseline = results.baseline.get("val_loss")
        fits = []
        for fit in results.fits.sort_values("seed").to_dict("records"):
            curves = results.fit_curves.get((fit["config_key"], int(fit["seed"])), {})
            train, val = curves.get("loss", []), curves.get("val_loss", [])
            truth = entry["truth"] if entry["fit_truth"] == "config" else own_regime(train, val, baseline)
            fits.append({"seed": int(fit["seed"]), "truth": truth, "status": fit["status"],
                         "train": _round(train), "val": _round(val)})
        configs.append({
            "name": entry["name"], "truth": entry["truth"], "fit_truth": entry["fit_truth"], "why": entry["why"],
            "split": split[entry["name"]], "problem": entry["spec"]["problem"]["name"],
            "loss": results.spec["problem"].get("loss") or None, "max_epochs": int(spec["fit"]["epochs"]),
            "patience": int(early["patience"]) if early else None,
            "restore_best_weights": bool(early.get("restore_best_weights", True)) if early else None,
            "baseline_val_loss": float(baseline) if baseline is not None and math.isfinite(baseline) else None,
            "fits": fits})
    corpus = {
        "about": "Learning curves of real Keras fits, one entry per config (several seeds), labelled by "
                 "construction; made by benchmarks/diagnosis/make_corpus.py from benchmarks/diagnosis/cases.py. "
                 "truth is the config's label; each fit's truth equals it when fit_truth is 'config'; when "
                 "fit_truth is 'own regime' (seeds that disagree: the config is unstable) each seed's truth is "
                 "the regime it landed in: unstable if it diverged or its train loss jumped to >= 10x its lowest "
                 "value so far, underfit if its last val loss is >= 0.8x the naive baseline's (never left chance), "
                 "else good fit. split: thresholds are chosen on "
                 "'tune' only; 'heldout' is for scoring. Curves are per-epoch train loss and val loss "
                 "(null = non-finite); baseline_val_loss is the naive baseline's val loss on the same split.",
        "configs": configs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(corpus, separators=(",", ":")) + "\n")
    return corpus


def plot(corpus: dict, work: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for label in sorted({c["truth"] for c in corpus["configs"]}):
        group = [c for c in corpus["configs"] if c["truth"] == label]
        cols = 4
        rows = math.ceil(len(group) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
        for ax, config in zip(axes.flat, group, strict=False):
            for i, fit in enumerate(config["fits"]):
                color = f"C{i}"
                tr = np.array([np.nan if v is None else v for v in fit["train"]], dtype=float)
                va = np.array([np.nan if v is None else v for v in fit["val"]], dtype=float)
                ax.plot(np.arange(1, len(tr) + 1), tr, color=color, lw=0.8, ls="--")
                ax.plot(np.arange(1, len(va) + 1), va, color=color, lw=1.0)
            if config["baseline_val_loss"]:
                ax.axhline(config["baseline_val_loss"], color="grey", lw=0.6, ls=":")
            ax.set_yscale("log")
            ax.set_title(f"{config['name']} [{config['split']}]", fontsize=8)
            ax.tick_params(labelsize=6)
        for ax in list(axes.flat)[len(group):]:
            ax.axis("off")
        fig.suptitle(f"{label} (solid val, dashed train, dotted baseline)")
        fig.tight_layout()
        fig.savefig(work / f"{label.replace(' ', '_')}.png", dpi=80)
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument("--storage", default=f"sqlite:///{WORK / 'corpus.db'}")
    parser.add_argument("--no-fit", action="store_true", help="only export/plot what is stored")
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or c["name"] in args.only]
    write_series(WORK)
    if not args.no_fit:
        fit_cases(cases, args.storage)
    corpus = export(cases, args.storage, args.out if not args.only else WORK / "partial.json")
    n_fits = sum(len(c["fits"]) for c in corpus["configs"])
    print(f"exported {len(corpus['configs'])} configs, {n_fits} fits")
    if args.plot:
        plot(corpus, WORK)


if __name__ == "__main__":
    main()
