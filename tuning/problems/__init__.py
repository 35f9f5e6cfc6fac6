"""Registry of sequence problems: look one up by name, check its parameters, build its data.

Each problem is a plain function with keyword-only parameters and defaults; the signature is
the single source of truth for which parameters exist, what type they take and what they
default to. :func:`load_problem` checks a spec's ``problem.params`` against that signature
before any data is generated, so a typo fails at once with the field named instead of as a
``TypeError`` deep inside a study.

This package must not import TensorFlow or Keras: listing, describing and generating problems
has to stay fast, and importable where no deep-learning backend is installed.
"""

from __future__ import annotations

import functools
import inspect
import json
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any

from tuning.errors import DataError, SpecError
from tuning.problems._arrays import PROBLEMS as _ARRAY_PROBLEMS
from tuning.problems._base import REACH_TOLERANCE, Baseline, Problem, check_rank
from tuning.problems._csv import PROBLEMS as _CSV_PROBLEMS
from tuning.problems._memory import NAME as IN_MEMORY
from tuning.problems._memory import PROBLEMS as _MEMORY_PROBLEMS
from tuning.problems._memory import ArrayProblem, register_arrays, stamp
from tuning.problems._starter import starter_spec as _starter_text
from tuning.problems._synthetic import PROBLEMS as _SYNTHETIC_PROBLEMS
from tuning.problems._synthetic import decode_addition, summary_line

__all__ = [
    "REACH_TOLERANCE",
    "ArrayProblem",
    "Baseline",
    "Problem",
    "cached_problem",
    "check_problem",
    "check_rank",
    "data_stamp",
    "decode_addition",
    "describe_problem",
    "load_problem",
    "problem_names",
    "IN_MEMORY",
    "register_arrays",
    "starter_spec",
]

_REGISTRY: dict[str, Callable[..., Problem]] = {**_SYNTHETIC_PROBLEMS, **_CSV_PROBLEMS, **_ARRAY_PROBLEMS,
                                                 **_MEMORY_PROBLEMS}


def data_stamp(name: str, params: dict) -> Any:
    """What changes when the problem's data does without its parameters changing: a file's
    modification time and size, or which arrays are registered in memory; ``None`` otherwise.

    The problem cache (:func:`cached_problem`) keys on it, so a notebook that rewrites
    its ``.npz`` or hands ``run_study`` new arrays never fits the old data from the cache.
    """
    import os

    if name in _MEMORY_PROBLEMS:
        return stamp(params.get("key"))
    path = params.get("path")
    if isinstance(path, str):
        try:
            info = os.stat(path)
        except OSError:  # missing: the problem itself says so
            return None
        return (info.st_mtime_ns, info.st_size)
    return None


def cached_problem(name: str, params_json: str) -> Problem:
    """The problem's data, generated once per process (the study and in-process fits share it).

    Data that can change under the same parameters (a ``csv`` or ``arrays`` file, arrays handed
    to ``run_study``) is read again when it did (:func:`data_stamp`).
    """
    return _cached(name, params_json, data_stamp(name, json.loads(params_json)))


@functools.lru_cache(maxsize=4)
def _cached(name: str, params_json: str, stamp: Any) -> Problem:
    return load_problem(name, json.loads(params_json))


