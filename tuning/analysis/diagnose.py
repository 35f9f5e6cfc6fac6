"""Label learning curves underfit, overfit, good fit or unstable, with the numbers that say why.

A label alone invites arguing; a label with its evidence ("val loss lowest at epoch 42/100,
18 % higher by the end while train fell 30 %") can be checked against the plot in a second.

Every judgement is made against the curve's own scale and noise, never against a fixed
percentage or its minimum alone: a loss of 1e-4 and one of 10 get the same label for the same
shape, a training loss wobbling near zero is not "rising", and a validation curve with 5 %
epoch-to-epoch noise is not "still falling" because its last epochs happened to dip. The
measures (details and their validation in docs/analysis.md):

* **noise**: a robust epoch-to-epoch noise level (median absolute second difference), so that a
  trend, a rise or a fall counts only when it is several noise standard errors large;
* **level** and **minimum**: the median of the last epochs and the minimum of a running median,
  so that one noisy epoch cannot flip a label;
* **convergence** by shape: the slope over the last epochs (a line fitted there) as a share of
  the improvement made so far, per run length: "another run this long would still gain x".
  A saturating curve fitted to the loss extrapolates what twice the epochs would buy;
* **rises** judged both against the minimum level and against the curve's own range.

The rules, in the order they are tried (the first that fires wins):

1. a NaN/inf value -> unstable ("diverged at epoch k");
2. fewer than ``min_epochs`` epochs -> underfit ("too few epochs to judge");
3. the train loss blows up or thrashes: it ends far above its minimum, measured against what it
   had improved -> unstable;
4. the val loss ends clearly above a minimum reached earlier while train kept falling -> overfit
   (unless early stopping restored the best epoch: then the rise is what it stopped), or val
   stalls while train still falls and val/train >= ``gap_ratio`` -> overfit;
5. the loss is still falling (by shape), is flat, or stays close to the naive baseline -> underfit;
6. otherwise good fit.

A config's label (:func:`diagnose_config`) comes from its seeds: divergence of any seed, seeds
that disagree by more than their own noise explains, else the majority of the seeds' labels.
Curves are losses (lower is better, not negative). Nothing here imports TensorFlow: reading a
study's curves must work where no backend is installed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tuning.analysis.frames import Results

__all__ = ["GOOD_FIT", "LABELS", "OVERFIT", "SUGGESTIONS", "UNDERFIT", "UNSTABLE", "Diagnosis", "Thresholds",
           "common_mean_curve", "diagnose_config", "diagnose_curve", "diagnose_study", "extrapolated_gain",
           "mean_curve"]

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
    "stopped": "nothing to fix: early stopping kept the best epoch; compare configs by their seed scores",
}


@dataclass(frozen=True)
class Thresholds:
    """When a curve counts as still improving, overfitting, flat, diverging or seed-dependent.

    Shares are of the curve's own improvement (its highest smoothed value before its minimum,
    minus that minimum), so they do not depend on the loss's scale. Defaults were chosen on the
    tuning half of a corpus of real fits and checked on the held-out half (docs/analysis.md).

    Attributes:
        min_epochs: fewer epochs than this cannot show a trend; such runs are labelled underfit
            ("too few epochs to judge"), since more epochs is the fix either way.
        tail_fraction: the end of training is the last 25 % of epochs (at least 3).
        significance: a trend, rise or fall counts only if it is this many standard errors of
            the curve's epoch-to-epoch noise.
        improving_share: still improving -> underfit when the slope over the tail, continued for
            as many epochs again as were run, would add this share of the improvement so far.
        overfit_rise: val loss at the end at least this fraction above its minimum ...
        overfit_range: ... with that rise or the val-train gap at least this share of the val
            curve's improvement (a rise invisible on a linear plot of the curve is not one) ...
        gap_growth: ... and the val/train ratio grown by this fraction since the val minimum ...
        train_fall: ... while the train loss did not rise by more than this share of its own
            improvement since the val minimum -> overfit (if it did rise: unstable).
        gap_ratio: val/train of 2 or more (and a visible share) with val stalled -> overfit.
        flat_change: the whole curve stays within 1 % of its maximum -> flat (not learning).
        erratic_noise, erratic_share: epoch-to-epoch noise of the train or val loss of at
            least 10 % of its level and 8 % of its improvement -> unstable (thrashing).
        diverge_rise: the train loss ends above its minimum by this share of its improvement
            or more -> unstable (the optimiser is not descending).
        stuck_loss, stuck_gain: a stalled val loss at 3x the naive baseline's or worse, which
            never improved by more than 25 % of its level -> unstable (a model that learnt
            nothing would do better: the weights were blown up). One that did improve and is
            still that high is underfit (``high_loss``).
        seeds_ratio: seeds with different labels whose final val losses differ by this factor or
            more (10x when all seeds have the same label), by more than their own noise explains
            and by ``seeds_share`` of what training improved -> unstable (config level).
        seeds_share: see ``seeds_ratio``.
        unstable_share: this share of a config's seeds unstable -> the config is unstable.
        high_loss: val loss at 0.9x the naive baseline's or worse -> underfit (baseline known).

    Changed from the first version: ``improving_drop`` (a fixed 5 % over the tail) became
    ``improving_share``; ``seeds_cv`` (std/mean of final scores) became ``seeds_ratio`` and
    ``seeds_share``; ``significance``, ``overfit_range``, ``gap_growth``, ``erratic_noise``,
    ``erratic_share``, ``stuck_loss``, ``stuck_gain`` and ``unstable_share`` are new; ``train_fall`` and
    ``diverge_rise`` are now shares of the train curve's improvement, not of its minimum;
    ``tail_fraction`` is 0.25 (was 0.2) and ``gap_ratio`` 2 (was 3).
    """

    min_epochs: int = 3
    tail_fraction: float = 0.25
    significance: float = 3.0
    improving_share: float = 0.2
    overfit_rise: float = 0.10
    overfit_range: float = 0.02
    gap_growth: float = 0.2
    train_fall: float = 0.1
    gap_ratio: float = 2.0
    flat_change: float = 0.01
    erratic_noise: float = 0.1
    erratic_share: float = 0.08
    diverge_rise: float = 0.5
    stuck_loss: float = 3.0
    stuck_gain: float = 0.25
    seeds_ratio: float = 3.0
    seeds_share: float = 0.1
    unstable_share: float = 0.25
    high_loss: float = 0.9


@dataclass(frozen=True)
class Diagnosis:
    """A label, the numbers behind it (as text and as fields), and what to try next.

    Fractions are plain ratios (0.18 is 18 %); NaN or None where a number does not apply.
    ``best_epoch`` is 1-based (the minimum of the smoothed val curve, else train);
    ``tail_drop`` is how much the loss fell over the tail, as a share of its level there;
    ``still_improving`` is the tail slope continued for as many epochs again, as a share of the
    improvement so far; ``noise`` the epoch-to-epoch noise as a share of the level;
    ``gain_2x`` the extrapolated fall of the loss if trained twice as long (share of its level);
    ``agreement`` the share of seeds whose own label is the config's.
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
    still_improving: float = math.nan
    noise: float = math.nan
    gain_2x: float = math.nan
    diverged_epoch: int | None = None
    skill: float = math.nan
    seeds: int = 1
    seeds_cv: float = math.nan
    agreement: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _pct(x: float, signed: bool = False) -> str:
    """18 % / 0.4 % / +18 %: one decimal only where the whole number would read as 0."""
    if not math.isfinite(x):
        return f"{x}"
    text = f"{abs(x) * 100:.1f}" if abs(x) < 0.095 else f"{abs(x) * 100:.0f}"
    sign = ("+" if x >= 0 else "-") if signed else ("-" if x < 0 else "")
    return f"{sign}{text} %"


