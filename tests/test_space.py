"""Tests of tuning.space: grid expansion (plain and conditional per-layer units), Optuna
suggestions within bounds on a real in-memory study, and the configs built from a point.
"""

from __future__ import annotations

import itertools
import math

import optuna
import pytest

from tuning.space import SearchSpace, base_config, split_config
from tuning.spec import ParamSpec, load_spec

optuna.logging.set_verbosity(optuna.logging.WARNING)


def axes(**raw) -> dict[str, ParamSpec]:
    return {name: ParamSpec.model_validate(value) for name, value in raw.items()}


def spec(**fields):
    return load_spec({"name": "s", "problem": {"name": "tenths"}, "sampler": "grid", **fields})


def key(point: dict) -> tuple:
    return tuple(sorted(point.items()))


# --------------------------------------------------------------------------------------------
# Grid


def test_grid_is_the_product_of_axes():
    space = SearchSpace(axes(units=[1, 5, 10], optimizer=["adam", "sgd"], dropout=[0.0, 0.2, 0.4, 0.6]))
    points = space.grid()
    assert len(points) == len(space) == 3 * 2 * 4
    assert len({key(p) for p in points}) == len(points)
    expected = {
        (("dropout", d), ("optimizer", o), ("units", u))
        for u, o, d in itertools.product([1, 5, 10], ["adam", "sgd"], [0.0, 0.2, 0.4, 0.6])
    }
    assert {key(p) for p in points} == expected
    assert all(set(p) == {"units", "optimizer", "dropout"} for p in points)


def test_grid_order_is_stable_whatever_the_axis_order():
    a = SearchSpace(axes(units=[1, 5], optimizer=["adam", "sgd"], layers=[1, 2]))
    b = SearchSpace(axes(layers=[1, 2], optimizer=["adam", "sgd"], units=[1, 5]))
    assert a.grid() == b.grid()
    assert a.grid() == a.grid()
    assert list(a.params) == ["layers", "optimizer", "units"]
    # the last (sorted) axis varies fastest
    assert [p["units"] for p in a.grid()[:2]] == [1, 5]


def test_empty_space_is_one_point():
    assert SearchSpace({}).grid() == [{}]


def test_int_range_without_and_with_step():
    assert SearchSpace(axes(units={"type": "int", "low": 2, "high": 5})).grid() == [
        {"units": u} for u in (2, 3, 4, 5)]
    stepped = SearchSpace(axes(units={"type": "int", "low": 8, "high": 32, "step": 8})).grid()
    assert [p["units"] for p in stepped] == [8, 16, 24, 32]
    # an integral range with an integral step is inferred int (values usable as layer widths)
    inferred = SearchSpace(axes(units={"low": 4, "high": 12, "step": 4})).grid()
    assert [p["units"] for p in inferred] == [4, 8, 12]
    assert all(type(p["units"]) is int for p in inferred)
    # a step that does not land on high stops below it
    assert ParamSpec.model_validate({"type": "int", "low": 1, "high": 10, "step": 4}).grid_values() == [1, 5, 9]


