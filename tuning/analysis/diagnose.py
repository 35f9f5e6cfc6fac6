"""Diagnose a config from its seeds' curves, and a whole study as one table.

A config's label (:func:`diagnose_config`) comes from its seeds: divergence of any seed, seeds
that disagree by more than their own noise explains, else the majority of the seeds' labels
(each seed labelled by :func:`tuning.analysis.curves.diagnose_curve`). :func:`diagnose_study`
gives one row per fit and one per config. The public names of the per-curve rules
(:mod:`~tuning.analysis.curves`), their vocabulary (:mod:`~tuning.analysis.labels`) and the
forecast (:mod:`~tuning.analysis.extrapolation`) are re-exported here, so
``tuning.analysis.diagnose`` (and the ``tuning.diagnose`` shim) keep every name they had.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tuning.analysis.curves import diagnose_curve
from tuning.analysis.extrapolation import Gain, extrapolated_gain
from tuning.analysis.inputs import config_numbers
from tuning.analysis.labels import (
    GOOD_FIT,
    LABELS,
    OVERFIT,
    SUGGESTIONS,
    UNDERFIT,
    UNSTABLE,
    Diagnosis,
    Thresholds,
)
from tuning.analysis.relative import (
    advise_against_study,
    advise_near_ceiling,
    against_study,
    other_rates,
    study_minima,
)
from tuning.analysis.shape import as_array, curve_shape, pct
from tuning.results import PRUNED

if TYPE_CHECKING:
    import pandas as pd

    from tuning.analysis.inputs import StudyFrames

__all__ = ["GOOD_FIT", "LABELS", "OVERFIT", "SUGGESTIONS", "UNDERFIT", "UNSTABLE", "Diagnosis", "Thresholds",
           "Gain", "common_mean_curve", "diagnose_config", "diagnose_curve", "diagnose_study", "extrapolated_gain",
           "mean_curve"]


def mean_curve(curves: list) -> np.ndarray:
    """Mean per epoch over the runs that reached that epoch (early stopping ends runs unequally).

    Padding the short runs with their last value would invent epochs nobody trained; cutting
    every run to the shortest would hide the late epochs. Empty runs are skipped. (The config
    diagnosis uses :func:`common_mean_curve` instead: a tail averaged over a changing set of
    seeds is a different population from its start.)
    """
    curves = [as_array(c) for c in curves]
    curves = [c for c in curves if len(c)]
    n = max((len(c) for c in curves), default=0)
    if not curves or all(len(c) == n for c in curves):
        return np.mean(curves, axis=0) if curves else np.empty(0)
    padded = np.full((len(curves), n), np.nan)
    reached = np.zeros((len(curves), n), dtype=bool)
    for i, c in enumerate(curves):
        padded[i, : len(c)] = c
        reached[i, : len(c)] = True
    # sum/count over the runs that reached each epoch (a NaN a run logged stays NaN in the mean)
    return np.where(reached, padded, 0.0).sum(axis=0) / reached.sum(axis=0)


def common_mean_curve(curves: list) -> np.ndarray:
    """Mean per epoch over the epochs that every (non-empty) run reached."""
    curves = [as_array(c) for c in curves]
    curves = [c for c in curves if len(c)]
    if not curves:
        return np.empty(0)
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


_SEVERITY = (UNSTABLE, OVERFIT, UNDERFIT, GOOD_FIT)
#: the low end of a config's 80 % forecast interval from which a good fit is told to train longer:
#: the gain is then above 5 % nine times in ten, as far as the interval's coverage holds (docs/analysis.md)
FALLING_GAIN = 0.05
"""Ties between seed labels go to the label that asks for action first."""


def _seed_spread(runs: dict[int, tuple[np.ndarray, np.ndarray]], th: Thresholds) -> tuple[float, float, float]:
    """How far apart the seeds' final loss levels are, on the val (else train) curve.

    Returns (max/min of the levels, (max - min) as a share of the seeds' median improvement,
    the ratio that noise alone could explain: ``significance`` standard errors of the noisiest
    seed's tail median, both ways). Seeds that are merely noisy, or 10x apart at a level that is
    a thousandth of where they started, are not seeds that disagree.
    """
    levels, gains, slack = [], [], []
    for tr, va in runs.values():
        y = va if len(va) else tr
        if len(y) < th.min_epochs:
            continue
        s = curve_shape(y, th)
        if s.level <= 0:
            continue
        levels.append(s.level)
        gains.append(max(s.improvement, s.noise))
        slack.append(th.significance * 1.25 * s.noise / math.sqrt(s.k) / s.level)
    if len(levels) < 2:
        return math.nan, math.nan, math.nan
    share = (max(levels) - min(levels)) / max(float(np.median(gains)), 1e-300)
    return max(levels) / min(levels), share, float(math.exp(2 * max(slack)))


def diagnose_config(curves_by_seed: dict[int, tuple[list, list]], final_scores: list[float] | None = None,
                    thresholds: Thresholds = Thresholds(), baseline: float | None = None, *, name: str = "loss",
                    max_epochs: int | None = None, per_seed: dict[int, Diagnosis] | None = None,
                    patience: int | None = None, restored: bool = True) -> Diagnosis:
    """Diagnose a config from all its seeds: divergence, seed disagreement, then the seeds' labels.

    The label is the one most seeds have (ties go to the label asking for action first:
    unstable, overfit, underfit, good fit). The evidence quotes the tally and the diagnosis of
    the seed-mean curve over the epochs every seed ran (early stopping ends seeds unequally).
    "Unstable" at config level means a seed diverged, or seeds of different labels have final losses
    ``seeds_ratio`` or more apart *and* further than each seed's own epoch noise explains (seeds that
    all share a label never disagree, round 20), or a quarter of the seeds are unstable.

    Args:
        curves_by_seed: seed -> (train curve, val curve); seeds without any epoch are ignored.
        final_scores: the seeds' final scores on the study's metric (their spread is quoted).
        thresholds, baseline, name, max_epochs, patience, restored: as for :func:`diagnose_curve`.
        per_seed: each seed's own :func:`diagnose_curve` when already computed (same thresholds,
            baseline and name), so a study's fits are not diagnosed twice.

    Raises:
        ValueError: no seed has a single epoch.
    """
    th = thresholds
    runs = {s: (as_array(tr), as_array(va)) for s, (tr, va) in sorted(curves_by_seed.items())}
    runs = {s: (tr, va) for s, (tr, va) in runs.items() if len(tr) or len(va)}
    if not runs:
        raise ValueError("no seed has an epoch to diagnose")
    known = per_seed or {}
    options = dict(name=name, max_epochs=max_epochs, patience=patience, restored=restored)
    per_seed = {s: known[s] if s in known else diagnose_curve(tr, va, th, baseline, **options)
                for s, (tr, va) in runs.items()}
    count = len(runs)
    if final_scores is None:
        final_scores = [float((va if len(va) else tr)[-1]) for tr, va in runs.values()]
    scores = np.asarray([x for x in final_scores if math.isfinite(x)], dtype=float)
    cv = float(np.std(scores, ddof=1) / abs(np.mean(scores))) if len(scores) > 1 and np.mean(scores) else math.nan
    epochs = max(d.epochs for d in per_seed.values())
    labels = [d.label for d in per_seed.values()]
    tally_counts = Counter(labels)
    tally = ", ".join(f"{tally_counts[lab]} {lab}" for lab in LABELS if lab in tally_counts)
    diverged = {s: d.diverged_epoch for s, d in per_seed.items() if d.diverged_epoch}
    if diverged:
        which = ", ".join(f"seed {s} at epoch {e}" for s, e in diverged.items())
        return Diagnosis(UNSTABLE, f"diverged: {which} ({len(diverged)} of {count} seeds)", SUGGESTIONS["diverged"],
                         epochs=epochs, diverged_epoch=min(diverged.values()), seeds=count, seeds_cv=cv,
                         agreement=len(diverged) / count)
    # Seeds that all read the same label do not disagree, however far apart their levels end (round 20):
    # four overfits end where each one's rise took it, and unanimous unstable seeds are rule 3's below.
    ratio, share, allowance = _seed_spread(runs, th) if len(tally_counts) > 1 else (math.nan,) * 3
    if math.isfinite(ratio) and ratio >= max(th.seeds_ratio, allowance) and share >= th.seeds_share:
        return Diagnosis(UNSTABLE, f"seeds disagree: final losses {ratio:.1f}x apart ({pct(share)} of what "
                                   f"training improved; noise allows {allowance:.2g}x); per seed: {tally}",
                         SUGGESTIONS["seeds"], epochs=epochs, seeds=count, seeds_cv=cv,
                         agreement=tally_counts.get(UNSTABLE, 0) / count)
    erratic = [s for s, d in per_seed.items() if d.label == UNSTABLE]
    if erratic and len(erratic) >= th.unstable_share * count:
        seed = erratic[0]
        return replace(per_seed[seed], evidence=f"{len(erratic)} of {count} seeds unstable (per seed: {tally}); "
                                                f"seed {seed}: {per_seed[seed].evidence}",
                       epochs=epochs, seeds=count, seeds_cv=cv, agreement=len(erratic) / count)
    top = max(tally_counts.values())
    label = next(lab for lab in _SEVERITY if tally_counts.get(lab) == top)
    # The mean curve ends where the first seed stopped; early stopping ended it only if it ended
    # every seed: the seeds that ran to the end were not stopped (no "stopped at", no "more epochs
    # alone did not help", no "raise the patience" for them).
    ran_out = max_epochs is not None and epochs >= max_epochs
    mean = diagnose_curve(common_mean_curve([tr for tr, _ in runs.values()]),
                          common_mean_curve([va for _, va in runs.values()]), th, baseline,
                          **{**options, "max_epochs": None} if ran_out else options)
    lengths = sorted({d.epochs for d in per_seed.values()})
    common = f" over the {lengths[0]} epochs all ran" if len(lengths) > 1 else ""
    source = mean if mean.label == label else next(d for d in per_seed.values() if d.label == label)
    if mean.label == label:
        split = f" (per seed: {tally})" if len(tally_counts) > 1 else ""  # which way the others went, as below
        evidence = f"{tally_counts[label]} of {count} seeds {label}{split}; mean of {count} seeds{common}: {mean.evidence}"
    else:
        seed = next(s for s, d in per_seed.items() if d.label == label)
        evidence = (f"{tally_counts[label]} of {count} seeds {label} (per seed: {tally}); seed {seed}: "
                    f"{source.evidence}; mean curve{common}: {mean.label}")
    # The extrapolation quoted for a config is the seed-mean curve's, whichever seed is quoted; a good
    # fit whose forecast is clearly above nothing (its 80 % interval above 5 %) is not "nothing to fix".
    suggestion = source.suggestion
    if suggestion == SUGGESTIONS["good"] and math.isfinite(mean.gain_low) and mean.gain_low >= FALLING_GAIN:
        suggestion = SUGGESTIONS["good_but_falling"]
    return replace(source, label=label, evidence=evidence, suggestion=suggestion, epochs=epochs, seeds=count,
                   seeds_cv=cv, agreement=tally_counts[label] / count, gain_2x=mean.gain_2x, gain_low=mean.gain_low,
                   gain_high=mean.gain_high, gain_epochs=mean.gain_epochs)


def _pruned_when(epochs_run) -> str:
    """ "stopped after 3 epochs"; a seed the pruner stopped before it trained (its config already
    pruned on earlier seeds) has no epoch to speak of."""
    if epochs_run is None or epochs_run != epochs_run or int(epochs_run) == 0:
        return "stopped before its first epoch"
    return f"stopped after {int(epochs_run)} epoch{'s' if int(epochs_run) != 1 else ''}"


def _baseline_for(results: StudyFrames, curve: str, row: dict[str, Any]) -> float | None:
    """The baseline's val loss is comparable only with the problem's own loss, in model space."""
    override = row.get("param_loss")
    if curve != "loss" or (isinstance(override, str) and override):  # a config's own loss: not comparable
        return None
    value = results.baseline.get("val_loss")
    return float(value) if value is not None and math.isfinite(value) else None


def _early_stopping(results: StudyFrames):
    """The study's early-stopping settings with the spec's own defaults, or None without it."""
    from tuning.spec import EarlyStoppingSpec

    early = ((results.spec or {}).get("fit") or {}).get("early_stopping")
    if not early:
        return None
    return EarlyStoppingSpec() if early is True else EarlyStoppingSpec.model_validate(early)


def _study_references(by_config: dict, thresholds: Thresholds, curve: str) -> dict:
    """Each config's lowest other-config val minimum (:func:`study_minima`), among configs of the same loss."""
    groups: dict[Any, dict] = {}
    for key, entry in by_config.items():
        vals = [va for _, va in entry["curves"].values() if len(va)]
        if vals:
            loss = entry["loss"] if isinstance(entry["loss"], str) and entry["loss"] else None
            groups.setdefault(loss, {})[key] = common_mean_curve(vals)
    found: dict = {}
    for members in groups.values():
        found.update(study_minima(members, thresholds))
    return found


