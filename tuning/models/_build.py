"""The Keras side of :mod:`tuning.models`: the layers of each family, the head, the compile.

Imported on first use of :func:`build_model` or :func:`try_builder` (``tuning.models`` itself
loads no Keras, so a config is checked before Keras starts).
"""

from __future__ import annotations

import keras

from tuning.builders import SPARSE_LOSSES
from tuning.errors import SpecError, one_line
from tuning.models._config import check_shapes, compiled_metric, resolve, resolve_compile
from tuning.problems import Problem

__all__ = ["build_model", "try_builder"]

_HEAD_ACTIVATIONS = {"regression": "linear", "binary": "sigmoid", "multiclass": "softmax"}


def build_model(config: dict, problem: Problem) -> keras.Model:
    """Build and compile the model ``config`` describes, shaped for ``problem``.

    A config that names a ``builder`` gets that function's model (compiled here unless it came
    compiled); every other config a built-in family's.

    Args:
        config: hyperparameters, see the module docstring; unknown keys are ignored.
        problem: supplies the input shape, task, target shape and default loss.

    Returns:
        A compiled functional ``keras.Model`` whose output shape equals ``problem.output_shape``.

    Raises:
        SpecError: a value is out of range or unknown, or the family cannot produce the
            problem's target shape.
        DataError: the problem's targets are neither [samples, outputs] nor
            [samples, out_steps, outputs].
    """
    if config.get("builder"):
        return _from_builder(config, problem)
    cfg = resolve(config)
    in_steps = problem.input_shape[0]
    target_shape = check_shapes(cfg, problem)
    per_step = len(target_shape) == 2
    head_activation = _HEAD_ACTIVATIONS[problem.task]

    inputs = keras.Input(shape=problem.input_shape, name="sequence")
    features, mask = _masking(cfg, inputs, per_step)
    if cfg["family"] == "encoder_decoder":
        outputs = _encoder_decoder(cfg, features, problem.task, target_shape, head_activation)
    else:
        if cfg["family"] == "dense":  # per-step targets keep the steps; a vector target sees the whole window
            encoded = features if per_step else keras.layers.Flatten(name="window")(features)
        else:
            if cfg["family"] == "cnn_lstm":
                features, mask = _cnn_front(cfg, features, in_steps, per_step, mask)
            encoded = _recurrent_stack(cfg, features, cfg["units"], last_returns_sequences=per_step, prefix="",
                                       mask=mask)
        dense = keras.layers.Dense(
            target_shape[-1], activation=head_activation, kernel_initializer=cfg["initializer"], name="head"
        )
        outputs = keras.layers.TimeDistributed(dense, name="per_step_head")(encoded) if per_step else dense(encoded)

    model = keras.Model(inputs, outputs, name=cfg["family"])
    _compile(model, cfg, problem)
    return model


def _compile(model: keras.Model, cfg: dict, problem: Problem, loss: str | None = None) -> None:
    """Compile with the config's optimizer and learning rate and the config's loss, else ``loss``,
    else the problem's (the labels': sparse crossentropy for class indices)."""
    loss = cfg["loss"] or loss or problem.loss
    # class indices: the accuracy of the argmax against the index, under the same name
    metric = (keras.metrics.SparseCategoricalAccuracy(name="accuracy") if loss in SPARSE_LOSSES
              else compiled_metric(problem.task, loss))
    model.compile(optimizer=_optimizer(cfg), loss=loss, metrics=[metric])


def _from_builder(config: dict, problem: Problem) -> keras.Model:
    """The model of the config's builder, compiled here unless the builder compiled it.

    Raises:
        SpecError: the builder does not import (every config would fail alike).
        NotAModel: it returned something other than a Keras model shaped for the problem.
        Exception: whatever the builder raised for this config.
    """
    from tuning.builders import call_builder, check_loss, check_model, describe, fitting_loss

    compile_cfg = resolve_compile(config)
    info = describe(problem, compile_cfg["loss"])
    model = call_builder(config, info)
    check_model(model, config["builder"], info)
    if not getattr(model, "compiled", False):
        _compile(model, compile_cfg, problem, fitting_loss(info, tuple(model.output_shape[1:])))
    check_loss(model, config["builder"], info)
    return model


def try_builder(config: dict, problem: Problem) -> list[str]:
    """Build the config's builder once (before any fit) and return the metrics its model reports.

    This is where a builder that does not import, raises, returns no Keras model (``None``), or a
    model that does not fit the labels (an output layer of another width, a crossentropy of the
    other label form: the message says which fits) stops the study in one line, before the store
    is touched. The metric names (``auc``,
    ``accuracy`` ...) come from evaluating the compiled model on a few validation samples, so
    the objective can be checked against what the fits will score.

    Raises:
        SpecError: ``field="model.builder"``, naming the builder and the config.
    """
    from tuning.builders import NotAModel, user_config

    path = config["builder"]
    shown = user_config(config)
    try:
        model = _from_builder(config, problem)
        sample = min(len(problem.x_val), 8)
        found = model.evaluate(problem.x_val[:sample], problem.y_val[:sample], batch_size=sample, verbose=0,
                               return_dict=True)
    except SpecError:
        raise
    except NotAModel as exc:
        raise SpecError(f"{exc} (for the first config {shown})", field="model.builder") from None
    except Exception as exc:
        unbuilt = "output shape" in str(exc) or "not yet been built" in str(exc) or "has no input" in str(exc)
        hint = ("; start the model with keras.Input(problem.input_shape): a Sequential without an Input has no "
                "shape until it sees data" if unbuilt else "")
        raise SpecError(f"builder {path} failed on the first config {shown}: {one_line(exc)}{hint}",
                        field="model.builder") from None
    finally:
        keras.backend.clear_session(free_memory=False)
    return sorted(found)


