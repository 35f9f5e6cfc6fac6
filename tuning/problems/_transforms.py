"""Stationarity transforms of a series, and their exact inverse for a forecast window.

A trending series validated on later years lies above the training range, and a min-max scaled
recurrent net cannot extrapolate there. Differencing (``difference: 1``), seasonal differencing
(``seasonal_difference: K``) and a log or Box-Cox power transform make the series look the same
in every split, so that the model learns changes rather than levels.

The transforms compose as ``w_t = P(B) T(v_t)``: ``T`` the power transform (elementwise), ``B``
the lag operator and ``P(B) = (1 - B)^d (1 - B^K)`` a polynomial with ``P(0) = 1``. Inverting
a window of ``w`` therefore needs the last ``memory = d + K`` values of ``T(v)`` before it, its
*history*; given that, :meth:`SeriesTransform.invert` rebuilds the window's values step by
step, and :meth:`SeriesTransform.forward` maps a forecast in original units (a naive baseline)
into the same space, so that every forecast is scored by one rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POWERS = ("none", "log", "boxcox")


def fit_boxcox(train_values: np.ndarray) -> float:
    """Box-Cox lambda of one column by maximum likelihood on the training rows only."""
    from scipy import stats

    values = np.asarray(train_values, dtype=np.float64)
    if np.ptp(values) == 0:
        return 1.0  # a constant column: any lambda fits; 1 leaves it a shifted copy
    return float(stats.boxcox_normmax(values, method="mle"))


def lag_polynomial(difference: int, seasonal: int) -> np.ndarray:
    """Coefficients ``p_0 .. p_m`` of ``(1 - B)^difference (1 - B^seasonal)`` (``seasonal`` 0: none)."""
    poly = np.array([1.0])
    for _ in range(difference):
        poly = np.convolve(poly, [1.0, -1.0])
    if seasonal:
        poly = np.convolve(poly, np.r_[1.0, np.zeros(seasonal - 1), -1.0])
    return poly


@dataclass(frozen=True)
class SeriesTransform:
    """The fitted transform of the used columns of one series (a plain, picklable value).

    Attributes:
        power: ``"none"``, ``"log"`` or ``"boxcox"``.
        lambdas: Box-Cox lambda per column (empty otherwise), fitted on the training rows.
        difference: order of ordinary differencing, 0, 1 or 2.
        seasonal: lag of the seasonal difference, 0 for none.
    """

    power: str = "none"
    lambdas: tuple[float, ...] = ()
    difference: int = 0
    seasonal: int = 0

    @property
    def memory(self) -> int:
        """Rows of history a differenced value needs: the rows differencing consumes."""
        return self.difference + self.seasonal

    @property
    def identity(self) -> bool:
        return self.power == "none" and self.memory == 0

    def describe(self) -> str:
        """What was done, in the spec's words ("log, difference 1"); "none" when nothing."""
        parts = []
        if self.power == "log":
            parts.append("log")
        elif self.power == "boxcox":
            parts.append("boxcox (lambda " + ", ".join(f"{lam:.3g}" for lam in self.lambdas) + ")")
        if self.difference:
            parts.append(f"difference {self.difference}")
        if self.seasonal:
            parts.append(f"seasonal_difference {self.seasonal}")
        return ", ".join(parts) or "none"

    def power_forward(self, values: np.ndarray, column: int | None = None) -> np.ndarray:
        """``T(values)``: all columns of ``[rows, columns]``, or one column's values."""
        values = np.asarray(values, dtype=np.float64)
        if self.power == "log":
            return np.log(values)
        if self.power == "boxcox":
            lam = np.asarray(self.lambdas if column is None else self.lambdas[column], dtype=np.float64)
            zero = np.isclose(lam, 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(zero, np.log(values), (np.power(values, lam) - 1) / np.where(zero, 1.0, lam))
        return values

    def power_inverse(self, values: np.ndarray, column: int) -> np.ndarray:
        """``T^-1`` of one column; a forecast outside ``T``'s range maps to the nearest end."""
        values = np.asarray(values, dtype=np.float64)
        with np.errstate(over="ignore"):
            if self.power == "log":
                return np.exp(values)
            if self.power == "boxcox":
                lam = self.lambdas[column]
                if np.isclose(lam, 0):
                    return np.exp(values)
                return np.power(np.maximum(lam * values + 1, 1e-12), 1 / lam)
        return values

    def differenced(self, transformed: np.ndarray) -> np.ndarray:
        """``P(B)`` applied to ``[rows, columns]``: ``rows - memory`` rows, the first ``memory`` consumed."""
        poly, m = lag_polynomial(self.difference, self.seasonal), self.memory
        n = len(transformed) - m
        out = np.zeros((n, *transformed.shape[1:]))
        for j, p in enumerate(poly):
            if p:
                out += p * transformed[m - j:m - j + n]
        return out

    def invert(self, window: np.ndarray, history: np.ndarray, column: int) -> np.ndarray:
        """Original values of differenced windows ``[n, h]`` of one column, given the ``memory``
        transformed values before each (``history`` ``[n, memory]``)."""
        poly, m = lag_polynomial(self.difference, self.seasonal), self.memory
        window = np.asarray(window, dtype=np.float64)
        buffer = np.concatenate([np.asarray(history, dtype=np.float64).reshape(len(window), m), window], axis=1)
        for k in range(window.shape[1]):
            # w = sum_j p_j z_{t-j} with p_0 = 1, solved for z_t
            buffer[:, m + k] = window[:, k] - sum(poly[j] * buffer[:, m + k - j] for j in range(1, m + 1))
        return self.power_inverse(buffer[:, m:], column)

    def forward(self, forecast: np.ndarray, history: np.ndarray, column: int) -> np.ndarray:
        """The differenced values ``[n, h]`` of a forecast in original units (the inverse of :meth:`invert`)."""
        poly, m = lag_polynomial(self.difference, self.seasonal), self.memory
        forecast = np.asarray(forecast, dtype=np.float64)
        buffer = np.concatenate([np.asarray(history, dtype=np.float64).reshape(len(forecast), m),
                                 self.power_forward(forecast, column)], axis=1)
        return np.stack([sum(poly[j] * buffer[:, m + k - j] for j in range(m + 1))
                         for k in range(forecast.shape[1])], axis=1)
