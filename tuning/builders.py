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

Builders are named by a path string, not passed as objects, because the path is what the store
keeps and what worker processes import: each worker resolves it again itself. A callable that
lives only in this process (a function typed into a notebook) is named through
:func:`register_builder`, which the resolver consults first.

Keras is imported only by the functions that build.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from tuning.errors import SpecError, one_line

#: Config keys that tell ``tuning`` which builder to call; the builder does not see them.
BUILDER_KEYS = ("builder", "style")

_FIELD = "model.builder"
_REGISTRY: dict[str, Callable] = {}


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


def register_builder(function: Callable, name: str | None = None) -> str:
    """Make ``function`` (a callable of this process) nameable as ``model.builder``; returns the name.

    The name is ``module:qualname`` (or ``name``); the resolver looks it up here before importing,
    so a function defined in a notebook works with the sequential runner. Worker processes have
    their own registry: with ``runner: processes`` the function must be importable by that name.
    """
    if not callable(function):
        raise SpecError(f"{function!r} is not callable", field=_FIELD)
    qualname = getattr(function, "__qualname__", "build").replace("<locals>.", "").replace("<lambda>", "lambda_")
    path = name or f"{getattr(function, '__module__', None) or '__main__'}:{qualname}"
    parse_path(path)
    _REGISTRY[path] = function
    return path


def importable_by_workers(path: str) -> bool:
    """False for a registered function that a worker process could not import by its name
    (one of ``__main__``, a notebook's, or one defined inside another function)."""
    if path not in _REGISTRY:
        return True
    module_part, attribute = parse_path(path)
    function = _REGISTRY[path]
    return module_part != "__main__" and "<locals>" not in getattr(function, "__qualname__", "") \
        and f"{getattr(function, '__module__', '')}:{getattr(function, '__qualname__', '')}" == path


def load_builder(path: str, style: str = "config") -> Callable:
    """The callable ``path`` names (``module:function``, ``file.py:function``, or a registered name).

    A KerasTuner ``HyperModel`` (class or instance) stands for its ``build`` method.

    Raises:
        SpecError: the module or file does not import, has no such attribute, or it is not callable;
            one line, ``field="model.builder"``.
    """
    if path in _REGISTRY:
        return _REGISTRY[path]
    module_part, attribute = parse_path(path)
    module = _import(module_part, path)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            where = module_part if target is module else f"{module_part}:{attribute}"
            raise SpecError(f"{path}: {where} has no attribute {part!r}", field=_FIELD)
        target = getattr(target, part)
    if style == "kerastuner" and isinstance(target, type) and callable(getattr(target, "build", None)):
        target = target()  # a HyperModel subclass: its build(hp)
    if style == "kerastuner" and not inspect.isroutine(target) and callable(getattr(target, "build", None)):
        target = target.build
    if not callable(target):
        raise SpecError(f"{path}: {type(target).__name__} is not callable; name a function build(...)", field=_FIELD)
    return target


def fingerprint(path: str) -> str:
    """A digest of the builder: its path and the source of the file that defines it.

    The study stores it, so that a study is not continued with a builder whose code changed
    (its fits would mix two models). A module that is not a source file counts by its path only.
    """
    digest = hashlib.sha256(path.encode())
    source = _source_file(path)
    if source is not None:
        digest.update(source.read_bytes())
    elif path in _REGISTRY:
        try:
            digest.update(inspect.getsource(_REGISTRY[path]).encode())
        except (OSError, TypeError):
            pass
    return digest.hexdigest()[:16]


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


def hyperparameters(values: Mapping[str, Any]):
    """A ``keras_tuner.HyperParameters`` whose ``hp.Int/Float/Choice/...`` calls return ``values``.

    KerasTuner registers a hyperparameter with its default only when the name has no value yet,
    so values set beforehand are what the calls return (and inactive conditional ones ``None``).
    """
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values = dict(values)
    return hp


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


