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
    return space, found_fixed


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

