"""The search space: typed axes that expand to a grid or are suggested to an Optuna trial.

A point of the space is a flat dict of Optuna parameters (``{"layers": 2, "units_1": 5,
"units_2": 10}``); :meth:`SearchSpace.to_config` turns it into the config a model is built from
(``{"layers": 2, "units": [5, 10]}``) on top of the spec's fixed model and fit settings.

Per-layer units are conditional: ``units_<i>`` exists only for layers ``i <= layers``. Grids with
conditional axes expand like scikit-learn's list-of-grids (one product per depth), so every
point is a distinct model and is visited exactly once.

Example:
    >>> from tuning.spec import ParamSpec
    >>> space = SearchSpace({"units": ParamSpec.model_validate([1, 5, 10])})
    >>> [p["units"] for p in space.grid()]
    [1, 5, 10]
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from tuning.spec import FIT_KEYS, ParamSpec, StudySpec
from tuning.vocabulary import default_layers

if TYPE_CHECKING:  # optuna is imported only where trials are made
    import optuna


class SearchSpace:
    """Typed axes of a study, in a stable (sorted) order."""

    def __init__(self, params: dict[str, ParamSpec], *, default_layers: int = 1, layers_fixed: bool = False,
                 builtin: bool = True):
        self.params = dict(sorted(params.items()))
        self.default_layers = default_layers
        self.layers_fixed = layers_fixed
        # The built-in families give family, layers and per-layer units a meaning; a builder's
        # axes are taken as they are (its ``units_1`` is its own, not a per-layer width).
        self.builtin = builtin
        units = self.params.get("units")
        self.per_layer_units = bool(builtin and units and units.per_layer)

    @classmethod
    def from_spec(cls, spec: StudySpec) -> SearchSpace:
        return cls(spec.space, default_layers=default_layers(spec.model.family, spec.model.layers),
                   layers_fixed=spec.model.layers is not None, builtin=spec.model.builder is None)

    def __len__(self) -> int:
        return len(self.grid())

    def _plain_axes(self) -> dict[str, ParamSpec]:
        return {k: v for k, v in self.params.items() if not (k == "units" and self.per_layer_units)}

    def grid(self) -> list[dict[str, Any]]:
        """Every point of the grid, each exactly once, in a stable order."""
        plain = self._plain_axes()
        names = list(plain)
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(plain[n].grid_values() for n in names))]
        if not self.per_layer_units:
            return points
        unit_values = self.params["units"].grid_values()
        expanded = []
        for point in points:
            depth = int(point.get("layers", self.default_layers))
            for combo in itertools.product(unit_values, repeat=depth):
                expanded.append({**point, **{f"units_{i + 1}": u for i, u in enumerate(combo)}})
        return expanded

    def first_point(self) -> dict[str, Any]:
        """A point every space has: each axis's first grid value, or its low end for a float range.

        The config a builder is tried on before any fit (it need not be the first one proposed).
        """
        point = {name: axis.grid_values()[0] if axis.values is not None or axis.type == "int"
                 else float(axis.low) for name, axis in self._plain_axes().items()}
        if self.per_layer_units:
            depth = int(point.get("layers", self.default_layers))
            point.update({f"units_{i}": self.params["units"].grid_values()[0] for i in range(1, depth + 1)})
        return point

    def points_to_check(self, limit: int = 5000) -> list[dict[str, Any]]:
        """Points whose configs are checked before a study is stored: every grid point when the
        grid is finite and at most ``limit`` points; otherwise the first point with each axis in
        turn at each of its listed values and at both ends of its range."""
        try:
            size = math.prod(len(axis.grid_values()) for axis in self._plain_axes().values())
            if self.per_layer_units:  # one width per layer, at the deepest
                layers = self.params.get("layers")
                depth = max(layers.grid_values()) if layers is not None else self.default_layers
                size *= len(self.params["units"].grid_values()) ** int(depth)
            if size <= limit:
                return self.grid()
        except ValueError:  # a float range without step has no grid
            pass
        first = self.first_point()
        points = [first]
        for name, axis in self.params.items():
            ends = axis.values if axis.values is not None else [axis.low, axis.high]
            if axis.type == "int":
                ends = [int(v) for v in ends]
            for value in ends:
                if name == "units" and self.per_layer_units:
                    points.append({**first, **{k: value for k in first if k.startswith("units_")}})
                else:
                    points.append({**first, name: value})
        return points

    def distributions(self, point: dict[str, Any]) -> dict[str, optuna.distributions.BaseDistribution]:
        """Optuna distributions for the parameters present in ``point`` (grid values as choices)."""
        import optuna

        dists = {}
        for name in point:
            axis = self.params["units"] if self.per_layer_units and name.startswith("units_") else self.params[name]
            dists[name] = optuna.distributions.CategoricalDistribution(axis.grid_values())
        return dists

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Ask ``trial`` for one value per axis (per-layer units after the depth is known)."""
        point = {name: _suggest(trial, name, axis) for name, axis in self._plain_axes().items()}
        if self.per_layer_units:
            depth = int(point.get("layers", self.default_layers))
            for i in range(1, depth + 1):
                point[f"units_{i}"] = _suggest(trial, f"units_{i}", self.params["units"])
        return point

    def to_config(self, point: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        """Merge a point over the fixed settings ``base``; collect ``units_<i>`` into a list."""
        config = dict(base)
        if not self.builtin:
            config.update(point)
            return config
        units = [point[f"units_{i}"] for i in range(1, len(point) + 1) if f"units_{i}" in point]
        config.update({k: v for k, v in point.items() if not k.startswith("units_")})
        if "family" in point and "layers" not in point and not self.layers_fixed:
            config["layers"] = default_layers(point["family"], None)  # a searched stacked has 2
        if units:
            config["units"] = units
            config["layers"] = len(units)
        return config


def base_config(spec: StudySpec) -> dict[str, Any]:
    """The fixed settings every config of the study starts from (model fields + epochs/batch).

    With a builder: its path (and ``style``), its ``model.params`` spread into the config, and
    the compile settings the spec sets (the model section dumps no defaults for a builder).
    """
    model = spec.model.model_dump(mode="json")
    params = model.pop("params", {})
    config = {k: v for k, v in model.items() if v is not None}
    if spec.model.builder is None:
        config["layers"] = default_layers(spec.model.family, spec.model.layers)
    config.update(params)
    config["epochs"] = spec.fit.epochs
    config["batch_size"] = spec.fit.batch_size
    if spec.fit.early_stopping is not None:
        config["patience"] = spec.fit.early_stopping.patience
    return config


def split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a config into (model settings, fit settings: epochs, batch_size, patience)."""
    model = {k: v for k, v in config.items() if k not in FIT_KEYS}
    fit = {k: v for k, v in config.items() if k in FIT_KEYS}
    return model, fit


def _suggest(trial: optuna.Trial, name: str, axis: ParamSpec) -> Any:
    if axis.values is not None:
        return trial.suggest_categorical(name, list(axis.values))
    if axis.type == "int":
        return trial.suggest_int(name, int(axis.low), int(axis.high), step=int(axis.step or 1), log=axis.log)
    return trial.suggest_float(name, float(axis.low), float(axis.high), step=axis.step, log=axis.log)
