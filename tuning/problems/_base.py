"""The contract every problem meets: arrays in [samples, time steps, features], a task, baselines.

A :class:`Problem` is plain data. Models are built from it (the output layer, activation and
loss follow from ``task`` and the target shape), the evaluator fits on it, and the report
compares every config against the strongest of its named naive baselines (persistence, seasonal
naive, the training mean, the class frequencies), each scored by the same :meth:`Problem.score`
on the same split, in original units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tuning.errors import DataError
from tuning.objective import orientation

TASKS = ("regression", "binary", "multiclass")
TASK_LOSSES = {"regression": "mse", "binary": "binary_crossentropy", "multiclass": "categorical_crossentropy"}
#: The loss of integer class labels (``sparse`` targets): Keras's crossentropy of class indices.
SPARSE_LOSS = "sparse_categorical_crossentropy"
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


#: How far outside the training targets' range (as a share of it) val or test targets may reach
#: before the report warns that the model must extrapolate.
REACH_TOLERANCE = 0.2


@dataclass(frozen=True)
class Baseline:
    """One naive forecast a model has to beat: its name and its predictions on val (and test).

    Predictions are in model space, like the targets, so that :meth:`Problem.score` scores them
    exactly as it scores a model (the loss in model space, errors in original units).
    """

    name: str
    val: np.ndarray
    test: np.ndarray | None = None


@dataclass(frozen=True)
class Problem:
    """Arrays, task and naive baseline of one sequence problem.

    Attributes:
        name: registry name, e.g. ``"echo"``.
        task: ``"regression"``, ``"binary"`` or ``"multiclass"``; with ``sequence_output`` this is
            the task of every output step (the "sequence" task of the tutorials).
        x_train, y_train, x_val, y_val: inputs are float32 [samples, steps, features]; targets
            are what the model is fed: float32 for regression and one-hot rows, and for labels
            (0/1, or class indices with ``sparse``) the user's own array, its shape and integer
            dtype kept (``[samples]`` or ``[samples, 1]``; ``[samples, steps]`` per step).
        x_test, y_test: optional held-out split (``None`` when the problem has none).
        sequence_output: the model predicts [samples, out_steps, outputs] (one prediction per
            step); otherwise [samples, outputs].
        sparse: the multiclass targets are class indices ``0..n_classes-1`` (Keras's "sparse"
            labels, trained with ``sparse_categorical_crossentropy``), not one-hot rows.
        n_classes: the number of classes (2 for binary; for one-hot rows their width); ``None``
            for regression. Required with ``sparse``.
        naive_val, naive_test: predictions of a single naive baseline (named "naive"), for
            problems that have one; with ``baselines`` they are the first one's.
        baselines: the named naive baselines (:class:`Baseline`); :meth:`baseline` reports the
            strongest.
        inverse: maps targets/predictions from model space back to original units (a fitted
            scaler's inverse, composed with the inverse of any transform); ``None`` when the
            data is used as it is. With ``history`` it is called as ``inverse(values, history)``.
        history: per split (``train``, ``val``, ``test``), what the inverse needs besides the
            values of each sample (a differenced series: the values before the window); ``None``
            when the inverse is elementwise.
        transforms: what was done to the data before windowing, in the spec's words (for the report).
        check_range: whether the report should warn when val/test targets leave the training
            range (your own data; not the synthetic problems that extrapolate by design).
        params: the parameters the problem was generated with (for the record).
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    naive_val: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    naive_test: np.ndarray | None = None
    sequence_output: bool = False
    loss: str = ""
    inverse: Callable[..., np.ndarray] | None = None
    description: str = ""
    params: dict = field(default_factory=dict)
    baselines: tuple[Baseline, ...] = ()
    history: dict[str, np.ndarray] | None = None
    transforms: str = ""
    check_range: bool = False
    sparse: bool = False
    n_classes: int | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"problem {self.name}: task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.sparse and (self.task != "multiclass" or not self.n_classes or self.n_classes < 2):
            raise DataError(f"problem {self.name}: sparse labels are multiclass class indices and need n_classes >= 2")
        if self.n_classes is None and self.task != "regression":
            width = self.y_train.shape[-1] if self.y_train.ndim >= 2 else 1
            object.__setattr__(self, "n_classes", 2 if self.task == "binary" else int(width))
        for split in ("train", "val", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if x is None:
                continue
            check_rank(f"problem {self.name}: x_{split}", x)
            if len(x) != len(y):
                raise DataError(f"problem {self.name}: x_{split} has {len(x)} samples but y_{split} has {len(y)}")
        if not self.loss:
            object.__setattr__(self, "loss", SPARSE_LOSS if self.sparse else TASK_LOSSES[self.task])
        if not self.baselines:
            if self.naive_val is None:
                raise DataError(f"problem {self.name}: needs a naive baseline (naive_val or baselines)")
            object.__setattr__(self, "baselines", (Baseline("naive", self.naive_val, self.naive_test),))
        elif self.naive_val is None:
            object.__setattr__(self, "naive_val", self.baselines[0].val)
            object.__setattr__(self, "naive_test", self.baselines[0].test)

    @property
    def input_shape(self) -> tuple[int, int]:
        """(time steps, features) of one input sample."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one sample of the model's output: (outputs,) or (out_steps, outputs).

        The targets' own shape, but for labels kept as the user gave them: ``[samples]`` 0/1
        labels are one output, (1,); class indices are one probability per class, (n_classes,)
        (per step: (steps, n_classes)).
        """
        return output_shape(self.y_train.shape[1:], self.n_classes if self.sparse else None)

    @property
    def label_shape(self) -> tuple[int, ...]:
        """Shape of one target sample as the model is fed it (``()`` for a ``[samples]`` vector)."""
        return tuple(self.y_train.shape[1:])

    def dense(self, y: np.ndarray) -> np.ndarray:
        """``y`` in the dense float32 form of the model's output: class indices as one-hot rows,
        a ``[samples]`` vector as ``[samples, 1]``; other targets as they are (already dense: kept).

        The fingerprint is computed on this form (the form every target had before labels were
        kept as given), and the fused trainer, which computes its losses on it, is fed it.
        """
        y = np.asarray(y)
        if self.sparse and tuple(y.shape[1:]) == self.output_shape:
            return y.astype(np.float32, copy=False)  # already one-hot
        return dense_targets(y, self.n_classes if self.sparse else None)
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
        history = self._history_of(y_true) if self.history is not None else None
        y_true = self.dense(y_true).astype(np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
        loss = loss or self.loss
        if self.task == "binary" and y_pred.shape[-1] == 2 and y_true.shape[-1] == 1:
            # a two-unit softmax over 0/1 labels: scored by its probability of class 1 (its
            # sparse crossentropy is the binary crossentropy of that probability)
            y_pred = y_pred[..., 1:]
            loss = "binary_crossentropy" if "crossentropy" in loss else loss
        y_pred = y_pred.reshape(y_true.shape)
        scores = {"loss": float(_loss(loss, y_true, y_pred))}
        if self.task == "regression":
            if history is not None:
                y_true, y_pred = self.inverse(y_true, history), self.inverse(y_pred, history)
            elif self.inverse is not None:
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
        """A digest of the data (every split's arrays, shapes and dtypes, the task, and the values a
        differenced series' windows are undone from: differences alone do not fix the levels).

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
                # targets in their dense form: labels kept as given hash as the one-hot / float32
                # arrays they were stored as before, so studies made then still resume
                array = np.ascontiguousarray(self.dense(array) if kind == "y" else array)
                digest.update(f"{kind}_{split}{array.shape}{array.dtype}".encode())
                digest.update(array.tobytes())
        for split, values in sorted((self.history or {}).items()):  # what undoes a differencing
            digest.update(f"history_{split}".encode() + np.ascontiguousarray(values, dtype=np.float64).tobytes())
        return digest.hexdigest()[:16]

    def _history_of(self, y_true: np.ndarray) -> np.ndarray:
        """The inverse's history for targets that are (rows of) one of this problem's splits.

        A fit scores ``y_val``, ``y_test`` or the last rows of ``y_train`` (``fit.validation.source:
        split``); they are recognised as those arrays (or views of them), else by their values.
        """
        y = np.asarray(y_true)
        candidates = [(s, getattr(self, f"y_{s}")) for s in ("val", "test", "train")]
        candidates = [(s, own) for s, own in candidates if own is not None and s in self.history]
        for split, own in candidates:  # the same memory: the split itself or a slice of its rows
            if y is own or (own.size and np.shares_memory(y, own) and y.strides == own.strides):
                start = (y.__array_interface__["data"][0] - own.__array_interface__["data"][0]) // own.strides[0]
                return self.history[split][start:start + len(y)]
        for split, own in candidates:
            for start in (0, len(own) - len(y)):
                if 0 <= start and start + len(y) <= len(own) and np.array_equal(own[start:start + len(y)], y):
                    return self.history[split][start:start + len(y)]
        raise DataError(f"problem {self.name}: targets of shape {y.shape} are not rows of its train, val or test "
                        "split, and undoing its transforms needs the values before each window")

    def baseline_scores(self) -> dict[str, dict[str, float]]:
        """Every naive baseline's scores by name, keyed like fit scores (``val_loss``, ``test_mae`` ...)."""
        out = {}
        for naive in self.baselines:
            scores = {f"val_{k}": v for k, v in self.score(self.y_val, naive.val).items()}
            if self.has_test and naive.test is not None:
                scores.update({f"test_{k}": v for k, v in self.score(self.y_test, naive.test).items()})
            out[naive.name] = scores
        return out

    def baseline(self, metric: str = "val_loss", direction: str = "minimize") -> dict:
        """The strongest naive baseline's scores (``val_loss``, ``test_mae`` ...), its ``name``, and
        every baseline's scores under ``baselines``.

        The strongest is the best on ``metric`` in ``direction``, the study's objective (a
        validation score, normally; ``val_loss`` if the metric is not one a baseline has); its test
        scores are shown with it, never used to choose it unless the objective is a test score.
        """
        every = self.baseline_scores()
        sign = orientation(direction)

        def rank(name: str) -> float:
            value = every[name].get(metric, every[name]["val_loss"])
            return sign * value if np.isfinite(value) else np.inf

        strongest = min(every, key=rank)
        return {**every[strongest], "name": strongest, "baselines": every}

    def range_reach(self) -> dict[str, list[float]]:
        """Where the val and test targets lie in the training targets' range, in model space
        (0 its minimum, 1 its maximum): ``{"val": [low, high], ...}``; empty unless ``check_range``.

        A recurrent net with squashing activations cannot forecast far outside the range it was
        trained on: a value above ``1 + REACH_TOLERANCE`` says it must extrapolate.
        """
        if not self.check_range or self.task != "regression":
            return {}
        train = np.asarray(self.y_train, dtype=np.float64)
        low, span = float(train.min()), float(np.ptp(train))
        if not span > 0:
            return {}
        out = {}
        for split in ("val", "test"):
            y = getattr(self, f"y_{split}")
            if y is not None and y.size:
                out[split] = [(float(y.min()) - low) / span, (float(y.max()) - low) / span]
        return out

    def facts(self) -> dict:
        """What the report tells about the data itself: the transforms and the targets' reach."""
        out: dict = {}
        if self.transforms:
            out["transforms"] = self.transforms
        reach = self.range_reach()
        if reach:
            out["reach"] = reach
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
    if name == SPARSE_LOSS:  # y_true one-hot (Problem.dense); Keras does not renormalise here
        return np.mean(-np.sum(y_true * np.log(p), axis=-1))
    raise DataError(f"unknown loss {name!r}")


def output_shape(label_shape: tuple[int, ...], n_classes: int | None = None) -> tuple[int, ...]:
    """One sample's model output for targets of one sample's shape ``label_shape``; ``n_classes``
    when they are class indices (a trailing 1 dropped, then one probability per class).

    >>> output_shape(()), output_shape((1,), 4), output_shape((6,), 3), output_shape((5, 2))
    ((1,), (4,), (6, 3), (5, 2))
    """
    label = tuple(int(n) for n in label_shape)
    if n_classes is not None:
        return (*(label[:-1] if label and label[-1] == 1 else label), int(n_classes))
    return label or (1,)


def dense_targets(y: np.ndarray, n_classes: int | None = None) -> np.ndarray:
    """Targets as dense float32 rows: class indices (given ``n_classes``) one-hot, with a trailing 1
    dropped first; a ``[samples]`` vector as ``[samples, 1]``; anything else only as float32."""
    y = np.asarray(y)
    if n_classes is not None:
        indices = y[..., 0] if y.ndim >= 2 and y.shape[-1] == 1 else y
        return np.eye(int(n_classes), dtype=np.float32)[indices.astype(np.int64)]
    return (y[:, None] if y.ndim == 1 else y).astype(np.float32, copy=False)


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