def diagnose_study(results: StudyFrames, thresholds: Thresholds = Thresholds(), *, curve: str = "loss",
                   extrapolate_fits: bool = False) -> pd.DataFrame:
    """One row per fit (``scope == "fit"``) and one per config (``scope == "config"``), each with the
    ``trial`` number the summary table and the report name its config by.

    A fit that failed before its first epoch has no curve: its label is missing (NA) and the
    evidence quotes its error. ``curve`` picks the pair diagnosed (``loss``/``val_loss`` by
    default; ``mae`` uses ``mae``/``val_mae`` and no baseline). A curve that is not a loss (a
    score such as accuracy, or negative values) gets an NA label and the one-line reason. Each
    config's ``gain_2x``/``gain_low``/``gain_high`` is the extrapolation of its seed-mean curve;
    a fit's own is computed with ``extrapolate_fits=True``. A good fit still at its lowest whose
    val loss another config of the study (same loss) beat ``capacity_ratio`` times over is
    underfit (:mod:`tuning.analysis.relative`), for the fit and for the config.
    """
    import pandas as pd

    columns = ["scope", "config_key", "trial", "seed", "status", "label", "evidence", "suggestion",
               *[f for f in Diagnosis.__dataclass_fields__ if f not in ("label", "evidence", "suggestion")]]
    if results.fits.empty:
        return pd.DataFrame(columns=columns)
    rows, by_config = [], {}
    early = _early_stopping(results)
    asked = ((results.spec or {}).get("fit") or {}).get("epochs")
    asked = int(asked) if isinstance(asked, int | float) else None
    for fit in results.fits.to_dict("records"):
        key, seed = fit["config_key"], int(fit["seed"])
        logged = results.fit_curves.get((key, seed), {})
        pair = (logged.get(curve) or [], logged.get(f"val_{curve}") or [])
        epochs = fit.get("param_epochs")  # searched: the config's own; else the spec's, as the scorer has it
        max_epochs = int(epochs) if epochs is not None and epochs == epochs else asked
        patience = None
        if early is not None:  # a searched patience is the config's own
            searched = fit.get("param_patience")
            patience = int(searched) if searched is not None and searched == searched else early.patience
        options = dict(name=curve, max_epochs=max_epochs, patience=patience,
                       restored=early.restore_best_weights if early is not None else True)
        baseline = _baseline_for(results, curve, fit)
        entry = by_config.setdefault(key, {"curves": {}, "scores": {}, "baseline": baseline, "options": options,
                                           "found": {}, "rows": {}, "loss": fit.get("param_loss")})
        row = {"scope": "fit", "config_key": key, "seed": seed, "status": fit.get("status")}
        if fit.get("status") == PRUNED:  # cut short by the pruner: its curve would read as underfit
            row.update(label=None, evidence=f"{_pruned_when(fit.get('epochs_run'))} by the study's pruner, "
                       "not diagnosed", suggestion=None)
            entry["pruned"] = row["evidence"]
        elif pair[0] or pair[1]:
            try:
                found = diagnose_curve(*pair, thresholds, baseline, extrapolate=extrapolate_fits, **options)
            except ValueError as error:  # not a loss (a score, negative values): said in one line
                row.update(label=None, evidence=str(error), suggestion=None)
                entry["refused"] = str(error)
            else:
                entry["curves"][seed] = pair
                entry["found"][seed] = found
                entry["rows"][seed] = row
        else:
            row.update(label=None, evidence=f"no curve: {fit.get('error') or 'no epoch logged'}", suggestion=None)
        score = fit.get(results.metric)
        if fit.get("status") == "ok" and score is not None and score == score:
            entry["scores"][seed] = float(score)  # seed -> its objective score, finished fits only
        rows.append(row)
    references = _study_references(by_config, thresholds, curve)
    rates = other_rates(results.fits, results.metric, results.direction)
    for key, entry in by_config.items():
        row = {"scope": "config", "config_key": key, "seed": None, "status": None}
        reference = references.get(key)
        for seed, found in entry["found"].items():  # each fit read against the study too, before the
            # config's tally counts it: the labels a config page lists are the ones its evidence counts
            entry["found"][seed] = against_study(found, entry["curves"][seed][1], reference, thresholds, name=curve)
            advised = advise_against_study(entry["found"][seed], rates.get(key), metric=results.metric)
            own = [entry["scores"][seed]] if seed in entry["scores"] else []
            entry["rows"][seed].update(advise_near_ceiling(advised, own, metric=results.metric,
                                                           direction=results.direction).to_dict())
        if entry.get("pruned"):
            row.update(label=None, evidence=f"config {entry['pruned']}", suggestion=None)
        elif entry["curves"]:
            found = diagnose_config(entry["curves"], list(entry["scores"].values()) or None, thresholds, entry["baseline"],
                                    per_seed=entry["found"], **entry["options"])
            mean_val = common_mean_curve([va for _, va in entry["curves"].values()])
            found = against_study(found, mean_val, reference, thresholds, name=curve)
            advised = advise_against_study(found, rates.get(key), metric=results.metric)
            row.update(advise_near_ceiling(advised, list(entry["scores"].values()), metric=results.metric,
                                           direction=results.direction).to_dict())
        else:
            row.update(label=None, evidence=entry.get("refused") or "no curve logged for any seed", suggestion=None)
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=columns)
    numbers = config_numbers(results.fits)  # the trial the tables and sentences name the config by
    table["trial"] = pd.array([numbers.get(k) for k in table["config_key"]], dtype="Int64")
    table["seed"] = table["seed"].astype("Int64")
    for column in ("best_epoch", "diverged_epoch", "epochs", "gain_epochs", "seeds"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table
