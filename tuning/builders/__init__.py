"""Your own model: a builder named by its import path, called with the trial's config.

``model: {builder: "mymodels:build"}`` (a module on the import path) or
``model: {builder: "models/net.py:build"}`` (a file; a relative path is read from the current
directory, like ``problem.params.path``) names a function ``build(config, problem)`` that returns a
Keras model. ``config`` is the trial's config as a plain dict (the searched values, ``model.params``
and the compile settings the spec sets; not the fit's ``epochs``/``batch_size``, which ``tuning``
applies); ``problem`` a :class:`ProblemInfo` (input and output shapes, task,
number of classes, the labels' loss), readable as attributes or as a mapping. The model is fed the
labels as the user gave them (integer class labels stay class indices); ``tuning`` compiles it
with the config's optimizer, learning rate and the labels' loss (:func:`fitting_loss`) unless the
builder compiled it, and refuses an output layer or a crossentropy that does not fit the labels
(:func:`check_model`, :func:`check_loss`) in one line that says which fits.

With ``style: kerastuner`` the function is KerasTuner's ``build(hp)``, unchanged: ``hp`` is a
``keras_tuner.HyperParameters`` whose values are the config's, so ``hp.Int``/``Float``/``Choice``/
``Boolean``/``Fixed`` return the config's value for a name it has and their own default
otherwise. :func:`space_from_builder` reads a search space from those calls (``space:
from_builder``).

Where a builder comes from (its path, the registry of in-process functions, its fingerprint) is
:mod:`tuning.builders._source`; KerasTuner's ``build(hp)`` and the space read from it,
:mod:`tuning.builders._kerastuner`.

Keras is imported only by the functions that build.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from tuning.builders._kerastuner import hyperparameters, space_from_builder
from tuning.builders._source import (
    fingerprint,
    fingerprints,
    importable_by_workers,
    load_builder,
    parse_path,
    register_builder,
)

#: Config keys that tell ``tuning`` which builder to call; the builder does not see them.
BUILDER_KEYS = ("builder", "style")



class NotAModel(TypeError):
    """A builder returned something other than a Keras model shaped for the problem."""


@dataclass(frozen=True)
class ProblemInfo(Mapping):
    """What a builder needs to know of the problem, read-only; also a mapping (``problem["task"]``).

    Attributes:
        name: the problem's name (``arrays``, ``echo`` ...).
        task: ``regression``, ``binary`` or ``multiclass`` (of every step when ``sequence_output``).
        input_shape: one sample's input, ``(time steps, features)``.
        output_shape: one sample of the model's output, ``(outputs,)`` or ``(out_steps, outputs)``:
            ``(n_classes,)`` for class labels (integers or one-hot), ``(1,)`` for 0/1 labels (one
            sigmoid unit; a two-unit softmax is accepted too).
        n_classes: the number of classes (2 for binary), ``None`` for regression.
        sequence_output: targets have one prediction per output step.
        loss: the loss ``tuning`` compiles with and scores by: the labels' (``sparse_categorical_crossentropy``
            for integer class labels, ``categorical_crossentropy`` for one-hot rows,
            ``binary_crossentropy`` for 0/1), or ``model.loss``. Compile with it and the labels fit.
        label_shape: one sample's target as the model is fed it, the user's own shape (``()`` for
            ``[samples]`` labels, ``(1,)`` for ``[samples, 1]``).
        sparse: the labels are class indices ``0..n_classes-1``, not one-hot rows.
    """

    name: str
    task: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    n_classes: int | None
    sequence_output: bool
    loss: str
    label_shape: tuple[int, ...] = ()
    sparse: bool = False

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(fields(self))

    def keys(self):  # type: ignore[override]
        return [f.name for f in fields(self)]


def describe(problem, loss: str | None = None) -> ProblemInfo:
    """The :class:`ProblemInfo` of a :class:`~tuning.problems.Problem` (``loss``: the config's override)."""
    task = problem.task
    n_classes = None if task == "regression" else int(problem.n_classes)
    return ProblemInfo(problem.name, task, tuple(int(n) for n in problem.input_shape),
                       tuple(int(n) for n in problem.output_shape), n_classes, bool(problem.sequence_output),
                       loss or problem.loss, tuple(int(n) for n in problem.label_shape), bool(problem.sparse))



def user_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as a builder sees it: a plain dict without ``tuning``'s own builder keys."""
    return {k: v for k, v in config.items() if k not in BUILDER_KEYS}


def call_builder(config: Mapping[str, Any], problem: ProblemInfo) -> Any:
    """Call the builder ``config["builder"]`` names for ``config``; whatever it returns, or raises."""
    style = config.get("style", "config")
    function = load_builder(config["builder"], style)
    values = user_config(config)
    if style == "kerastuner":
        return function(hyperparameters(values))
    return function(values, problem)



#: Keras's crossentropies by the labels they take: class indices, one-hot rows, 0/1 (or multi-label) values.
SPARSE_LOSSES = ("sparse_categorical_crossentropy",)
CATEGORICAL_LOSSES = ("categorical_crossentropy", "categorical_focal_crossentropy")
BINARY_LOSSES = ("binary_crossentropy", "binary_focal_crossentropy")


def check_model(model: Any, path: str, problem: ProblemInfo) -> None:
    """Raise :class:`NotAModel` unless ``model`` is a Keras model whose output fits the labels.

    Its output must have ``problem.output_shape``; for 0/1 labels a two-unit softmax (classes 0
    and 1) fits too. The message says which output layer fits the labels.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise NotAModel(f"builder {path} returned {_kind(model)}, not a keras.Model")
    shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else None
    if shape not in fitting_outputs(problem):
        if problem.task == "regression":
            raise NotAModel(f"builder {path} returned a model with output shape {model.output_shape}; "
                            f"the targets of one sample have shape {problem.output_shape}")
        raise NotAModel(f"builder {path} returned a model with output shape {model.output_shape}; "
                        f"{describe_labels(problem)}: {fitting_head(problem)}")


def fitting_outputs(problem: ProblemInfo) -> tuple[tuple[int, ...], ...]:
    """The output shapes (of one sample) a model may have for the problem's labels."""
    if _two_unit_softmax_fits(problem):
        return (problem.output_shape, (*problem.output_shape[:-1], 2))
    return (problem.output_shape,)


def _two_unit_softmax_fits(problem: ProblemInfo) -> bool:
    """0/1 labels of one output (per step): a two-unit softmax over classes 0 and 1 fits them too."""
    return problem.task == "binary" and problem.output_shape[-1:] == (1,)


def fitting_loss(problem: ProblemInfo, output_shape: tuple[int, ...] | None) -> str:
    """The loss ``tuning`` compiles a builder's model with: the labels', and for 0/1 labels under
    a two-unit softmax ``sparse_categorical_crossentropy`` (0 and 1 are its class indices)."""
    if _two_unit_softmax_fits(problem) and output_shape and output_shape[-1] == 2 and problem.loss in BINARY_LOSSES:
        return SPARSE_LOSSES[0]
    return problem.loss


def describe_labels(problem: ProblemInfo) -> str:
    """The labels in a few words, for a message: ``the labels are integers 0..3`` ..."""
    per_step = " per step" if problem.sequence_output else ""
    if problem.sparse:
        return f"the labels are integers 0..{problem.n_classes - 1}{per_step}"
    if problem.task == "multiclass":
        return f"the labels are one-hot rows of width {problem.n_classes}{per_step}"
    if problem.task == "binary":
        return f"the labels are 0/1{per_step}"
    return f"the targets of one sample have shape {problem.output_shape}"


def fitting_head(problem: ProblemInfo) -> str:
    """Which output layer fits the labels, in words."""
    shape = (None, *problem.output_shape)
    if _two_unit_softmax_fits(problem):
        return (f"end the model in Dense(1, activation=\"sigmoid\") (output shape {shape}, binary_crossentropy), "
                "or in a 2-unit softmax (sparse_categorical_crossentropy)")
    if problem.task == "binary":
        return (f"end the model in Dense({problem.output_shape[-1]}, activation=\"sigmoid\") "
                f"(output shape {shape}, binary_crossentropy)")
    loss = "sparse_categorical_crossentropy" if problem.sparse else "categorical_crossentropy"
    return f"end the model in Dense({problem.n_classes}, activation=\"softmax\") (output shape {shape}, {loss})"


def loss_name(loss: Any) -> str | None:
    """The snake-case name of a compiled model's loss (a name, a Keras loss or loss function);
    ``None`` for what has no single name (several outputs' losses)."""
    if isinstance(loss, (dict, list, tuple)) or loss is None:
        return None
    if isinstance(loss, str):
        import keras

        try:
            loss = keras.losses.get(loss)
        except (ValueError, TypeError):
            return loss.lower()
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None)
    if not isinstance(name, str):
        fn = getattr(loss, "fn", None)  # a LossFunctionWrapper
        name = getattr(fn, "__name__", None)
    return name.lower() if isinstance(name, str) else None


