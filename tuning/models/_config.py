"""A model config resolved and checked: every key :func:`tuning.models.build_model` reads, with its
default, each value in range, and the family able to give the problem's target shape (Keras only
to look up a loss name). :func:`check_configs` runs these checks on a study's configs before the
study is stored, so a value the models would refuse never leaves a study behind."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from tuning.errors import DataError, SpecError
from tuning.spec import COMPILE_KEYS, ModelSpec
from tuning.vocabulary import (
    ACTIVATIONS,
    CELLS,
    FAMILIES,
    INITIALIZERS,
    OPTIMIZERS,
    SGD_MOMENTUM,
    SPEC_LOSSES,
    default_layers,
)

# The accepted names live in tuning.vocabulary, so that a spec is checked without importing Keras;
# the defaults a spec states are its ModelSpec's, read from there (those it leaves None are here).
_COMMON_DEFAULTS = {
    **{name: ModelSpec.model_fields[name].default
       for name in ("cell", "units", "dropout", "recurrent_dropout", "activation", "initializer", "optimizer",
                    "learning_rate", "loss", "mask_value")},
    "momentum": SGD_MOMENTUM,
}
_FAMILY_DEFAULTS = {
    "vanilla": {},
    "stacked": {},
    "bidirectional": {},
    "gru": {"cell": "gru"},
    "cnn_lstm": {"filters": 32, "kernel_size": 3, "pool_size": 1},
    "encoder_decoder": {"decoder_layers": 1, "decoder_units": None},
    "dense": {},
}


def model_defaults(family: str = "vanilla") -> dict:
    """Every key :func:`build_model` reads for ``family``, with its default value.

    Lets the caller record the fully resolved config next to the sampled one, so two runs
    that differ only by an implicit default can still be told apart later. ``loss: None``
    means "the problem's loss"; ``decoder_units: None`` means "the encoder's last width".
    """
    _check_choice("family", family, FAMILIES)
    return {"family": family, **_COMMON_DEFAULTS, "layers": default_layers(family), **_FAMILY_DEFAULTS[family]}


def resolve_compile(config: dict) -> dict:
    """The compile settings of a builder's config: optimizer, learning rate, momentum, loss."""
    return resolve({"family": "vanilla", **{k: config[k] for k in COMPILE_KEYS if k in config}})


def resolve(config: dict) -> dict:
    """Merge ``config`` over the family defaults and validate every key the family reads.

    Validating up front turns Keras's deep, layer-specific errors into one line that names
    the field, and catches a bad value before any (slow) graph is built.
    """
    if not isinstance(config, dict):
        raise SpecError(f"model config must be a mapping, got {type(config).__name__}", field="model")
    family = config.get("family") or "vanilla"
    cfg = model_defaults(family)
    cfg.update({key: value for key, value in config.items() if key in cfg and value is not None})
    if family == "gru":
        cfg["cell"] = "gru"

    _check_choice("cell", cfg["cell"], CELLS)
    _check_choice("activation", cfg["activation"], ACTIVATIONS)
    _check_choice("initializer", cfg["initializer"], INITIALIZERS)
    _check_choice("optimizer", cfg["optimizer"], OPTIMIZERS)
    cfg["layers"] = _positive_int("layers", cfg["layers"])
    cfg["units"] = _per_layer_units("units", cfg["units"], cfg["layers"], "layers")
    for key in ("dropout", "recurrent_dropout"):
        cfg[key] = _fraction(key, cfg[key])
    rate = cfg["learning_rate"]
    if not _is_real(rate) or not math.isfinite(rate) or rate <= 0:
        raise SpecError(f"must be a number > 0 (got {rate!r})", field="model.learning_rate")
    cfg["learning_rate"] = float(rate)
    if cfg["optimizer"] == "sgd":
        cfg["momentum"] = _fraction("momentum", cfg["momentum"])
    if cfg["loss"] is not None:
        _check_loss(cfg["loss"])
    if cfg["mask_value"] is not None:
        if not _is_real(cfg["mask_value"]) or not math.isfinite(cfg["mask_value"]):
            raise SpecError(f"must be a finite number (got {cfg['mask_value']!r})", field="model.mask_value")
        cfg["mask_value"] = float(cfg["mask_value"])

    if family == "cnn_lstm":
        for key in ("filters", "kernel_size", "pool_size"):
            cfg[key] = _positive_int(key, cfg[key])
    if family == "encoder_decoder":
        cfg["decoder_layers"] = _positive_int("decoder_layers", cfg["decoder_layers"])
        decoder_units = cfg["decoder_units"] if cfg["decoder_units"] is not None else cfg["units"][-1]
        cfg["decoder_units"] = _per_layer_units(
            "decoder_units", decoder_units, cfg["decoder_layers"], "decoder_layers"
        )
    return cfg