def test_float_range_with_step():
    values = ParamSpec.model_validate({"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}).grid_values()
    assert values == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert len(values) == 6
    assert values[3] == 0.3  # rounded, not 0.30000000000000004
    values = ParamSpec.model_validate({"low": 0.1, "high": 0.3, "step": 0.1}).grid_values()
    assert values == [0.1, 0.2, 0.3]


def test_float_range_without_step_has_no_grid():
    with pytest.raises(ValueError, match="step"):
        ParamSpec.model_validate({"type": "float", "low": 0.0, "high": 1.0}).grid_values()


def test_per_layer_units_grid():
    space = SearchSpace(axes(layers=[1, 2], units={"grid": [4, 8], "per_layer": True}))
    points = space.grid()
    assert len(points) == 2 + 4
    assert points == [
        {"layers": 1, "units_1": 4},
        {"layers": 1, "units_1": 8},
        {"layers": 2, "units_1": 4, "units_2": 4},
        {"layers": 2, "units_1": 4, "units_2": 8},
        {"layers": 2, "units_1": 8, "units_2": 4},
        {"layers": 2, "units_1": 8, "units_2": 8},
    ]
    assert all("units" not in p for p in points)


def test_per_layer_units_use_the_default_depth():
    space = SearchSpace(axes(units={"grid": [4, 8], "per_layer": True}), default_layers=3)
    points = space.grid()
    assert len(points) == 2**3
    assert all(set(p) == {"units_1", "units_2", "units_3"} for p in points)
    stacked = SearchSpace.from_spec(spec(model={"family": "stacked"}, space={"units": {"grid": [4], "per_layer": True}}))
    assert stacked.grid() == [{"units_1": 4, "units_2": 4}]


def test_to_config_collects_per_layer_units():
    space = SearchSpace(axes(layers=[1, 2], units={"grid": [4, 8], "per_layer": True}, dropout=[0.1]))
    base = {"family": "stacked", "units": 32, "layers": 1, "epochs": 10}
    config = space.to_config({"dropout": 0.1, "layers": 2, "units_1": 8, "units_2": 4}, base)
    assert config == {"family": "stacked", "units": [8, 4], "layers": 2, "epochs": 10, "dropout": 0.1}
    assert base == {"family": "stacked", "units": 32, "layers": 1, "epochs": 10}  # not mutated
    # the layer order is kept whatever the dict order, and beyond 9 layers
    wide = {f"units_{i}": i for i in range(12, 0, -1)}
    config = space.to_config(wide, {})
    assert config == {"units": list(range(1, 13)), "layers": 12}


def test_to_config_plain_point_overrides_base():
    space = SearchSpace(axes(units=[1, 5]))
    assert space.to_config({"units": 5}, {"units": 32, "layers": 1}) == {"units": 5, "layers": 1}


def test_distributions_are_categorical_over_grid_values():
    space = SearchSpace(axes(layers=[1, 2], units={"grid": [4, 8], "per_layer": True},
                             dropout={"type": "float", "low": 0.0, "high": 0.2, "step": 0.1}))
    point = space.grid()[-1]
    dists = space.distributions(point)
    assert set(dists) == set(point)
    for name, dist in dists.items():
        assert isinstance(dist, optuna.distributions.CategoricalDistribution)
        assert point[name] in dist.choices
    assert tuple(dists["units_2"].choices) == (4, 8)
    assert tuple(dists["layers"].choices) == (1, 2)
    assert tuple(dists["dropout"].choices) == pytest.approx((0.0, 0.1, 0.2))


# --------------------------------------------------------------------------------------------
# Optuna suggestions


def test_suggest_respects_bounds_on_a_real_trial():
    space = SearchSpace(axes(
        layers={"type": "int", "low": 1, "high": 3},
        units={"type": "int", "low": 2, "high": 64, "log": True, "per_layer": True},
        batch_size={"type": "int", "low": 4, "high": 32, "step": 4},
        dropout={"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        learning_rate={"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        momentum={"type": "float", "low": 0.5, "high": 0.9},
        optimizer={"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]},
    ))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_layers, seen_optimizers = set(), set()
    for _ in range(60):
        trial = study.ask()
        point = space.suggest(trial)
        layers = point["layers"]
        assert isinstance(layers, int) and 1 <= layers <= 3
        seen_layers.add(layers)
        unit_keys = sorted(k for k in point if k.startswith("units_"))
        assert unit_keys == [f"units_{i}" for i in range(1, layers + 1)]
        assert "units" not in point
        for k in unit_keys:
            assert isinstance(point[k], int) and 2 <= point[k] <= 64
        assert point["batch_size"] in range(4, 33, 4)
        assert 0.0 <= point["dropout"] <= 0.5
        assert math.isclose(point["dropout"] * 10, round(point["dropout"] * 10), abs_tol=1e-9)
        assert 1e-4 <= point["learning_rate"] <= 1e-1
        assert 0.5 <= point["momentum"] <= 0.9
        assert point["optimizer"] in ("adam", "sgd", "rmsprop")
        seen_optimizers.add(point["optimizer"])
        assert trial.params == point
        config = space.to_config(point, {"epochs": 1})
        assert config["layers"] == layers and len(config["units"]) == layers
        study.tell(trial, 0.0)
    assert seen_layers == {1, 2, 3}
    assert seen_optimizers == {"adam", "sgd", "rmsprop"}
    dists = study.trials[0].distributions
    assert isinstance(dists["learning_rate"], optuna.distributions.FloatDistribution)
    assert dists["learning_rate"].log is True
    assert dists["units_1"].log is True
    assert dists["batch_size"].step == 4
    assert dists["dropout"].step == pytest.approx(0.1)
    assert isinstance(dists["optimizer"], optuna.distributions.CategoricalDistribution)


def test_suggest_without_per_layer_uses_plain_names():
    space = SearchSpace(axes(units=[4, 8], layers=[1, 2]))
    study = optuna.create_study()
    for _ in range(10):
        trial = study.ask()
        point = space.suggest(trial)
        assert set(point) == {"units", "layers"}
        assert point["units"] in (4, 8) and point["layers"] in (1, 2)
        study.tell(trial, 1.0)


def test_suggest_per_layer_uses_default_depth_when_layers_not_searched():
    space = SearchSpace(axes(units={"grid": [4, 8], "per_layer": True}), default_layers=2)
    trial = optuna.create_study().ask()
    assert set(space.suggest(trial)) == {"units_1", "units_2"}


# --------------------------------------------------------------------------------------------
# base_config / split_config


def test_base_config_merges_model_and_fit():
    s = spec(model={"family": "gru", "units": 7, "learning_rate": 0.02},
             fit={"epochs": 12, "batch_size": 3})
    config = base_config(s)
    assert config["family"] == "gru" and config["units"] == 7 and config["learning_rate"] == 0.02
    assert config["epochs"] == 12 and config["batch_size"] == 3
    assert config["layers"] == 1
    assert "patience" not in config
    assert "momentum" not in config and "loss" not in config  # unset (None) fields are dropped
    assert all(v is not None for v in config.values())


def test_base_config_patience_and_layers():
    s = spec(model={"family": "stacked"}, fit={"early_stopping": {"patience": 4}})
    config = base_config(s)
    assert config["patience"] == 4
    assert config["layers"] == 2
    assert base_config(spec(fit={"early_stopping": True}))["patience"] == 10
    assert base_config(spec(model={"family": "stacked", "layers": 3}))["layers"] == 3


def test_split_config_separates_fit_keys():
    config = {"units": [4, 8], "layers": 2, "dropout": 0.1, "epochs": 5, "batch_size": 8, "patience": 2}
    model, fit = split_config(config)
    assert model == {"units": [4, 8], "layers": 2, "dropout": 0.1}
    assert fit == {"epochs": 5, "batch_size": 8, "patience": 2}
    assert split_config({"units": 3}) == ({"units": 3}, {})


def test_from_spec_point_to_full_config():
    s = spec(model={"family": "stacked", "units": 16}, fit={"epochs": 3},
             space={"layers": [2, 3], "units": {"grid": [4, 8], "per_layer": True}, "batch_size": [2]})
    space = SearchSpace.from_spec(s)
    assert len(space) == 4 + 8
    configs = [space.to_config(p, base_config(s)) for p in space.grid()]
    assert all(c["batch_size"] == 2 and c["epochs"] == 3 for c in configs)
    assert all(len(c["units"]) == c["layers"] for c in configs)
    assert len({tuple(c["units"]) for c in configs}) == len(configs)


def test_a_searched_family_takes_its_own_default_depth():
    from tuning.space import SearchSpace, base_config
    from tuning.spec import load_spec

    spec = load_spec({"name": "f", "problem": {"name": "tenths"}, "space": {"family": ["vanilla", "stacked"]},
                      "sampler": "grid"})
    space = SearchSpace.from_spec(spec)
    configs = [space.to_config(p, base_config(spec)) for p in space.grid()]
    assert [(c["family"], c["layers"]) for c in configs] == [("vanilla", 1), ("stacked", 2)]
