"""The network of one standalone model, described in plain data (the *Spec dataclasses, :class:`FusedNet`).

:func:`parse_model` reads a model :func:`tuning.models.build_model` built and describes it layer by
layer, or raises :class:`Unsupported` for anything the fused graph does not compute; the graph
(:mod:`._graph`) is then written from the description alone, never from Keras's layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Losses the fused graph computes itself (Keras names and aliases).
FUSED_LOSSES = ("mse", "mean_squared_error", "mae", "mean_absolute_error", "binary_crossentropy",
          "categorical_crossentropy", "sparse_categorical_crossentropy")
#: Keras optimizers whose update of a variable is elementwise: slice r's update only reads slice r.
ELEMENTWISE_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD", "Adagrad")


class Unsupported(Exception):
    """The fused runner cannot take this config; the message says why (one line)."""


class NeedsKerasMasks(Unsupported):
    """The config can be fused, but not value for value: its dropout masks would differ from Keras's."""



@dataclass
class ConvSpec:
    name: str
    kernel_size: int
    filters: int
    input_width: int
    activation: str
    pool: int = 1


@dataclass
class RnnSpec:
    name: str
    cell: str  # "lstm" | "gru"
    units: int
    input_width: int
    activation: str
    recurrent_activation: str
    dropout: float
    recurrent_dropout: float
    return_sequences: bool
    bidirectional: bool


@dataclass
class RepeatSpec:
    n: int


@dataclass
class FlattenSpec:
    width: int  # steps x features of the flattened window


@dataclass
class HeadSpec:
    name: str
    units: int
    activation: str
    time_distributed: bool
    reshape_to: tuple[int, ...] | None = None


@dataclass
class FusedNet:
    """The layers of one standalone model, and the names of the layers whose weights it copies."""

    layers: list = field(default_factory=list)
    weight_layers: list[str] = field(default_factory=list)  # in the order of the fused variables
    weight_shapes: list[tuple[int, ...]] = field(default_factory=list)
    loss: str = ""
    metric: str = ""
    optimizer_config: dict = field(default_factory=dict)
    optimizer_class: str = ""  # "module.Name": by name, so that a net pickles without importing Keras

    def make_optimizer(self):
        """A new optimizer of the standalone model's class and config."""
        import importlib

        module, _, name = self.optimizer_class.rpartition(".")
        return getattr(importlib.import_module(module), name).from_config(self.optimizer_config)

    @property
    def dropout_widths(self) -> list[tuple[float, int]]:
        """(rate, width) of every dropout mask one sample needs per training step, in draw order."""
        masks = []
        for layer in self.layers:
            if not isinstance(layer, RnnSpec):
                continue
            gates = 4 if layer.cell == "lstm" else 3
            per_gate = layer.recurrent_dropout > 0  # Keras's implementation 1: one mask per gate
            for _ in range(2 if layer.bidirectional else 1):
                if layer.dropout > 0:
                    masks += [(layer.dropout, layer.input_width)] * (gates if per_gate else 1)
                if layer.recurrent_dropout > 0:
                    masks += [(layer.recurrent_dropout, layer.units)] * gates
        return masks


def _activation_name(function) -> str:
    import keras

    name = keras.activations.serialize(function)
    return name if isinstance(name, str) else str(name.get("config", name))


