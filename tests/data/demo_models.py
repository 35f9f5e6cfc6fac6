"""Builders the builder tests import, by module path (``demo_models:...``) and by file path."""

import keras


def conv_lstm(config, problem):
    """A Conv1D front and an LSTM, left for tuning to compile (build(config, problem) style)."""
    inputs = keras.Input(shape=problem.input_shape)
    x = keras.layers.Conv1D(config.get("filters", 4), config.get("kernel", 3), padding="same", activation="relu")(inputs)
    x = keras.layers.LSTM(config["width"])(x)
    activation = "softmax" if problem["task"] == "multiclass" else "sigmoid"
    outputs = keras.layers.Dense(problem.output_shape[-1], activation=activation)(x)
    return keras.Model(inputs, outputs)


def compiled_with_auc(config, problem):
    """Compiled by the builder itself, with an AUC metric the objective can name (val_auc)."""
    model = conv_lstm(config, problem)
    model.compile(optimizer=keras.optimizers.Adam(config.get("lr", 0.01)), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    return model


def fails_for_wide(config, problem):
    """Raises for one config (width 3): that config's fits fail, the others run."""
    if config["width"] == 3:
        raise ValueError("width 3 is not supported by this model")
    return conv_lstm(config, problem)


def width_from_seed(config, problem):
    """An LSTM whose width NumPy's random state picks (the fit's seed sets it): the seeds of one
    config build models of different shapes, which cannot be replicas of one step."""
    import numpy as np

    return conv_lstm({**config, "width": int(np.random.randint(2, 6))}, problem)


def returns_none(config, problem):
    return None


def kerastuner_build(hp):
    """KerasTuner's build(hp), unchanged: it declares its own space and compiles itself."""
    model = keras.Sequential([keras.Input(shape=(6, 2))])
    model.add(keras.layers.LSTM(hp.Int("units", 2, 6, step=2)))
    if hp.Boolean("extra_dense"):
        model.add(keras.layers.Dense(4, activation="relu"))
    model.add(keras.layers.Dense(1, activation=hp.Choice("head", ["sigmoid"])))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def kerastuner_sparse(hp):
    """KerasTuner's build(hp) the most common way: integer class labels, sparse crossentropy."""
    model = keras.Sequential([keras.Input(shape=(6, 2)), keras.layers.LSTM(hp.Int("units", 2, 4, step=2)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [0.01])), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def kerastuner_categorical(hp):
    """The same for one-hot labels: categorical crossentropy."""
    model = keras.Sequential([keras.Input(shape=(6, 2)), keras.layers.LSTM(hp.Int("units", 2, 4, step=2)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [0.01])), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def head(config, problem):
    """An LSTM ending in Dense(config["outputs"], config["activation"]), compiled with config["own_loss"] if set."""
    inputs = keras.Input(shape=problem.input_shape)
    x = keras.layers.LSTM(2)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(config["outputs"], activation=config["activation"])(x))
    if config.get("own_loss"):
        model.compile(optimizer="adam", loss=config["own_loss"], metrics=["accuracy"])
    return model
