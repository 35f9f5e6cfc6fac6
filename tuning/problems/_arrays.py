"""The ``arrays`` problem: your own prepared data, from one ``.npz`` file.

The file holds ``x_train, y_train, x_val, y_val`` and, optionally, ``x_test, y_test``. Every
mistake a prepared data set can carry is found here, before TensorFlow is imported, and said in
one line naming the file, the key and the shape expected: inputs that are not
``[samples, time steps, features]`` (Keras's "expected ndim=3, found ndim=2"), splits of unequal
length, text or object arrays, NaN or inf, labels out of range, a task the labels contradict.

The task is inferred when the targets leave no doubt (non-integer floats: regression; one-hot
rows: multiclass; 0/1: binary; integer labels 0..K-1: multiclass) and asked for otherwise.
Labels reach the model as they were given: integer class labels stay class indices (their shape
and integer dtype kept; the built-in families train them with ``sparse_categorical_crossentropy``),
one-hot rows stay one-hot (``categorical_crossentropy``), 0/1 labels stay 0/1 (one sigmoid unit,
``binary_crossentropy``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuning.errors import DataError, SpecError, not_found
from tuning.problems._base import (
    TASKS,
    Baseline,
    Problem,
    class_frequencies,
    dense_targets,
    output_shape,
    persistence,
)

REQUIRED = ("x_train", "y_train", "x_val", "y_val")
OPTIONAL = ("x_test", "y_test")
SPLITS = ("train", "val", "test")
EXPECTED_KEYS = ", ".join(REQUIRED) + " (and optionally " + ", ".join(OPTIONAL) + ")"


def _fail(path: str, message: str) -> DataError:
    return DataError(f"{path}: {message}")


def _load(path: str) -> dict[str, np.ndarray]:
    file = Path(path)
    if not file.is_file():
        raise SpecError(f"{path}: {not_found(path)}", field="problem.params.path")
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:  # object arrays need pickle: refused, they are not numbers
        raise _fail(path, f"holds an object array ({exc}); save numeric arrays only") from None
    except (OSError, EOFError) as exc:
        raise _fail(path, f"not a NumPy .npz archive ({type(exc).__name__}: {exc})") from None
    return arrays


def _check_keys(path: str, arrays: dict[str, np.ndarray]) -> None:
    """The keys every source of arrays needs, and numbers that are all finite."""
    missing = [key for key in REQUIRED if key not in arrays]
    if missing:
        raise _fail(path, f"missing key {missing[0]!r}; expected keys {EXPECTED_KEYS}, found {', '.join(sorted(arrays)) or 'none'}")
    unknown = sorted(set(arrays) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _fail(path, f"unexpected key {unknown[0]!r}; expected keys {EXPECTED_KEYS}")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise _fail(path, "x_test and y_test come together: only one of them is given")
    for key, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise _fail(path, f"{key} has dtype {value.dtype}: expected numbers (float or int)")
        bad = ~np.isfinite(value) if value.dtype.kind == "f" else np.zeros(value.shape, dtype=bool)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise _fail(path, f"{key} has {int(bad.sum())} NaN/inf value(s), the first at index {where}")


def _check_inputs(path: str, arrays: dict[str, np.ndarray]) -> None:
    for split in SPLITS:
        x, y = arrays.get(f"x_{split}"), arrays.get(f"y_{split}")
        if x is None:
            continue
        if x.ndim != 3:
            hint = ""
            if x.ndim == 2:
                hint = f"; for one feature per step reshape to {(*x.shape, 1)} (x[..., None])"
            elif x.ndim == 1:
                hint = f"; for one step of one feature reshape to {(x.shape[0], 1, 1)}"
            raise _fail(path, f"x_{split} has shape {x.shape} ({x.ndim} dims): inputs need 3 dims "
                              f"[samples, time steps, features]{hint}")
        if len(x) != len(y):
            raise _fail(path, f"x_{split} has {len(x)} samples but y_{split} has {len(y)}")
        if len(x) == 0:
            raise _fail(path, f"x_{split} has no samples")
        if split != "train" and x.shape[1:] != arrays["x_train"].shape[1:]:
            raise _fail(path, f"x_{split} has samples of shape {x.shape[1:]} but x_train {arrays['x_train'].shape[1:]}: "
                              "every split needs the same [time steps, features]")


def _integral(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or bool(np.all(np.equal(np.mod(y, 1), 0)))


def _one_hot_rows(y: np.ndarray) -> bool:
    return y.ndim >= 2 and y.shape[-1] >= 2 and bool(np.isin(y, (0, 1)).all()) and bool(np.all(y.sum(axis=-1) == 1))


def _infer_task(path: str, arrays: dict[str, np.ndarray]) -> str:
    """The task the targets leave no doubt about, or a one-line error saying what to set.

    Read off ``y_train``, with the labels of every split: a validation label 2 makes 0/1
    training labels a three-class problem, not a binary one with a label out of range.
    """
    y = arrays["y_train"]
    labels = np.concatenate([arrays[f"y_{s}"].ravel() for s in SPLITS if f"y_{s}" in arrays])
    if not _integral(y):
        return "regression"
    if _one_hot_rows(y):
        return "multiclass"
    single = y.ndim == 1 or y.shape[-1] == 1
    if single and np.isin(labels, (0, 1)).all():
        return "binary"
    if single and y.dtype.kind in "biu" and y.min() >= 0:
        return "multiclass"
    # arrays handed to run_study take their task beside them (the spec's problem is theirs, not the file's)
    where = ("pass data=tuning.ArrayProblem(x_train, y_train, x_val, y_val, task=...) with task" if path == "data"
             else "set problem.params.task to")
    raise _fail(path, f"cannot tell the task from y_train (shape {y.shape}, whole numbers {int(y.min())}..{int(y.max())}): "
                      f"{where} one of {', '.join(TASKS)}")


def _targets(path: str, arrays: dict[str, np.ndarray], task: str,
             n_classes: int | None) -> tuple[dict[str, np.ndarray], bool, int | None]:
    """(each split's targets as the model is fed them, whether they are class indices, n_classes).

    Regression targets and one-hot rows become float32 (a ``[samples]`` vector ``[samples, 1]``);
    labels keep the user's shape and dtype (whole-number floats as class indices become int64,
    booleans uint8), every label checked against the task and the classes.
    """
    y_train = arrays["y_train"]
    labels = {s: arrays[f"y_{s}"] for s in SPLITS if f"y_{s}" in arrays}
    for split, y in labels.items():
        if y.shape[1:] != y_train.shape[1:]:
            raise _fail(path, f"y_{split} has targets of shape {y.shape[1:]} but y_train {y_train.shape[1:]}")
    if task == "multiclass" and not _one_hot_rows(y_train):
        n_classes = _check_classes(path, labels, n_classes)
        return {split: _as_labels(y, integer=True) for split, y in labels.items()}, True, n_classes
    for split, y in labels.items():
        if task == "multiclass" and not _one_hot_rows(y):
            raise _fail(path, f"y_{split} is not one-hot rows of width {y_train.shape[-1]} like y_train")
        if task == "binary" and not np.isin(y, (0, 1)).all():
            raise _fail(path, f"y_{split} has the value {y[~np.isin(y, (0, 1))].flat[0]}: binary labels are 0 or 1")
    if task == "binary":
        return {split: _as_labels(y, integer=False) for split, y in labels.items()}, False, 2
    targets = {split: (y[:, None] if y.ndim == 1 else y).astype(np.float32) for split, y in labels.items()}
    return targets, False, None if task == "regression" else int(y_train.shape[-1])


def _as_labels(y: np.ndarray, *, integer: bool) -> np.ndarray:
    """Labels as given: integer dtypes kept; booleans as uint8; floats float32, or int64 class indices."""
    if y.dtype.kind in "iu":
        return y
    if y.dtype.kind == "b":
        return y.astype(np.uint8)
    return y.astype(np.int64) if integer else y.astype(np.float32)


def _check_classes(path: str, labels: dict[str, np.ndarray], n_classes: int | None) -> int:
    """The number of classes of integer class labels, every label checked against it."""
    for split, y in labels.items():
        if not _integral(y):
            raise _fail(path, f"y_{split} holds non-integer values: multiclass labels are integers 0..K-1 or one-hot rows")
    stated = n_classes is not None
    n_classes = n_classes if stated else max(int(y.max()) for y in labels.values()) + 1
    if n_classes < 2:
        raise _fail(path, "the labels hold one class only: multiclass needs at least 2")
    for split, y in labels.items():
        if y.min() < 0 or y.max() >= n_classes:
            bad = int(y.min()) if y.min() < 0 else int(y.max())
            where = f"n_classes {n_classes}" if stated else "the labels"
            raise _fail(path, f"y_{split} has label {bad}, outside the classes 0..{n_classes - 1} of {where}")
    return n_classes


def _naive(x: dict[str, np.ndarray], y_train: np.ndarray, task: str, feature: int | None,
           n_outputs: tuple) -> tuple[Baseline, ...]:
    """The baselines a model must beat, on the val and test inputs of ``x``: the class
    frequencies; for regression the training mean, and persistence of ``feature`` when given."""
    def each(name: str, predict) -> Baseline:
        return Baseline(name, predict(x["val"]), predict(x["test"]) if "test" in x else None)

    if task != "regression":
        return (each("class frequencies", lambda part: class_frequencies(y_train, len(part))),)
    mean = y_train.astype(np.float64).mean(axis=0)
    baselines = [each("training mean", lambda part: np.broadcast_to(mean, (len(part), *mean.shape)).astype(np.float32))]
    if feature is not None:
        baselines.insert(0, each(f"persistence of feature {feature}",
                                 lambda part: persistence(part, n_outputs[0], feature).reshape(len(part), *n_outputs)))
    return tuple(baselines)


def arrays(*, path: str, task: str | None = None, n_classes: int | None = None,
           persistence_feature: int | None = None) -> Problem:
    """Your own arrays from an .npz file: x_train, y_train, x_val, y_val (and x_test, y_test).

    Args:
        path: the ``.npz`` file (relative to the current directory), as ``np.savez`` writes it.
        task: ``regression``, ``binary`` or ``multiclass``; inferred from ``y_train`` when it
            leaves no doubt. Targets of shape ``[samples, steps, ...]`` are per-step tasks.
        n_classes: for integer multiclass labels, how many classes there are (every label must
            be in ``0..n_classes-1``); by default the largest label of any split plus one.
        persistence_feature: for forecasting windows, the input feature whose last value is the
            naive forecast of every output; without it a regression's baseline is the training
            mean (classification: the training class frequencies).
    """
    data = _load(path)
    return from_arrays(data, path, task=task, n_classes=n_classes, persistence_feature=persistence_feature,
                       description=f"arrays from {path}", params={"path": path})


def from_arrays(data: dict[str, np.ndarray], source: str, *, task: str | None = None, n_classes: int | None = None,
                persistence_feature: int | None = None, name: str = "arrays", description: str = "",
                params: dict | None = None) -> Problem:
    """The :class:`Problem` of prepared arrays (``x_train, y_train, x_val, y_val`` [, ``x_test, y_test``]).

    ``source`` names the arrays in every error message: the ``.npz`` file, or ``data`` for arrays
    handed to :func:`tuning.run_study`. The checks are the file's: one mechanism, whatever holds
    the arrays.
    """
    path = source
    if n_classes is not None and n_classes < 2:
        raise SpecError(f"must be at least 2, got {n_classes}", field="problem.params.n_classes")
    if task is not None and task not in TASKS:
        raise SpecError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}", field="problem.params.task")
    _check_keys(path, data)
    _check_inputs(path, data)
    task = task or _infer_task(path, data)
    targets, sparse, classes = _targets(path, data, task, n_classes)
    x = {s: data[f"x_{s}"].astype(np.float32) for s in SPLITS if f"x_{s}" in data}
    features = x["train"].shape[-1]
    if persistence_feature is not None:
        if task != "regression":
            raise SpecError(f"persistence_feature is for regression, not {task}", field="problem.params.persistence_feature")
        if not 0 <= persistence_feature < features:
            raise SpecError(f"must be in [0, {features - 1}] for inputs of {features} features, got {persistence_feature}",
                            field="problem.params.persistence_feature")
        if targets["train"].ndim != 2:
            raise SpecError("persistence_feature needs targets of shape [samples, horizon]",
                            field="problem.params.persistence_feature")
    outputs = output_shape(targets["train"].shape[1:], classes if sparse else None)  # the model's, per sample
    has_test = "test" in x
    return Problem(
        name=name, task=task, x_train=x["train"], y_train=targets["train"], x_val=x["val"], y_val=targets["val"],
        baselines=_naive(x, dense_targets(targets["train"], classes if sparse else None), task, persistence_feature, outputs),
        x_test=x["test"] if has_test else None, y_test=targets["test"] if has_test else None,
        sequence_output=len(outputs) == 2, check_range=task == "regression", sparse=sparse, n_classes=classes,
        description=description or f"arrays from {source}",
        params={**(params or {}), "task": task, "n_classes": n_classes, "persistence_feature": persistence_feature},
    )


PROBLEMS = {"arrays": arrays}