def parse_model(model, problem) -> FusedNet:
    """Describe a model built by :func:`tuning.models.build_model`; :class:`Unsupported` if unknown."""
    import keras

    net = FusedNet()
    width = problem.input_shape[1]
    steps = problem.input_shape[0]
    sequence = True
    previous = None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            previous = layer
            continue
        if previous is None or layer.input is not previous.output:
            raise Unsupported("the model is not a chain of layers")
        previous = layer
        if isinstance(layer, keras.layers.Conv1D) and not isinstance(layer, keras.layers.Conv1DTranspose):
            if (layer.padding != "same" or tuple(layer.strides) != (1,) or tuple(layer.dilation_rate) != (1,)
                    or layer.groups != 1 or not layer.use_bias):
                raise Unsupported("Conv1D other than stride 1, same padding, with bias")
            spec = ConvSpec(layer.name, int(layer.kernel_size[0]), int(layer.filters), width,
                            _activation_name(layer.activation))
            net.layers.append(spec)
            net.weight_layers.append(layer.name)
            width = spec.filters
        elif isinstance(layer, keras.layers.MaxPooling1D):
            pool = int(layer.pool_size[0])
            if layer.padding != "valid" or int(layer.strides[0]) != pool or not net.layers \
                    or not isinstance(net.layers[-1], ConvSpec) or net.layers[-1].pool != 1:
                raise Unsupported("MaxPooling1D other than after Conv1D with strides = pool_size")
            net.layers[-1].pool = pool
            steps = steps // pool
        elif isinstance(layer, (keras.layers.LSTM, keras.layers.GRU, keras.layers.Bidirectional)):
            bidirectional = isinstance(layer, keras.layers.Bidirectional)
            inner = layer.forward_layer if bidirectional else layer
            if bidirectional and (layer.merge_mode != "concat" or not layer.backward_layer.go_backwards):
                raise Unsupported("Bidirectional other than merge_mode concat")
            cell = inner.cell
            kind = "lstm" if isinstance(inner, keras.layers.LSTM) else "gru"
            if (inner.go_backwards or inner.stateful or inner.return_state or not cell.use_bias
                    or (kind == "gru" and not cell.reset_after) or not sequence):
                raise Unsupported(f"{type(inner).__name__} with options other than build_model's")
            spec = RnnSpec(layer.name, kind, int(cell.units), width, _activation_name(cell.activation),
                           _activation_name(cell.recurrent_activation), float(cell.dropout),
                           float(cell.recurrent_dropout), bool(inner.return_sequences), bidirectional)
            net.layers.append(spec)
            net.weight_layers.append(layer.name)
            width = spec.units * (2 if bidirectional else 1)
            sequence = spec.return_sequences
        elif isinstance(layer, keras.layers.Flatten):  # the dense family: the whole window into the head
            if not sequence:
                raise Unsupported("Flatten of a vector")
            net.layers.append(FlattenSpec(steps * width))
            width, sequence = steps * width, False
        elif isinstance(layer, keras.layers.RepeatVector):
            if sequence:
                raise Unsupported("RepeatVector of a sequence")
            net.layers.append(RepeatSpec(int(layer.n)))
            sequence = True
        elif isinstance(layer, (keras.layers.Dense, keras.layers.TimeDistributed)):
            distributed = isinstance(layer, keras.layers.TimeDistributed)
            dense = layer.layer if distributed else layer
            if not isinstance(dense, keras.layers.Dense) or not dense.use_bias or distributed != sequence:
                raise Unsupported("a head other than Dense on the last state or TimeDistributed(Dense)")
            net.layers.append(HeadSpec(layer.name, int(dense.units), _activation_name(dense.activation), distributed))
            net.weight_layers.append(layer.name)
            width = int(dense.units)
        elif isinstance(layer, keras.layers.Reshape):
            if not net.layers or not isinstance(net.layers[-1], HeadSpec):
                raise Unsupported("Reshape other than of the head's output")
            net.layers[-1].reshape_to = tuple(int(d) for d in layer.target_shape)
        else:
            raise Unsupported(f"layer {type(layer).__name__} is not fused")
    if not net.layers or not isinstance(net.layers[-1], HeadSpec):
        raise Unsupported("the model does not end in a Dense head")
    head = net.layers[-1]
    if head.activation not in ("linear", "sigmoid", "softmax"):
        raise Unsupported(f"head activation {head.activation}")
    for spec in net.layers:
        if isinstance(spec, (RnnSpec, ConvSpec)):
            for name in (spec.activation, getattr(spec, "recurrent_activation", "linear")):
                if name not in ACTIVATIONS:
                    raise Unsupported(f"activation {name}")
    for name in net.weight_layers:
        net.weight_shapes += [tuple(w.shape) for w in model.get_layer(name).weights]

    loss = model.loss
    if not isinstance(loss, str) or loss not in FUSED_LOSSES:
        raise Unsupported(f"loss {loss!r}")
    net.loss = {"mean_squared_error": "mse", "mean_absolute_error": "mae"}.get(loss, loss)
    if problem.task == "regression":
        net.metric = "mse" if net.loss == "mae" else "mae"
    else:
        net.metric = "accuracy"
    optimizer = model.optimizer
    if type(optimizer).__name__ not in ELEMENTWISE_OPTIMIZERS:
        raise Unsupported(f"optimizer {type(optimizer).__name__} (only elementwise updates are fused)")
    config = optimizer.get_config()
    if config.get("clipnorm") or config.get("global_clipnorm") or config.get("gradient_accumulation_steps"):
        raise Unsupported("gradient norm clipping or accumulation mixes replicas")
    if type(optimizer).__name__ == "RMSprop" and config.get("centered"):
        pass  # centered RMSprop is still elementwise
    net.optimizer_class = f"{type(optimizer).__module__}.{type(optimizer).__qualname__}"
    net.optimizer_config = config
    return net


ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "softsign", "linear", "hard_sigmoid", "softmax")


def standalone_model(model_config: dict, problem, seed: int):
    """The model ``fit_one`` builds for ``seed``: same Keras state, same seed, same function."""
    import keras

    from tuning.models import build_model

    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    return build_model(model_config, problem)