def check_loss(model: Any, path: str, problem: ProblemInfo) -> None:
    """Raise :class:`NotAModel` when the compiled model's crossentropy does not fit the labels
    (sparse on one-hot rows, categorical on class indices, binary on a two-unit softmax ...),
    saying which loss fits. Other losses (``mse``, a loss of one's own) are left to the fit."""
    name = loss_name(getattr(model, "loss", None))
    if name is None or problem.task == "regression":
        return
    shape = tuple(model.output_shape[1:]) if not isinstance(model.output_shape, list) else ()
    width = shape[-1] if shape else None
    labels = describe_labels(problem)
    said = f"builder {path} compiles its model with {name}"
    if problem.sparse and name in CATEGORICAL_LOSSES + BINARY_LOSSES:
        raise NotAModel(f"{said}; {labels}: compile with sparse_categorical_crossentropy, or give one-hot labels")
    if problem.task == "multiclass" and not problem.sparse and name in SPARSE_LOSSES:
        raise NotAModel(f"{said}; {labels}: compile with categorical_crossentropy, or give integer labels "
                        f"0..{problem.n_classes - 1}")
    if _two_unit_softmax_fits(problem) and width == 1 and name in SPARSE_LOSSES + CATEGORICAL_LOSSES:
        raise NotAModel(f"{said} on one output unit; {labels}: compile with binary_crossentropy")
    if _two_unit_softmax_fits(problem) and width == 2 and name in BINARY_LOSSES + CATEGORICAL_LOSSES:
        raise NotAModel(f"{said} on a 2-unit output; {labels}: compile with sparse_categorical_crossentropy, "
                        "or end the model in Dense(1, activation=\"sigmoid\") for binary_crossentropy")



def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__module__}.{type(value).__qualname__}"



__all__ = [
    "BUILDER_KEYS", "BINARY_LOSSES", "CATEGORICAL_LOSSES", "NotAModel", "ProblemInfo", "SPARSE_LOSSES", "call_builder",
    "check_loss", "check_model", "describe", "describe_labels", "fingerprint", "fingerprints", "fitting_head", "fitting_loss",
    "fitting_outputs", "hyperparameters", "importable_by_workers", "load_builder", "loss_name", "parse_path",
    "register_builder", "space_from_builder", "user_config",
]
