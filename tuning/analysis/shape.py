"""What the diagnosis measures on one curve: level, minimum, noise, improvement and trend.

Every measure is robust and relative to the curve's own scale (docs/analysis.md, "What is
measured on a curve"): a running median for the minimum, the median of the tail for the level,
the median absolute second difference for the epoch-to-epoch noise. Also here: the one-line
refusal of a curve that is not a loss, and the percent formatting the evidence uses.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuning.analysis.labels import Thresholds


def pct(x: float, signed: bool = False) -> str:
    """18 % / 0.4 % / +18 %: one decimal only where the whole number would read as 0."""
    if not math.isfinite(x):
        return f"{x}"
    text = f"{abs(x) * 100:.1f}" if abs(x) < 0.095 else f"{abs(x) * 100:.0f}"
    sign = ("+" if x >= 0 else "-") if signed else ("-" if x < 0 else "")
    return f"{sign}{text} %"


def se_text(z: float) -> str:
    """A slope in standard errors, for the evidence: "4.2 s.e.", "> 99 s.e."."""
    return f"{z:.1f} s.e." if abs(z) < 99.5 else f"{'>' if z > 0 else '<'} {'' if z > 0 else '-'}99 s.e."


def median_of(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array, the same value to the bit, without its generic machinery.

    The diagnosis takes several medians of a few dozen values per curve; on a 10,000-fit study
    NumPy's own per-call overhead (axis handling, NaN checks, a mean of the two middle values)
    was most of ``diagnose_study``'s time. A NaN anywhere gives NaN, as ``np.median`` does.
    """
    x = np.sort(values, axis=None)
    n = len(x)
    if n == 0:
        return math.nan
    if x[-1] != x[-1]:  # sort puts NaN last
        return math.nan
    middle = n // 2
    return float(x[middle]) if n % 2 else float((x[middle - 1] + x[middle]) / 2)


def as_array(values: Any) -> np.ndarray:
    if values is None:
        return np.empty(0)
    return np.asarray(values if isinstance(values, (list, np.ndarray)) else list(values), dtype=float)


