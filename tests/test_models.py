"""Tests of tuning.models: every family fits every target shape it can produce, and the config
values really reach the layers and the optimizer.

Problems are built from tiny random arrays rather than the registry, so these tests pin the
model builder alone. Widths are 3-4 units and data 16 samples so the whole file stays fast; a
build resets Keras without the full garbage collection, as ``fit_one`` does (that collection was
most of a build's time here), and the 28-case family matrix trains one eager batch each.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tuning.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # before Keras imports it: as the package does, without JAX

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tuning.errors import SpecError  # noqa: E402
from tuning.models import (  # noqa: E402
    CELLS,
    FAMILIES,
    INITIALIZERS,
    OPTIMIZERS,
    build_model,
    model_defaults,
)
from tuning.problems._base import Problem  # noqa: E402

SAMPLES, STEPS, FEATURES = 16, 6, 2
TINY = {"units": 3, "filters": 4}


def make_problem(kind: str) -> Problem:
    """A problem of one target kind, on random float32 data (nothing here needs to be learnable)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, STEPS, FEATURES)).astype(np.float32)
    sequence_output = False
    if kind == "regression_h1":
        task, y = "regression", rng.normal(size=(SAMPLES, 1))
    elif kind == "regression_h3":
        task, y = "regression", rng.normal(size=(SAMPLES, 3))
    elif kind == "binary_per_step":
        task, y, sequence_output = "binary", rng.integers(0, 2, size=(SAMPLES, STEPS, 1)), True
    elif kind == "multiclass_vector":
        task, y = "multiclass", np.eye(3)[rng.integers(0, 3, size=SAMPLES)]
    elif kind == "multiclass_seq2seq":
        task, y, sequence_output = "multiclass", np.eye(4)[rng.integers(0, 4, size=(SAMPLES, 2))], True
    else:
        raise ValueError(kind)
    y = y.astype(np.float32)
    return Problem(
        name=kind,
        task=task,
        x_train=x,
        y_train=y,
        x_val=x,
        y_val=y,
        naive_val=np.zeros_like(y),
        sequence_output=sequence_output,
    )


def build(config: dict, kind: str = "regression_h1", seed: int = 0) -> keras.Model:
    """Seed as the evaluator does, then build on a fresh graph so layer names do not pile up.

    ``free_memory=False`` as in ``fit_one``: the default runs a full ``gc.collect()`` each time,
    0.3 to 0.4 s a build in a test process (measured 2026-12-02), and names are reset either way.
    """
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    return build_model({**TINY, **config}, make_problem(kind))


def refuse(config: dict, kind: str = "regression_h1") -> SpecError:
    """The SpecError ``config`` raises; no session reset, as validation fails before any layer."""
    with pytest.raises(SpecError) as caught:
        build_model({**TINY, **config}, make_problem(kind))
    return caught.value


def layers_of(model: keras.Model, cls: type) -> list:
    return [layer for layer in model.layers if isinstance(layer, cls)]


def fit_one_epoch(model: keras.Model, problem: Problem) -> float:
    history = model.fit(problem.x_train, problem.y_train, epochs=1, batch_size=8, verbose=0)
    return history.history["loss"][0]


def train_one_batch(model: keras.Model, problem: Problem) -> float:
    """One training step on all 16 samples: the train step ``fit`` runs (loss on these targets,
    gradients, an optimizer update), without ``fit``'s own set-up of about 0.4 s a call."""
    return float(model.train_on_batch(problem.x_train, problem.y_train, return_dict=True)["loss"])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("kind", ["regression_h1", "regression_h3", "binary_per_step", "multiclass_vector"])
def test_family_builds_and_fits(family, kind):
    problem = make_problem(kind)
    model = build({"family": family}, kind)
    assert model.output_shape == (None, *problem.output_shape)
    # Eager keeps the 28-case matrix fast (tracing costs ~3 s a model), and one train step (not
    # ``fit``) is what each case needs: the family's output trains against this target shape.
    # ``fit`` in graph mode, which the evaluator uses, is covered once per family below.
    model.run_eagerly = True
    assert np.isfinite(train_one_batch(model, problem))


@pytest.mark.parametrize(
    "family, kind",
    [
        ("vanilla", "regression_h3"),
        ("stacked", "binary_per_step"),
        ("bidirectional", "multiclass_vector"),
        ("gru", "regression_h1"),
        ("cnn_lstm", "regression_h3"),
        ("encoder_decoder", "multiclass_seq2seq"),
    ],
)
def test_family_fits_in_graph_mode(family, kind):
    problem = make_problem(kind)
    model = build({"family": family, "pool_size": 2}, kind)
    assert model.output_shape == (None, *problem.output_shape)
    assert np.isfinite(fit_one_epoch(model, problem))


