"""Label learning curves underfit, overfit, good fit or unstable, with the numbers that say why.

A label alone invites arguing; a label with its evidence ("val loss lowest at epoch 42/100,
18 % higher over the last 20 epochs while train fell 30 %; gap 3.1x train") can be checked
against the plot in a second. Every threshold is a field of :class:`Thresholds`, so a study whose
curves are noisier than usual can loosen them instead of ignoring the labels.

The rules, in the order they are tried (the first that fires wins; details in docs/analysis.md):

1. a NaN/inf value -> unstable ("diverged at epoch k");
2. fewer than ``min_epochs`` epochs -> underfit ("too few epochs to judge");
3. the train loss ends well above its own minimum -> unstable (the optimiser is not descending);
4. the val loss ends ``overfit_rise`` above a minimum reached before the tail: overfit if train
   kept falling meanwhile, unstable if it did not; or val stalled while train still falls and
   val/train >= ``gap_ratio`` -> overfit;
5. the loss still falls by ``improving_drop`` over the last ``tail_fraction`` of epochs, is flat,
   or stays close to the naive baseline -> underfit;
6. otherwise good fit.

"End of training" is the mean over that tail window, not the last epoch, so a single noisy epoch
cannot flip a label. Curves are losses (lower is better, not negative). Nothing here imports
TensorFlow: reading a study's curves must work where no backend is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tuning.api import Results

UNDERFIT, OVERFIT, GOOD_FIT, UNSTABLE = "underfit", "overfit", "good fit", "unstable"
LABELS = (UNDERFIT, OVERFIT, GOOD_FIT, UNSTABLE)

SUGGESTIONS = {
    "diverged": "lower the learning rate (e.g. /10), clip gradients (clipnorm) or check the inputs for extreme values",
    "erratic": "lower the learning rate or raise the batch size",
    "seeds": "lower the learning rate or raise the batch size, and run more seeds before trusting the ranking",
    "overfit": "regularise: dropout or recurrent dropout, early stopping (restore the best epoch), "
               "a smaller model or more training data",
    "few": "train for more epochs before judging the curves",
    "improving": "train for more epochs: the loss was still falling when training stopped",
    "flat": "the model is not learning: raise the learning rate, add capacity or check inputs and targets",
    "high": "add capacity (more units or layers) or train longer; try a higher learning rate",
    "good": "nothing to fix; compare configs by their seed scores",
}


@dataclass(frozen=True)
class Thresholds:
    """When a curve counts as still improving, overfitting, flat, diverging or seed-dependent.

    Attributes:
        min_epochs: fewer epochs than this cannot show a trend; such runs are labelled underfit
            ("too few epochs to judge"), since more epochs is the fix either way.
        tail_fraction: the end of training is the last 20 % of epochs (at least 2).
        improving_drop: the loss still fell 5 % or more over the tail (least-squares line) ->
            underfit: more epochs would still help.
        overfit_rise: val loss over the tail is 10 % or more above its minimum ...
        train_fall: ... while train fell by more than this fraction since that minimum -> overfit.
        gap_ratio: val/train of 3 or more with val stalled and train still falling -> overfit.
        flat_change: the whole curve stays within 1 % of its maximum -> flat (not learning).
        diverge_rise: train loss over the tail 50 % or more above its minimum -> unstable.
        seeds_cv: seeds' final scores with std/|mean| of 0.5 or more -> unstable (config level).
        high_loss: val loss at 0.9x the naive baseline's or worse -> underfit (baseline known).
    """

    min_epochs: int = 3
    tail_fraction: float = 0.2
    improving_drop: float = 0.05
    overfit_rise: float = 0.10
    train_fall: float = 0.0
    gap_ratio: float = 3.0
    flat_change: float = 0.01
    diverge_rise: float = 0.5
    seeds_cv: float = 0.5
    high_loss: float = 0.9


@dataclass(frozen=True)
class Diagnosis:
    """A label, the numbers behind it (as text and as fields), and what to try next.

    Fractions are plain ratios (0.18 is 18 %); NaN or None where a number does not apply.
    ``best_epoch`` is 1-based; ``tail_drop`` is how much the loss fell over the tail.
    """

    label: str
    evidence: str
    suggestion: str
    epochs: int = 0
    best_epoch: int | None = None
    val_rise: float = math.nan
    train_fall: float = math.nan
    gap_ratio: float = math.nan
    tail_drop: float = math.nan
    diverged_epoch: int | None = None
    skill: float = math.nan
    seeds: int = 1
    seeds_cv: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _pct(x: float, signed: bool = False) -> str:
    """18 % / 0.4 % / +18 %: one decimal only where the whole number would read as 0."""
    if not math.isfinite(x):
        return f"{x}"
    text = f"{abs(x) * 100:.1f}" if abs(x) < 0.095 else f"{abs(x) * 100:.0f}"
    sign = ("+" if x >= 0 else "-") if signed else ("-" if x < 0 else "")
    return f"{sign}{text} %"


def _rel(new: float, old: float) -> float:
    """(new - old) / |old|, with a zero ``old`` giving 0 (no change) or +-inf."""
    if abs(old) < 1e-12:
        return 0.0 if abs(new - old) < 1e-12 else math.copysign(math.inf, new - old)
    return (new - old) / abs(old)


def _tail(n: int, th: Thresholds) -> int:
    return min(n, max(2, math.ceil(th.tail_fraction * n)))


def _tail_drop(values: np.ndarray, k: int) -> float:
    """Fraction the least-squares line over the last ``k`` values falls from its start to its end."""
    y = values[-k:]
    x = np.arange(k, dtype=float) - (k - 1) / 2  # centred, so slope and intercept come in closed form
    slope = float(x @ (y - y.mean())) / float(x @ x)
    intercept = float(y.mean()) - slope * (k - 1) / 2
    return -_rel(intercept + slope * (k - 1), intercept)


def _as_array(values: Any) -> np.ndarray:
    if values is None:
        return np.empty(0)
    return np.asarray(values if isinstance(values, (list, np.ndarray)) else list(values), dtype=float)


def diagnose_curve(train: list[float] | None, val: list[float] | None = None, thresholds: Thresholds = Thresholds(),
                   baseline: float | None = None, *, name: str = "loss", max_epochs: int | None = None) -> Diagnosis:
    """Diagnose one run from its per-epoch train and validation losses.

    Args:
        train: training loss per epoch (may be empty when only validation was logged).
        val: validation loss per epoch; without it overfitting cannot be judged and the train
            curve stands in for the checks of improvement.
        thresholds: see :class:`Thresholds`.
        baseline: the naive baseline's validation loss on the same split, when comparable.
        name: the curve's name in the evidence ("loss", "mae" ...).
        max_epochs: epochs asked for; a shorter run is reported as stopped early.

    Raises:
        ValueError: both curves are empty (a fit that failed before its first epoch).
    """
    th = thresholds
    t, v = _as_array(train), _as_array(val)
    if len(t) and len(v) and len(t) != len(v):  # Keras logs both every epoch; be lenient anyway
        t, v = t[: min(len(t), len(v))], v[: min(len(t), len(v))]
    n = max(len(t), len(v))
    if n == 0:
        raise ValueError("no epochs to diagnose: both curves are empty")
    bad = [(int(i), side, curve[i]) for curve, side in ((t, "train"), (v, "val")) for i in np.flatnonzero(~np.isfinite(curve))]
    if bad:
        first, side, value = min(bad, key=lambda b: b[0])
        return Diagnosis(UNSTABLE, f"diverged at epoch {first + 1}/{n} ({side} {name} {value})",
                         SUGGESTIONS["diverged"], epochs=n, diverged_epoch=first + 1)
    if n < th.min_epochs:
        return Diagnosis(UNDERFIT, f"{n} epoch{'s' if n > 1 else ''}: too few to judge a trend (need >= {th.min_epochs})",
                         SUGGESTIONS["few"], epochs=n)
    k = _tail(n, th)
    main, main_name = (v, f"val {name}") if len(v) else (t, f"train {name}")
    best = int(np.argmin(main))
    end = float(main[-k:].mean())
    rise = _rel(end, float(main[best]))
    tail_drop = _tail_drop(main, k)
    fields: dict[str, Any] = dict(epochs=n, best_epoch=best + 1, tail_drop=tail_drop)
    gap_text, fall = "", math.nan
    if len(t) and len(v):
        fall = -_rel(float(t[-k:].mean()), float(t[best]))
        fields.update(train_fall=fall, val_rise=rise)
        train_end = float(t[-k:].mean())
        gap = end / train_end if train_end > 0 else math.inf
        fields["gap_ratio"] = gap
        gap_text = f"; gap {gap:.1f}x train" if gap < 100 else f"; gap {gap:,.0f}x train"
    skill = math.nan
    if baseline and baseline > 0 and len(v):
        skill = 1 - end / baseline
        fields["skill"] = skill
    stopped = f"; stopped early after {n} of {max_epochs} epochs" if max_epochs and n < max_epochs else ""
    last = f"the last {k} epochs"
    level = f"{end:.3g} (mean of the last {k} of {n} epochs)"
    trend = f"trend {_pct(-tail_drop, True)} over {last}"

    def result(label: str, evidence: str, suggestion: str) -> Diagnosis:
        return Diagnosis(label, evidence + stopped, SUGGESTIONS[suggestion], **fields)

    if len(t):
        t_min = int(np.argmin(t))
        t_rise = _rel(float(t[-k:].mean()), float(t[t_min]))
        if t_rise >= th.diverge_rise:
            return result(UNSTABLE, f"train {name} {_pct(t_rise, True)} above its minimum (epoch {t_min + 1}/{n}) "
                                    f"over {last}", "erratic")
    if len(v):
        if best < n - k and rise >= th.overfit_rise:  # a minimum inside the tail is too recent to call
            where = f"val {name} lowest at epoch {best + 1}/{n} ({main[best]:.3g}), {_pct(rise)} higher over {last}"
            if not len(t):  # the usual reason val turns up; nothing here says otherwise
                return result(OVERFIT, f"{where} (no train curve logged)", "overfit")
            if fall > th.train_fall:
                return result(OVERFIT, f"{where} while train fell {_pct(fall)}{gap_text}", "overfit")
            return result(UNSTABLE, f"{where} while train did not fall ({_pct(-fall, True)}): erratic, "
                                    "not overfitting", "erratic")
        if len(t) and fields["gap_ratio"] >= th.gap_ratio and tail_drop < th.improving_drop:
            t_drop = _tail_drop(t, k)
            if t_drop >= th.improving_drop:
                return result(OVERFIT, f"val {name} stalled ({trend} of {n}) while train fell {_pct(t_drop)} "
                                       f"over them{gap_text}", "overfit")
    change = (float(main.max()) - float(main.min())) / max(abs(float(main.max())), 1e-12)
    versus = f"; {1 - skill:.3g}x the naive baseline ({baseline:.3g})" if math.isfinite(skill) else ""
    # Early stopping ended the run because val stopped improving: "train longer" would be wrong.
    if tail_drop >= th.improving_drop and not stopped:
        return result(UNDERFIT, f"{main_name} still falling: {trend} of {n} ({main[-k]:.3g} -> {main[-1]:.3g})"
                                f"{versus}", "improving")
    if change < th.flat_change and not (math.isfinite(skill) and 1 - skill < th.high_loss):
        return result(UNDERFIT, f"{main_name} flat: within {_pct(change)} over {n} epochs "
                                f"({main[0]:.3g} -> {main[-1]:.3g}){versus}", "flat")
    if math.isfinite(skill) and 1 - skill >= th.high_loss:
        return result(UNDERFIT, f"{main_name} {level} is {1 - skill:.3g}x the naive baseline's ({baseline:.3g}); "
                                f"{trend}", "high")
    return result(GOOD_FIT, f"{main_name} {level}, {_pct(rise)} above its minimum at epoch {best + 1}; {trend}"
                            f"{gap_text}{versus}", "good")


def mean_curve(curves: list) -> np.ndarray:
    """Mean per epoch over the runs that reached that epoch (early stopping ends runs unequally).

    Padding the short runs with their last value would invent epochs nobody trained; cutting
    every run to the shortest would hide the late epochs. Empty runs are skipped.
    """
    curves = [_as_array(c) for c in curves]
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


def diagnose_config(curves_by_seed: dict[int, tuple[list, list]], final_scores: list[float] | None = None,
                    thresholds: Thresholds = Thresholds(), baseline: float | None = None, *, name: str = "loss",
                    max_epochs: int | None = None, per_seed: dict[int, Diagnosis] | None = None) -> Diagnosis:
    """Diagnose a config from all its seeds: divergence, seed disagreement, then the seed-mean curve.

    Args:
        curves_by_seed: seed -> (train curve, val curve); seeds without any epoch are ignored.
        final_scores: the seeds' final scores on the study's metric, for the disagreement check;
            by default the last value of each seed's val (else train) curve.
        thresholds, baseline, name, max_epochs: as for :func:`diagnose_curve`.
        per_seed: each seed's own :func:`diagnose_curve` when already computed (same thresholds,
            baseline and name), so a study's fits are not diagnosed twice.

    Raises:
        ValueError: no seed has a single epoch.
    """
    th = thresholds
    runs = {s: (_as_array(tr), _as_array(va)) for s, (tr, va) in sorted(curves_by_seed.items())}
    runs = {s: (tr, va) for s, (tr, va) in runs.items() if len(tr) or len(va)}
    if not runs:
        raise ValueError("no seed has an epoch to diagnose")
    known = per_seed or {}
    per_seed = {s: known[s] if s in known else diagnose_curve(tr, va, th, baseline, name=name, max_epochs=max_epochs)
                for s, (tr, va) in runs.items()}
    count = len(runs)
    if final_scores is None:
        final_scores = [float((va if len(va) else tr)[-1]) for tr, va in runs.values()]
    scores = np.asarray([x for x in final_scores if math.isfinite(x)], dtype=float)
    cv = float(np.std(scores, ddof=1) / abs(np.mean(scores))) if len(scores) > 1 and np.mean(scores) else math.nan
    diverged = {s: d.diverged_epoch for s, d in per_seed.items() if d.diverged_epoch}
    if diverged:
        which = ", ".join(f"seed {s} at epoch {e}" for s, e in diverged.items())
        return Diagnosis(UNSTABLE, f"diverged: {which} ({len(diverged)} of {count} seeds)", SUGGESTIONS["diverged"],
                         epochs=max(d.epochs for d in per_seed.values()), diverged_epoch=min(diverged.values()),
                         seeds=count, seeds_cv=cv)
    labels = [d.label for d in per_seed.values()]
    tally = ", ".join(f"{labels.count(lab)} {lab}" for lab in LABELS if lab in labels)
    if math.isfinite(cv) and cv >= th.seeds_cv:
        return Diagnosis(UNSTABLE, f"seeds disagree: final score {scores.mean():.3g} +- {scores.std(ddof=1):.3g} "
                                   f"(CV {_pct(cv)}) over {len(scores)} seeds; per seed: {tally}", SUGGESTIONS["seeds"],
                         epochs=max(d.epochs for d in per_seed.values()), seeds=count, seeds_cv=cv)
    mean = diagnose_curve(mean_curve([tr for tr, _ in runs.values()]), mean_curve([va for _, va in runs.values()]),
                          th, baseline, name=name, max_epochs=max_epochs)
    lengths = sorted({d.epochs for d in per_seed.values()})
    prefix = f"mean of {count} seed{'s' if count > 1 else ''}"
    if len(lengths) > 1:
        prefix += f" (runs of {lengths[0]}-{lengths[-1]} epochs: later epochs average the seeds still running)"
    return replace(mean, evidence=f"{prefix}: {mean.evidence}; per seed: {tally}", seeds=count, seeds_cv=cv)


def _baseline_for(results: Results, curve: str, row: dict[str, Any]) -> float | None:
    """The baseline's val loss is comparable only with the problem's own loss, in model space."""
    override = row.get("param_loss")
    if curve != "loss" or (isinstance(override, str) and override):  # a config's own loss: not comparable
        return None
    value = results.baseline.get("val_loss")
    return float(value) if value is not None and math.isfinite(value) else None


def diagnose_study(results: Results, thresholds: Thresholds = Thresholds(), *, curve: str = "loss") -> pd.DataFrame:
    """One row per fit (``scope == "fit"``) and one per config (``scope == "config"``).

    A fit that failed before its first epoch has no curve: its label is missing (NA) and the
    evidence quotes its error. ``curve`` picks the pair diagnosed (``loss``/``val_loss`` by
    default; ``mae`` uses ``mae``/``val_mae`` and no baseline).
    """
    import pandas as pd

    columns = ["scope", "config_key", "seed", "status", "label", "evidence", "suggestion",
               *[f for f in Diagnosis.__dataclass_fields__ if f not in ("label", "evidence", "suggestion")]]
    if results.fits.empty:
        return pd.DataFrame(columns=columns)
    rows, by_config = [], {}
    for fit in results.fits.to_dict("records"):
        key, seed = fit["config_key"], int(fit["seed"])
        logged = results.fit_curves.get((key, seed), {})
        pair = (logged.get(curve) or [], logged.get(f"val_{curve}") or [])
        epochs = fit.get("param_epochs")
        max_epochs = int(epochs) if epochs is not None and epochs == epochs else None
        baseline = _baseline_for(results, curve, fit)
        entry = by_config.setdefault(key, {"curves": {}, "scores": [], "baseline": baseline, "max_epochs": max_epochs,
                                           "found": {}})
        row = {"scope": "fit", "config_key": key, "seed": seed, "status": fit.get("status")}
        if pair[0] or pair[1]:
            found = diagnose_curve(*pair, thresholds, baseline, name=curve, max_epochs=max_epochs)
            row.update(found.to_dict())
            entry["curves"][seed] = pair
            entry["found"][seed] = found
        else:
            row.update(label=None, evidence=f"no curve: {fit.get('error') or 'no epoch logged'}", suggestion=None)
        score = fit.get(results.metric)
        if fit.get("status") == "ok" and score is not None and score == score:
            entry["scores"].append(float(score))
        rows.append(row)
    for key, entry in by_config.items():
        row = {"scope": "config", "config_key": key, "seed": None, "status": None}
        if entry["curves"]:
            found = diagnose_config(entry["curves"], entry["scores"] or None, thresholds, entry["baseline"], name=curve,
                                    max_epochs=entry["max_epochs"], per_seed=entry["found"])
            row.update(found.to_dict())
        else:
            row.update(label=None, evidence="no curve logged for any seed", suggestion=None)
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["seed"] = table["seed"].astype("Int64")
    for column in ("best_epoch", "diverged_epoch", "epochs", "seeds"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table
