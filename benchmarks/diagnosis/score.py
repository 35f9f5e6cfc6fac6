"""Score the learning-curve diagnosis against the labelled corpus of real fits.

Reads ``tests/data/diagnosis_corpus.json`` (made by ``make_corpus.py``; no training here),
diagnoses every fit with :func:`tuning.diagnose_curve` and every config with
:func:`tuning.diagnose_config`, and prints the confusion matrices (truth in rows) of the chosen
half, each agreement's 95 % Wilson interval, the cases it got wrong, and one last line (the held-out half, as of round 7):

    per_fit_agreement=0.94 config_agreement=0.95 n_fits=90 n_configs=22

Thresholds may be chosen on ``--half tune`` only; the claim is ``--half heldout`` (the default).

    python benchmarks/diagnosis/score.py [--half heldout|tune|all] [--wrong]

Round 2's claim (issue 22) was the first fresh set, made after that method was frozen; round 3
tuned on it and on both halves of the old corpus, and its claim is the second fresh set, made
after the round-3 freeze (commit a815229) and scored once:

    python benchmarks/diagnosis/score.py --corpus tests/data/diagnosis_fresh2.json --half all

Round 4 reads each config against the others of its study (the configs of the file that share
problem, split and loss; ``--no-study`` turns it off), tuned on all three earlier sets; its claim
is the third fresh set, made after the round-4 freeze (commit 880860b) and scored once:

    python benchmarks/diagnosis/score.py --corpus tests/data/diagnosis_fresh3.json --half all
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from truth import confirmations, confirmed_config

from tuning.analysis.diagnose import LABELS, common_mean_curve, diagnose_config, diagnose_curve
from tuning.analysis.relative import against_study, study_minima

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "diagnosis_corpus.json"


def load(path: Path = CORPUS) -> list[dict]:
    return json.loads(path.read_text())["configs"]


def curve(values: list) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def study_of(config: dict) -> tuple:
    """The configs a study would hold together: the same problem, split (its baseline) and loss.

    Every case is its own one-config study, but cases on the same data and loss are what a study
    searching over cells, epochs or learning rates would compare (round 4's study-level rule).
    """
    return config["problem"], config["baseline_val_loss"], config.get("loss")


def references(configs: list[dict]) -> dict[str, tuple]:
    """Config name -> the lowest minimum another config of its study reached (:func:`study_minima`)."""
    studies: dict[tuple, dict[str, list]] = {}
    for config in configs:
        vals = [curve(f["val"]) for f in config["fits"] if f["val"]]
        studies.setdefault(study_of(config), {})[config["name"]] = common_mean_curve(vals)
    found = {}
    for members in studies.values():
        found.update(study_minima(members))
    return found


def diagnose(config: dict, reference: tuple | None = None) -> tuple[dict[int, str], str, dict]:
    """(seed -> label, config label, seed -> Diagnosis) of one corpus config, read against its study."""
    options = dict(max_epochs=config["max_epochs"], patience=config["patience"],
                   restored=config["restore_best_weights"] if config["patience"] is not None else True)
    baseline = config["baseline_val_loss"]
    if config.get("loss"):
        baseline = None
    runs = {f["seed"]: (curve(f["train"]), curve(f["val"])) for f in config["fits"] if f["train"] or f["val"]}
    found = {s: against_study(diagnose_curve(tr, va, baseline=baseline, **options), va, reference)
             for s, (tr, va) in runs.items()}
    whole = diagnose_config(runs, baseline=baseline, per_seed=found, **options)
    whole = against_study(whole, common_mean_curve([va for _, va in runs.values()]), reference)
    return {s: d.label for s, d in found.items()}, whole.label, found


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return math.nan, math.nan
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def matrix(pairs: list[tuple[str, str]]) -> str:
    width = max(len(lab) for lab in LABELS) + 2
    lines = ["truth \\ said".ljust(width + 2) + "".join(lab.rjust(width) for lab in LABELS)]
    for truth in LABELS:
        row = [sum(1 for t, s in pairs if t == truth and s == said) for said in LABELS]
        lines.append(truth.ljust(width + 2) + "".join(str(x).rjust(width) for x in row))
    return "\n".join(lines)


def score(configs: list[dict], show_wrong: bool = False, study: bool = True, confirmed: bool = False) -> dict:
    """Agreement of the diagnosis with the labels; with ``confirmed``, only on the fits (and configs)
    whose curves show their label by ``truth.py``'s definitions, the others counted apart."""
    fit_pairs, config_pairs, wrong, left_out = [], [], [], {"fits": 0, "configs": 0, "names": []}
    refs = references(configs) if study else {}  # the study is every config, confirmed or not
    for config in configs:
        per_fit, label, found = diagnose(config, refs.get(config["name"]))
        shown = confirmations(config) if confirmed else {f["seed"]: True for f in config["fits"]}
        if confirmed_config([shown[s] for s in per_fit]):
            config_pairs.append((config["truth"], label))
            if label != config["truth"]:
                wrong.append(f"config {config['name']}: truth {config['truth']}, said {label}")
        else:
            left_out["configs"] += 1
            left_out["names"].append(config["name"])
        for fit in config["fits"]:
            if fit["seed"] not in per_fit:
                continue
            if not shown[fit["seed"]]:
                left_out["fits"] += 1
                continue
            said = per_fit[fit["seed"]]
            fit_pairs.append((fit["truth"], said))
            if said != fit["truth"]:
                wrong.append(f"  fit {config['name']} seed {fit['seed']}: truth {fit['truth']}, said {said}: "
                             f"{found[fit['seed']].evidence}")
    fit_hits = sum(t == s for t, s in fit_pairs)
    config_hits = sum(t == s for t, s in config_pairs)
    if confirmed:
        print(f"confirmed by truth.py: left out {left_out['fits']} fits and {left_out['configs']} configs "
              f"whose curves do not show their label ({', '.join(left_out['names']) or 'no config'})\n")
    print(f"per fit ({len(fit_pairs)} fits of {len(configs)} configs):")
    print(matrix(fit_pairs))
    print(f"\nper config ({len(config_pairs)} configs):")
    print(matrix(config_pairs))
    if show_wrong and wrong:
        print("\nwrong:\n" + "\n".join(wrong))
    lo_f, hi_f = wilson(fit_hits, len(fit_pairs))
    lo_c, hi_c = wilson(config_hits, len(config_pairs))
    print(f"\n95 % intervals (Wilson): per fit [{lo_f:.2f}, {hi_f:.2f}], per config [{lo_c:.2f}, {hi_c:.2f}]")
    return {"per_fit": fit_hits / max(1, len(fit_pairs)), "config": config_hits / max(1, len(config_pairs)),
            "n_fits": len(fit_pairs), "n_configs": len(config_pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("heldout", "tune", "all"), default="heldout")
    parser.add_argument("--wrong", action="store_true", help="list the fits and configs labelled wrong")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-study", action="store_true",
                        help="each config alone, without round 4's comparison with the other configs of its study")
    parser.add_argument("--confirmed", action="store_true",
                        help="only the fits and configs whose curves show their label by truth.py (round 6)")
    args = parser.parse_args()
    configs = [c for c in load(args.corpus) if args.half == "all" or c["split"] == args.half]
    print(f"{args.half} half of {args.corpus.name}\n")
    result = score(configs, args.wrong, study=not args.no_study, confirmed=args.confirmed)
    print(f"per_fit_agreement={result['per_fit']:.2f} config_agreement={result['config']:.2f} "
          f"n_fits={result['n_fits']} n_configs={result['n_configs']}")


if __name__ == "__main__":
    main()
