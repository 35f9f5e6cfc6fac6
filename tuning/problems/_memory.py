"""Arrays held in memory: the data of a study started from Python, with no file behind it.

``tuning.run_study(spec, data=(x_train, y_train, x_val, y_val))`` registers the arrays here under
the study's name and runs the study on the problem ``in_memory`` (parameter ``key``: that name).
The arrays go through the checks of the ``arrays`` problem (:func:`~tuning.problems._arrays.from_arrays`),
so a mistake is the same one line whether the arrays came from a file or not.

The store keeps the study's spec and the arrays' fingerprint, never the arrays themselves. So a
study made from memory continues only where its arrays are: from Python, handed the same arrays
again (other arrays are refused by the fingerprint, like a rewritten ``.npz``). ``tuning resume``
in a shell has no arrays to give, and says so in one line. Fits run in this process (``jobs: 1``):
worker processes do not share this process's memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from tuning.errors import SpecError
from tuning.problems._arrays import EXPECTED_KEYS, OPTIONAL, REQUIRED, from_arrays
from tuning.problems._base import Problem
from tuning.vocabulary import IN_MEMORY_PROBLEM

NAME = IN_MEMORY_PROBLEM
_registered: dict[str, tuple[int, dict[str, np.ndarray]]] = {}  # key -> (token, arrays)
_tokens = itertools.count(1)


@dataclass(frozen=True, eq=False)
class ArrayProblem:
    """Your arrays, and what to read from them, for :func:`tuning.run_study` (``data=``).

    The arrays are those of the ``arrays`` problem's ``.npz`` file: inputs
    ``[samples, time steps, features]``, targets ``[samples, outputs]`` (or integer labels, or
    ``[samples, steps, outputs]`` for per-step tasks). ``task``, ``n_classes`` and
    ``persistence_feature`` mean what they mean there (``docs/own-data.md``).

    Example:
        >>> import numpy as np
        >>> x = np.zeros((8, 4, 2), dtype="float32")
        >>> data = ArrayProblem(x, np.arange(8.0) / 8, x[:4], np.arange(4.0) / 4)
        >>> sorted(data.arrays())
        ['x_train', 'x_val', 'y_train', 'y_val']
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any = None
    y_test: Any = None
    task: str | None = None
    n_classes: int | None = None
    persistence_feature: int | None = None

    @classmethod
    def of(cls, data: ArrayProblem | Sequence | Mapping) -> ArrayProblem:
        """``data`` as given to ``run_study``: an ``ArrayProblem``, a tuple
        ``(x_train, y_train, x_val, y_val[, x_test, y_test])``, or a mapping with those keys."""
        if isinstance(data, ArrayProblem):
            return data
        if isinstance(data, Mapping):
            names = {f.name for f in fields(cls)}
            unknown = sorted(set(data) - names)
            if unknown:
                raise SpecError(f"unexpected key {unknown[0]!r}; expected keys {EXPECTED_KEYS}", field="data")
            missing = [k for k in REQUIRED if k not in data]
            if missing:
                raise SpecError(f"missing key {missing[0]!r}; expected {', '.join(REQUIRED)}", field="data")
            return cls(**data)
        if isinstance(data, Sequence) and not isinstance(data, str | bytes) and len(data) in (4, 6):
            return cls(*data)
        raise SpecError("give (x_train, y_train, x_val, y_val), the same with x_test, y_test, a mapping "
                        "with those keys, or a tuning.ArrayProblem", field="data")

    def arrays(self) -> dict[str, np.ndarray]:
        """The splits that are given, as NumPy arrays, keyed like the ``.npz`` file's."""
        return {name: np.asarray(getattr(self, name)) for name in (*REQUIRED, *OPTIONAL)
                if getattr(self, name) is not None}

    def params(self, key: str) -> dict[str, Any]:
        """The spec's ``problem.params`` for these arrays registered under ``key``."""
        out: dict[str, Any] = {"key": key}
        for name in ("task", "n_classes", "persistence_feature"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def register_arrays(key: str, data: ArrayProblem) -> None:
    """Hold ``data``'s arrays under ``key`` for this process; a new registration replaces the old."""
    _registered[key] = (next(_tokens), data.arrays())


def stamp(key: str) -> int | None:
    """Which registration of ``key`` is current (the problem cache re-reads on a new one)."""
    entry = _registered.get(key)
    return entry[0] if entry else None


def in_memory(*, key: str, task: str | None = None, n_classes: int | None = None,
              persistence_feature: int | None = None) -> Problem:
    """Arrays given to tuning.run_study(spec, data=...) in this Python process."""
    entry = _registered.get(key)
    if entry is None:
        raise SpecError(
            f"study {key!r} was made from in-memory arrays (tuning.run_study(spec, data=...)), which the store "
            "does not keep: in Python, run_study(spec, data=...) with the same arrays continues it (it refits "
            "nothing stored; repeats=N adds seeds), and then best_model() and refits work; or save them with numpy.savez "
            "and start a study on problem arrays", field="problem")
    return from_arrays(entry[1], "data", task=task, n_classes=n_classes, persistence_feature=persistence_feature,
                       name=NAME, description="in-memory arrays", params={"key": key})


PROBLEMS = {NAME: in_memory}