def space_from_builder(path: str, fixed: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(space, fixed values) read from the ``hp.*`` calls a KerasTuner ``build(hp)`` makes on a dry run.

    The function is called once with ``hp`` at its defaults (and ``fixed``, ``model.params``, set).
    ``Int``/``Float`` become int/float ranges (``step``; ``sampling="log"`` a log range, or with a
    step the grid of its values); ``Choice`` a list of values; ``Boolean`` ``[false, true]``;
    ``Fixed`` a fixed value. Hyperparameters under a ``conditional_scope`` become plain axes, and
    names the function only asks for under other values than the defaults are not seen (they keep
    their defaults): list those in ``space`` yourself.

    Raises:
        SpecError: the builder does not import or raises on the dry run, or uses ``reverse_log``.
    """
    import keras

    fixed = dict(fixed or {})
    function = load_builder(path, "kerastuner")
    hp = hyperparameters(fixed)
    try:
        function(hp)
    except Exception as exc:  # the dry run is the user's code: say what it raised, in one line
        raise SpecError(f"{path}: build(hp) raised on a dry run with its defaults: {one_line(exc)}",
                        field=_FIELD) from None
    finally:
        keras.backend.clear_session(free_memory=False)
    space: dict[str, Any] = {}
    found_fixed: dict[str, Any] = {}
    for param in hp.space:
        if param.name in fixed or param.name in space or param.name in found_fixed:
            continue
        kind = type(param).__name__
        if kind == "Fixed":
            found_fixed[param.name] = param.value
        elif kind == "Boolean":
            space[param.name] = [False, True]
        elif kind == "Choice":
            space[param.name] = list(param.values)
        elif kind in ("Int", "Float"):
            space[param.name] = _numeric_axis(param, kind, path)
        else:
            raise SpecError(f"{path}: hyperparameter {param.name!r} of type {kind} is not understood", field=_FIELD)
    return space, found_fixed


def _numeric_axis(param: Any, kind: str, path: str) -> Any:
    sampling = param.sampling or "linear"
    if sampling == "reverse_log":
        raise SpecError(f"{path}: hyperparameter {param.name!r} samples reverse_log, which has no equivalent here; "
                        "write its axis in space yourself", field=_FIELD)
    number = int if kind == "Int" else float
    axis: dict[str, Any] = {"type": kind.lower(), "low": number(param.min_value), "high": number(param.max_value)}
    if sampling == "log":
        if param.step is not None:  # a log step multiplies: a finite list of values
            return [number(v) for v in param.values]
        axis["log"] = True
    elif param.step is not None and not (kind == "Int" and param.step == 1):
        axis["step"] = number(param.step)
    return axis


def parse_path(path: str) -> tuple[str, str]:
    """(module or file, attribute) of a builder path; ``SpecError`` if it is not one."""
    module_part, _, attribute = path.rpartition(":") if isinstance(path, str) else ("", "", "")
    if not module_part or not attribute or not all(p.isidentifier() for p in attribute.split(".")):
        raise SpecError(f"{path!r}: name the function as module:function or path/to/file.py:function", field=_FIELD)
    return module_part, attribute


def _is_file(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or os.sep in module_part


def _cwd_importable() -> None:
    """The current directory first on the import path, like ``python -m`` (a console script's is not)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _source_file(path: str) -> Path | None:
    if path in _REGISTRY:
        return None
    module_part, _ = parse_path(path)
    if _is_file(module_part):
        return Path(module_part) if Path(module_part).is_file() else None
    module = sys.modules.get(module_part)
    origin = getattr(module, "__file__", None)
    if origin is None:
        _cwd_importable()  # found where _import finds it: a fingerprint before the first import is the same
        try:
            spec = importlib.util.find_spec(module_part)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") and Path(origin).is_file() else None


def _import(module_part: str, path: str):
    """Import a module by name (the current directory first on the path) or a file by its path."""
    if _is_file(module_part):
        file = Path(module_part)
        if not file.is_file():
            raise SpecError(f"{path}: file {module_part} not found (a relative path is read from {Path.cwd()})",
                            field=_FIELD)
        resolved = file.resolve()
        name = "tuning_builder_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
        cached = sys.modules.get(name)
        if cached is not None and getattr(cached, "__tuning_mtime__", None) == resolved.stat().st_mtime_ns:
            return cached
        spec = importlib.util.spec_from_file_location(name, resolved)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise SpecError(f"{path}: {module_part} does not import: {one_line(exc)}", field=_FIELD) from None
        module.__tuning_mtime__ = resolved.stat().st_mtime_ns
        return module
    _cwd_importable()
    try:
        return importlib.import_module(module_part)
    except Exception as exc:
        raise SpecError(f"{path}: module {module_part} does not import: {one_line(exc)}", field=_FIELD) from None


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__module__}.{type(value).__qualname__}"

