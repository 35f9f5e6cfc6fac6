"""Tests of tuning.spec: valid specs load with the right values, every mistake is one SpecError
naming the file and the dotted field path, CLI overrides re-validate, and the identity/config
keys that decide which stored fits belong together behave.

Every spec is a YAML file written into ``tmp_path``, so the file-name part of the messages is real.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tuning.errors import SpecError, TuningError
from tuning.spec import StudySpec, apply_overrides, config_key, load_spec

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """\
name: demo
problem:
  name: tenths
"""

FULL = """\
name: full
problem:
  name: echo
  params:
    length: 12
    n_train: 40
model:
  family: stacked
  cell: gru
  layers: 2
  units: [8, 4]
  dropout: 0.1
  recurrent_dropout: 0.05
  activation: relu
  initializer: he_uniform
  optimizer: sgd
  learning_rate: 0.01
  momentum: 0.9
  filters: 16
  kernel_size: 3
  pool_size: 2
  decoder_layers: 1
  decoder_units: 6
  loss: mae
space:
  layers: {type: int, low: 1, high: 3}
  units: {grid: [4, 8], per_layer: true}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}
  learning_rate: {type: float, low: 0.0001, high: 0.1, log: true}
  optimizer: {type: categorical, choices: [adam, rmsprop]}
  batch_size: [8, 16]
sampler:
  name: tpe
  seed: 7
n_trials: 20
repeats:
  count: 4
  base_seed: 10
objective:
  metric: val_mae
  direction: minimize
  aggregate: mean_plus_std
  k: 2.0
fit:
  epochs: 50
  batch_size: 4
  early_stopping:
    monitor: val_mae
    patience: 5
    min_delta: 0.001
    restore_best_weights: false
  validation:
    source: split
    fraction: 0.25
  shuffle: false
  deterministic: true