def _masking(cfg: dict, inputs, per_step: bool):
    """(features, mask) with the padding ``mask_value`` asks to skip; (inputs, None) without.

    Recurrent layers read the mask a ``Masking`` layer attaches to its output. The Conv1D front
    and Flatten carry no mask (Keras drops it, with a warning on every call), so there the padded
    steps are set to zero by a ``Multiply`` and the mask is returned for the recurrent layers
    after the front. Either layer is one the fused graph does not know, so masked configs are
    fitted one by one.
    """
    if cfg["mask_value"] is None:
        return inputs, None
    if cfg["family"] == "cnn_lstm" or (cfg["family"] == "dense" and not per_step):
        mask = keras.ops.any(keras.ops.not_equal(inputs, cfg["mask_value"]), axis=-1)
        weights = keras.ops.cast(keras.ops.expand_dims(mask, -1), inputs.dtype)
        return keras.layers.Multiply(name="masking")([inputs, weights]), mask
    return keras.layers.Masking(mask_value=cfg["mask_value"], name="masking")(inputs), None


def _cnn_front(cfg: dict, inputs, in_steps: int, per_step: bool, mask=None):
    """Conv1D (+ MaxPooling1D) feature extractor; ``same`` padding keeps the step count.

    Returns (features, mask): the input's mask, pooled like the steps (a pooled step counts when
    any step in its window does), for the recurrent layers after the front.
    """
    x = keras.layers.Conv1D(
        cfg["filters"],
        cfg["kernel_size"],
        padding="same",
        activation="relu",
        kernel_initializer=cfg["initializer"],
        name="conv1d",
    )(inputs)
    pool = cfg["pool_size"]
    if pool > 1:  # check_shapes has refused a pool that per-step targets or the window cannot take
        x = keras.layers.MaxPooling1D(pool, name="max_pooling1d")(x)
        if mask is not None:
            kept = (in_steps // pool) * pool
            windows = keras.ops.reshape(mask[:, :kept], (-1, in_steps // pool, pool))
            mask = keras.ops.any(windows, axis=-1)
    return x, mask


def _encoder_decoder(cfg: dict, inputs, task: str, target_shape: tuple[int, ...], head_activation: str):
    """Encode to one state, repeat it once per output step, decode each step with one Dense."""
    if len(target_shape) == 2:
        out_steps, per_step_outputs, flatten_to = target_shape[0], target_shape[1], None
    elif task == "regression":
        # A vector regression target is a horizon: one decoded step per value.
        out_steps, per_step_outputs, flatten_to = target_shape[0], 1, target_shape
    else:
        # A class vector is one decision, hence one decoded step holding all classes.
        out_steps, per_step_outputs, flatten_to = 1, target_shape[0], target_shape

    state = _recurrent_stack(cfg, inputs, cfg["units"], last_returns_sequences=False, prefix="encoder_")
    x = keras.layers.RepeatVector(out_steps, name="repeat_state")(state)
    x = _recurrent_stack(cfg, x, cfg["decoder_units"], last_returns_sequences=True, prefix="decoder_")
    dense = keras.layers.Dense(
        per_step_outputs, activation=head_activation, kernel_initializer=cfg["initializer"], name="head"
    )
    x = keras.layers.TimeDistributed(dense, name="per_step_head")(x)
    if flatten_to is not None:
        x = keras.layers.Reshape(flatten_to, name="to_target_shape")(x)
    return x


def _recurrent_stack(cfg: dict, x, units: list[int], *, last_returns_sequences: bool, prefix: str, mask=None):
    """One recurrent layer per entry of ``units``; all but the last hand on full sequences.

    ``mask`` goes to the first layer when the tensor does not carry one itself (after a Conv1D).
    """
    cell_class = keras.layers.GRU if cfg["cell"] == "gru" else keras.layers.LSTM
    bidirectional = cfg["family"] == "bidirectional"
    for index, width in enumerate(units, start=1):
        name = f"{prefix}{cfg['cell']}_{index}"
        layer = cell_class(
            width,
            activation=cfg["activation"],
            dropout=cfg["dropout"],
            recurrent_dropout=cfg["recurrent_dropout"],
            kernel_initializer=cfg["initializer"],
            return_sequences=index < len(units) or last_returns_sequences,
            name=name,
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{name}")
        x = layer(x, mask=mask) if mask is not None and index == 1 else layer(x)
    return x


def _optimizer(cfg: dict) -> keras.optimizers.Optimizer:
    rate = cfg["learning_rate"]
    name = cfg["optimizer"]
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=rate, momentum=cfg["momentum"])
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=rate)
    if name == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=rate)
    return keras.optimizers.Adam(learning_rate=rate)
