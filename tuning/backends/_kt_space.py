"""The spec's search space as KerasTuner hyperparameters (``Int``, ``Float``, ``Choice``, per-layer
``units_<i>`` in a ``conditional_scope``), and KerasTuner's values back as a point of the space."""

from __future__ import annotations

import json
from typing import Any

import optuna

from tuning.errors import SpecError
from tuning.space import SearchSpace
from tuning.spec import ParamSpec


class SpaceMapping:
    """The spec's axes as KerasTuner hyperparameters, and KerasTuner's values back as a point.

    A point is what :meth:`SearchSpace.to_config` takes (``units_<i>`` per layer); with
    Hyperband it also has ``epochs`` (the trial's ``tuner/epochs``). For ``grid`` every axis is a
    ``Choice`` of exactly :meth:`ParamSpec.grid_values`, so both backends visit the same configs.
    """

    def __init__(self, space: SearchSpace, *, grid: bool, max_epochs: int | None = None):
        self.space, self.grid, self.max_epochs = space, grid, max_epochs
        self.decode: dict[str, dict[Any, Any]] = {}  # Choice value in KerasTuner -> value in the spec

    def _choices(self, name: str, axis: ParamSpec) -> list[Any]:
        values = axis.grid_values() if self.grid else list(axis.values or [])
        kinds = {type(v) for v in values}
        # bools are encoded too: KerasTuner's Choice turns [False, True] into [0, 1], which would
        # reach the model (and the config key) as integers
        if len(kinds) == 1 and kinds <= {int, float, str}:
            return values
        if kinds <= {int, float} and len({float(v) for v in values}) == len(values):
            encoded = [float(v) for v in values]  # 0 and 0.2 on one axis: one type for KerasTuner
        else:
            encoded = [json.dumps(v, sort_keys=True) for v in values]
        self.decode[name] = dict(zip(encoded, values, strict=True))
        return encoded

    def _declare(self, hp: Any, name: str, axis: ParamSpec) -> None:
        if self.grid or axis.values is not None:
            hp.Choice(name, self._choices(name, axis))
        elif axis.type == "int":
            hp.Int(name, int(axis.low), int(axis.high), step=int(axis.step) if axis.step else None,
                   sampling="log" if axis.log else "linear")
        else:
            hp.Float(name, float(axis.low), float(axis.high), step=axis.step, sampling="log" if axis.log else "linear")

    def declare(self, hp: Any) -> None:
        """Register every axis on ``hp`` (a HyperModel's ``build`` calls this)."""
        for name, axis in self.space._plain_axes().items():
            self._declare(hp, name, axis)
        if not self.space.per_layer_units:
            return
        units = self.space.params["units"]
        layers = self.space.params.get("layers")
        if layers is None:
            for i in range(1, self.space.default_layers + 1):
                self._declare(hp, f"units_{i}", units)
            return
        try:
            depths = layers.grid_values()
        except ValueError:
            raise SpecError("per-layer units need an int or listed layers axis", field="space.layers") from None
        for i in range(1, max(int(d) for d in depths) + 1):
            active = [d for d in depths if int(d) >= i]
            if len(active) == len(depths):
                self._declare(hp, f"units_{i}", units)
                continue
            if "layers" in self.decode:
                encode = {v: k for k, v in self.decode["layers"].items()}
                active = [encode[d] for d in active]
            with hp.conditional_scope("layers", active):
                self._declare(hp, f"units_{i}", units)

    def _value(self, name: str, axis: ParamSpec, value: Any) -> Any:
        if name in self.decode:
            return self.decode[name][value]
        if self.grid or axis.values is not None:
            return value
        if axis.type == "int":
            return int(value)
        value = min(max(float(value), float(axis.low)), float(axis.high))
        return round(value, 12) if axis.step else value

    def to_point(self, values: dict[str, Any]) -> dict[str, Any]:
        """KerasTuner's (active) values -> the point of the space (plus ``epochs`` for Hyperband)."""
        point = {name: self._value(name, axis, values[name]) for name, axis in self.space._plain_axes().items()}
        if self.space.per_layer_units:
            depth = int(point.get("layers", self.space.default_layers))
            for i in range(1, depth + 1):
                point[f"units_{i}"] = self._value(f"units_{i}", self.space.params["units"], values[f"units_{i}"])
        if self.max_epochs is not None:
            point["epochs"] = int(values["tuner/epochs"])
        return point

    def distributions(self, point: dict[str, Any]) -> dict[str, optuna.distributions.BaseDistribution]:
        """Optuna distributions for the mirror trial's params (a range stays a range)."""
        dists: dict[str, optuna.distributions.BaseDistribution] = {}
        for name in point:
            if name == "epochs" and self.max_epochs is not None:
                dists[name] = optuna.distributions.IntDistribution(1, self.max_epochs)
                continue
            axis = self.space.params["units"] if self.space.per_layer_units and name.startswith("units_") \
                else self.space.params[name]
            if self.grid or axis.values is not None:
                dists[name] = optuna.distributions.CategoricalDistribution(
                    axis.grid_values() if self.grid else list(axis.values))
            elif axis.type == "int":
                dists[name] = optuna.distributions.IntDistribution(int(axis.low), int(axis.high), log=axis.log,
                                                                   step=int(axis.step or 1))
            else:
                dists[name] = optuna.distributions.FloatDistribution(float(axis.low), float(axis.high), log=axis.log)
        return dists
