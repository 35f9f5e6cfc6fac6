"""The forecast of a loss curve: how much lower it would be after ``factor`` times its epochs.

:func:`extrapolated_gain` fits saturating curve families, weights them by their fit and returns
the expected gain with a calibrated 80 % interval (docs/analysis.md, "The extrapolation"); since
round 4 the families' forecast is corrected by what the nearest real development curves did next
(:mod:`tuning.analysis.curve_prior`); since round 19 a fit's forecast given its config's other
seeds is the median of the seeds' forecasts. The diagnosis, the report and the benchmark call this one
function.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from tuning.analysis.curve_prior import curve_features, load_prior, prior_correction
from tuning.analysis.shape import as_array, epoch_noise, median_of, negative_message, pct

__all__ = ["Gain", "extrapolated_gain", "forecast", "log_ratio", "prior_row"]


class Gain(NamedTuple):
    """What ``factor`` times the epochs would buy: the expected fall of the loss level and its interval.

    ``gain`` is a share of the current level (0.12: 12 % lower; negative: higher), ``low`` and
    ``high`` bound the 80 % interval (calibrated on real curves, docs/analysis.md), ``epochs`` is
    how many epochs were added ((factor - 1) x the epochs run) and ``families`` the fitted curve
    families' own gains and weights (then the prior's correction, and with ``siblings`` the move
    to the seeds' median and how many seeds it took).
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
            return (f"another {self.epochs} epochs would lower it by about {pct(self.gain)} "
                    f"(80 % interval {pct_range(self.low, self.high)})")
        return (f"another {self.epochs} epochs would raise it by about {pct(-self.gain)} "
                f"(80 % interval {pct_range(-self.high, -self.low)})")


NO_GAIN = Gain(math.nan, math.nan, math.nan, 0)

#: Standardised errors (real - predicted gain) / scale of the forecast on the curves of the
#: diagnosis corpus cut at half (every val curve of >= 20 epochs, both halves: 150 curves), at
#: their 10th and 90th percentiles: the 80 % interval is ``gain + Q * scale``, with the scale
#: ``|gain| + 3 x relative noise + 0.01``. Frozen before the fresh held-out set was made.
_INTERVAL_Q = (-1.569, 0.669)


def level_window(n: int) -> int:
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


def _families(y: np.ndarray, factor: float) -> tuple[float, dict[str, float], tuple]:
    """The saturating families' forecast: (AICc-weighted gain, each family's gain, (name, gain, weight) rows)."""
    n = len(y)
    k = level_window(n)
    start = n // 4  # the first epochs' steep drop says little about the slow tail
    t = np.arange(1, n + 1, dtype=float)
    scale = float(np.max(y[start:])) or 1.0
    z = y[start:] / scale
    m = len(z)
    end = int(round(factor * n))
    now, later = t[n - k:], np.arange(end - k + 1, end + 1, dtype=float)
    gains, scores = [], []
    bases = _family_bases(n)
    for _family, (q, basis) in bases.items():
        c, a, j, sse = _fit_family(basis(t[start:]), z)
        f_now = c + a * float(basis(now)[:, j].mean())
        f_later = c + a * float(basis(later)[:, j].mean())
        gains.append(1.0 - f_later / f_now if f_now > 0 else 0.0)
        scores.append(m * math.log(max(sse / m, 1e-30)) + 2 * q + 2 * q * (q + 1) / max(m - q - 1, 1))
    aicc = np.asarray(scores)
    weights = np.exp(-(aicc - aicc.min()) / 2)
    weights /= weights.sum()
    rows = tuple((name, round(g, 4), round(float(w), 3)) for name, g, w in zip(bases, gains, weights, strict=True))
    return float(weights @ np.asarray(gains)), dict(zip(bases, gains, strict=True)), rows


def log_ratio(gain: float) -> float:
    """log(level now / level later) of a gain, with the gain kept in [-5, 0.999] (a loss does not reach 0)."""
    return -math.log(1.0 - min(max(gain, -5.0), 0.999))


