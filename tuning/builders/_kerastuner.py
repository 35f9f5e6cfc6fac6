"""KerasTuner's ``build(hp)``: called with a config as ``hp``'s values, and the space its calls ask for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuning.builders._source import FIELD, load_builder
from tuning.errors import SpecError, one_line


def hyperparameters(values: Mapping[str, Any]):
    """A ``keras_tuner.HyperParameters`` whose ``hp.Int/Float/Choice/...`` calls return ``values``.

    KerasTuner registers a hyperparameter with its default only when the name has no value yet,
    so values set beforehand are what the calls return (and inactive conditional ones ``None``).
    """
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values = dict(values)
    return hp



def space_from_builder(path: str, fixed: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(space, fixed values) read from the ``hp.*`` calls a KerasTuner ``build(hp)`` makes on a dry run.

    The function is called once with ``hp`` at its defaults (and ``fixed``, ``model.params``, set).
    ``Int``/``Float`` become int/float ranges (``step``; ``sampling="log"`` a log range, or with a
    step the grid of its values); ``Choice`` a list of values; ``Boolean`` ``[false, true]``;
    ``Fixed`` a fixed value. Hyperparameters under a ``conditional_scope`` become plain axes. Names
    the function asks for only under other values than the defaults (per-layer units under a number
    of layers) cannot be one flat space: the builder is called again with each structural axis at
    its other ends, and such a name is refused in one line (write the space in the spec).

    Raises:
        SpecError: the builder does not import or raises on the dry run, uses ``reverse_log``, or
            asks for a name only under values other than the defaults.
    """
    import keras

    fixed = dict(fixed or {})
    function = load_builder(path, "kerastuner")
    hp = hyperparameters(fixed)
    try:
        function(hp)
    except Exception as exc:  # the dry run is the user's code: say what it raised, in one line
        raise SpecError(f"{path}: build(hp) raised on a dry run with its defaults: {one_line(exc)}",
                        field=FIELD) from None
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
            raise SpecError(f"{path}: hyperparameter {param.name!r} of type {kind} is not understood", field=FIELD)
    _refuse_conditional_names(function, path, fixed, hp)
    return space, found_fixed


#: The most extra dry runs a space read from a builder may cost (each builds a Keras model).
PROBES = 12


def _refuse_conditional_names(function: Any, path: str, fixed: dict[str, Any], seen: Any) -> None:
    """Build again with each structural axis (``Int``, ``Choice``, ``Boolean``) at its other ends and
    refuse a name the builder asks for only there: KerasTuner's own ``for i in range(hp.Int("layers",
    1, 3)): hp.Int(f"units_{i}", ...)`` asks for ``units_1`` only with two layers, and a space read at
    the defaults would leave it at its default in every config, silently. A probe the builder raises
    on is left to the fits, which say so per config."""
    import keras

    asked = {param.name for param in seen.space}
    probes = []
    for param in seen.space:
        kind = type(param).__name__
        values = ([param.min_value, param.max_value] if kind == "Int" else list(param.values) if kind == "Choice"
                  else [False, True] if kind == "Boolean" else [])
        probes += [(param.name, value) for value in values if param.name not in fixed and value != param.default]
    for name, value in probes[:PROBES]:
        hp = hyperparameters({**fixed, name: value})
        try:
            function(hp)
        except Exception:
            continue
        finally:
            keras.backend.clear_session(free_memory=False)
        new = [param for param in hp.space if param.name not in asked]
        if new:
            every = ", ".join([*(p.name for p in seen.space), *(p.name for p in new)])
            raise SpecError(f"{path}: build(hp) asks for {new[0].name!r} only when {name} is {value!r}, not at the "
                            f"defaults: a space read from the dry run would leave it at {new[0].default!r} in every "
                            f"config; write the space in the spec instead (its axes: {every})", field=FIELD)


def _numeric_axis(param: Any, kind: str, path: str) -> Any:
    sampling = param.sampling or "linear"
    if sampling == "reverse_log":
        raise SpecError(f"{path}: hyperparameter {param.name!r} samples reverse_log, which has no equivalent here; "
                        "write its axis in space yourself", field=FIELD)
    number = int if kind == "Int" else float
    axis: dict[str, Any] = {"type": kind.lower(), "low": number(param.min_value), "high": number(param.max_value)}
    if sampling == "log":
        if param.step is not None:  # a log step multiplies: a finite list of values
            return [number(v) for v in param.values]
        axis["log"] = True
    elif param.step is not None and not (kind == "Int" and param.step == 1):
        axis["step"] = number(param.step)
    return axis

