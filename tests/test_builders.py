"""Your own model: ``model.builder`` (build(config, problem)), KerasTuner's build(hp), ``mask_value``.

The builders live in ``tests/data/demo_models.py`` and are imported by file path and by module
path. In-process tests build and fit tiny models; the end-to-end tests drive the real ``tuning``
command on one small ``.npz`` classification problem, with studies shared per module.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers.builder_project import DEMO
from helpers.builder_project import arrays as _arrays
from helpers.builder_project import project as _project
from helpers.builder_project import spec_text as _spec_text
from helpers.cli import run_tuning, start_tuning_and_wait_for_fits, stored_fits
from helpers.keras_calls import forward

from tuning.builders import (
    ProblemInfo,
    describe,
    hyperparameters,
    load_builder,
    register_builder,
    space_from_builder,
)
from tuning.errors import SpecError
from tuning.spec import load_spec


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# ---- the pieces, in this process ---------------------------------------------------------------

def test_problem_info_reads_as_attributes_and_as_a_mapping(tmp_path):
    from tuning.problems import load_problem

    np.savez(tmp_path / "d.npz", **_arrays())
    info = describe(load_problem("arrays", {"path": str(tmp_path / "d.npz")}))
    assert isinstance(info, ProblemInfo)
    assert (info.input_shape, info.output_shape, info.task, info.n_classes) == ((6, 2), (1,), "binary", 2)
    assert info["task"] == "binary" and dict(info)["input_shape"] == (6, 2)
    assert set(info.keys()) >= {"input_shape", "output_shape", "task", "n_classes"}
    with pytest.raises(AttributeError):
        info.task = "regression"  # read-only
    with pytest.raises(KeyError):
        info["units"]


@pytest.mark.parametrize(("path", "words"), [
    ("no_such_module_xyz:build", "module no_such_module_xyz does not import: ModuleNotFoundError"),
    ("missing/file.py:build", "missing/file.py: file not found (a relative path is read from "),
    (f"{DEMO}:no_such_function", "has no attribute 'no_such_function'"),
    ("just_a_name", "name the function as module:function"),
])
def test_a_builder_that_cannot_be_loaded_is_one_line_naming_model_builder(path, words):
    with pytest.raises(SpecError) as caught:
        load_builder(path)
    assert caught.value.field == "model.builder" and words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_that_raises_on_import_says_so(tmp_path):
    (tmp_path / "broken.py").write_text("import keras\nraise RuntimeError('half written')\n")
    with pytest.raises(SpecError, match=r"does not import: RuntimeError: half written"):
        load_builder(f"{tmp_path / 'broken.py'}:build")


def test_hyperparameters_return_the_config_value_or_their_own_default():
    hp = hyperparameters({"units": 7, "act": "relu"})
    assert hp.Int("units", 1, 64) == 7
    assert hp.Choice("act", ["tanh", "relu"]) == "relu"
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3) == pytest.approx(1e-3)
    assert hp.Boolean("skip") is False and hp.Fixed("heads", 4) == 4


def test_space_from_builder_reads_every_hp_kind(tmp_path):
    (tmp_path / "hpmodel.py").write_text(textwrap.dedent("""\
        import keras

        def build(hp):
            hp.Int("units", 4, 32, step=4)
            hp.Int("layers", 1, 3)
            hp.Int("filters", 8, 64, sampling="log")
            hp.Int("batch", 2, 16, step=2, sampling="log")
            hp.Float("lr", 1e-4, 1e-1, sampling="log")
            hp.Float("dropout", 0.0, 0.5, step=0.25)
            hp.Choice("act", ["relu", "tanh"])
            hp.Boolean("norm")
            hp.Fixed("heads", 4)
            with hp.conditional_scope("act", ["relu"]):
                hp.Float("slope", 0.0, 0.3)
            return keras.Sequential([keras.Input((3, 1)), keras.layers.Dense(1)])
        """))
    space, fixed = space_from_builder(f"{tmp_path / 'hpmodel.py'}:build", {"layers": 2})
    assert space == {
        "units": {"type": "int", "low": 4, "high": 32, "step": 4},
        "filters": {"type": "int", "low": 8, "high": 64, "log": True},
        "batch": [2, 4, 8, 16],  # a log step multiplies: the list of its values
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
        "act": ["relu", "tanh"],
        "norm": [False, True],
        "slope": {"type": "float", "low": 0.0, "high": 0.3},  # a conditional one: a plain axis
    }  # layers is fixed by model.params, so it is no axis
    assert fixed == {"heads": 4}


def test_a_per_layer_name_asked_only_under_more_layers_is_refused_not_left_at_its_default(tmp_path):
    # KerasTuner's own loop: units_1 exists only with two layers. A space read at the defaults had
    # num_layers and units_0, and every two-layer config built units_1 at its default, silently.
    (tmp_path / "loop.py").write_text(textwrap.dedent("""\
        import keras

        def build(hp):
            model = keras.Sequential([keras.Input((3, 1))])
            for i in range(hp.Int("num_layers", 1, 2)):
                model.add(keras.layers.LSTM(hp.Int(f"units_{i}", 4, 8, step=4), return_sequences=True))
            model.add(keras.layers.Dense(1))
            return model
        """))
    with pytest.raises(SpecError) as refused:
        space_from_builder(f"{tmp_path / 'loop.py'}:build")
    assert str(refused.value).endswith(
        "build(hp) asks for 'units_1' only when num_layers is 2, not at the defaults: a space read from the dry run "
        "would leave it at 4 in every config; write the space in the spec instead (its axes: num_layers, units_0, "
        "units_1)"), str(refused.value)
    # With the number of layers fixed by model.params there is nothing conditional left to miss.
    space, _ = space_from_builder(f"{tmp_path / 'loop.py'}:build", {"num_layers": 2})
    assert sorted(space) == ["units_0", "units_1"]


def test_a_builders_fingerprint_is_the_code_it_uses_not_the_files_bytes(tmp_path):
    """One file, several builders: adding another builder or a comment changed the whole file's
    digest and locked every study built from the file (resume and export refused)."""
    from tuning.builders import fingerprint, fingerprints

    file = tmp_path / "nets.py"
    base = textwrap.dedent("""\
        import keras

        WIDTH = 4

        def head(model):
            model.add(keras.layers.Dense(1))
            return model

        def build(config, problem):
            model = keras.Sequential([keras.Input(problem.input_shape), keras.layers.LSTM(WIDTH)])
            return head(model)
        """)
    file.write_text(base)
    path = f"{file}:build"
    first = fingerprint(path)
    same = [base + "\n# a comment\n", base.replace("def head", "# the head\ndef head"),
            base + "\ndef build_small(config, problem):\n    return None\n"]
    changed = [base.replace("keras.layers.Dense(1)", "keras.layers.Dense(1, activation='relu')"),  # a helper it calls
               base.replace("WIDTH = 4", "WIDTH = 8"), base + "\nkeras.config.set_floatx('float64')\n"]
    for text in same:
        file.write_text(text)
        assert fingerprint(path) == first, text
    for text in changed:
        file.write_text(text)
        assert fingerprint(path) != first, text
    # a study stored by an earlier version kept the whole file's digest: the same bytes still match it
    file.write_text(base)
    assert fingerprints(path)[1] == hashlib.sha256(path.encode() + base.encode()).hexdigest()[:16]


def test_a_builder_of_the_other_style_is_refused_saying_which_style_it_is(tmp_path):
    # It failed on its first config with Python's "takes 1 positional argument but 2 were given".
    (tmp_path / "styles.py").write_text("def build_hp(hp):\n    pass\n\n"
                                        "def build(config, problem):\n    pass\n\n"
                                        "def either(config, problem=None):\n    pass\n")
    with pytest.raises(SpecError, match=r"styles.py:build_hp: takes one argument \(hp\), as KerasTuner's "
                                        r"build\(hp\): set model.style: kerastuner"):
        load_builder(f"{tmp_path / 'styles.py'}:build_hp")
    with pytest.raises(SpecError, match=r"styles.py:build: takes 2 arguments \(config, problem\), as a "
                                        r"build\(config, problem\): remove model.style: kerastuner"):
        load_builder(f"{tmp_path / 'styles.py'}:build", "kerastuner")
    assert callable(load_builder(f"{tmp_path / 'styles.py'}:build_hp", "kerastuner"))
    assert callable(load_builder(f"{tmp_path / 'styles.py'}:either", "kerastuner"))  # one argument is enough


def test_an_axis_read_from_the_builder_that_the_sampler_refuses_points_at_the_hp_call(tmp_path):
    # "space.lr: a float range needs a step ... for the grid sampler" named a space the user never
    # wrote: with space: from_builder the axis is an hp call of the builder.
    from tuning.spec import resolve_builder_space

    (tmp_path / "hpm.py").write_text("def build(hp):\n    hp.Float('lr', 1e-3, 1e-2, sampling='log')\n")
    path = tmp_path / "fb.yaml"
    path.write_text(f"name: fb\nproblem: {{name: tenths}}\nmodel: {{builder: '{tmp_path / 'hpm.py'}:build', "
                    "style: kerastuner}\nspace: from_builder\nsampler: grid\n")
    with pytest.raises(SpecError) as refused:
        resolve_builder_space(load_spec(path))
    assert refused.value.field == "space.lr" and refused.value.source == str(path)
    assert str(refused.value).endswith(f"for the grid sampler; 'lr' comes from an hp call of {tmp_path / 'hpm.py'}:build "
                                       "(space: from_builder): change that call, or write the space in the spec")


def test_reverse_log_sampling_is_refused_in_one_line(tmp_path):
    (tmp_path / "rl.py").write_text("def build(hp):\n    hp.Float('lr', 1e-4, 1e-1, sampling='reverse_log')\n")
    with pytest.raises(SpecError, match="reverse_log"):
        space_from_builder(f"{tmp_path / 'rl.py'}:build")


def _builder_spec(**model) -> dict:
    return {"name": "b", "problem": {"name": "tenths"}, "sampler": "grid",
            "model": {"builder": "demo_models:conv_lstm", **model}}


def test_with_a_builder_space_may_name_any_parameter_and_params_reach_the_config():
    from tuning.space import SearchSpace, base_config

    spec = load_spec({**_builder_spec(params={"kernel": 2}, learning_rate=0.01),
                      "space": {"width": [2, 4], "units_1": [5, 6], "family": ["a", "b"]}})
    space = SearchSpace.from_spec(spec)
    config = space.to_config(space.grid()[0], base_config(spec))
    # units_1 and family are the builder's own names here, not per-layer units or a built-in family
    assert config == {"builder": "demo_models:conv_lstm", "kernel": 2, "learning_rate": 0.01, "width": 2,
                      "units_1": 5, "family": "a", "epochs": 10, "batch_size": 32}
    assert load_spec(spec.model_dump(mode="json")).identity() == spec.identity()  # the stored spec reads back


@pytest.mark.parametrize(("spec", "field", "words"), [
    (_builder_spec(units=8), "model.units", "put your builder's settings in model.params"),
    (_builder_spec(mask_value=0.0), "model.mask_value", "built-in families"),
    # written at their defaults too (tuning init's starter spec has family and cell): never read
    (_builder_spec(family="vanilla"), "model.family", "which a builder replaces"),
    (_builder_spec(cell="lstm"), "model.cell", "which a builder replaces"),
    (_builder_spec(dropout=0.0), "model.dropout", "which a builder replaces"),
    (_builder_spec(params={"epochs": 3}), "model.params.epochs", "set it as fit.epochs"),
    ({**_builder_spec(params={"width": 3}), "space": {"width": [1, 2]}}, "space.width", "one place"),
    ({**_builder_spec(), "runner": "fused"}, "runner", "built-in families only"),
    ({**_builder_spec(), "space": {"learning_rate": [0, 1]}, "sampler": "grid"}, None, None),
    ({"name": "b", "problem": {"name": "tenths"}, "model": {"params": {"a": 1}}}, "model.params", "builder only"),
    ({"name": "b", "problem": {"name": "tenths"}, "sampler": "grid", "space": {"width": [1]}}, "space.width",
     "a model.builder may read any"),
    ({**_builder_spec(), "space": "from_builder"}, "space", "style: kerastuner"),
])
def test_builder_spec_mistakes_are_one_line(spec, field, words):
    if field is None:  # tuning still checks the names it reads itself
        spec = {**spec, "space": {"optimizer": ["adam", "nadam"]}}
        field, words = "space.optimizer", "unknown value 'nadam'"
    with pytest.raises(SpecError) as caught:
        load_spec(spec)
    assert caught.value.field == field and words in caught.value.detail


def test_a_spec_without_builder_dumps_as_before_builders_existed():
    # The stored spec and every config key of existing studies must not change.
    dumped = load_spec({"name": "x", "problem": {"name": "tenths"}, "sampler": "grid"}).model_dump(mode="json")
    assert not {"builder", "style", "params", "mask_value"} & set(dumped["model"])
    masked = load_spec({"name": "x", "problem": {"name": "tenths"}, "model": {"mask_value": -1}, "sampler": "grid"})
    assert masked.model_dump(mode="json")["model"]["mask_value"] == -1


# ---- building and fitting in this process ------------------------------------------------------

@pytest.fixture(scope="module")
def npz_problem(tmp_path_factory):
    from tuning.fit import cached_problem

    folder = tmp_path_factory.mktemp("npz")
    held_out = _arrays(seed=5)
    np.savez(folder / "data.npz", **_arrays(), x_test=held_out["x_val"], y_test=held_out["y_val"])
    params = {"path": str(folder / "data.npz")}
    import json

    return params, cached_problem("arrays", json.dumps(params, sort_keys=True))


def _task(params: dict, config: dict, seed: int = 0):
    import json

    from tuning.fit import FitSettings, FitTask
    from tuning.spec import config_key

    return FitTask("arrays", json.dumps(params, sort_keys=True), config, config_key(config), seed,
                   FitSettings.resolve({"epochs": 1, "batch_size": 16}, config))


def test_tuning_compiles_an_uncompiled_builder_model_with_the_configs_optimizer(npz_problem):
    from tuning.models import build_model

    _, problem = npz_problem
    model = build_model({"builder": f"{DEMO}:conv_lstm", "width": 3, "optimizer": "sgd", "learning_rate": 0.05,
                         "momentum": 0.5}, problem)
    assert type(model.optimizer).__name__ == "SGD"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert model.loss == "binary_crossentropy"  # the task's loss
    compiled = build_model({"builder": f"{DEMO}:compiled_with_auc", "width": 3, "lr": 0.02}, problem)
    assert float(compiled.optimizer.learning_rate) == pytest.approx(0.02)  # the builder's own compile kept


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_a_builder_model_scores_its_compiled_metrics_and_a_raising_config_fails_its_fit(npz_problem):
    from tuning.fit import fit_one

    params, _ = npz_problem
    fit = fit_one(_task(params, {"builder": f"{DEMO}:compiled_with_auc", "width": 2}))
    assert fit.ok and {"val_loss", "val_accuracy", "val_auc", "test_auc", "test_accuracy"} <= set(fit.scores)
    assert 0.0 <= fit.scores["val_auc"] <= 1.0 and fit.scores["val_auc"] != fit.scores["test_auc"]
    again = fit_one(_task(params, {"builder": f"{DEMO}:compiled_with_auc", "width": 2}))
    assert again.scores == fit.scores  # same config and seed, same scores

    failed = fit_one(_task(params, {"builder": f"{DEMO}:fails_for_wide", "width": 3}))
    assert not failed.ok and "ValueError: width 3 is not supported by this model" in failed.error
    none = fit_one(_task(params, {"builder": f"{DEMO}:returns_none", "width": 3}))
    assert not none.ok and "returned None, not a keras.Model" in none.error


def test_the_check_before_the_study_calls_the_builder_with_the_config_a_fit_gives_it(tmp_path, npz_problem):
    """The builder is tried once before the store is touched; it gets the model settings a fit
    gives it (docs/own-data.md: no epochs or batch_size), or a builder reading them would pass
    the check and fail every fit. The fits here are fake: the check is what is looked at."""
    import keras
    from helpers.fake_runner import FakeRunner

    from tuning.builders import user_config
    from tuning.search.loop import run_search
    from tuning.space import split_config

    params, _ = npz_problem
    seen = []

    def recorded(config, problem):
        seen.append(dict(config))
        inputs = keras.Input(problem.input_shape)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))

    name = register_builder(recorded)
    spec = {"name": "seen", "problem": {"name": "arrays", "params": params},
            "model": {"builder": name, "params": {"width": 2}}, "space": {"batch_size": [8, 16]}, "sampler": "grid",
            "repeats": 1, "fit": {"epochs": 3, "batch_size": 16, "early_stopping": {"patience": 2}},
            "storage": f"sqlite:///{tmp_path / 's.db'}"}
    runner = FakeRunner()
    run_search(load_spec(spec), runner=runner)
    assert seen == [{"width": 2}]  # the check's call; the fake fits build nothing
    assert seen[0] == user_config(split_config(runner.tasks[0].config)[0])  # what fit_one would pass


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_a_registered_in_process_builder_runs_a_study_and_is_refused_with_workers(tmp_path, npz_problem):
    import keras

    from tuning.search.loop import run_search as run_study

    params, _ = npz_problem

    def tiny(config, problem):
        inputs = keras.Input(problem.input_shape)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
            keras.layers.GRU(config["width"])(inputs)))

    name = register_builder(tiny)
    assert name.endswith(":test_a_registered_in_process_builder_runs_a_study_and_is_refused_with_workers.tiny")
    spec = {"name": "reg", "problem": {"name": "arrays", "params": params}, "model": {"builder": name},
            "space": {"width": [1, 2]}, "sampler": "grid", "repeats": 1, "fit": {"epochs": 1, "batch_size": 16},
            "storage": f"sqlite:///{tmp_path / 'r.db'}"}
    outcome = run_study(load_spec(spec))
    assert (outcome.complete, outcome.fits_run) == (2, 2)
    with pytest.raises(SpecError, match="worker processes cannot import"):
        run_study(load_spec({**spec, "name": "reg2", "jobs": 2}))


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_the_kerastuner_backend_proposes_a_builders_own_axes(tmp_path, npz_problem):
    from tuning.search.loop import run_search as run_study

    params, _ = npz_problem
    spec = {"name": "ktb", "problem": {"name": "arrays", "params": params},
            "model": {"builder": f"{DEMO}:conv_lstm"}, "space": {"width": [1, 2], "units_1": [3, 4]},
            "backend": "kerastuner", "sampler": "random", "n_trials": 2, "repeats": 1,
            "fit": {"epochs": 1, "batch_size": 16}, "storage": f"sqlite:///{tmp_path / 'k.db'}"}
    outcome = run_study(load_spec(spec))
    assert (outcome.complete, outcome.fits_run) == (2, 2)  # units_1 is the builder's name, not per-layer units


# ---- the labels as the user gave them ----------------------------------------------------------

def _labelled(tmp_path: Path, form: str, n: int = 48, seed: int = 0) -> tuple[dict, object]:
    """(params, problem) of an .npz with three classes (which third is channel 0's mean in?) as
    ``integers`` [samples], a ``column`` [samples, 1], ``one_hot`` rows; or ``binary`` 0/1 [samples]."""
    import json

    from tuning.fit import cached_problem

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype("float32")
    mean = x[:, :, 0].mean(axis=1)
    classes = np.digitize(mean, [-0.15, 0.15]).astype("int64")
    y = {"integers": classes, "column": classes[:, None], "one_hot": np.eye(3, dtype="float32")[classes],
         "binary": (mean > 0).astype("int64")}[form]
    np.savez(tmp_path / f"{form}.npz", x_train=x[:32], y_train=y[:32], x_val=x[32:], y_val=y[32:])
    params = {"path": str(tmp_path / f"{form}.npz")}
    return params, cached_problem("arrays", json.dumps(params, sort_keys=True))


@pytest.mark.slow
def test_build_hp_compiled_for_the_labels_as_given_fits_and_scores_as_keras_does(tmp_path):
    """The user report: a build(hp) compiled with sparse_categorical_crossentropy failed on its first
    config (its integer labels were fed one-hot). Labels now reach the model as given, and every
    form of the same classes gives the same fit."""
    from tuning.fit import fit_one
    from tuning.models import try_builder

    val_losses = {}
    for form, builder in [("integers", "kerastuner_sparse"), ("column", "kerastuner_sparse"),
                          ("one_hot", "kerastuner_categorical")]:
        params, problem = _labelled(tmp_path, form)
        config = {"builder": f"{DEMO}:{builder}", "style": "kerastuner", "units": 2, "lr": 0.01}
        assert try_builder(config, problem) == ["accuracy", "loss"], form  # the first-config probe passes
        fit = fit_one(_task(params, config))
        assert fit.ok, (form, fit.error)
        # Keras's own validation loss on the labels as fed is the score tuning computes
        assert fit.curves["val_loss"][-1] == pytest.approx(fit.scores["val_loss"], rel=1e-4), form
        assert fit.curves["val_accuracy"][-1] == pytest.approx(fit.scores["val_accuracy"]), form
        val_losses[form] = fit.scores["val_loss"]
    assert val_losses["integers"] == pytest.approx(val_losses["one_hot"], rel=1e-5)  # the same classes, the same fit
    assert val_losses["column"] == pytest.approx(val_losses["integers"], rel=1e-5)


@pytest.mark.parametrize(("form", "outputs", "activation", "loss"), [
    ("integers", 3, "softmax", "sparse_categorical_crossentropy"),
    ("column", 3, "softmax", "sparse_categorical_crossentropy"),
    ("one_hot", 3, "softmax", "categorical_crossentropy"),
    ("binary", 1, "sigmoid", "binary_crossentropy"),
    ("binary", 2, "softmax", "sparse_categorical_crossentropy"),  # Dense(problem.n_classes, softmax) on 0/1
])
def test_tuning_compiles_a_builders_model_with_the_loss_of_its_labels_and_output(tmp_path, form, outputs,
                                                                                  activation, loss):
    from tuning.models import build_model

    _, problem = _labelled(tmp_path, form)
    model = build_model({"builder": f"{DEMO}:head", "outputs": outputs, "activation": activation}, problem)
    assert model.loss == loss
    # its compiled accuracy is tuning's accuracy on the same predictions: the metric matches the labels
    found = model.evaluate(problem.x_val, problem.y_val, verbose=0, return_dict=True)
    scored = problem.score(problem.y_val, forward(model, problem.x_val))
    assert found["accuracy"] == pytest.approx(scored["accuracy"])
    assert found["loss"] == pytest.approx(scored["loss"], rel=1e-4)


@pytest.mark.parametrize(("form", "config", "words"), [
    ("binary", {"outputs": 2, "activation": "softmax", "own_loss": "binary_crossentropy"},
     "compiles its model with binary_crossentropy on a 2-unit output; the labels are 0/1: compile with "
     'sparse_categorical_crossentropy, or end the model in Dense(1, activation="sigmoid") for binary_crossentropy'),
    ("binary", {"outputs": 1, "activation": "sigmoid", "own_loss": "categorical_crossentropy"},
     "compiles its model with categorical_crossentropy on one output unit; the labels are 0/1: compile with "
     "binary_crossentropy"),
    ("binary", {"outputs": 3, "activation": "softmax"},
     'output shape (None, 3); the labels are 0/1: end the model in Dense(1, activation="sigmoid") '
     "(output shape (None, 1), binary_crossentropy), or in a 2-unit softmax (sparse_categorical_crossentropy)"),
    ("one_hot", {"outputs": 3, "activation": "softmax", "own_loss": "sparse_categorical_crossentropy"},
     "compiles its model with sparse_categorical_crossentropy; the labels are one-hot rows of width 3: compile with "
     "categorical_crossentropy, or give integer labels 0..2"),
    ("integers", {"outputs": 3, "activation": "softmax", "own_loss": "categorical_crossentropy"},
     "compiles its model with categorical_crossentropy; the labels are integers 0..2: compile with "
     "sparse_categorical_crossentropy, or give one-hot labels"),
    ("column", {"outputs": 3, "activation": "sigmoid", "own_loss": "BinaryCrossentropy"},
     "compiles its model with binary_crossentropy; the labels are integers 0..2: compile with "
     "sparse_categorical_crossentropy"),
    ("integers", {"outputs": 4, "activation": "softmax"},
     'output shape (None, 4); the labels are integers 0..2: end the model in Dense(3, activation="softmax") '
     "(output shape (None, 3), sparse_categorical_crossentropy)"),
    ("one_hot", {"outputs": 2, "activation": "softmax", "own_loss": "categorical_crossentropy"},
     'output shape (None, 2); the labels are one-hot rows of width 3: end the model in Dense(3, activation="softmax")'),
], ids=["binary 2-unit bce", "binary 1-unit categorical", "binary 3 units", "sparse on one-hot",
        "categorical on integers", "bce on integers", "width 4 for 3 classes", "width 2 for one-hot 3"])
def test_a_model_that_does_not_fit_the_labels_is_one_line_saying_which_loss_or_output_fits(tmp_path, form, config,
                                                                                           words):
    from tuning.models import try_builder

    _, problem = _labelled(tmp_path, form)
    with pytest.raises(SpecError) as caught:
        try_builder({"builder": f"{DEMO}:head", **config}, problem)
    message = str(caught.value)
    assert caught.value.field == "model.builder" and words in message and "\n" not in message, message
    assert message.endswith(f"(for the first config {config})")


def test_a_sequential_builder_without_an_input_is_told_to_start_with_one(npz_problem):
    import keras

    from tuning.builders import register_builder
    from tuning.models import try_builder

    def no_input(config, problem):
        return keras.Sequential([keras.layers.LSTM(2), keras.layers.Dense(1)])

    path = register_builder(no_input, "tests:no_input")
    with pytest.raises(SpecError) as caught:
        try_builder({"builder": path, "units": 2}, npz_problem[1])
    message = str(caught.value)
    assert caught.value.field == "model.builder" and "\n" not in message
    assert message.endswith("start the model with keras.Input(problem.input_shape): a Sequential without an Input "
                            "has no shape until it sees data"), message


# ---- mask_value --------------------------------------------------------------------------------

def _padded_pair(family: str, **extra):
    """(model on 7 steps, the same weights on 11 steps), a batch of 7 steps and it padded to 11 with -1."""
    import keras

    from tuning.models import build_model
    from tuning.problems import Problem

    def problem(steps):
        x = np.ones((4, steps, 2), "float32")
        y = np.zeros((4, 1), "float32")
        return Problem("p", "binary", x, y, x, y, y)

    models = []
    for steps in (7, 11):
        keras.utils.set_random_seed(0)
        models.append(build_model({"family": family, "units": 3, **extra}, problem(steps)))
    models[1].set_weights(models[0].get_weights())
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(3, 7, 2)).astype("float32")
    padded = np.concatenate([np.full((3, 4, 2), -1.0, "float32"), seq], axis=1)  # 4 steps of padding in front
    return models, seq, padded


@pytest.mark.parametrize(("family", "extra"), [
    ("vanilla", {}), ("bidirectional", {}), ("cnn_lstm", {}), ("cnn_lstm", {"pool_size": 2}),
    ("encoder_decoder", {}),
])
def test_with_mask_value_the_prediction_does_not_depend_on_the_padding(family, extra):
    (short, long), seq, padded = _padded_pair(family, mask_value=-1.0, **extra)
    np.testing.assert_allclose(forward(long, padded), forward(short, seq), atol=1e-6)
    (short, long), seq, padded = _padded_pair(family, **extra)  # without masking the padding counts
    assert np.abs(forward(long, padded) - forward(short, seq)).max() > 1e-4


def test_masked_configs_fall_back_from_the_fused_runner_and_masking_changes_the_fit(tmp_path):
    from tuning.runners import FusedRunner

    rng = np.random.default_rng(2)
    arrays = _arrays(steps=8)
    for key in ("x_train", "x_val"):  # shorter sequences padded with zeros at the start
        lengths = rng.integers(3, 9, size=len(arrays[key]))
        for row, length in enumerate(lengths):
            arrays[key][row, : 8 - length] = 0.0
    np.savez(tmp_path / "padded.npz", **arrays)
    params = {"path": str(tmp_path / "padded.npz")}
    notices = []
    runner = FusedRunner(1, notice=notices.append)
    masked = list(runner.map([_task(params, {"units": 3, "mask_value": 0.0}, seed) for seed in (0, 1)]))
    assert runner.counts == {"fused": 0, "fallback": 2} and all(f.ok for f in masked)
    assert len(notices) == 1 and "Masking" in notices[0], notices
    plain = list(FusedRunner(1, notice=lambda _: None).map([_task(params, {"units": 3}, 0)]))
    assert masked[0].scores["val_loss"] != plain[0].scores["val_loss"]


# ---- end to end, through the real command ------------------------------------------------------

@pytest.fixture(scope="module")
def killed_study(tmp_path_factory):
    """A builder by file path (one config raises), killed with SIGKILL after 2 fits and resumed."""
    cwd = _project(tmp_path_factory.mktemp("killed"))
    spec = cwd / "study.yaml"
    spec.write_text(_spec_text("conv", '{builder: "demo_models.py:fails_for_wide", params: {filters: 3}}'))
    proc = start_tuning_and_wait_for_fits(spec, cwd / "store.db", cwd, count=2)
    proc.kill()
    proc.wait()
    before = stored_fits(cwd / "store.db")
    resumed = run_tuning("resume", "conv", "--storage", "store.db", cwd=cwd)
    return cwd, spec, before, resumed


@pytest.mark.e2e
@pytest.mark.slow
def test_a_builder_study_killed_and_resumed_redoes_no_fit(killed_study):
    cwd, _, before, resumed = killed_study
    assert 2 <= len(before) < 6
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - len(before)} fits run" in resumed.stdout
    after = stored_fits(cwd / "store.db")
    assert after[: len(before)] == before and len({(k, s) for _, k, s, _ in after}) == 6
    # auto says once, in one line, that a builder runs one seed at a time
    notes = [line for line in resumed.stderr.splitlines() if "runner auto" in line]
    assert notes == ["runner auto: sequential for model.builder (TensorFlow's fused seeds need a built-in family)"]
    # the config whose build raises failed with the builder's own message; the others completed
    with sqlite3.connect(cwd / "store.db") as conn:
        rows = conn.execute("SELECT config_json, status, error FROM tuning_fits").fetchall()
    failed = [(c, e) for c, s, e in rows if s != "ok"]
    assert len(failed) == 2 and all('"width": 3' in c and "width 3 is not supported" in e for c, e in failed)
    assert "2 complete, 1 failed of 3 planned" in resumed.stdout
    status = run_tuning("status", "conv", "--storage", "store.db", cwd=cwd)
    assert status.returncode == 0 and "width=2" in status.stdout, status.stderr
    # nothing of a builder study is fused, and its dropout-masks line says so
    assert "dropout masks: keras (every fit one seed at a time" in status.stdout, status.stdout
    assert "fused, the same fit" not in status.stdout
    report = run_tuning("report", "conv", "--storage", "store.db", "--out", "report", cwd=cwd)
    assert report.returncode == 0 and (cwd / "report" / "index.html").stat().st_size > 0, report.stderr


@pytest.mark.e2e
@pytest.mark.slow
def test_resume_with_another_builder_or_changed_builder_code_is_refused(killed_study):
    cwd, spec, _, _ = killed_study
    fits = stored_fits(cwd / "store.db")
    other = cwd / "other.yaml"
    other.write_text(_spec_text("conv", '{builder: "demo_models.py:conv_lstm", params: {filters: 3}}'))
    line = _one_line_error(run_tuning("run", str(other), cwd=cwd))
    assert "already exists" in line and "different model" in line
    # the same path, its code edited: refused too
    source = (cwd / "demo_models.py").read_text()
    (cwd / "demo_models.py").write_text(source + "\nKERNEL_SCALE = 2  # a top-level statement counts\n")
    try:
        line = _one_line_error(run_tuning("run", str(spec), cwd=cwd))
        assert "another version of builder demo_models.py:fails_for_wide" in line and "model.builder" in line
        # and a refit for export: it would build another model than the stored scores describe
        line = _one_line_error(run_tuning("export", "conv", "--storage", "store.db", "--out", "m.keras", cwd=cwd))
        assert line.startswith("error: model.builder: study 'conv' was fitted with another version of builder "
                               "demo_models.py:fails_for_wide"), line
        assert not (cwd / "m.keras").exists()
    finally:
        (cwd / "demo_models.py").write_text(source)
    assert stored_fits(cwd / "store.db") == fits


@pytest.mark.e2e
@pytest.mark.slow
def test_module_path_builder_on_two_worker_processes_with_a_compiled_metric_objective(tmp_path):
    cwd = _project(tmp_path)
    (cwd / "auc.yaml").write_text(_spec_text(
        "auc", '{builder: "demo_models:compiled_with_auc"}', space="{width: [2, 3]}",
        extra="objective: {metric: val_auc}\nrunner: processes\njobs: 2\n"))
    result = run_tuning("run", "auc.yaml", "--quiet", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "2 complete, 0 failed of 2 planned; 4 fits run" in result.stdout
    with sqlite3.connect(cwd / "store.db") as conn:
        scores = [s for (s,) in conn.execute("SELECT scores_json FROM tuning_fits")]
        (spec_json,) = conn.execute("SELECT spec_json FROM tuning_studies").fetchone()
    assert all('"val_auc"' in s for s in scores) and '"direction": "maximize"' in spec_json
    status = run_tuning("status", "auc", "--storage", "store.db", cwd=cwd)
    assert status.returncode == 0 and "val_auc" in status.stdout and "maximize" in status.stdout
    # a module builder's fingerprint is the same before its first import: export does not call it changed
    exported = run_tuning("export", "auc", "--storage", "store.db", "--out", "auc.keras", cwd=cwd)
    assert exported.returncode == 0 and "as stored" in exported.stdout, exported.stderr


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("keras_backend", ["tensorflow", "jax"])
def test_kerastuner_build_hp_runs_unchanged_with_space_from_builder(tmp_path, keras_backend):
    cwd = _project(tmp_path)
    (cwd / "kt.yaml").write_text(_spec_text(
        "kt", '{builder: "demo_models:kerastuner_build", style: kerastuner}', space="from_builder",
        extra=f"n_trials: 2\nkeras_backend: {keras_backend}\n").replace("sampler: grid", "sampler: random"))
    result = run_tuning("run", "kt.yaml", "--quiet", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "2 complete, 0 failed of 2 planned; 4 fits run" in result.stdout
    import json

    with sqlite3.connect(cwd / "store.db") as conn:
        (spec_json,) = conn.execute("SELECT spec_json FROM tuning_studies").fetchone()
        configs = [json.loads(c) for (c,) in conn.execute("SELECT config_json FROM tuning_fits")]
    stored = json.loads(spec_json)
    # the stored spec holds the space read from the hp calls: status and resume need no import of it
    assert set(stored["space"]) == {"units", "extra_dense", "head", "lr"}
    assert stored["space"]["lr"]["log"] and stored["space"]["units"]["step"] == 2
    assert all(c["units"] in (2, 4, 6) and 1e-3 <= c["lr"] <= 1e-1 for c in configs)
    again = run_tuning("run", "kt.yaml", "--quiet", cwd=cwd)  # the same space read again: continued
    assert again.returncode == 0 and "0 fits run" in again.stdout, again.stderr
    probe = ("import sys\nfrom tuning.cli import app\ntry:\n    app(['status', 'kt', '--storage', 'store.db'])\n"
             "except SystemExit:\n    pass\nprint('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'keras_tuner', "
             "'demo_models') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert "2 complete" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr  # status imports none


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize(("model", "words"), [
    ('{builder: "not_a_module_here:build"}', "module not_a_module_here does not import"),
    ('{builder: "demo_models:returns_none"}', "returned None, not a keras.Model"),
    ('{builder: "demo_models:conv_lstm"}', "unknown metric 'val_auc'"),
])
def test_bad_builders_through_the_cli_are_one_line_and_leave_no_study(tmp_path, model, words):
    cwd = _project(tmp_path)
    (cwd / "bad.yaml").write_text(_spec_text("bad", model, extra="objective: {metric: val_auc}\n"
                                                                  if "conv_lstm" in model else ""))
    line = _one_line_error(run_tuning("run", "bad.yaml", cwd=cwd))
    assert line.startswith("error: bad.yaml: ") and words in line
    db = cwd / "store.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            assert "tuning_studies" not in tables or not conn.execute("SELECT * FROM tuning_studies").fetchall()


@pytest.mark.e2e
@pytest.mark.slow
def test_build_hp_with_sparse_crossentropy_runs_on_integer_labels_and_is_one_line_on_one_hot(tmp_path):
    """The user report through the real command: the most common build(hp), integer labels."""
    shutil.copy(DEMO, tmp_path / "demo_models.py")
    _labelled(tmp_path, "integers")
    _labelled(tmp_path, "one_hot")
    for form in ("integers", "one_hot"):
        (tmp_path / f"{form}.yaml").write_text(_spec_text(
            form, '{builder: "demo_models:kerastuner_sparse", style: kerastuner}', space="from_builder",
        ).replace("data.npz", f"{form}.npz").replace("repeats: 2", "repeats: 1"))
    done = run_tuning("run", "integers.yaml", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 complete, 0 failed of 2 planned; 2 fits run" in done.stdout, done.stdout
    with sqlite3.connect(tmp_path / "store.db") as conn:
        rows = conn.execute("SELECT status, scores_json FROM tuning_fits").fetchall()
    assert [s for s, _ in rows] == ["ok", "ok"] and all('"val_accuracy"' in j for _, j in rows)
    line = _one_line_error(run_tuning("run", "one_hot.yaml", cwd=tmp_path))
    assert line.startswith("error: one_hot.yaml: model.builder: builder demo_models:kerastuner_sparse compiles its "
                           "model with sparse_categorical_crossentropy; the labels are one-hot rows of width 3: "
                           "compile with categorical_crossentropy, or give integer labels 0..2"), line
    with sqlite3.connect(tmp_path / "store.db") as conn:  # no study stored for the refused spec
        assert [n for (n,) in conn.execute("SELECT name FROM tuning_studies")] == ["integers"]