def test_encoder_decoder_maps_input_steps_to_fewer_output_steps():
    problem = make_problem("multiclass_seq2seq")
    model = build({"family": "encoder_decoder"}, "multiclass_seq2seq")
    assert model.output_shape == (None, 2, 4)
    assert model.get_layer("repeat_state").output.shape[1] == 2
    model.run_eagerly = True  # ``fit`` of this family and target: test_family_fits_in_graph_mode
    assert np.isfinite(train_one_batch(model, problem))


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "encoder_decoder"])
def test_other_families_refuse_different_output_length(family):
    error = refuse({"family": family}, "multiclass_seq2seq")
    assert error.field == "model.family"
    assert "cannot map 6 input steps to 2 output steps; use family: encoder_decoder" in str(error)


def test_dense_family_is_a_linear_model_of_the_whole_window():
    problem = make_problem("regression_h3")
    model = build({"family": "dense", "units": 64, "layers": 3}, "regression_h3")  # recurrent keys ignored
    assert not layers_of(model, keras.layers.RNN) and not layers_of(model, keras.layers.Bidirectional)
    (head,) = layers_of(model, keras.layers.Dense)
    steps, features = problem.input_shape
    assert head.kernel.shape == (steps * features, 3)  # every step of the window reaches every output
    x = problem.x_train[:4]
    expected = x.reshape(len(x), -1) @ keras.ops.convert_to_numpy(head.kernel) + keras.ops.convert_to_numpy(head.bias)
    assert np.allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_encoder_decoder_reshapes_a_horizon_vector():
    model = build({"family": "encoder_decoder"}, "regression_h3")
    assert model.get_layer("repeat_state").output.shape[1] == 3
    assert model.get_layer("per_step_head").output.shape == (None, 3, 1)
    assert model.output_shape == (None, 3)


def test_encoder_decoder_decoder_defaults_to_last_encoder_width():
    model = build({"family": "encoder_decoder", "layers": 2, "units": [4, 3]})
    assert model.get_layer("encoder_lstm_1").units == 4
    assert model.get_layer("encoder_lstm_2").units == 3
    assert model.get_layer("decoder_lstm_1").units == 3
    model = build({"family": "encoder_decoder", "decoder_layers": 2, "decoder_units": [2, 4]})
    assert [model.get_layer(f"decoder_lstm_{i}").units for i in (1, 2)] == [2, 4]


def test_heads_follow_the_task():
    assert model_head("regression_h1").activation.__name__ == "linear"
    assert model_head("multiclass_vector").activation.__name__ == "softmax"
    per_step = build({}, "binary_per_step").get_layer("per_step_head")
    assert per_step.layer.activation.__name__ == "sigmoid"


def model_head(kind: str):
    return build({}, kind).get_layer("head")


def test_stacked_defaults_to_two_layers_and_per_layer_units_apply():
    assert len(layers_of(build({"family": "stacked"}), keras.layers.LSTM)) == 2
    model = build({"family": "stacked", "layers": 3, "units": [4, 3, 2]})
    lstms = layers_of(model, keras.layers.LSTM)
    assert [layer.units for layer in lstms] == [4, 3, 2]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]


def test_cell_choice_and_gru_family():
    assert layers_of(build({"cell": "gru"}), keras.layers.GRU)
    forced = build({"family": "gru", "cell": "lstm"})
    assert layers_of(forced, keras.layers.GRU) and not layers_of(forced, keras.layers.LSTM)
    assert set(CELLS) == {"lstm", "gru"}


def test_bidirectional_doubles_the_recurrent_width():
    plain = build({"family": "vanilla", "units": 3}).get_layer("lstm_1")
    wrapped = build({"family": "bidirectional", "units": 3}).get_layer("bidirectional_lstm_1")
    assert plain.output.shape[-1] == 3
    assert wrapped.output.shape[-1] == 6


def test_cnn_front_and_pooling():
    model = build({"family": "cnn_lstm", "filters": 5, "kernel_size": 2, "pool_size": 2})
    conv = model.get_layer("conv1d")
    assert (conv.filters, conv.kernel_size, conv.padding) == (5, (2,), "same")
    assert model.get_layer("max_pooling1d").output.shape[1] == STEPS // 2
    no_pool = build({"family": "cnn_lstm"})
    assert not layers_of(no_pool, keras.layers.MaxPooling1D)
    assert refuse({"family": "cnn_lstm", "pool_size": 2}, "binary_per_step").field == "model.pool_size"