def _is_real(value) -> bool:
    # bool is an int subclass; "dropout: true" is a typo, not 1.0.
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_choice(key: str, value, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise SpecError(f"must be one of {', '.join(allowed)} (got {value!r})", field=f"model.{key}")


def _positive_int(key: str, value) -> int:
    # Samplers and YAML may hand over 32.0 or numpy integers; accept any whole number.
    if not _is_real(value) or not float(value).is_integer() or value < 1:
        raise SpecError(f"must be an integer >= 1 (got {value!r})", field=f"model.{key}")
    return int(value)


def _fraction(key: str, value) -> float:
    if not _is_real(value) or not 0 <= value < 1:
        raise SpecError(f"must be a number in [0, 1) (got {value!r})", field=f"model.{key}")
    return float(value)


def _per_layer_units(key: str, value, layers: int, layers_key: str) -> list[int]:
    """One width per layer: an int is repeated, a list must have one entry per layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != layers:
            raise SpecError(
                f"has {len(value)} entries but {layers_key} is {layers}; give one width per layer",
                field=f"model.{key}",
            )
        return [_positive_int(key, width) for width in value]
    return [_positive_int(key, value)] * layers


def _check_loss(loss) -> None:
    if loss in SPEC_LOSSES:  # the names a spec takes: known without starting Keras
        return
    try:
        import keras

        ok = isinstance(loss, str) and keras.losses.get(loss) is not None
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise SpecError(
            f"{loss!r} is not a Keras loss name (e.g. mse, mae, huber, binary_crossentropy, "
            "categorical_crossentropy)",
            field="model.loss",
        )


def check_shapes(cfg: dict, problem: Any) -> tuple[int, ...]:
    """The shape of one sample's target, after checking that ``cfg``'s family can produce it.

    ``cfg`` is a config :func:`resolve` returned; ``problem`` anything with ``name``, ``input_shape``,
    ``output_shape`` and ``sequence_output`` (a :class:`~tuning.problems.Problem`).
    """
    shape = tuple(problem.output_shape)
    if len(shape) != (2 if problem.sequence_output else 1):
        kind = "[samples, out_steps, outputs]" if problem.sequence_output else "[samples, outputs]"
        raise DataError(f"problem {problem.name}: targets of one sample have shape {shape}; expected {kind}")
    in_steps = problem.input_shape[0]
    per_step = len(shape) == 2
    if per_step and cfg["family"] != "encoder_decoder" and shape[0] != in_steps:
        raise SpecError(f"family {cfg['family']!r} cannot map {in_steps} input steps to {shape[0]} output steps; "
                        "use family: encoder_decoder", field="model.family")
    pool = cfg.get("pool_size", 1) if cfg["family"] == "cnn_lstm" else 1
    # Pooling shortens the sequence, which breaks one-prediction-per-input-step targets and leaves
    # nothing to recur over when the pool is wider than the input.
    if pool > 1 and per_step:
        raise SpecError(f"pool_size {pool} would shorten {in_steps} steps to {in_steps // pool}; "
                        "per-step targets need pool_size: 1", field="model.pool_size")
    if pool > in_steps:
        raise SpecError(f"pool_size {pool} exceeds the {in_steps} input steps", field="model.pool_size")
    return shape


_MAE_LOSSES = ("mae", "mean_absolute_error")


def compiled_metric(task: str, loss: str) -> str:
    """The metric a built-in family is compiled with beside its loss: ``mae`` for a regression (``mse``
    when the loss is already the MAE), ``accuracy`` for a classification."""
    if task == "regression":
        return "mse" if loss in _MAE_LOSSES else "mae"
    return "accuracy"


def logged_curves(cfg: dict, problem: Any) -> list[str]:
    """The curves a built-in family's fit logs every epoch: its loss and metric, then on validation."""
    names = ["loss", compiled_metric(problem.task, cfg["loss"] or problem.loss)]
    return names + [f"val_{name}" for name in names]


def check_configs(configs: Iterable[dict], problem: Any, searched: Iterable[str] = (),
                  monitors: Iterable[tuple[str, str]] = ()) -> None:
    """Raise the first :class:`SpecError` :func:`resolve` or :func:`check_shapes` would raise for a
    built-in family's config among ``configs``, before anything is fitted or stored.

    ``searched``: the space's axes; an error on one of them names ``space.<key>`` (where the user
    wrote the value) rather than ``model.<key>``. ``monitors``: (field, curve) pairs, e.g.
    ``("pruner.monitor", "val_mae")``, each a curve every config's fit must log.
    """
    searched, monitors = set(searched), list(monitors)
    for config in configs:
        try:
            cfg = resolve(config)
            check_shapes(cfg, problem)
        except SpecError as exc:
            key = (exc.field or "").removeprefix("model.")
            if key in searched:
                raise SpecError(exc.detail, field=f"space.{key}") from None
            raise
        logged = logged_curves(cfg, problem)
        for field, monitor in monitors:
            if monitor not in logged:
                raise SpecError(f"{monitor!r} is not a curve these fits log; they log {', '.join(logged)}",
                                field=field)