storage: sqlite:///elsewhere.db
runner: processes
jobs: 3
"""


def write(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def spec_from(tmp_path: Path, extra: str = "", base: str = MINIMAL) -> StudySpec:
    return load_spec(write(tmp_path, base + textwrap.dedent(extra)))


def spec_error(tmp_path: Path, extra: str, base: str = MINIMAL) -> SpecError:
    path = write(tmp_path, base + textwrap.dedent(extra))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)
    assert caught.value.source == str(path)
    return caught.value


# --------------------------------------------------------------------------------------------
# Good specs


def test_quickstart_loads():
    spec = load_spec(ROOT / "studies" / "quickstart.yaml")
    assert spec.name == "quickstart"
    assert spec.problem.name == "damped_sine" and spec.problem.params["horizon"] == 5
    assert spec.model.family == "vanilla" and spec.model.learning_rate == 0.01
    assert spec.fit.epochs == 20 and spec.fit.batch_size == 32
    assert spec.space["units"].grid_values() == [2, 8, 32]
    assert spec.seeds == [0, 1, 2, 3, 4] and spec.objective.metric == "val_mae"
    assert spec.sampler.name == "grid"
    assert spec.objective.direction == "minimize"
    assert spec.objective.aggregate == "mean"


def test_minimal_spec_takes_defaults(tmp_path):
    spec = spec_from(tmp_path, "sampler: grid\n")
    assert spec.space == {}
    assert spec.model.family == "vanilla" and spec.model.units == 32
    assert spec.repeats.count == 5 and spec.seeds == [0, 1, 2, 3, 4]
    assert spec.fit.early_stopping is None
    assert spec.fit.validation.source == "problem"
    assert spec.storage == "sqlite:///tuning.db"
    assert spec.runner == "auto" and spec.jobs == 1


def test_runner_defaults_to_auto_and_a_stored_runner_is_kept(tmp_path):
    assert "runner" not in MINIMAL and spec_from(tmp_path, "sampler: grid\n").runner == "auto"
    for name in ("auto", "sequential", "processes", "fused"):
        assert spec_from(tmp_path, f"sampler: grid\nrunner: {name}\n").runner == name
    assert apply_overrides(spec_from(tmp_path, "sampler: grid\n"), runner="sequential").runner == "sequential"
    # A study stored before `auto` existed has `runner: sequential` in its spec JSON: it stays sequential.
    stored = spec_from(tmp_path, "sampler: grid\nrunner: sequential\n").to_json()
    assert load_spec(json.loads(stored)).runner == "sequential"
    assert spec_error(tmp_path, "sampler: grid\nrunner: threads\n").field == "runner"


def test_full_spec_loads_every_section(tmp_path):
    spec = load_spec(write(tmp_path, FULL))
    assert spec.problem.params == {"length": 12, "n_train": 40}
    model = spec.model
    assert (model.family, model.cell, model.layers, model.units) == ("stacked", "gru", 2, [8, 4])
    assert (model.dropout, model.recurrent_dropout) == (0.1, 0.05)
    assert (model.activation, model.initializer, model.optimizer) == ("relu", "he_uniform", "sgd")
    assert (model.learning_rate, model.momentum) == (0.01, 0.9)
    assert (model.filters, model.kernel_size, model.pool_size) == (16, 3, 2)
    assert (model.decoder_layers, model.decoder_units, model.loss) == (1, 6, "mae")

    space = spec.space
    assert (space["layers"].type, space["layers"].low, space["layers"].high) == ("int", 1, 3)
    assert space["units"].per_layer is True and space["units"].grid == [4, 8]
    assert space["dropout"].type == "float" and space["dropout"].step == 0.1
    assert space["learning_rate"].log is True and space["learning_rate"].type == "float"
    assert space["optimizer"].type == "categorical" and space["optimizer"].choices == ["adam", "rmsprop"]
    assert space["batch_size"].grid == [8, 16]

    assert (spec.sampler.name, spec.sampler.seed) == ("tpe", 7)
    assert spec.n_trials == 20
    assert spec.seeds == [10, 11, 12, 13]
    assert spec.objective.aggregate == "mean_plus_std" and spec.objective.k == 2.0
    assert spec.objective.direction == "minimize"

    fit = spec.fit
    assert (fit.epochs, fit.batch_size, fit.shuffle, fit.deterministic) == (50, 4, False, True)
    es = fit.early_stopping
    assert (es.monitor, es.patience, es.min_delta, es.restore_best_weights) == ("val_mae", 5, 0.001, False)
    assert (fit.validation.source, fit.validation.fraction) == ("split", 0.25)
    assert spec.storage == "sqlite:///elsewhere.db"
    assert spec.runner == "processes" and spec.jobs == 3


def test_sampler_as_string_and_mapping(tmp_path):
    assert spec_from(tmp_path, "sampler: random\nn_trials: 3\n").sampler.name == "random"
    spec = spec_from(tmp_path, "sampler: {name: cmaes, seed: 3}\nn_trials: 3\n")
    assert (spec.sampler.name, spec.sampler.seed) == ("cmaes", 3)


@pytest.mark.parametrize(
    ("text", "seeds"),
    [
        ("repeats: 3\n", [0, 1, 2]),
        ("repeats: [5, 2, 9]\n", [5, 2, 9]),
        ("repeats: {count: 2, base_seed: 100}\n", [100, 101]),
        ("repeats: {seeds: [4]}\n", [4]),
    ],
)
def test_repeats_forms(tmp_path, text, seeds):
    assert spec_from(tmp_path, "sampler: grid\n" + text).seeds == seeds


@pytest.mark.parametrize("aggregate", ["mean", "median", "worst", "mean_plus_std"])
def test_objective_aggregates(tmp_path, aggregate):
    spec = spec_from(tmp_path, f"sampler: grid\nobjective: {{aggregate: {aggregate}}}\n")
    assert spec.objective.aggregate == aggregate


@pytest.mark.parametrize(
    ("metric", "direction"),
    [("val_accuracy", "maximize"), ("val_loss", "minimize"), ("val_mae", "minimize"),
     ("val_exact_match", "maximize")],
)
def test_direction_inferred_from_metric(tmp_path, metric, direction):
    spec = spec_from(tmp_path, f"sampler: grid\nobjective: {{metric: {metric}}}\n")
    assert spec.objective.direction == direction


def test_explicit_direction_wins(tmp_path):
    spec = spec_from(tmp_path, "sampler: grid\nobjective: {metric: val_accuracy, direction: minimize}\n")
    assert spec.objective.direction == "minimize"


def test_early_stopping_flag_and_mapping(tmp_path):
    on = spec_from(tmp_path, "sampler: grid\nfit: {early_stopping: true}\n").fit.early_stopping
    assert on is not None and (on.monitor, on.patience) == ("val_loss", 10)
    off = spec_from(tmp_path, "sampler: grid\nfit: {early_stopping: false}\n").fit.early_stopping
    assert off is None
    mapped = spec_from(tmp_path, "sampler: grid\nfit: {early_stopping: {patience: 3}}\n").fit.early_stopping
    assert mapped.patience == 3


def test_load_spec_accepts_a_mapping():
    spec = load_spec({"name": "m", "problem": {"name": "tenths"}, "sampler": "grid"})
    assert spec.name == "m"
    with pytest.raises(SpecError) as caught:
        load_spec({"name": "m"}, label="inline")
    assert caught.value.field == "problem" and "inline" in str(caught.value)


# --------------------------------------------------------------------------------------------
# Bad specs: one SpecError naming the file and the dotted field path


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ("sampler: grid\nbogus: 1\n", "bogus", "unknown field"),
        ("sampler: grid\nfit: {epoch: 3}\n", "fit.epoch", "unknown field"),
        ("sampler: tpe\nn_trials: ten\n", "n_trials", "'ten'"),
        ("sampler: grid\nspace: {units: {low: 10, high: 1}}\n", "space.units", "low must be <= high"),
        ("sampler: tpe\nn_trials: 3\nspace: {learning_rate: {low: 0, high: 1, log: true}}\n",
         "space.learning_rate", "low > 0"),
        ("sampler: grid\nspace: {optimizer: {type: categorical, choices: []}}\n",
         "space.optimizer", "at least one value"),
        ("sampler: grid\nspace: {units: []}\n", "space.units", "at least one value"),
        ("sampler: grid\nspace: {units: {grid: []}}\n", "space.units", "at least one value"),
        ("sampler: grid\nspace: {units: {low: 1, high: 10, step: 0}}\n", "space.units", "step must be > 0"),
        ("sampler: tpe\nn_trials: 3\nspace: {dropout: {low: 0.0, high: 0.5, step: -0.1}}\n",
         "space.dropout", "step must be > 0"),
        ("sampler: grid\nspace: {unitz: [1, 2]}\n", "space.unitz", "unknown parameter"),
        ("sampler: grid\nspace: {initializer: [he_uniform, he_unif]}\n", "space.initializer", "'he_unif'"),
        ("sampler: grid\nspace: {layers: {grid: [1, 2], per_layer: true}}\n", "space.layers", "per_layer"),
        ("sampler: cmaes\nn_trials: 5\nspace: {units: {low: 1, high: 8}, optimizer: [adam, sgd]}\n",
         "space.optimizer", "cmaes"),
        ("sampler: tpe\nspace: {units: [1, 2]}\n", "n_trials", "required"),
        ("sampler: random\n", "n_trials", "required"),
        ("sampler: grid\nspace: {dropout: {type: float, low: 0.0, high: 0.5}}\n", "space.dropout", "step"),
        ("sampler: grid\nrepeats: [1, 2, 1]\n", "repeats", "repeats"),
        ("sampler: grid\nrepeats: {seeds: [3, 3]}\n", "repeats", "repeats"),
        ("sampler: grid\nmodel: {initializer: he_unif}\n", "model.initializer", "he_unif"),
        ("sampler: grid\njobs: 0\n", "jobs", "greater than or equal to 1"),
        ("sampler: annealing\n", "sampler.name", "annealing"),
        ("sampler: grid\nrepeats: 1\nobjective: {aggregate: mean_plus_std}\n", "objective.aggregate", "one seed"),
        ("sampler: grid\nfit: {epochs: '25'}\n", "fit.epochs", "'25' is not a number (it is quoted"),
        ("sampler: grid\nfit: {batch_size: \"32\"}\n", "fit.batch_size", "'32' is not a number"),
    ],
)
def test_bad_spec_names_file_and_field(tmp_path, extra, field, words):
    error = spec_error(tmp_path, extra)
    assert error.field == field
    assert f": {field}: " in str(error)
    assert words in error.detail
    assert isinstance(error, TuningError)


def test_missing_required_top_level_field(tmp_path):
    path = write(tmp_path, "name: x\nsampler: grid\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.field == "problem"
    assert "required" in caught.value.detail and str(path) in str(caught.value)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)
    assert str(caught.value) == f"{path}: file not found"  # an absolute path: no folder to name
    assert caught.value.field is None


def test_a_missing_spec_file_given_by_a_relative_path_names_the_folder_it_was_read_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as caught:
        load_spec("nope.yaml")
    assert str(caught.value) == f"nope.yaml: file not found (a relative path is read from {tmp_path})"


def test_malformed_yaml_reports_line(tmp_path):
    path = write(tmp_path, "name: x\nproblem:\n  name: tenths\nspace: {units: [1, 2\nsampler: grid\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)
    assert caught.value.field is not None and caught.value.field.startswith("line ")
    assert int(caught.value.field.split()[1]) >= 4
    assert "invalid YAML" in caught.value.detail


def test_yaml_list_is_not_a_spec(tmp_path):
    path = write(tmp_path, "- name: x\n- problem: tenths\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)
    assert "mapping" in caught.value.detail


def test_empty_file_is_not_a_spec(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(SpecError, match="mapping"):
        load_spec(path)


def test_label_replaces_path_in_messages(tmp_path):
    path = write(tmp_path, MINIMAL + "sampler: grid\nbogus: 1\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, label="my-study")
    assert str(caught.value).startswith("my-study: bogus: ")


# --------------------------------------------------------------------------------------------
# apply_overrides


def test_overrides_apply_and_revalidate(tmp_path):
    spec = load_spec(write(tmp_path, FULL))
    out = apply_overrides(spec, n_trials=4, sampler="random", storage="sqlite:///other.db", jobs=2)
    assert out.n_trials == 4
    assert out.sampler.name == "random" and out.sampler.seed == 7  # the seed is kept
    assert out.storage == "sqlite:///other.db"
    assert out.jobs == 2
    assert out.identity() == spec.identity()
    # the original is untouched
    assert (spec.n_trials, spec.sampler.name, spec.jobs) == (20, "tpe", 3)


def test_override_repeats_count_replaces_seed_list(tmp_path):
    spec = spec_from(tmp_path, "sampler: grid\nrepeats: [7, 9, 11]\n")
    assert spec.seeds == [7, 9, 11]
    assert apply_overrides(spec, repeats=2).seeds == [0, 1]
    assert apply_overrides(spec, repeats=[4, 5]).seeds == [4, 5]


def test_override_repeats_keeps_base_seed(tmp_path):
    spec = spec_from(tmp_path, "sampler: grid\nrepeats: {count: 2, base_seed: 50}\n")
    assert apply_overrides(spec, repeats=3).seeds == [50, 51, 52]


def test_none_overrides_are_ignored(tmp_path):
    spec = load_spec(write(tmp_path, FULL))
    out = apply_overrides(spec, n_trials=None, repeats=None, sampler=None, storage=None, jobs=None)
    assert out == spec


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"jobs": 0}, "--jobs"), ({"n_trials": 0}, "--n-trials"), ({"sampler": "annealing"}, "--sampler"),
     ({"repeats": 0}, "--repeats"), ({"runner": "bogus"}, "--runner"), ({"pruner": "bogus"}, "--pruner"),
     ({"repeats_strategy": "bogus"}, "--repeats-strategy"), ({"storage": "sqllite:///x.db"}, "--storage")],
)
def test_invalid_override_names_the_flag_not_the_file(tmp_path, overrides, field):
    spec = load_spec(write(tmp_path, FULL))
    with pytest.raises(SpecError) as caught:
        apply_overrides(spec, **overrides)
    assert caught.value.field == field and caught.value.source is None, str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize("storage", ["sqllite:///runs/x.db", "postgress://u@h/db", "mysql://u@h/db"])
def test_a_storage_naming_no_known_database_is_the_files_error_before_anything_runs(tmp_path, storage):
    # It was "error: sqllite:///x.db: no database of that kind", naming neither the file nor the field,
    # and only once the study opened its store.
    path = write(tmp_path, FULL.replace("storage: sqlite:///elsewhere.db", f"storage: {storage}"))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.source == str(path) and caught.value.field == "storage", str(caught.value)
    assert f"no database of kind {storage.split(':')[0]!r}" in str(caught.value)
    for fine in ("runs/x.db", "sqlite:///runs/x.db", "postgres://u@h/db", "postgresql+psycopg2://u@h/db"):
        assert load_spec(write(tmp_path, FULL.replace("storage: sqlite:///elsewhere.db", f"storage: {fine}"))).storage == fine


def test_a_misspelt_tuning_storage_variable_is_named_not_the_file_that_has_no_storage(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNING_STORAGE", "sqllite:///x.db")
    spec = load_spec(write(tmp_path, FULL.replace("storage: sqlite:///elsewhere.db\n", "")))
    with pytest.raises(SpecError) as caught:
        apply_overrides(spec)
    assert str(caught.value).startswith("$TUNING_STORAGE: no database of kind 'sqllite'"), str(caught.value)
    assert apply_overrides(spec, storage="runs/a.db").storage == "runs/a.db"  # --storage wins over it


@pytest.mark.parametrize(("model", "space", "asks"), [
    ("{units: 2}", "{units: [1, 2]}", False),
    ("{units: 2, dropout: 0.1}", "{units: [1, 2]}", True),
    ("{units: 2, dropout: 0.1}", "{dropout: [0.0]}", False),  # the axis, not the model's default, decides
    ("{units: 2}", "{recurrent_dropout: [0.0, 0.2]}", True),
    ("{units: 2}", "{dropout: {low: 0.0, high: 0.3}}", True),
])
def test_a_study_asks_for_dropout_when_some_config_may_drop_units(tmp_path, model, space, asks):
    spec = load_spec(write(tmp_path, f"name: d\nproblem: {{name: tenths}}\nmodel: {model}\nspace: {space}\n"
                                     "sampler: random\nn_trials: 2\n"))
    assert spec.asks_for_dropout() is asks


def test_the_masks_of_a_jax_study_are_said_as_keras_own():
    from tuning.search.study_record import masks_words

    words = masks_words("keras", keras_backend="jax")  # what status says of a JAX study asking for dropout
    assert words.startswith("Keras's own masks in every fit") and "JAX" in words


def test_override_to_non_grid_sampler_needs_n_trials():
    spec = load_spec(ROOT / "studies" / "quickstart.yaml")
    with pytest.raises(SpecError) as caught:
        apply_overrides(spec, sampler="tpe")
    assert caught.value.field == "n_trials"
    assert apply_overrides(spec, sampler="tpe", n_trials=3).sampler.name == "tpe"


# --------------------------------------------------------------------------------------------
# config_key and identity


def test_config_key_is_stable_across_dict_order():
    a = {"units": [4, 8], "layers": 2, "learning_rate": 0.01, "optimizer": "adam"}
    b = {"optimizer": "adam", "learning_rate": 0.01, "layers": 2, "units": [4, 8]}
    assert config_key(a) == config_key(b)
    assert config_key(a) == config_key(dict(a))
    assert len(config_key(a)) == 16


def test_config_key_differs_for_different_configs():
    base = {"units": [4, 8], "layers": 2, "learning_rate": 0.01}
    keys = {
        config_key(base),
        config_key({**base, "units": [8, 4]}),
        config_key({**base, "learning_rate": 0.02}),
        config_key({**base, "epochs": 10}),
        config_key({"units": 4}),
    }
    assert len(keys) == 5


def test_config_key_accepts_numpy_scalars():
    np = pytest.importorskip("numpy")
    assert config_key({"units": np.int64(4)}) == config_key({"units": 4})


def test_identity_ignores_run_settings(tmp_path):
    spec = load_spec(write(tmp_path, FULL))
    changed = apply_overrides(spec, n_trials=99, repeats=9, storage="sqlite:///x.db", sampler="random", jobs=8)
    assert changed.identity() == spec.identity()
    other = load_spec(write(tmp_path, FULL.replace("runner: processes", "runner: sequential"), "b.yaml"))
    assert other.identity() == spec.identity()


@pytest.mark.parametrize("margin", ["0.01", "'2%'", "'0.5 %'"])
def test_objective_margin_is_a_reading_not_the_identity(tmp_path, margin):
    spec = spec_from(tmp_path, "sampler: grid\n")
    with_margin = spec_from(tmp_path, f"sampler: grid\nobjective: {{margin: {margin}}}\n")
    assert with_margin.objective.margin is not None and with_margin.identity() == spec.identity()
    assert spec_from(tmp_path, "sampler: grid\nobjective: {aggregate: iqm}\n").identity() != spec.identity()


@pytest.mark.parametrize("margin", ["-1", "0", "abc", "'2%%'", "true"])
def test_bad_objective_margin_names_the_field(tmp_path, margin):
    error = spec_error(tmp_path, f"sampler: grid\nobjective: {{margin: {margin}}}\n")
    assert error.field == "objective.margin" and "positive number or a percentage" in str(error)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  optimizer: {type: categorical, choices: [adam, rmsprop]}",
         "  optimizer: {type: categorical, choices: [adam, sgd]}"),
        ("  units: [8, 4]", "  units: [8, 5]"),
        ("  epochs: 50", "  epochs: 51"),
        ("    fraction: 0.25", "    fraction: 0.3"),
    ],
)
def test_identity_tracks_space_model_fit(tmp_path, old, new):
    assert FULL.count(old) == 1
    spec = load_spec(write(tmp_path, FULL))
    other = load_spec(write(tmp_path, FULL.replace(old, new), "b.yaml"))
    assert other.identity() != spec.identity()


def test_problem_parameters_are_checked_at_load_time(tmp_path):
    path = write(tmp_path, "name: x\nproblem: {name: echo, params: {lenght: 3}}\nsampler: grid\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "problem.params.lenght" and str(path) in str(info.value)


def test_yaml_exponent_strings_on_numeric_axes_become_numbers(tmp_path):
    path = write(tmp_path, "name: x\nproblem: {name: tenths}\nspace: {learning_rate: [1e-4, 1.0e-3]}\nsampler: grid\n")
    assert load_spec(path).space["learning_rate"].grid_values() == [1e-4, 1e-3]


@pytest.mark.parametrize(
    ("axis", "message"),
    [
        ("units: [a, b]", "'a' is not a number"),
        ("optimizer: {low: 1, high: 3}", "takes a list of values"),
        ("units: {type: int, low: 1, high: 9, step: 0.5}", "integer low, high and step"),
    ],
)
def test_axis_values_of_the_wrong_kind_are_refused(tmp_path, axis, message):
    path = write(tmp_path, f"name: x\nproblem: {{name: tenths}}\nspace: {{{axis}}}\nsampler: grid\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == f"space.{axis.split(':')[0]}" and message in str(info.value)


def test_negative_sampler_seed_is_refused(tmp_path):
    path = write(tmp_path, "name: x\nproblem: {name: tenths}\nsampler: {name: random, seed: -1}\nn_trials: 2\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "sampler.seed"


# --------------------------------------------------------------------------------------------
# A misspelt name: did you mean ...? (the allowed names of that level of the spec)

TENTHS = "name: demo\nproblem: {name: tenths}\nsampler: grid\n"


@pytest.mark.parametrize(
    ("extra", "field", "meant"),
    [
        ("sampeler: random\n", "sampeler", "sampler"),
        ("fit: {epoch: 3}\n", "fit.epoch", "epochs"),
        ("fit: {early_stopping: {patiense: 3}}\n", "fit.early_stopping.patiense", "patience"),
        ("fit: {validation: {sorce: split}}\n", "fit.validation.sorce", "source"),
        ("model: {unit: 3}\n", "model.unit", "units"),
        ("objective: {metrc: val_mae}\n", "objective.metrc", "metric"),
        ("repeats: {cont: 3}\n", "repeats.cont", "count"),
        ("space: {units: {gird: [1, 2]}}\n", "space.units.gird", "grid"),
    ],
)
def test_an_unknown_field_says_which_was_meant(tmp_path, extra, field, meant):
    error = spec_error(tmp_path, extra, base=TENTHS)
    assert error.field == field
    assert error.detail == f"unknown field; did you mean {meant!r}?"


def test_an_unknown_field_like_no_other_lists_the_fields_of_its_level(tmp_path):
    error = spec_error(tmp_path, "fit: {zzz: 1}\n", base=TENTHS)
    assert error.field == "fit.zzz"
    assert error.detail == ("unknown field; the fields are epochs, batch_size, early_stopping, validation, shuffle, "
                            "deterministic")


@pytest.mark.parametrize(
    ("extra", "field", "meant"),
    [
        ("problem: {name: tenth}\n", "problem.name", "tenths"),
        ("problem: {name: csv, params: {path: x.csv, lookback: 12}}\n", "problem.params.lookback", "look_back"),
        ("problem: {name: tenths}\nsampler: tpee\nn_trials: 2\n", "sampler.name", "tpe"),
        ("problem: {name: tenths}\nbackend: keras\n", "backend", "kerastuner"),
        ("problem: {name: tenths}\nrunner: fuse\n", "runner", "fused"),
        ("problem: {name: tenths}\nmodel: {family: stacke}\n", "model.family", "stacked"),
        ("problem: {name: tenths}\nobjective: {aggregate: meen}\n", "objective.aggregate", "mean"),
        ("problem: {name: tenths}\nspace: {unitz: [1, 2]}\n", "space.unitz", "units"),
        ("problem: {name: tenths}\nspace: {initializer: [he_unif]}\n", "space.initializer", "he_uniform"),
    ],
)
def test_a_misspelt_name_or_value_says_which_was_meant(tmp_path, extra, field, meant):
    error = spec_error(tmp_path, ("" if "sampler:" in extra else "sampler: grid\n") + extra, base="name: demo\n")
    assert error.field == field
    assert error.detail.endswith(f"; did you mean {meant!r}?"), error.detail
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ("space: {units: {low: 8, high: '64'}}\n", "space.units", "high: '64' is text, not a number; write it without quotes"),
        ("model: {family: lstm}\n", "model.family", "lstm is a cell: family: vanilla (or stacked ...) with cell: lstm"),
        ("model: {family: gru}\ncell: x\n", "cell", "unknown field"),  # gru is a family too: no hint needed
        ("repeats: five\n", "repeats", "must be a number of seeds (5), a list of seeds ([0, 1, 2]) or a mapping"),
        ("pruner: 3\n", "pruner", "must be a pruner's name (median, percentile, successive_halving, hyperband, none)"),
    ],
)
def test_a_value_of_the_wrong_kind_is_told_what_it_may_be_not_an_internal_name(tmp_path, extra, field, words):
    error = spec_error(tmp_path, "problem: {name: tenths}\nsampler: grid\n" + extra, base="name: demo\n")
    assert error.field == field and words in error.detail, (error.field, error.detail)
    assert "Spec" not in error.detail and "did you mean 'cnn_lstm'" not in error.detail


def test_a_misspelt_field_through_the_cli_is_one_line_with_exit_2(tmp_path):
    from helpers.cli import run_tuning

    write(tmp_path, TENTHS.replace("sampler: grid", "sampeler: grid"), name="typo.yaml")
    refused = run_tuning("run", "typo.yaml", "--quiet", cwd=tmp_path)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert refused.stderr.strip() == "error: typo.yaml: sampeler: unknown field; did you mean 'sampler'?"
    assert not (tmp_path / "tuning.db").exists()


# -- keras_backend (issue 24) ---------------------------------------------------------------------

KERAS_SPEC = {"name": "k", "problem": {"name": "tenths"}, "sampler": "grid"}


def test_keras_backend_from_the_spec_else_keras_backend_variable_else_tensorflow(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert apply_overrides(load_spec(KERAS_SPEC)).keras_backend == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert apply_overrides(load_spec(KERAS_SPEC)).keras_backend == "jax"
    named = load_spec({**KERAS_SPEC, "keras_backend": "tensorflow"})
    assert apply_overrides(named).keras_backend == "tensorflow"  # the spec's own wins over the variable
    assert apply_overrides(named, keras_backend="jax").keras_backend == "jax"  # and --keras-backend over both
    # a stored spec names its backend: resuming it ignores the variable
    assert apply_overrides(load_spec(json.loads(named.to_json()))).keras_backend == "tensorflow"


@pytest.mark.parametrize(("spec", "variable", "field", "words"), [
    ({"keras_backend": "torch"}, None, "keras_backend", "torch is not supported yet"),
    ({"keras_backend": "jax", "runner": "fused"}, None, "runner", "runner auto fuses the seeds"),
    ({}, "numpy", "$KERAS_BACKEND", "unknown Keras backend 'numpy'"),
])
def test_keras_backend_mistakes_are_one_line_naming_the_field(monkeypatch, spec, variable, field, words):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    if variable:
        monkeypatch.setenv("KERAS_BACKEND", variable)
    with pytest.raises(SpecError) as caught:
        apply_overrides(load_spec({**KERAS_SPEC, **spec}))
    assert caught.value.field == field and words in str(caught.value) and "\n" not in str(caught.value)


def test_in_memory_arrays_are_refused_on_worker_processes_and_on_dask():
    from tuning.api import run_study

    x = np.zeros((20, 4, 1), dtype="float32")
    for extra, field in (({"jobs": 2}, "jobs"), ({"runner": "dask"}, "runner")):
        with pytest.raises(SpecError) as caught:
            run_study({"name": "mem", "model": {"units": 2}, "fit": {"epochs": 1}, "storage": "sqlite:///:memory:",
                       **extra}, data=(x, x[:, -1], x, x[:, -1]), quiet=True)
        assert caught.value.field == field and "in-memory arrays are fitted in this process" in str(caught.value)


# -- values the models refuse, refused before the study is stored --------------------------------

@pytest.mark.parametrize(("extra", "words"), [
    ("space: {batch_size: [0, 16]}\n", "space.batch_size: 0 is not a whole number >= 1"),
    ("space: {epochs: [1, 0]}\n", "space.epochs: 0 is not a whole number >= 1"),
    ("space: {epochs: {low: 0, high: 3}}\n", "space.epochs: 0 is not a whole number >= 1"),
    ("space: {patience: [-1, 2]}\n", "space.patience: -1 is not a whole number >= 0"),
    ("space: {batch_size: [8, 2.5]}\n", "space.batch_size: 2.5 is not a whole number >= 1"),
    ("space: {units: [2, '4']}\n", "space.units: '4' is not a number"),
])
def test_a_searched_fit_setting_takes_what_the_fit_section_takes(tmp_path, extra, words):
    assert words in str(spec_error(tmp_path, extra, base=TENTHS))


def test_yaml_exponents_without_a_dot_are_still_numbers(tmp_path):
    spec = spec_from(tmp_path, "space: {learning_rate: [1e-4, 1.0e-3]}\n", base=TENTHS)
    assert spec.space["learning_rate"].values == [1e-4, 1e-3]


#: name -> (spec lines after TENTHS-like header, the one line's end); each is refused by the models'
#: own checks (tuning.models.check_configs) before the store is created.
MODEL_MISTAKES = {
    "units_per_layer": ("model: {family: stacked, units: [4, 8, 16]}\n",
                        "model.units: has 3 entries but layers is 2; give one width per layer"),
    "zero_units": ("space: {units: [0, 2]}\n", "space.units: must be an integer >= 1 (got 0)"),
    "dropout": ("space: {dropout: [0.0, 1.5]}\n", "space.dropout: must be a number in [0, 1) (got 1.5)"),
    "depth_and_widths": ("space: {layers: [1, 2]}\nmodel: {units: [3, 4]}\n",
                         "model.units: has 2 entries but layers is 1; give one width per layer"),
    "range_end": ("sampler: random\nn_trials: 2\nspace: {learning_rate: {low: 0.0, high: 0.1}}\n",
                  "space.learning_rate: must be a number > 0 (got 0.0)"),
    "steps": ("model: {family: vanilla}\n", "model.family: family 'vanilla' cannot map 8 input steps to 2 output "
              "steps; use family: encoder_decoder"),
    "pruner_monitor": ("pruner: {name: median, monitor: val_zzz}\n",
                       "pruner.monitor: 'val_zzz' is not a curve these fits log; they log loss, mae, val_loss, val_mae"),
    # a searched loss changes the curves: with mae the metric logged beside it is mse
    "early_stopping_monitor": ("fit: {epochs: 1, early_stopping: {monitor: val_mae}}\nspace: {loss: [mse, mae]}\n",
                               "fit.early_stopping.monitor: 'val_mae' is not a curve these fits log; they log loss, "
                               "mse, val_loss, val_mse"),
}


@pytest.fixture(scope="module")
def model_mistakes(tmp_path_factory):
    """``tuning run`` on every mistaken spec at once (each refused before Keras builds a model)."""
    from helpers.cli import tuning_command

    started = {}
    for name, (extra, _) in MODEL_MISTAKES.items():
        folder = tmp_path_factory.mktemp(name)
        problem = "addition" if name == "steps" else "tenths"
        fit = "" if "fit:" in extra else "fit: {epochs: 1}\n"
        header = f"name: {name}\nproblem: {{name: {problem}}}\n{fit}repeats: 1\nstorage: sqlite:///s.db\n"
        sampler = "" if "sampler:" in extra else "sampler: grid\n"
        (folder / "spec.yaml").write_text(header + sampler + extra)
        started[name] = folder, subprocess.Popen([*tuning_command(), "run", "spec.yaml", "--quiet"], cwd=folder,
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for name, (folder, proc) in started.items():
        out, err = proc.communicate(timeout=120)
        done[name] = folder, proc.returncode, err
    return done


@pytest.mark.e2e
@pytest.mark.parametrize("name", list(MODEL_MISTAKES))
def test_a_value_the_models_refuse_is_one_line_before_the_study_is_stored(model_mistakes, name):
    folder, code, err = model_mistakes[name]
    assert code == 2, err
    assert err.strip() == f"error: spec.yaml: {MODEL_MISTAKES[name][1]}" and "Traceback" not in err
    assert not (folder / "s.db").exists()  # nothing stored: the corrected spec may take the same name


def test_the_configs_checked_are_every_grid_point_or_each_axis_at_its_ends():
    from tuning.space import SearchSpace
    from tuning.spec import ParamSpec

    grid = SearchSpace({"units": ParamSpec.model_validate([1, 2]), "dropout": ParamSpec.model_validate([0.0, 0.5])})
    assert len(grid.points_to_check()) == 4
    ranged = SearchSpace({"units": ParamSpec.model_validate({"low": 1, "high": 64}),
                          "learning_rate": ParamSpec.model_validate({"low": 1e-4, "high": 1e-1, "log": True})})
    checked = ranged.points_to_check(limit=10)  # 64 grid points over the limit: the ends instead
    assert {p["units"] for p in checked} == {1, 64} and {p["learning_rate"] for p in checked} == {1e-4, 1e-1}


def test_tuning_models_checks_configs_without_keras():
    done = subprocess.run([sys.executable, "-c", (
        "import sys; from tuning.models import check_configs\n"
        "from tuning.problems import cached_problem\n"
        "check_configs([{'units': 2}], cached_problem('tenths', '{}'))\n"
        "print('keras' in sys.modules)")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    error = spec_error(tmp_path, "fit: {epochs: 1}\nrepeats: 2\nfit: {epochs: 3}\n", base=TENTHS)
    assert error.field == "line 6" and error.detail == "invalid YAML: 'fit' is given twice in one mapping; keep one"


def test_a_spec_that_searches_nothing_runs_its_one_config_without_naming_a_sampler():
    """It was refused: 'n_trials: required with the tpe sampler' for a study of one config."""
    one = load_spec({"name": "one", "problem": {"name": "tenths"}, "model": {"units": 4}})
    assert one.sampler.name == "grid" and one.n_trials is None
    counted = load_spec({"name": "one", "problem": {"name": "tenths"}, "n_trials": 2})
    assert counted.sampler.name == "tpe"  # n_trials named: the default sampler, as before
    searched = load_spec({"name": "s", "problem": {"name": "tenths"}, "space": {"units": [1, 2]}, "n_trials": 2})
    assert searched.sampler.name == "tpe"  # the default sampler of a search is unchanged
    with pytest.raises(SpecError, match="n_trials: required with the tpe sampler"):
        load_spec({"name": "s", "problem": {"name": "tenths"}, "space": {"units": [1, 2]}})