def _se(z: float) -> str:
    """A slope in standard errors, for the evidence: "4.2 s.e.", "> 99 s.e."."""
    return f"{z:.1f} s.e." if abs(z) < 99.5 else f"{'>' if z > 0 else '<'} {'' if z > 0 else '-'}99 s.e."


def _as_array(values: Any) -> np.ndarray:
    if values is None:
        return np.empty(0)
    return np.asarray(values if isinstance(values, (list, np.ndarray)) else list(values), dtype=float)


@dataclass(frozen=True)
class _Shape:
    """What the rules read off one curve: robust level, minimum, noise, improvement and trend."""

    n: int
    k: int                 # epochs in the tail
    smooth: np.ndarray     # running median
    best: int              # index of the smoothed minimum
    minimum: float
    level: float           # median of the tail
    noise: float           # epoch-to-epoch noise (absolute)
    improvement: float     # highest smoothed value up to the minimum, minus the minimum
    slope: float           # per epoch, least squares over the tail
    slope_se: float
    rise: float            # level - minimum, when the minimum came before the tail (else 0)

    def share(self, amount: float) -> float:
        """``amount`` as a share of the curve's improvement (its noise when it never improved)."""
        scale = max(self.improvement, self.noise, 1e-12 * max(abs(self.level), 1e-300))
        return amount / scale

    @property
    def still_improving(self) -> float:
        """The tail's slope continued for ``n`` more epochs, as a share of the improvement so far."""
        return self.share(-self.slope * self.n)

    @property
    def falling(self) -> float:
        """The tail's fall in standard errors of its slope (positive when falling)."""
        return -self.slope / self.slope_se if self.slope_se > 0 else (math.inf if self.slope < 0 else 0.0)

    def erratic(self, th: Thresholds) -> bool:
        """Jumps epoch to epoch by a sizeable share of both its level and all it ever improved."""
        return self.noise >= th.erratic_noise * self.level and self.share(self.noise) >= th.erratic_share

    def rise_z(self) -> float:
        """The rise above the minimum in standard errors of the tail level and of the minimum."""
        window = max(1, min(self.k, _window(self.n)))
        se = self.noise * math.sqrt(1 / self.k + 1 / window)
        return self.rise / se if se > 0 else (math.inf if self.rise > 0 else 0.0)