def test_recurrent_settings_reach_the_layers():
    model = build({"family": "stacked", "dropout": 0.2, "recurrent_dropout": 0.1, "activation": "relu"})
    for layer in layers_of(model, keras.layers.LSTM):
        config = layer.get_config()
        assert config["dropout"] == pytest.approx(0.2)
        assert config["recurrent_dropout"] == pytest.approx(0.1)
        assert config["activation"] == "relu"


@pytest.mark.parametrize(
    "initializer, class_name",
    [("he_normal", "HeNormal"), ("orthogonal", "Orthogonal"), ("glorot_uniform", "GlorotUniform")],
)
def test_initializer_reaches_recurrent_conv_and_dense(initializer, class_name):
    assert initializer in INITIALIZERS
    model = build({"family": "cnn_lstm", "initializer": initializer})
    for name in ("conv1d", "lstm_1", "head"):
        assert model.get_layer(name).get_config()["kernel_initializer"]["class_name"] == class_name


@pytest.mark.parametrize(
    "name, cls", [("adam", "Adam"), ("rmsprop", "RMSprop"), ("sgd", "SGD"), ("adagrad", "Adagrad")]
)
def test_optimizer_and_learning_rate(name, cls):
    assert name in OPTIMIZERS
    model = build({"optimizer": name, "learning_rate": 0.005, "momentum": 0.5})
    assert type(model.optimizer).__name__ == cls
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)
    if name == "sgd":
        assert model.optimizer.momentum == pytest.approx(0.5)


def test_default_optimizer_settings():
    optimizer = build({}).optimizer
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert float(optimizer.learning_rate) == pytest.approx(0.001)
    sgd = build({"optimizer": "sgd"}).optimizer
    assert sgd.momentum == pytest.approx(0.9)


def test_loss_and_metrics():
    compiled = build({}).get_compile_config()
    assert (compiled["loss"], compiled["metrics"]) == ("mse", ["mae"])
    compiled = build({"loss": "mae"}).get_compile_config()
    assert (compiled["loss"], compiled["metrics"]) == ("mae", ["mse"])
    compiled = build({}, "multiclass_vector").get_compile_config()
    assert (compiled["loss"], compiled["metrics"]) == ("categorical_crossentropy", ["accuracy"])


def test_unknown_and_fit_keys_are_ignored():
    model = build({"epochs": 50, "batch_size": 4, "patience": 3, "no_such_key": object()})
    assert model.output_shape == (None, 1)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("family", "transformer", "encoder_decoder"),
        ("cell", "rnn", "lstm, gru"),
        ("initializer", "zeros", "orthogonal"),
        ("optimizer", "adamw", "adagrad"),
        ("activation", "swish", "softsign"),
        ("layers", 0, ">= 1"),
        ("units", 0, ">= 1"),
        ("units", 2.5, ">= 1"),
        ("dropout", 1.0, "[0, 1)"),
        ("dropout", -0.1, "[0, 1)"),
        ("recurrent_dropout", 1.5, "[0, 1)"),
        ("learning_rate", 0, "> 0"),
        ("learning_rate", -0.01, "> 0"),
        ("loss", "not_a_loss", "not a Keras loss"),
    ],
)
def test_bad_values_name_the_field(key, value, expected):
    error = refuse({key: value})
    assert error.field == f"model.{key}"
    assert expected in str(error)


def test_per_layer_units_must_match_layers():
    error = refuse({"family": "stacked", "units": [4, 3, 2]})
    assert error.field == "model.units"
    assert "3 entries but layers is 2" in str(error)


def test_same_seed_gives_identical_initial_weights():
    config = {"family": "cnn_lstm"}
    first = build(config, seed=7).get_weights()
    second = build(config, seed=7).get_weights()
    other = build(config, seed=8).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_model_defaults():
    assert model_defaults("stacked")["layers"] == 2
    assert model_defaults("gru")["cell"] == "gru"
    assert {"filters", "kernel_size", "pool_size"} <= set(model_defaults("cnn_lstm"))
    assert model_defaults("encoder_decoder")["decoder_layers"] == 1
    assert model_defaults()["units"] == 32
    with pytest.raises(SpecError) as caught:
        model_defaults("transformer")
    assert caught.value.field == "model.family"
