"""The contract every problem meets: arrays in [samples, time steps, features], a task, a baseline.

A :class:`Problem` is plain data. Models are built from it (the output layer, activation and
loss follow from ``task`` and the target shape), the evaluator fits on it, and the report
compares every config against its naive baseline, scored by the same :meth:`Problem.score` on
the same split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tuning.errors import DataError

TASKS = ("regression", "binary", "multiclass")
LOSSES = {"regression": "mse", "binary": "binary_crossentropy", "multiclass": "categorical_crossentropy"}
_EPS = 1e-7


def check_rank(name: str, x: np.ndarray, rank: int = 3) -> np.ndarray:
    """Refuse arrays of the wrong rank with a message that says what shape is expected.

    Keras's own message ("expected ndim=3, found ndim=2") names neither the array nor the fix.
    """
    x = np.asarray(x)
    if x.ndim != rank:
        hint = ""
        if rank == 3 and x.ndim == 2:
            hint = f"; for one feature per step reshape to {(*x.shape, 1)}"
        elif rank == 3 and x.ndim == 1:
            hint = f"; for one step of one feature reshape to {(x.shape[0], 1, 1)}"
        raise DataError(
            f"{name} has shape {x.shape} ({x.ndim} dims): recurrent inputs need 3 dims "
            f"[samples, time steps, features]{hint}"
        )
    return x


@dataclass(frozen=True)
class Problem:
    """Arrays, task and naive baseline of one sequence problem.

    Attributes:
        name: registry name, e.g. ``"echo"``.
        task: ``"regression"``, ``"binary"`` or ``"multiclass"``; with ``sequence_output`` this is
            the task of every output step (the "sequence" task of the tutorials).
        x_train, y_train, x_val, y_val: float32 arrays; inputs are [samples, steps, features].
        x_test, y_test: optional held-out split (``None`` when the problem has none).
        sequence_output: targets are [samples, out_steps, outputs] (one prediction per step);
            otherwise [samples, outputs].
        naive_val, naive_test: the naive baseline's predictions on val/test, in the same space as
            the targets (persistence for series, class frequencies for classification).
        inverse: maps targets/predictions from model space back to original units (a fitted
            scaler's inverse); ``None`` when the data is used unscaled.
        params: the parameters the problem was generated with (for the record).
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    naive_val: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    naive_test: np.ndarray | None = None
    sequence_output: bool = False
    loss: str = ""
    inverse: Callable[[np.ndarray], np.ndarray] | None = None
    description: str = ""
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"problem {self.name}: task must be one of {', '.join(TASKS)}, got {self.task!r}")
        for split in ("train", "val", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if x is None:
                continue
            check_rank(f"problem {self.name}: x_{split}", x)
            if len(x) != len(y):
                raise DataError(f"problem {self.name}: x_{split} has {len(x)} samples but y_{split} has {len(y)}")
        if not self.loss:
            object.__setattr__(self, "loss", LOSSES[self.task])

    @property
    def input_shape(self) -> tuple[int, int]:
        """(time steps, features) of one input sample."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one target sample: (outputs,) or (out_steps, outputs)."""
        return tuple(self.y_train.shape[1:])

    @property
    def has_test(self) -> bool:
        return self.x_test is not None

    def score(self, y_true: np.ndarray, y_pred: np.ndarray, loss: str | None = None) -> dict[str, float]:
        """Score predictions the same way for every model and for the baseline.

        ``loss`` is the training loss in model space (comparable with Keras's ``val_loss``; pass
        ``loss`` when a config overrides the problem's);
        regression errors (``mse``, ``mae``, ``rmse``) are in original units; classification
        gives ``accuracy`` (per step for sequence outputs, as Keras reports it) and, for
        sequence outputs, ``exact_match`` (every step right).
        """
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
        scores = {"loss": float(_loss(loss or self.loss, y_true, y_pred))}
        if self.task == "regression":
            if self.inverse is not None:
                y_true, y_pred = self.inverse(y_true), self.inverse(y_pred)
            err = y_pred - y_true
            scores["mse"] = float(np.mean(err**2))
            scores["mae"] = float(np.mean(np.abs(err)))
            scores["rmse"] = float(np.sqrt(scores["mse"]))
            return scores
        if self.task == "binary":
            correct = (y_pred >= 0.5) == (y_true >= 0.5)
        else:
            correct = np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)
        scores["accuracy"] = float(np.mean(correct))
        if self.sequence_output:
            per_sample = correct.reshape(len(correct), -1).all(axis=1)
            scores["exact_match"] = float(np.mean(per_sample))
        return scores

    def fingerprint(self) -> str:
        """A digest of the data (every split's arrays, shapes and dtypes, and the task).

        The study stores it: continuing a study on other data (an ``.npz`` file rewritten under
        the same name) would mix fits of two data sets, so it is refused instead.
        """
        import hashlib

        digest = hashlib.sha256(f"{self.task}|{self.sequence_output}".encode())
        for split in ("train", "val", "test"):
            for kind in ("x", "y"):
                array = getattr(self, f"{kind}_{split}")
                if array is None:
                    continue
                array = np.ascontiguousarray(array)
                digest.update(f"{kind}_{split}{array.shape}{array.dtype}".encode())
                digest.update(array.tobytes())
        return digest.hexdigest()[:16]

    def baseline(self) -> dict[str, float]:
        """The naive baseline's scores, keyed like fit scores (``val_loss``, ``test_mae`` ...)."""
        out = {f"val_{k}": v for k, v in self.score(self.y_val, self.naive_val).items()}
        if self.has_test and self.naive_test is not None:
            out.update({f"test_{k}": v for k, v in self.score(self.y_test, self.naive_test).items()})
        return out


def _loss(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if name in ("mse", "mean_squared_error"):
        return np.mean((y_pred - y_true) ** 2)
    if name in ("mae", "mean_absolute_error"):
        return np.mean(np.abs(y_pred - y_true))
    p = np.clip(y_pred, _EPS, 1 - _EPS)
    if name == "binary_crossentropy":
        return np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
    if name == "categorical_crossentropy":
        p = p / p.sum(axis=-1, keepdims=True)
        return np.mean(-np.sum(y_true * np.log(p), axis=-1))
    raise DataError(f"unknown loss {name!r}")


def persistence(x: np.ndarray, horizon: int, feature: int = 0) -> np.ndarray:
    """Naive forecast: the last observed value of ``feature``, repeated ``horizon`` times."""
    last = np.asarray(x)[:, -1, feature]
    return np.repeat(last[:, None], horizon, axis=1).astype(np.float32)


def class_frequencies(y_train: np.ndarray, n_samples: int) -> np.ndarray:
    """Naive classifier: predict the training class frequencies (per step for sequences).

    Its accuracy is the majority-class accuracy; its log loss is the entropy of the prior.
    """
    prior = np.asarray(y_train, dtype=np.float64).mean(axis=0)
    return np.broadcast_to(prior, (n_samples, *prior.shape)).astype(np.float32)