def _window(n: int) -> int:
    """Running-median width: about a tenth of the run, odd, 3 to 11 epochs."""
    w = int(round(n / 10)) | 1
    return min(11, max(3, w)) if n >= 3 else 1


def _running_median(y: np.ndarray, w: int) -> np.ndarray:
    if w <= 1 or len(y) < 3:
        return y.copy()
    half = min(w // 2, len(y) - 1)
    # Mirrored ends: the first epoch's mean loss (partly an untrained model's) is not the level
    # at epoch 1, and one outlying end epoch should not set the smoothed value there.
    padded = np.concatenate([y[1: half + 1][::-1], y, y[-half - 1: -1][::-1]])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, w), axis=1)


def _noise(y: np.ndarray) -> float:
    """Robust epoch-to-epoch noise std over the second half of the run (trend-free: 2nd differences).

    For white noise of std s the second difference has std s*sqrt(6); the median absolute
    deviation ignores the few epochs of a spike. The first half is left out because the early,
    steep part of a curve is not noise.
    """
    part = y[len(y) // 2:] if len(y) >= 8 else y
    if len(part) < 3:
        return 0.0
    d2 = np.diff(part, 2)
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / math.sqrt(6))


def _shape(y: np.ndarray, th: Thresholds) -> _Shape:
    n = len(y)
    k = min(n, max(3, math.ceil(th.tail_fraction * n)))
    smooth = _running_median(y, _window(n))
    best = int(np.argmin(smooth))
    minimum = float(smooth[best])
    level = float(np.median(y[-k:]))
    noise = max(_noise(y), 1e-6 * abs(float(np.median(y))))  # float32 rounding is noise too
    improvement = float(smooth[: best + 1].max()) - minimum
    x = np.arange(k, dtype=float) - (k - 1) / 2
    tail = y[-k:]
    sxx = float(x @ x)
    slope = float(x @ (tail - tail.mean())) / sxx if sxx else 0.0
    slope_se = noise / math.sqrt(sxx) if sxx else math.inf
    rise = max(0.0, level - minimum) if best < n - k else 0.0  # a minimum inside the tail is too recent to call
    return _Shape(n, k, smooth, best, minimum, level, noise, improvement, slope, slope_se, rise)