def _features(y: np.ndarray, factor: float, train: Any, base: float, family_gains: dict[str, float]) -> np.ndarray:
    n = len(y)
    t = as_array(train)
    t = t[:n] if len(t) >= n and np.all(np.isfinite(t[:n])) and float(np.min(t[:n])) > 0 else None
    train_gain = _families(t, factor)[0] if t is not None else math.nan
    return curve_features(y, family_gains, base, level_window(n), t, train_gain)


def prior_row(curve: Any, factor: float = 2.0, *, train: Any = None) -> tuple[np.ndarray, float]:
    """(the shape features the prior compares, the families' own gain) of a positive, finite curve of >= 8 epochs.

    What ``benchmarks/diagnosis/fit_prior.py`` stores for each development curve, so that the
    stored rows and a new curve's are computed by the same code.
    """
    y = as_array(curve)
    base, family_gains, _rows = _families(y, factor)
    return _features(y, factor, train, base, family_gains), base


def _single(y: np.ndarray, factor: float, train: Any, prior: bool,
            exclude: set | frozenset) -> tuple[float, float, tuple, tuple[float, float]] | None:
    """One curve's forecast: (gain, its interval's scale before the factor's widening, family rows, quantiles)."""
    n = len(y)
    if n < 8 or not np.all(np.isfinite(y)) or factor <= 1:
        return None
    level = median_of(y[-level_window(n):])
    if not level > 0:  # at zero: nothing left to gain, and no share of a zero level
        return None
    base, family_gains, rows = _families(y, factor)
    gain, q, neighbours = base, _INTERVAL_Q, 0.0
    stored = load_prior() if prior else None
    if stored is not None and n >= stored["min_epochs"] and float(np.min(y)) > 0:
        features = _features(y, factor, train, base, family_gains)
        correction, neighbours = prior_correction(features, stored, exclude)
        correction *= math.log(factor) / math.log(2.0)
        gain = 1.0 - math.exp(-(log_ratio(base) + correction))
        rows = (*rows, ("nearest curves", round(gain - base, 4), int(stored["k"])))
        q = tuple(stored["interval_q"])
    # The interval's scale: the gain itself, the epoch noise, and (round 4) how much the nearest
    # curves disagreed about what came next.
    noise = epoch_noise(y) / level
    return gain, abs(gain) + 3 * noise + 0.01 + neighbours, rows, q


def _seed_curves(siblings: Any, n: int) -> list[tuple[np.ndarray, Any]]:
    """The other seeds' (curve, train) cut to the first ``n`` epochs. Seeds that ran fewer, or whose
    epochs up to the cut are not all finite and non-negative, are left out; a train curve that is not
    finite that far is left off its seed. (Curves may hold None for a missing epoch, as stored ones do.)"""
    out = []
    for item in siblings or ():
        pair = isinstance(item, tuple | list) and len(item) == 2 and np.ndim(item[0]) == 1
        curve, train = (item[0], item[1]) if pair else (item, None)
        y = as_array(curve)
        if y.ndim != 1 or len(y) < n or not np.all(np.isfinite(y[:n])) or float(np.min(y[:n])) < 0:
            continue
        t = as_array(train)
        out.append((y[:n], t[:n] if len(t) >= n and np.all(np.isfinite(t[:n])) else None))
    return out


def forecast(curve: Any, factor: float = 2.0, *, train: Any = None, prior: bool = True,
             exclude: set | frozenset = frozenset(), siblings: Any = ()) -> Gain:
    """:func:`extrapolated_gain`, with the stored curves of the groups in ``exclude`` left out of the prior.

    The benchmark forecasts each development curve without the curves of its own set (leave one
    set out), so what it measures on them is not the prior remembering them.
    """
    y = as_array(curve)
    n = len(y)
    if n and np.nanmin(y) < 0:
        raise ValueError(negative_message(y, "curve"))
    own = _single(y, factor, train, prior, exclude)
    if own is None:
        return NO_GAIN
    gain, scale, rows, q = own
    widen = max(1.0, math.log(factor) / math.log(2.0))
    end = int(round(factor * n))
    stored = load_prior() if prior else None  # the seeds' median has its quantiles only there
    seeds = [_single(s, factor, t, prior, exclude) for s, t in _seed_curves(siblings, n)] if stored else []
    gains = [gain, *(s[0] for s in seeds if s is not None)]
    if len(gains) > 1:
        # Round 19: the seeds of one config, each forecast from the same epochs, and the median
        # taken; the interval's scale adds how much the seeds' forecasts disagree.
        gain = float(np.median(gains))
        scale += 1.4826 * float(np.median(np.abs(np.asarray(gains) - gain)))
        rows = (*rows, ("seeds' median", round(gain - own[0], 4), len(gains)))
        q = tuple(stored["interval_q_seeds"])
    spread = scale * widen
    low, high = gain + q[0] * spread, gain + q[1] * spread
    return Gain(gain, low, min(high, 1.0), end - n, rows)


