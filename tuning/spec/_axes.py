"""One axis of the search space as the spec writes it: a range, a grid, or categorical choices."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """A spec section: unknown fields refused, values frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(StrictModel):
    """One axis of the search space.

    Written in YAML either in full (``{type: int, low: 1, high: 64, log: true}``), as an
    explicit grid (``{grid: [1, 5, 10]}`` or just ``[1, 5, 10]``), or as categorical choices
    (``{type: categorical, choices: [adam, sgd]}``). ``per_layer: true`` on ``units`` draws one
    value per recurrent layer (conditional on ``layers``).
    """

    type: Literal["int", "float", "categorical"] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: list[Any] | None = None
    grid: list[Any] | None = None
    per_layer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"grid": value}
        if isinstance(value, dict) and "type" not in value and "low" in value and "high" in value:
            # Read the type as written: `low: 1, high: 64` is an int axis (also on a log scale),
            # `low: 0.0, high: 0.5` or `low: 1.0e-4` a float one.
            for k in ("low", "high", "step"):  # YAML reads 1e-4 (no dot) as text; a quoted "64" is text
                if isinstance(value.get(k), str) and "e" not in value[k].lower():
                    raise ValueError(f"{k}: {value[k]!r} is text, not a number; write it without quotes")
            bounds = [value.get(k) for k in ("low", "high", "step") if value.get(k) is not None]
            whole = all(isinstance(v, int) and not isinstance(v, bool) for v in bounds)
            return {**value, "type": "int" if whole else "float"}
        if isinstance(value, dict) or isinstance(value, ParamSpec):
            return value
        raise ValueError("must be a list of values or a mapping such as {type: int, low: 1, high: 10}")

    @model_validator(mode="after")
    def _check(self) -> ParamSpec:
        values = self.grid if self.grid is not None else self.choices
        if self.grid is not None and self.choices is not None:
            raise ValueError("give either grid or choices, not both")
        if values is not None:
            if len(values) == 0:
                raise ValueError("needs at least one value")
            if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
                raise ValueError(f"has repeated values: {values}")
            if self.type in ("int", "float") or self.low is not None or self.high is not None:
                raise ValueError("a list of values takes no type/low/high")
            return self
        if self.type == "categorical":
            raise ValueError("categorical needs choices")
        if self.low is None or self.high is None:
            raise ValueError("needs low and high (or a list of values)")
        if self.low > self.high:
            raise ValueError(f"low must be <= high (got low={self.low:g}, high={self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got low={self.low:g})")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be > 0 (got {self.step:g})")
        if self.log and self.step is not None:
            raise ValueError("step and log cannot be combined")
        whole = (v for v in (self.low, self.high, self.step) if v is not None)
        if self.type == "int" and not all(float(v).is_integer() for v in whole):
            raise ValueError("an int range needs integer low, high and step")
        return self

    @property
    def values(self) -> list[Any] | None:
        """The explicit values (grid or choices), or ``None`` for a range."""
        return self.grid if self.grid is not None else self.choices

    def grid_values(self) -> list[Any]:
        """The points a grid search visits on this axis.

        Raises:
            ValueError: a continuous range without ``step`` has no finite grid.
        """
        if self.values is not None:
            return list(self.values)
        low, high = self.low, self.high
        if self.type == "int":
            step = int(self.step or 1)
            return list(range(int(low), int(high) + 1, step))
        if self.step is None:
            raise ValueError("a float range needs a step (or a list of values) for the grid sampler")
        count = int(math.floor((high - low) / self.step + 1e-9)) + 1
        return [round(low + i * self.step, 12) for i in range(count)]


def as_numbers(name: str, values: list[Any]) -> list[int | float]:
    """Values of a numeric axis as numbers; YAML reads ``1e-4`` (no dot) as a string, the only text
    taken as a number (a quoted ``"4"`` is text, as the spec's fields take it)."""
    numbers = []
    for value in values:
        if isinstance(value, str) and "e" in value.lower():  # 1e-4, as YAML 1.1 leaves it
            try:
                value = float(value)
            except ValueError:
                pass  # text after all: refused below
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"space.{name}: {value!r} is not a number")
        numbers.append(value)
    return numbers