def extrapolated_gain(values: Any, factor: float = 2.0) -> float:
    """How much lower the loss would be after ``factor`` times the epochs, as a share of its level.

    Fits ``c + a * exp(-t / tau)`` (c >= 0: a loss) to the curve's last two thirds with
    :func:`scipy.optimize.curve_fit`; NaN when the fit fails or the curve is too short (< 5
    epochs). An extrapolation, so a rough number: it is shown as "about".
    """
    y = _as_array(values)
    n = len(y)
    if n < 5 or not np.all(np.isfinite(y)):
        return math.nan
    from scipy.optimize import curve_fit

    start = n // 3  # the first epochs' steep drop says little about the slow tail
    y = y[start:]
    t = np.arange(start, n, dtype=float)
    scale = float(np.max(np.abs(y))) or 1.0

    def model(t, c, a, tau):
        return c + a * np.exp(-t / tau)

    end = float(np.median(y[-max(3, len(y) // 4):])) / scale
    try:
        (c, a, tau), _ = curve_fit(model, t - start, y / scale, p0=(end * 0.9, y[0] / scale - end, n / 3),
                                   bounds=([0.0, -np.inf, 0.5], [np.inf, np.inf, 100.0 * n]), maxfev=2000)
    except (RuntimeError, ValueError):
        return math.nan
    now, later = model(n - 1.0 - start, c, a, tau), model(factor * n - 1.0 - start, c, a, tau)
    return float((now - later) / now) if now > 0 else math.nan


def diagnose_curve(train: list[float] | None, val: list[float] | None = None, thresholds: Thresholds = Thresholds(),
                   baseline: float | None = None, *, name: str = "loss", max_epochs: int | None = None,
                   patience: int | None = None, restored: bool = True, extrapolate: bool = True) -> Diagnosis:
    """Diagnose one run from its per-epoch train and validation losses.

    Args:
        train: training loss per epoch (may be empty when only validation was logged).
        val: validation loss per epoch; without it overfitting cannot be judged and the train
            curve stands in for the checks of improvement.
        thresholds: see :class:`Thresholds`.
        baseline: the naive baseline's validation loss on the same split, when comparable.
        name: the curve's name in the evidence ("loss", "mae" ...).
        max_epochs: epochs asked for; a shorter run is reported as stopped early.
        patience: the run had early stopping with this patience; with ``restored`` (Keras's
            ``restore_best_weights``) the model kept is the best epoch's, so the epochs after it
            are not evidence of overfitting.
        extrapolate: quote what twice the epochs would buy on a still-falling run
            (:func:`extrapolated_gain`, a curve fit of ~3 ms; :func:`diagnose_study` does it once
            per config rather than once per fit).

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
    main, main_name = (v, f"val {name}") if len(v) else (t, f"train {name}")
    m = _shape(main, th)
    tr = _shape(t, th) if len(t) else None
    stopped = bool(max_epochs and n < max_epochs)
    kept_best = bool(patience is not None and restored)
    fields: dict[str, Any] = dict(epochs=n, best_epoch=m.best + 1, tail_drop=-m.slope * (m.k - 1) / max(m.level, 1e-300),
                                  still_improving=m.still_improving, noise=m.noise / max(m.level, 1e-300))
    gap_text = ""
    if len(v):
        fields["val_rise"] = m.rise / max(m.minimum, 1e-300)
    if tr is not None and len(v):
        train_then = float(tr.smooth[m.best])  # train at the val minimum
        fields["train_fall"] = (train_then - tr.level) / max(abs(train_then), 1e-300)
        gap = m.level / tr.level if tr.level > 0 else math.inf
        fields["gap_ratio"] = gap
        gap_text = f"; gap {gap:.1f}x train" if gap < 100 else f"; gap {gap:,.0f}x train"
    skill = math.nan
    if baseline and baseline > 0 and len(v):
        skill = 1 - m.level / baseline
        fields["skill"] = skill
    stop_text = f"; stopped early after {n} of {max_epochs} epochs" if stopped else ""
    last = f"the last {m.k} epochs"
    level = f"{m.level:.3g} (median of the last {m.k} of {n} epochs)"
    noise_text = f"noise {_pct(fields['noise'])} per epoch"

    def result(label: str, evidence: str, suggestion: str) -> Diagnosis:
        return Diagnosis(label, evidence + stop_text, SUGGESTIONS[suggestion], **fields)

    significant = th.significance
    for curve, side in ((tr, "train"), (m if len(v) else None, "val")):
        if curve is not None and curve.erratic(th):
            return result(UNSTABLE, f"{side} {name} jumps {_pct(curve.noise / curve.level)} epoch to epoch "
                                    f"({_pct(curve.share(curve.noise))} of all it improved): the optimiser thrashes",
                          "erratic")
    if tr is not None:
        t_rise = tr.share(tr.rise)
        if t_rise >= th.diverge_rise and tr.rise_z() >= significant:
            return result(UNSTABLE, f"train {name} ends at {tr.level:.3g}, {t_rise:.1f}x its improvement above its "
                                    f"minimum {tr.minimum:.3g} (epoch {tr.best + 1}/{n}): the optimiser is not descending",
                          "erratic")
    if len(v):
        gap_share = m.share(m.level - tr.level) if tr is not None else math.nan
        visible = max(m.share(m.rise), gap_share if math.isfinite(gap_share) else 0.0) >= th.overfit_range
        rose = m.rise >= th.overfit_rise * m.minimum and visible and m.rise_z() >= significant
        if rose:
            where = (f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), {_pct(fields['val_rise'])} higher "
                     f"over {last}")
            if kept_best:
                return result(GOOD_FIT, f"{where}; early stopping restored epoch {m.best + 1}'s weights, so the rise is "
                                        f"what it stopped{gap_text}", "stopped")
            if tr is None:  # the usual reason val turns up; nothing here says otherwise
                return result(OVERFIT, f"{where} (no train curve logged)", "overfit")
            growth = (m.level / max(tr.level, 1e-300)) / (m.minimum / max(train_then, 1e-300)) - 1
            train_rose = tr.share(tr.level - train_then)
            if train_rose > th.train_fall:
                return result(UNSTABLE, f"{where} while train rose too ({_pct(train_rose)} of its improvement): "
                                        "erratic, not overfitting", "erratic")
            if growth >= th.gap_growth:
                return result(OVERFIT, f"{where} while train fell {_pct(fields['train_fall'])}"
                                       f": the val/train gap grew {_pct(growth)}{gap_text}", "overfit")
        if (tr is not None and fields["gap_ratio"] >= th.gap_ratio and gap_share >= th.overfit_range
                and m.falling < significant and not kept_best):
            trend = f"rising {_se(-m.falling)}" if m.falling <= -significant else f"flat within noise, {_se(m.falling)}"
            return result(OVERFIT, f"val {name} no longer falling over {last} ({trend}) at "
                                   f"{fields['gap_ratio']:.1f}x the train {name}", "overfit")
    versus = f"; {1 - skill:.3g}x the naive baseline ({baseline:.3g})" if math.isfinite(skill) else ""
    improving = m.still_improving >= th.improving_share and m.falling >= significant
    # A run that ended before its epochs (early stopping, or a stop on a bad value) ended because
    # val stopped improving: "train longer" would be wrong.
    if improving and not stopped:
        gain = extrapolated_gain(main) if extrapolate else math.nan
        fields["gain_2x"] = gain
        more = f"; 2x the epochs would lower it by about {_pct(gain)} (extrapolated)" if math.isfinite(gain) else ""
        return result(UNDERFIT, f"{main_name} still falling at the end: the slope over {last} would add "
                                f"{_pct(m.still_improving)} of the improvement so far in another {n} epochs "
                                f"(fall {_se(m.falling)}, {noise_text}){more}{versus}", "improving")
    if math.isfinite(skill) and 1 - skill >= th.stuck_loss and m.improvement < th.stuck_gain * m.level:
        return result(UNSTABLE, f"{main_name} {level} is stuck at {1 - skill:.3g}x the naive baseline's ({baseline:.3g}) "
                                f"after improving {_pct(m.improvement / m.level)} of that level in all: worse than a "
                                "model that learnt nothing; the optimiser likely blew the weights up", "diverged")
    change = (float(m.smooth.max()) - float(m.smooth.min())) / max(abs(float(m.smooth.max())), 1e-12)
    if change < th.flat_change and not (math.isfinite(skill) and 1 - skill < th.high_loss):
        return result(UNDERFIT, f"{main_name} flat: within {_pct(change)} over {n} epochs "
                                f"({main[0]:.3g} -> {main[-1]:.3g}){versus}", "flat")
    if math.isfinite(skill) and 1 - skill >= th.high_loss:
        return result(UNDERFIT, f"{main_name} {level} is {1 - skill:.3g}x the naive baseline's ({baseline:.3g})",
                      "high")
    if improving:  # and stopped before its epochs: not converged, but not for want of epochs either
        converged = f"still falling when the run ended (fall {_se(m.falling)} over {last})"
    else:
        converged = (f"converged: the slope over {last} would add {_pct(max(0.0, m.still_improving))} of the "
                     f"improvement in another {n} epochs ({noise_text})")
    if kept_best and stopped:
        converged += f"; early stopping restored epoch {int(np.argmin(main)) + 1}"
    return result(GOOD_FIT, f"{main_name} {level}, {_pct(fields.get('val_rise', m.rise / max(m.minimum, 1e-300)))} "
                            f"above its minimum at epoch {m.best + 1}; {converged}{gap_text}{versus}",
                  "stopped" if kept_best and stopped else "good")


def mean_curve(curves: list) -> np.ndarray:
    """Mean per epoch over the runs that reached that epoch (early stopping ends runs unequally).

    Padding the short runs with their last value would invent epochs nobody trained; cutting
    every run to the shortest would hide the late epochs. Empty runs are skipped. (The config
    diagnosis uses :func:`common_mean_curve` instead: a tail averaged over a changing set of
    seeds is a different population from its start.)
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


def common_mean_curve(curves: list) -> np.ndarray:
    """Mean per epoch over the epochs that every (non-empty) run reached."""
    curves = [_as_array(c) for c in curves]
    curves = [c for c in curves if len(c)]
    if not curves:
        return np.empty(0)
    n = min(len(c) for c in curves)
    return np.mean([c[:n] for c in curves], axis=0)


_SEVERITY = (UNSTABLE, OVERFIT, UNDERFIT, GOOD_FIT)
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
        s = _shape(y, th)
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
    "Unstable" at config level means a seed diverged, or the seeds' final losses differ by
    ``seeds_ratio`` or more *and* by more than each seed's own epoch noise explains.

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
    runs = {s: (_as_array(tr), _as_array(va)) for s, (tr, va) in sorted(curves_by_seed.items())}
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
    ratio, share, allowance = _seed_spread(runs, th)
    needed = th.seeds_ratio if len(tally_counts) > 1 else 10.0  # unanimous seeds: only an order of magnitude
    if math.isfinite(ratio) and ratio >= max(needed, allowance) and share >= th.seeds_share:
        return Diagnosis(UNSTABLE, f"seeds disagree: final losses {ratio:.1f}x apart ({_pct(share)} of what "
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
    mean = diagnose_curve(common_mean_curve([tr for tr, _ in runs.values()]),
                          common_mean_curve([va for _, va in runs.values()]), th, baseline, **options)
    lengths = sorted({d.epochs for d in per_seed.values()})
    common = f" over the {lengths[0]} epochs all ran" if len(lengths) > 1 else ""
    source = mean if mean.label == label else next(d for d in per_seed.values() if d.label == label)
    if mean.label == label:
        evidence = f"{tally_counts[label]} of {count} seeds {label}; mean of {count} seeds{common}: {mean.evidence}"
    else:
        seed = next(s for s, d in per_seed.items() if d.label == label)
        evidence = (f"{tally_counts[label]} of {count} seeds {label} (per seed: {tally}); seed {seed}: "
                    f"{source.evidence}; mean curve{common}: {mean.label}")
    return replace(source, label=label, evidence=evidence, suggestion=source.suggestion, epochs=epochs, seeds=count,
                   seeds_cv=cv, agreement=tally_counts[label] / count)


def _baseline_for(results: Results, curve: str, row: dict[str, Any]) -> float | None:
    """The baseline's val loss is comparable only with the problem's own loss, in model space."""
    override = row.get("param_loss")
    if curve != "loss" or (isinstance(override, str) and override):  # a config's own loss: not comparable
        return None
    value = results.baseline.get("val_loss")
    return float(value) if value is not None and math.isfinite(value) else None


def _early_stopping(results: Results):
    """The study's early-stopping settings with the spec's own defaults, or None without it."""
    from tuning.spec import EarlyStoppingSpec

    early = ((results.spec or {}).get("fit") or {}).get("early_stopping")
    if not early:
        return None
    return EarlyStoppingSpec() if early is True else EarlyStoppingSpec.model_validate(early)


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
    early = _early_stopping(results)
    for fit in results.fits.to_dict("records"):
        key, seed = fit["config_key"], int(fit["seed"])
        logged = results.fit_curves.get((key, seed), {})
        pair = (logged.get(curve) or [], logged.get(f"val_{curve}") or [])
        epochs = fit.get("param_epochs")
        max_epochs = int(epochs) if epochs is not None and epochs == epochs else None
        patience = None
        if early is not None:  # a searched patience is the config's own
            searched = fit.get("param_patience")
            patience = int(searched) if searched is not None and searched == searched else early.patience
        options = dict(name=curve, max_epochs=max_epochs, patience=patience,
                       restored=early.restore_best_weights if early is not None else True)
        baseline = _baseline_for(results, curve, fit)
        entry = by_config.setdefault(key, {"curves": {}, "scores": [], "baseline": baseline, "options": options,
                                           "found": {}})
        row = {"scope": "fit", "config_key": key, "seed": seed, "status": fit.get("status")}
        if pair[0] or pair[1]:
            found = diagnose_curve(*pair, thresholds, baseline, extrapolate=False, **options)
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
            found = diagnose_config(entry["curves"], entry["scores"] or None, thresholds, entry["baseline"],
                                    per_seed=entry["found"], **entry["options"])
            row.update(found.to_dict())
        else:
            row.update(label=None, evidence="no curve logged for any seed", suggestion=None)
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["seed"] = table["seed"].astype("Int64")
    for column in ("best_epoch", "diverged_epoch", "epochs", "seeds"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table