def extrapolated_gain(curve: Any, factor: float = 2.0, *, train: Any = None, prior: bool = True,
                      siblings: Any = None) -> Gain:
    """How much lower a loss curve would be after ``factor`` times its epochs, with an 80 % interval.

    Three saturating families are fitted to the curve from a quarter of its epochs on (power law
    ``c + a t^-b``, exponential ``c + a exp(-t/tau)`` and log-power ``c + a / (1 + (t/s)^b)``,
    each with its floor ``c >= 0``) and weighted by their fit (Akaike weights, AICc). Round 4 then
    corrects that forecast by what real curves of a similar shape did next (:mod:`curve_prior`:
    the nearest development curves, from the curve's recent fall, its minimum, noise, and, given
    ``train``, the train curve's fall and the widening val/train gap), in log-levels, scaled by
    ``log(factor) / log(2)`` (it was learnt at twice the epochs). The gain is a share of the
    current level (each level the median of a tenth of the run): 0.12 means 12 % lower. The 80 %
    interval is calibrated on the development curves' out-of-set errors (docs/analysis.md); at
    other factors than 2 it is widened by ``log(factor) / log(2)``. Curves under the prior's
    ``min_epochs`` (10), and ``prior=False``, get the families' forecast alone, with round 2's
    interval: on a noise-free curve of one of the families that is the exact answer, and the prior
    (learnt on real, noisy curves) moves it by what real curves of that shape did.

    ``siblings`` (round 19): the other seeds of the same config, each a curve or a ``(curve,
    train)`` pair, as far as they ran (each is cut to this curve's epochs; seeds that ran fewer are
    left out). Each seed is then forecast from the same epochs and the median of the forecasts is
    the gain: one seed's epochs are a noisy read of where its config is going, and the seeds'
    together a steadier one (measured on the development sets, docs/analysis.md, round 19). The interval's scale adds the seeds'
    disagreement (1.4826 x the median absolute deviation of their forecasts), with its own
    calibrated quantiles. Without siblings (or ``prior=False``) the forecast is the curve's own.

    ``curve`` is a loss, lower is better (a metric such as accuracy: pass ``1 - accuracy``); ``train``
    the same run's training loss, epoch for epoch. Returns ``Gain(nan, nan, nan, 0)`` for curves
    shorter than 8 epochs, with a non-finite value or flat at zero. Raises ``ValueError`` (one
    line) for a curve with negative values (it is not a loss), one that is not a sequence of
    numbers, a ``train`` of another length, and a ``factor`` that is not a number above 1.
    """
    y = as_array(curve)
    if y.ndim != 1:
        raise ValueError(f"curve: one loss per epoch (a 1-D sequence), got an array of shape {y.shape}")
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not math.isfinite(factor) or factor <= 1:
        raise ValueError(f"factor: a number above 1, the epochs forecast for over those run (2.0: twice as many), "
                         f"got {factor!r}")
    given = as_array(train)
    if len(given) and given.shape != y.shape:
        raise ValueError(f"train: the training loss of the same epochs ({len(y)}), got {len(given)} values")
    return forecast(y, float(factor), train=train, prior=prior, siblings=siblings or ())


def pct_range(low: float, high: float) -> str:
    """ "5-20 %", "-3-+8 %": an interval of shares, signed when it crosses zero."""
    signed = low < 0 or high < 0
    a, b = pct(low, signed), pct(high, signed)
    return f"{a.removesuffix(' %')} to {b}" if signed else f"{a.removesuffix(' %')}-{b}"

