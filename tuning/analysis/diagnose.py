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
4. the val loss stalls or rises while train keeps falling and the val/train gap widens, beyond
   the noise -> overfit, whether or not early stopping cut the run (with restored weights the
   curves are read up to the restored epoch: the patience epochs are what it stopped);
5. the loss is still falling: the slope adds a share of the improvement so far, or the
   extrapolation (:func:`extrapolated_gain`) lowers the current level by ``improving_gain`` ->
   underfit (early-stopped runs too: the fix is more patience); flat, or close to the naive
   baseline -> underfit;
6. otherwise good fit.

A config's label (:func:`diagnose_config`) comes from its seeds: divergence of any seed, seeds
that disagree by more than their own noise explains, else the majority of the seeds' labels.
Curves are losses (lower is better, not negative): a score or a negative curve is refused in
one line (``ValueError``). Nothing here imports TensorFlow: reading a
study's curves must work where no backend is installed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from tuning.analysis.frames import Results

__all__ = ["GOOD_FIT", "LABELS", "OVERFIT", "SUGGESTIONS", "UNDERFIT", "UNSTABLE", "Diagnosis", "Thresholds",
           "Gain", "common_mean_curve", "diagnose_config", "diagnose_curve", "diagnose_study", "extrapolated_gain",
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
    "stopped_falling": "raise the early-stopping patience (or min_delta lower): the loss was still falling "
                       "when early stopping ended the run",
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
        improving_gain, improving_visible: or still improving when another run as long would lower
            the current level by 10 % (extrapolated) and that drop is 5 % of the improvement.
        stall_val_fall, stall_train_fall, stall_gap_growth: overfit when over the second half of
            the run val fell < 20 % of its level while train fell >= 20 % (3 s.e.) and val/train
            grew >= 25 % (round 3: were 10 % and 30 %, tuned on the old corpus and the first fresh
            set). No overfitting reading fires while val ends at or below train (round 3).

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
    improving_gain: float = 0.1
    improving_visible: float = 0.05
    overfit_rise: float = 0.10
    overfit_range: float = 0.02
    gap_growth: float = 0.2
    train_fall: float = 0.1
    gap_ratio: float = 2.0
    stall_val_fall: float = 0.2
    stall_train_fall: float = 0.2
    stall_gap_growth: float = 0.25
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
    ``gain_2x`` the extrapolated fall of the loss if trained twice as long (share of its level),
    ``gain_low``/``gain_high`` its 80 % interval (for a config: of its seed-mean curve);
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
    gain_low: float = math.nan
    gain_high: float = math.nan
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


class Gain(NamedTuple):
    """What ``factor`` times the epochs would buy: the expected fall of the loss level and its interval.

    ``gain`` is a share of the current level (0.12: 12 % lower; negative: higher), ``low`` and
    ``high`` bound the 80 % interval (calibrated on real curves, docs/analysis.md), ``epochs`` is
    how many epochs were added ((factor - 1) x the epochs run) and ``families`` the fitted curve
    families' own gains and weights.
    """

    gain: float
    low: float
    high: float
    epochs: int
    families: tuple = ()

    def text(self) -> str:
        """ "another 60 epochs would lower it by about 12 % (80 % interval 5-20 %)"; "" when unknown."""
        if not math.isfinite(self.gain):
            return ""
        if self.gain >= 0:
            return (f"another {self.epochs} epochs would lower it by about {_pct(self.gain)} "
                    f"(80 % interval {_range(self.low, self.high)})")
        return (f"another {self.epochs} epochs would raise it by about {_pct(-self.gain)} "
                f"(80 % interval {_range(-self.high, -self.low)})")


_NO_GAIN = Gain(math.nan, math.nan, math.nan, 0)

#: Standardised errors (real - predicted gain) / scale of the forecast on the curves of the
#: diagnosis corpus cut at half (every val curve of >= 20 epochs, both halves: 150 curves), at
#: their 10th and 90th percentiles: the 80 % interval is ``gain + Q * scale``, with the scale
#: ``|gain| + 3 x relative noise + 0.01``. Frozen before the fresh held-out set was made.
_INTERVAL_Q = (-1.569, 0.669)


def _level_window(n: int) -> int:
    """Epochs a level is the median of, for the extrapolation: a tenth of the run, at least 3."""
    return max(3, int(round(0.1 * n)))


def _family_bases(n: int) -> dict[str, tuple[int, Any]]:
    """Saturating curve families ``c + a * phi(t)`` over a grid of their shape parameters.

    For each shape the curve is linear in (c, a), so a family is fitted by least squares at
    every grid point and the best is kept: no local minima, no failed fits, ~1 ms per curve.
    """
    taus = n * np.geomspace(0.02, 20.0, 40)
    powers = np.geomspace(0.05, 4.0, 30)
    scales, slopes = (g.ravel() for g in np.meshgrid(n * np.geomspace(0.02, 5.0, 16), np.geomspace(0.3, 4.0, 12)))
    return {
        "exponential": (3, lambda t: np.exp(-t[:, None] / taus)),      # c + a exp(-t/tau)
        "power law": (3, lambda t: t[:, None] ** -powers),             # c + a t^-b
        "log-power": (4, lambda t: 1.0 / (1.0 + (t[:, None] / scales) ** slopes)),  # c + a / (1 + (t/s)^b)
    }


def _fit_family(basis: np.ndarray, y: np.ndarray) -> tuple[float, float, int, float]:
    """Least squares ``y ~ c + a * basis[:, j]`` (c >= 0) at every j, in relative terms: (c, a, j, sse) of the best.

    Each epoch is weighted by ``1 / y^2``, so a curve that spans orders of magnitude is fitted
    where it is now, not where it started.
    """
    w = 1.0 / np.maximum(y, 1e-12 * max(float(y.max()), 1e-300)) ** 2
    w = w / w.sum()
    pm, ym = w @ basis, float(w @ y)
    pc = basis - pm
    sxx = w @ (pc * pc)
    a = np.divide(w @ (pc * (y - ym)[:, None]), sxx, out=np.zeros_like(sxx), where=sxx > 0)
    c = ym - a * pm
    negative = c < 0  # a loss's floor is not below zero: refit through c = 0
    if negative.any():
        pp = w @ (basis * basis)
        a = np.where(negative, np.divide(w @ (basis * y[:, None]), pp, out=np.zeros_like(pp), where=pp > 0), a)
        c = np.where(negative, 0.0, c)
    sse = (w @ (y[:, None] - c - a * basis) ** 2) * len(y)
    j = int(np.argmin(sse))
    return float(c[j]), float(a[j]), j, float(sse[j])


def extrapolated_gain(curve: Any, factor: float = 2.0) -> Gain:
    """How much lower a loss curve would be after ``factor`` times its epochs, with an 80 % interval.

    Three saturating families are fitted to the curve from a quarter of its epochs on (power law
    ``c + a t^-b``, exponential ``c + a exp(-t/tau)`` and log-power ``c + a / (1 + (t/s)^b)``,
    each with its floor ``c >= 0``) and weighted by their fit (Akaike weights, AICc). The gain is
    ``1 - f(later) / f(now)`` with ``f`` the weighted curves averaged over a tenth of the run
    ending now and ending at ``factor`` times the epochs, so it is a share of the current level:
    0.12 means 12 % lower. The 80 % interval is calibrated on real curves cut at half
    (docs/analysis.md: its coverage and bias, measured on curves it was not calibrated on); at
    other factors than 2 it is widened by ``log(factor) / log(2)``.

    Returns ``Gain(nan, nan, nan, 0)`` for curves shorter than 8 epochs or with a non-finite
    value. Raises ``ValueError`` (one line) for a curve with negative values: it is not a loss.
    """
    y = _as_array(curve)
    n = len(y)
    if n and np.nanmin(y) < 0:
        raise ValueError(_negative_message(y, "curve"))
    if n < 8 or not np.all(np.isfinite(y)) or factor <= 1:
        return _NO_GAIN
    k = _level_window(n)
    start = n // 4  # the first epochs' steep drop says little about the slow tail
    t = np.arange(1, n + 1, dtype=float)
    scale = float(np.max(y[start:])) or 1.0
    z = y[start:] / scale
    m = len(z)
    end = int(round(factor * n))
    now, later = t[n - k:], np.arange(end - k + 1, end + 1, dtype=float)
    gains, scores = [], []
    for _family, (q, basis) in _family_bases(n).items():
        c, a, j, sse = _fit_family(basis(t[start:]), z)
        f_now = c + a * float(basis(now)[:, j].mean())
        f_later = c + a * float(basis(later)[:, j].mean())
        gains.append(1.0 - f_later / f_now if f_now > 0 else 0.0)
        scores.append(m * math.log(max(sse / m, 1e-30)) + 2 * q + 2 * q * (q + 1) / max(m - q - 1, 1))
    aicc = np.asarray(scores)
    weights = np.exp(-(aicc - aicc.min()) / 2)
    weights /= weights.sum()
    gain = float(weights @ np.asarray(gains))
    level = float(np.median(y[-k:]))
    noise = _noise(y) / level if level > 0 else 0.0
    spread = (abs(gain) + 3 * noise + 0.01) * max(1.0, math.log(factor) / math.log(2.0))
    low, high = gain + _INTERVAL_Q[0] * spread, gain + _INTERVAL_Q[1] * spread
    families = tuple((name, round(g, 4), round(float(w), 3)) for name, g, w in zip(_family_bases(n), gains, weights,
                                                                                   strict=True))
    return Gain(gain, low, min(high, 1.0), end - n, families)


#: Curve names that are scores (higher is better), not losses: refused by :func:`diagnose_curve`.
SCORES = ("accuracy", "acc", "auc", "precision", "recall", "f1", "r2", "r_squared", "top_k", "iou")


def _check_loss(name: str, t: np.ndarray, v: np.ndarray) -> None:
    """Refuse, in one line, a curve that is not a loss: a score by its name, or negative values."""
    base = name.lower().removeprefix("val_")
    if any(base == s or base.startswith(s + "_") or base.endswith("_" + s) or base.endswith(s) and s in ("accuracy", "auc")
           for s in SCORES):
        raise ValueError(f"{name} is a score (higher is better), not a loss: the diagnosis reads losses and errors "
                         "(loss, mse, mae); diagnose curve='loss' instead")
    for side, y in (("train", t), ("val", v)):
        finite = y[np.isfinite(y)]
        if len(finite) and finite.min() < 0:
            raise ValueError(_negative_message(y, f"{side} {name}"))


def _negative_message(y: np.ndarray, name: str) -> str:
    i = int(np.nanargmin(y))
    return (f"{name} has negative values ({y[i]:.3g} at epoch {i + 1}): the diagnosis reads losses >= 0; "
            "diagnose a loss or an error (mse, mae), not a score or a shifted loss")


def _range(low: float, high: float) -> str:
    """ "5-20 %", "-3-+8 %": an interval of shares, signed when it crosses zero."""
    signed = low < 0 or high < 0
    a, b = _pct(low, signed), _pct(high, signed)
    return f"{a.removesuffix(' %')} to {b}" if signed else f"{a.removesuffix(' %')}-{b}"


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
        extrapolate: quote what twice the epochs would buy (:func:`extrapolated_gain`) in the
            evidence and the ``gain_*`` fields; the still-falling rule reads it either way.

    Raises:
        ValueError: both curves are empty (a fit that failed before its first epoch), or they are
            not losses (negative values, or ``name`` is a score such as accuracy): one line.
    """
    th = thresholds
    t, v = _as_array(train), _as_array(val)
    if len(t) and len(v) and len(t) != len(v):  # Keras logs both every epoch; be lenient anyway
        t, v = t[: min(len(t), len(v))], v[: min(len(t), len(v))]
    n = max(len(t), len(v))
    if n == 0:
        raise ValueError("no epochs to diagnose: both curves are empty")
    _check_loss(name, t, v)
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
    if stopped and patience is not None:
        stop_text = f"; stopped at epoch {n} (best {n - patience}) of {max_epochs}"
    elif stopped:
        stop_text = f"; stopped early after {n} of {max_epochs} epochs"
    else:
        stop_text = ""
    last = f"the last {m.k} epochs"
    level = f"{m.level:.3g} (median of the last {m.k} of {n} epochs)"
    noise_text = f"noise {_pct(fields['noise'])} per epoch"
    gain = extrapolated_gain(main) if extrapolate else _NO_GAIN
    fields.update(gain_2x=gain.gain, gain_low=gain.low, gain_high=gain.high)

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
        # Overfitting is read off the curves the kept model saw: with early stopping that restored
        # the best epoch, the epochs up to it (the patience epochs after it are what it stopped).
        cut = n - patience if kept_best and stopped and patience else n
        judged = cut if cut >= max(th.min_epochs, 8) and cut < n else n
        found = _overfit(t[:judged], v[:judged], th, name, judged < n) if tr is not None else None
        if found is not None:
            return result(OVERFIT, found, "overfit")
        if tr is None and judged == n and m.rise >= th.overfit_rise * m.minimum and m.rise_z() >= significant \
                and m.share(m.rise) >= th.overfit_range:
            return result(OVERFIT, f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), "
                                   f"{_pct(fields['val_rise'])} higher over {last} (no train curve logged)", "overfit")
        if tr is not None:
            rose_too = m.rise >= th.overfit_rise * m.minimum and m.rise_z() >= significant and \
                tr.share(tr.level - train_then) > th.train_fall and judged == n
            if rose_too and m.share(m.rise) >= th.overfit_range:
                return result(UNSTABLE, f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), "
                                        f"{_pct(fields['val_rise'])} higher over {last} while train rose too "
                                        f"({_pct(tr.share(tr.level - train_then))} of its improvement): erratic, "
                                        "not overfitting", "erratic")
    versus = f"; {1 - skill:.3g}x the naive baseline ({baseline:.3g})" if math.isfinite(skill) else ""
    falling = m.falling >= significant
    more = f"; {gain.text()}" if math.isfinite(gain.gain) else ""
    # More to gain: the slope continued would add a share of the improvement so far, or the
    # extrapolation lowers the current level by a share of it that is also visible on the curve.
    gain_now = gain if math.isfinite(gain.gain) or extrapolate else extrapolated_gain(main)
    visible_gain = gain_now.gain * m.level / max(m.improvement, m.noise, 1e-300) if math.isfinite(gain_now.gain) else 0.0
    improving = falling and (m.still_improving >= th.improving_share
                             or (gain_now.gain >= th.improving_gain and visible_gain >= th.improving_visible))
    if improving:
        why = "improving" if not stopped else "stopped_falling"
        return result(UNDERFIT, f"{main_name} still falling at the end ({_se(m.falling)} over {last}, "
                                f"{noise_text}){more}{versus}", why)
    if math.isfinite(skill) and 1 - skill >= th.stuck_loss and m.improvement < th.stuck_gain * m.level:
        return result(UNSTABLE, f"{main_name} {level} is stuck at {1 - skill:.3g}x the naive baseline's ({baseline:.3g}) "
                                f"after improving {_pct(m.improvement / m.level)} of that level in all: worse than a "
                                "model that learnt nothing; the optimiser likely blew the weights up", "diverged")
    change = (float(m.smooth.max()) - float(m.smooth.min())) / max(abs(float(m.smooth.max())), 1e-12)
    if change < th.flat_change and not (math.isfinite(skill) and 1 - skill < th.high_loss):
        return result(UNDERFIT, f"{main_name} flat: within {_pct(change)} over {n} epochs "
                                f"({main[0]:.3g} -> {main[-1]:.3g}){versus}", "flat")
    if math.isfinite(skill) and 1 - skill >= th.high_loss:
        return result(UNDERFIT, f"{main_name} {level} is {1 - skill:.3g}x the naive baseline's ({baseline:.3g}){more}",
                      "high")
    converged = f"converged ({noise_text})" if not falling else f"still falling but slowly ({_se(m.falling)}, {noise_text})"
    return result(GOOD_FIT, f"{main_name} {level}, {_pct(fields.get('val_rise', m.rise / max(m.minimum, 1e-300)))} "
                            f"above its minimum at epoch {m.best + 1}; {converged}{more}{gap_text}{versus}",
                  "stopped" if kept_best and stopped else "good")


def _overfit(t: np.ndarray, v: np.ndarray, th: Thresholds, name: str, cut: bool) -> str | None:
    """The evidence that val stalled or rose while train kept falling and the gap widened, else None.

    Three readings, each beyond the curves' noise: val rose from a minimum reached before the
    tail (``overfit_rise``) while train fell and val/train grew; val stalled over the second half
    of the run (fell less than ``stall_val_fall`` of its level) while train fell
    ``stall_train_fall`` of its level and val/train grew ``stall_gap_growth``; val no longer
    falling at ``gap_ratio`` x train. ``cut``: these are the epochs up to the one early stopping
    restored.
    """
    n = len(v)
    m, tr = _shape(v, th), _shape(t, th)
    significant = th.significance
    upto = " (up to the epoch early stopping restored)" if cut else ""
    last = f"the last {m.k} epochs"
    gap = m.level / tr.level if tr.level > 0 else math.inf
    gap_text = f"; gap {gap:.1f}x train" if gap < 100 else f"; gap {gap:,.0f}x train"
    gap_share = m.share(m.level - tr.level)
    visible = max(m.share(m.rise), gap_share) >= th.overfit_range
    train_then = float(tr.smooth[m.best])
    if gap <= 1:  # val at or below train: whatever its shape, the model does not fit train better than val
        return None
    if m.rise >= th.overfit_rise * m.minimum and visible and m.rise_z() >= significant:
        growth = (m.level / max(tr.level, 1e-300)) / (m.minimum / max(train_then, 1e-300)) - 1
        if tr.share(tr.level - train_then) <= th.train_fall and growth >= th.gap_growth:
            fall = (train_then - tr.level) / max(abs(train_then), 1e-300)
            return (f"val {name} lowest at epoch {m.best + 1}/{n} ({m.minimum:.3g}), "
                    f"{_pct(m.rise / max(m.minimum, 1e-300))} higher over {last} while train fell {_pct(fall)}: "
                    f"the val/train gap grew {_pct(growth)}{gap_text}{upto}")
    if n >= 8 and gap_share >= th.overfit_range:
        h = n // 2
        v0, t0 = float(m.smooth[h]), float(tr.smooth[h])
        if v0 > 0 and t0 > 0 and tr.level > 0:
            val_fall = 1 - m.level / v0
            train_fall = 1 - tr.level / t0
            growth = (m.level / tr.level) / (v0 / t0) - 1
            train_z = (t0 - tr.level) / max(tr.noise * math.sqrt(1 / tr.k + 1 / _window(n)), 1e-300)
            if (val_fall < th.stall_val_fall and train_fall >= th.stall_train_fall and growth >= th.stall_gap_growth
                    and train_z >= significant):
                trend = f"rose {_pct(-val_fall)}" if val_fall < 0 else f"fell only {_pct(val_fall)}"
                return (f"val {name} stalled over the last {n - h} of {n} epochs (it {trend}) while train fell "
                        f"{_pct(train_fall)}: the val/train gap grew {_pct(growth)}{gap_text}{upto}")
    if gap >= th.gap_ratio and gap_share >= th.overfit_range and m.falling < significant:
        trend = f"rising {_se(-m.falling)}" if m.falling <= -significant else f"flat within noise, {_se(m.falling)}"
        return f"val {name} no longer falling over {last} ({trend}) at {gap:.1f}x the train {name}{upto}"
    return None


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
    # The extrapolation quoted for a config is the seed-mean curve's, whichever seed is quoted.
    return replace(source, label=label, evidence=evidence, suggestion=source.suggestion, epochs=epochs, seeds=count,
                   seeds_cv=cv, agreement=tally_counts[label] / count, gain_2x=mean.gain_2x, gain_low=mean.gain_low,
                   gain_high=mean.gain_high)


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


def diagnose_study(results: Results, thresholds: Thresholds = Thresholds(), *, curve: str = "loss",
                   extrapolate_fits: bool = False) -> pd.DataFrame:
    """One row per fit (``scope == "fit"``) and one per config (``scope == "config"``).

    A fit that failed before its first epoch has no curve: its label is missing (NA) and the
    evidence quotes its error. ``curve`` picks the pair diagnosed (``loss``/``val_loss`` by
    default; ``mae`` uses ``mae``/``val_mae`` and no baseline). A curve that is not a loss (a
    score such as accuracy, or negative values) gets an NA label and the one-line reason. Each
    config's ``gain_2x``/``gain_low``/``gain_high`` is the extrapolation of its seed-mean curve;
    a fit's own is computed with ``extrapolate_fits=True``.
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
            try:
                found = diagnose_curve(*pair, thresholds, baseline, extrapolate=extrapolate_fits, **options)
            except ValueError as error:  # not a loss (a score, negative values): said in one line
                row.update(label=None, evidence=str(error), suggestion=None)
                entry["refused"] = str(error)
            else:
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
            row.update(label=None, evidence=entry.get("refused") or "no curve logged for any seed", suggestion=None)
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["seed"] = table["seed"].astype("Int64")
    for column in ("best_epoch", "diverged_epoch", "epochs", "seeds"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table