def problem_names() -> list[str]:
    """Names accepted by :func:`load_problem`, sorted."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> Callable[..., Problem]:
    if not isinstance(name, str) or name not in _REGISTRY:
        raise SpecError(f"unknown problem {name!r}; known problems are {', '.join(problem_names())}"
                        f"{_close(name, problem_names())}", field="problem.name")
    return _REGISTRY[name]


def describe_problem(name: str) -> str:
    """One line: what the problem is, then every parameter with its default.

    Example: ``tenths: Predict the next tenth: ... Parameters: seed=0``.
    """
    function = _lookup(name)
    parameters = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.default is inspect.Parameter.empty:
            parameters.append(f"{parameter.name} (required)")
        else:
            parameters.append(f"{parameter.name}={parameter.default!r}")
    return f"{name}: {summary_line(function)} Parameters: {', '.join(parameters)}"


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return " or ".join(_type_name(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return f"a list of {_type_name(item)}"
    return getattr(hint, "__name__", str(hint))


_NO_MATCH = object()


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to the type ``hint`` names, or ``_NO_MATCH``.

    Deliberately strict: a YAML ``"5"`` for an int is a mistake worth reporting, not parsing.
    The only widenings are the lossless ones (int to float, tuple to list, numpy scalars to
    Python numbers). ``bool`` is refused where a number is expected, although Python counts it
    as an int, because ``length: true`` is never meant as 1.
    """
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        for option in typing.get_args(hint):
            converted = _coerce(value, option)
            if converted is not _NO_MATCH:
                return converted
        return _NO_MATCH
    if hint is type(None):
        return None if value is None else _NO_MATCH
    if hint is bool:
        return value if isinstance(value, bool) else _NO_MATCH
    if hint is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        return int(value) if ok else _NO_MATCH
    if hint is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return float(value) if ok else _NO_MATCH
    if hint is str:
        return value if isinstance(value, str) else _NO_MATCH
    if typing.get_origin(hint) is list:
        if not isinstance(value, (list, tuple)):
            return _NO_MATCH
        (item_hint,) = typing.get_args(hint)
        items = [_coerce(item, item_hint) for item in value]
        return _NO_MATCH if any(item is _NO_MATCH for item in items) else items
    return value  # an annotation this checker does not know: let the function judge


def _close(word: Any, allowed: list[str]) -> str:
    """``"; did you mean 'look_back'?"`` when a name in ``allowed`` is close to ``word``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(word), allowed, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _validated(name: str, function: Callable[..., Problem], params: dict) -> dict:
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function)
    known = ", ".join(signature.parameters)
    checked = {}
    for key, value in params.items():
        if key not in signature.parameters:
            raise SpecError(f"unknown parameter {key!r} for problem {name!r}; expected one of {known}"
                            f"{_close(key, list(signature.parameters))}", field=f"problem.params.{key}")
        converted = _coerce(value, hints.get(key, Any))
        if converted is _NO_MATCH:
            raise SpecError(
                f"problem {name!r} expects {_type_name(hints[key])}, got {type(value).__name__} {value!r}",
                field=f"problem.params.{key}")
        checked[key] = converted
    for key, parameter in signature.parameters.items():
        if parameter.default is inspect.Parameter.empty and key not in checked:
            raise SpecError(f"problem {name!r} requires parameter {key!r}", field=f"problem.params.{key}")
    return checked


def check_problem(name: str, params: dict | None = None) -> dict:
    """Check a problem name and its parameters without generating any data.

    Returns the parameters as the problem function will receive them.

    Raises:
        SpecError: as :func:`load_problem` does for names and parameters.
    """
    if params is not None and not isinstance(params, dict):
        raise SpecError(f"must be a mapping of parameter names to values, got {type(params).__name__}",
                        field="problem.params")
    return _validated(name, _lookup(name), params or {})


def load_problem(name: str, params: dict | None = None) -> Problem:
    """Build the named problem from spec parameters, after checking them against its signature.

    Args:
        name: a registry name, see :func:`problem_names`.
        params: keyword parameters of the problem; missing ones take their defaults.

    Raises:
        SpecError: unknown problem, unknown parameter, wrong type or out-of-range value; the
            error's ``field`` is ``problem.name`` or ``problem.params.<key>``.
        DataError: the data itself is unusable (only possible for ``csv``).
    """
    return _lookup(name)(**check_problem(name, params))


def starter_spec(path: str, target: str | None = None, name: str | None = None) -> str:
    """The YAML text of a starter study for the CSV series at ``path`` (``"example"``: the bundled
    one), whose problem is loaded as ``tuning run`` will load it: a file whose other columns (inputs
    by default) hold text or gaps is refused here, not at the first run."""
    import yaml

    text = _starter_text(path, target, name)
    try:
        load_problem("csv", yaml.safe_load(text)["problem"]["params"])
    except DataError as error:
        raise DataError(f"{error} (the starter spec reads every numeric column as an input: correct the file, "
                        "or write a spec whose problem.params.columns leaves that column out)") from None
    return text
