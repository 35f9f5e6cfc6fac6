"""The forecast of a loss curve: how much lower it would be after ``factor`` times its epochs.

:func:`extrapolated_gain` fits saturating curve families, weights them by their fit and returns
the expected gain with a calibrated 80 % interval (docs/analysis.md, "The extrapolation"). The
diagnosis, the report and the benchmark call this one function.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from tuning.analysis.shape import as_array, epoch_noise, negative_message, pct

__all__ = ["Gain", "extrapolated_gain"]


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
    y = as_array(curve)
    n = len(y)
    if n and np.nanmin(y) < 0:
        raise ValueError(negative_message(y, "curve"))
    if n < 8 or not np.all(np.isfinite(y)) or factor <= 1:
        return NO_GAIN
    k = level_window(n)
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
    noise = epoch_noise(y) / level if level > 0 else 0.0
    spread = (abs(gain) + 3 * noise + 0.01) * max(1.0, math.log(factor) / math.log(2.0))
    low, high = gain + _INTERVAL_Q[0] * spread, gain + _INTERVAL_Q[1] * spread
    families = tuple((name, round(g, 4), round(float(w), 3)) for name, g, w in zip(_family_bases(n), gains, weights,
                                                                                   strict=True))
    return Gain(gain, low, min(high, 1.0), end - n, families)



def pct_range(low: float, high: float) -> str:
    """ "5-20 %", "-3-+8 %": an interval of shares, signed when it crosses zero."""
    signed = low < 0 or high < 0
    a, b = pct(low, signed), pct(high, signed)
    return f"{a.removesuffix(' %')} to {b}" if signed else f"{a.removesuffix(' %')}-{b}"