@dataclass(frozen=True)
class Shape:
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
    rises: bool            # whether it ever goes up from one epoch to the next
    curve: np.ndarray      # the values themselves, for what only some rules read (computed when asked)

    def improvement_within(self, factor: float) -> float:
        """The improvement counted from the first epoch the curve came within ``factor`` x its level.

        The epochs before it are an untrained or blown-up start (round 16): a first epoch at
        10,000 that the optimiser brought to 9 in two epochs makes "all it improved" ten thousand,
        next to which any epoch noise is small, though the curve never improved again. A curve
        already within ``factor`` x its level at its first epoch, or only at or after its minimum,
        keeps its whole improvement.
        """
        within = np.flatnonzero(self.curve <= factor * self.level)
        first = int(within[0]) if len(within) else 0
        if first == 0 or first > self.best:
            return self.improvement
        return float(self.smooth[first: self.best + 1].max()) - self.minimum

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

    @functools.cached_property
    def late_fall_z(self) -> float:
        """The second half's robust slope in standard errors of the noise (0 under 8 epochs): a
        Theil-Sen line costs every pair of epochs, so it is computed only for a curve a rule asks about."""
        return _robust_fall_z(self.curve[self.n // 2:], self.noise) if self.n >= 8 else 0.0

    def falling_late(self, th: Thresholds) -> bool:
        """The second half of the run falls along a robust line by ``significance`` standard errors
        (round 11): still learning, however slowly or noisily, so not "wandering" near the baseline.
        Read over the whole half rather than the tail, whose few epochs one spike can tilt."""
        return self.late_fall_z >= th.significance

    def erratic(self, th: Thresholds) -> bool:
        """Jumps epoch to epoch by a sizeable share of both its level and all it ever improved, up as
        well as down: a short run that only ever falls steeply is not thrashing (round 5)."""
        return (self.noise >= th.erratic_noise * self.level and self.share(self.noise) >= th.erratic_share
                and self.rises)

    def rise_z(self) -> float:
        """The rise above the minimum in standard errors of the tail level and of the minimum."""
        return self.change_z(self.rise)

    def change_z(self, change: float) -> float:
        """``change`` between the tail level and one smoothed value of the curve (its minimum, its
        value at another curve's minimum), in standard errors of the two."""
        window = max(1, min(self.k, median_window(self.n)))
        se = self.noise * math.sqrt(1 / self.k + 1 / window)
        return change / se if se > 0 else (math.inf if change > 0 else 0.0)


#: A curve whose epoch-to-epoch steps change sign at least this often (white noise: about 2/3 of
#: the time) over at least ``ALTERNATION_STEPS`` steps oscillates with period 2 (:func:`epoch_noise`).
ALTERNATION = 0.85
ALTERNATION_STEPS = 6


def median_window(n: int) -> int:
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
    windows = np.sort(padded[_window_index(len(padded), w)], axis=1)
    if w % 2 and not np.isnan(windows[:, -1]).any():  # odd: the middle value, np.median's to the bit
        return windows[:, w // 2].copy()
    return np.median(windows, axis=1)


@functools.lru_cache(maxsize=64)
def _window_index(n: int, w: int) -> np.ndarray:
    """Row i holds the indices i ... i + w - 1: every window of ``w`` of ``n`` values, in one take."""
    return np.arange(n - w + 1)[:, None] + np.arange(w)


def epoch_noise(y: np.ndarray) -> float:
    """Robust epoch-to-epoch noise std over the second half of the run (trend-free: 2nd differences).

    For white noise of std s the second difference has std s*sqrt(6); the median absolute
    deviation ignores the few epochs of a spike. The first half is left out because the early,
    steep part of a curve is not noise.

    A curve that goes up and down every epoch (a period-2 oscillation, as SGD at too high a rate
    makes) has second differences of two values, ±4 times the swing, whose median absolute
    deviation is 0 when one value is the majority: there the noise is half the epoch-to-epoch
    step instead (round 5).

    A run too short to leave out its start (under 8 epochs) that never goes up has no noise to
    measure: its second differences are the bend of its steep fall, not noise (round 5).
    """
    part = y[len(y) // 2:] if len(y) >= 8 else y
    if len(part) < 3 or (len(y) < 8 and not goes_up(y)):
        return 0.0
    d1 = part[1:] - part[:-1]  # np.diff's arithmetic, without its per-call overhead
    d2 = d1[1:] - d1[:-1]
    noise = float(1.4826 * median_of(np.abs(d2 - median_of(d2))) / math.sqrt(6))
    if len(d1) >= ALTERNATION_STEPS and alternation(d1) >= ALTERNATION:
        noise = max(noise, median_of(np.abs(d1)) / 2)
    return noise


def goes_up(y: np.ndarray) -> bool:
    """Whether the curve ever rises from one epoch to the next."""
    return bool((y[1:] > y[:-1]).any())


def alternation(steps: np.ndarray) -> float:
    """The share of consecutive epoch-to-epoch steps that change sign."""
    if len(steps) < 2:
        return 0.0
    return np.count_nonzero(np.sign(steps[1:]) * np.sign(steps[:-1]) < 0) / (len(steps) - 1)


def curve_shape(y: np.ndarray, th: Thresholds) -> Shape:
    n = len(y)
    k = min(n, max(3, math.ceil(th.tail_fraction * n)))
    smooth = _running_median(y, median_window(n))
    best = int(np.argmin(smooth))
    if smooth[-1] <= smooth[best] and y[-1] <= y[best]:
        # The mirrored end makes a curve still falling at its last epoch tie there (the last two
        # smoothed values are equal): its lowest epoch is the last one, not the one before.
        best = n - 1
    minimum = float(smooth[best])
    level = median_of(y[-k:])
    noise = max(epoch_noise(y), 1e-6 * abs(median_of(y)))  # float32 rounding is noise too
    improvement = float(smooth[: best + 1].max()) - minimum
    x = np.arange(k, dtype=float) - (k - 1) / 2
    tail = y[-k:]
    sxx = float(x @ x)
    slope = float(x @ (tail - tail.mean())) / sxx if sxx else 0.0
    slope_se = noise / math.sqrt(sxx) if sxx else math.inf
    rise = max(0.0, level - minimum) if best < n - k else 0.0  # a minimum inside the tail is too recent to call
    return Shape(n, k, smooth, best, minimum, level, noise, improvement, slope, slope_se, rise, goes_up(y), y)


def _robust_fall_z(part: np.ndarray, noise: float) -> float:
    """The slope of a robust line through ``part`` (Theil-Sen: the median of the slopes between every
    two epochs) in standard errors of ``noise``, positive when falling. Robust like the noise it is
    read against: a burst of a few epochs moves neither."""
    i, j, gaps, spread = _pairs(len(part))
    slope = float(np.median((part[j] - part[i]) / gaps))
    return -slope * spread / noise if noise > 0 else (math.inf if slope < 0 else 0.0)


@functools.lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Every two of ``n`` epochs (earlier, later), their distance, and the root of the epochs' sum of
    squares about their mean (what turns a slope into standard errors): the same for every curve of
    a study's length, so made once."""
    i, j = np.triu_indices(n, 1)
    x = np.arange(n, dtype=float) - (n - 1) / 2
    return i, j, (j - i).astype(float), math.sqrt(float(x @ x))


#: Curve names that are scores (higher is better), not losses: refused by :func:`diagnose_curve`.
SCORES = ("accuracy", "acc", "auc", "precision", "recall", "f1", "r2", "r_squared", "top_k", "iou")


def check_loss(name: str, t: np.ndarray, v: np.ndarray) -> None:
    """Refuse, in one line, a curve that is not a loss: a score by its name, or negative values."""
    base = name.lower().removeprefix("val_")
    if any(base == s or base.startswith(s + "_") or base.endswith("_" + s) or base.endswith(s) and s in ("accuracy", "auc")
           for s in SCORES):
        raise ValueError(f"{name} is a score (higher is better), not a loss: the diagnosis reads losses and errors "
                         "(loss, mse, mae); diagnose curve='loss' instead")
    for side, y in (("train", t), ("val", v)):
        finite = y[np.isfinite(y)]
        if len(finite) and finite.min() < 0:
            raise ValueError(negative_message(y, f"{side} {name}"))


def negative_message(y: np.ndarray, name: str) -> str:
    i = int(np.nanargmin(y))
    return (f"{name} has negative values ({y[i]:.3g} at epoch {i + 1}): the diagnosis reads losses >= 0; "
            "diagnose a loss or an error (mse, mae), not a score or a shifted loss")

