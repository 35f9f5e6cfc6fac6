"""Fused seeds: train every seed of a config as one replica of one wider TensorFlow graph.

For tutorial-size sequence models on a CPU, almost all of a fit's time is per-step overhead
(Python, graph dispatch, tiny matmuls), not arithmetic. R replicas of the same network, whose
weights carry a leading replica axis ``(R, ...)`` and whose gates are computed by one batched
matmul per time step, cost much less than R fits: 10 seeds of a 10-cell LSTM about as much as
one standalone fit, of a 20-cell one about twice as much; at 50 cells the arithmetic itself
dominates and fusing gains less than 2x (``docs/performance.md``, "Fused seeds (issue 6)").

Each replica *is* the standalone fit of its seed (:func:`tuning.repeats.fit_one`), as far as the
mathematics goes:

* initial weights: the standalone model is built for each seed exactly as ``fit_one`` builds it
  (``clear_session``, ``keras.utils.set_random_seed(seed)``, ``build_model``) and its weights are
  copied into slice ``r`` of the fused variables;
* batches: the seeded order of :func:`tuning.pipeline.fit_data` (the same ``tf.data`` shuffle
  with the same seeds, run on the sample indices: its order depends on the seeds, not on the
  elements), so replica ``r`` sees at step ``s`` the samples its standalone twin sees;
* loss and gradients: the replicas' losses are summed, so each slice's gradient is its own
  replica's gradient; the optimizer is the model's own Keras optimizer, whose update is
  elementwise (Adam, RMSprop, SGD, Adagrad), so each slice's optimizer state is its own too;
* dropout: masks of the same distribution as Keras's (one mask per sequence; one per gate when
  ``recurrent_dropout`` > 0), drawn per replica from ``(seed, step)`` only, so a seed's result does
  not depend on which other seeds share its graph. They are not Keras's masks: with dropout, fused
  and standalone fits of one seed agree in distribution, not value by value;
* curves, early stopping (per replica, with Keras's rules and best-weight restore) and scores
  (``problem.score`` on the replica's predictions), one :class:`~tuning.results.FitResult` per seed;
* a replica whose epoch logs hold NaN/inf fails alone ("diverged at epoch k, seed s"): its loss is
  masked out and its slice zeroed, and the others go on.

Without dropout, one replica reproduces ``fit_one``'s curves to float32 rounding (the same
operations in another order), see ``tests/test_fused.py``.

What is fused: the families of :mod:`tuning.models` (vanilla, stacked, bidirectional, gru,
cnn_lstm, encoder_decoder, dense), LSTM and GRU cells, every head, losses mse/mae/binary and categorical
crossentropy, optimizers adam/rmsprop/sgd/adagrad without norm clipping: every config
:func:`tuning.models.build_model` builds today. Anything else (a loss the graph does not compute,
a layer or option this module does not know, a fused fit that raises) is handed to the fallback
runner (``processes`` with ``jobs`` > 1, else ``sequential``) with a one-line notice on stderr.

``runner: auto`` (the default) is a :class:`FusedRunner` with ``exact_only=True`` and no notices:
it fuses only the configs whose fused fit *is* the standalone fit (no ``dropout`` or
``recurrent_dropout`` > 0 in any recurrent layer) and fits every other config with the fallback
runner, silently, so every stored score is ``fit_one``'s up to float32 rounding.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tuning import recurrence
from tuning.repeats import FitTask, ProcessRunner, Runner, SequentialRunner
from tuning.results import FAILED, OK, FitResult

#: Losses the fused graph computes itself (Keras names and aliases).
LOSSES = ("mse", "mean_squared_error", "mae", "mean_absolute_error", "binary_crossentropy",
          "categorical_crossentropy")
#: Keras optimizers whose update of a variable is elementwise: slice r's update only reads slice r.
ELEMENTWISE_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD", "Adagrad")
#: Memory one fused graph may use for activations (bytes); larger groups are split.
DEFAULT_MEMORY_BUDGET = 1 << 30
#: Upper bound of replicas in one graph, whatever the memory says.
MAX_REPLICAS = 64
#: TensorFlow threads (intra- and inter-op) a fused graph runs with. Its ops are many and small
#: (a few thousand floats each): on 2 cores one thread trained the 20-cell benchmark graph 1.6-2.6x
#: faster than TensorFlow's default, which spends more synchronising its threads than it gains.
GRAPH_THREADS = 1
#: Config keys whose values may differ between the replicas of one graph: each replica's
#: initial weights are its own model's, and its learning rate scales its own optimizer step.
PER_REPLICA_KEYS = ("learning_rate", "initializer")
#: Under ``runner: fused`` dropout rates may differ between replicas too (not under ``auto``,
#: which never fuses dropout): each replica's masks are drawn with its own rates.
DROPOUT_KEYS = ("dropout", "recurrent_dropout")
#: Trials a study keeps in flight under a fused runner with the grid or random sampler, so that
#: configs differing only in :data:`PER_REPLICA_KEYS` can meet in one graph.
TRIALS_IN_FLIGHT = 8


class Unsupported(Exception):
    """The fused runner cannot take this config; the message says why (one line)."""


class NotExact(Unsupported):
    """The config can be fused, but not value for value: its dropout masks would differ from Keras's."""


# -- the runner ------------------------------------------------------------------------------------

class FusedRunner:
    """Fits all seeds of a config as replicas of one graph; other configs go to ``fallback``.

    Tasks are grouped by (problem, :func:`shared_part` of the config, fit settings), so the seeds
    of configs that differ only in learning rate or initializer train together (and, unless
    ``exact_only``, in dropout rates, as long as the same layers drop); each group is split into
    graphs of at most ``max_replicas`` replicas (by default as many as
    :data:`DEFAULT_MEMORY_BUDGET` allows for the model's size, at most :data:`MAX_REPLICAS`).
    With ``jobs`` > 1 the graphs run in joblib worker processes, the largest split until every
    worker has one. Graphs run with :data:`GRAPH_THREADS` TensorFlow threads: with
    ``jobs`` == 1 the whole process is pinned to them before its first TensorFlow op (so the
    fallback's fits in this process run with them too; a standalone fit was as fast with one
    thread as with TensorFlow's default in ``benchmarks/fused.py``).

    Args:
        exact_only: fuse only configs whose fused fit reproduces ``fit_one`` (no dropout or
            recurrent dropout > 0 anywhere in the model); the others go to ``fallback`` without
            a notice, since that is the rule and not a surprise. This is ``runner: auto``.
        notice: called with each one-line notice (a config not fused, a fused fit that failed);
            ``None`` prints it on stderr, :func:`no_notice` drops it.

    ``counts`` tells where this runner's fits went: ``{"fused": n, "fallback": m}``, one per
    (config, seed) result it yielded.
    """

    #: Trials a study may keep in flight for this runner (see :data:`TRIALS_IN_FLIGHT`).
    trials_in_flight = TRIALS_IN_FLIGHT

    def __init__(self, jobs: int = 1, *, max_replicas: int | None = None, fallback: Runner | None = None,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET, notice=None, exact_only: bool = False):
        self.jobs = max(1, int(jobs))
        self.max_replicas = max_replicas
        self.memory_budget = memory_budget
        self.fallback = fallback or (ProcessRunner(self.jobs) if self.jobs > 1 else SequentialRunner())
        self.notice = notice or _print_notice
        self.exact_only = exact_only
        self.name = "auto" if exact_only else "fused"
        self.threads = GRAPH_THREADS  # in this process (jobs == 1) or in each worker
        self.counts = {"fused": 0, "fallback": 0}

    def map(self, tasks: list[FitTask]) -> Iterator[FitResult]:
        from tuning.errors import TuningError
        from tuning.repeats import _configure_threads

        if self.jobs == 1:  # pins this process's TensorFlow threads if no op has run yet (else keeps them)
            _configure_threads(self.threads)

        groups: dict[tuple, list[FitTask]] = {}
        for task in tasks:  # configs that differ only in learning rate or initializer share a graph
            shared = shared_part(task.config, self.exact_only)
            key = (task.problem_name, task.problem_params_json, json.dumps(shared, sort_keys=True, default=str),
                   json.dumps(task.fit, sort_keys=True, default=str))
            groups.setdefault(key, []).append(task)
        fused, fallback = [], []
        for group in groups.values():
            try:
                size = check_supported(group[0], self.memory_budget, exact_only=self.exact_only)
            except TuningError:
                raise  # a spec mistake: every seed would fail alike, as in fit_one
            except NotExact:  # exact_only and dropout: the fallback's fits are the standalone ones
                fallback += group
                continue
            except Exception as why:  # Unsupported, or anything unexpected while checking
                self.notice(f"fused runner: config {group[0].config_key} not fused ({why}); fitting its "
                            f"{len(group)} seed(s) with the {getattr(self.fallback, 'name', 'fallback')} runner")
                fallback += group
                continue
            size = max(1, min(size, self.max_replicas or size))
            fused += [group[i:i + size] for i in range(0, len(group), size)]
        if fallback:
            yield from self._fall_back(fallback)
        if self.jobs == 1:
            for chunk in fused:
                yield from self._fit_or_fall_back(chunk)
            return
        from joblib import Parallel, delayed

        chunks = [[replace(t, threads=self.threads) for t in chunk] for chunk in _spread(fused, self.jobs)]
        parallel = Parallel(n_jobs=self.jobs, backend="loky", return_as="generator_unordered")
        for index, results in parallel(delayed(_fit_group_or_error)(i, chunk) for i, chunk in enumerate(chunks)):
            if isinstance(results, str):  # the group failed as a whole: refit its seeds one by one
                chunk = chunks[index]
                self.notice(f"fused runner: config {chunk[0].config_key} failed fused ({results}); "
                            f"refitting its {len(chunk)} seed(s) with the fallback runner")
                yield from self._fall_back(chunk)
            else:
                for result in results:
                    self.counts["fused"] += 1
                    yield result

    def _fall_back(self, tasks: list[FitTask]) -> Iterator[FitResult]:
        for result in self.fallback.map(tasks):
            self.counts["fallback"] += 1
            yield result

    def _fit_or_fall_back(self, chunk: list[FitTask]) -> Iterator[FitResult]:
        from tuning.errors import TuningError

        try:
            results = fit_group(chunk)
        except TuningError:
            raise
        except Exception as exc:  # a bug or an exhausted resource must not lose the seeds
            self.notice(f"fused runner: config {chunk[0].config_key} failed fused ({type(exc).__name__}: "
                        f"{_first_line(exc)}); refitting its {len(chunk)} seed(s) with the fallback runner")
            yield from self._fall_back(chunk)
            return
        for result in results:
            self.counts["fused"] += 1
            yield result


def shared_part(config: dict[str, Any], exact_only: bool) -> dict[str, Any]:
    """What configs must have in common to share one graph (everything but the per-replica keys)."""
    shared = {k: v for k, v in config.items() if k not in PER_REPLICA_KEYS}
    if not exact_only:  # dropout rates are per replica too; whether a layer drops is not
        shared.update({k: _positive(config.get(k, 0.0)) for k in DROPOUT_KEYS})
    return shared


def order_for_sharing(points: list[dict[str, Any]], *, exact_only: bool) -> list[dict[str, Any]]:
    """Grid points reordered so that those which can share a graph are adjacent.

    Stable: groups come in the order of their first point, and points within a group keep their
    order, so a grid whose per-replica axes already vary fastest is unchanged.
    """
    first: dict[str, int] = {}
    keys = []
    for index, point in enumerate(points):
        key = json.dumps(shared_part(point, exact_only), sort_keys=True, default=str)
        first.setdefault(key, index)
        keys.append(first[key])
    return [point for _, _, point in sorted(zip(keys, range(len(points)), points, strict=True))]


def _spread(chunks: list[list[FitTask]], workers: int) -> list[list[FitTask]]:
    """Split the largest graphs in two until every worker has one (one graph runs on one core).

    A graph's cost grows with its replicas once they are a handful, so R replicas as two graphs
    of R/2 on two cores finish sooner than one graph of R on one core.
    """
    chunks = [chunk for chunk in chunks if chunk]
    while 0 < len(chunks) < workers:
        largest = max(range(len(chunks)), key=lambda i: len(chunks[i]))
        if len(chunks[largest]) < 2:
            break
        chunk = chunks.pop(largest)
        half = (len(chunk) + 1) // 2
        chunks += [chunk[:half], chunk[half:]]
    return chunks


def _fit_group_or_error(index: int, chunk: list[FitTask]):
    """In a worker: (index, results), or (index, one-line error) if the fused fit raised."""
    from tuning.errors import TuningError

    try:
        return index, fit_group(chunk)
    except TuningError:
        raise
    except Exception as exc:
        return index, f"{type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _print_notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def no_notice(message: str) -> None:
    """A ``notice`` that drops the message (``runner: auto``: the user did not ask for fusing)."""


# -- what can be fused -----------------------------------------------------------------------------

def check_supported(task: FitTask, memory_budget: int = DEFAULT_MEMORY_BUDGET, *, exact_only: bool = False) -> int:
    """Raise :class:`Unsupported` if ``task``'s config cannot be fused; else the replicas per graph.

    Checks the config itself (no Keras needed) and then the standalone model it builds. With
    ``exact_only``, a config with dropout raises :class:`NotExact`: from the config alone when it
    sets ``dropout``/``recurrent_dropout`` > 0 (before any model is built), and otherwise from the
    parsed model's recurrent layers.
    """
    from tuning.repeats import _import_tensorflow_quietly, cached_problem
    from tuning.space import split_config

    model_config, fit_config = split_config(task.config)
    loss = model_config.get("loss")
    if loss is not None and loss not in LOSSES:
        raise Unsupported(f"loss {loss!r} is not one of {', '.join(LOSSES)}")
    if exact_only and _config_dropout(model_config):
        raise NotExact("dropout: fused masks are not Keras's")
    _import_tensorflow_quietly()
    problem = cached_problem(task.problem_name, task.problem_params_json)
    model = _standalone_model(model_config, problem, task.seed)
    net = parse_model(model, problem)
    _BUILT.clear()
    if exact_only and net.dropout_widths:
        raise NotExact("dropout: fused masks are not Keras's")
    # fit_group needs this very model (same config, same seed) for its first replica: keep it.
    _BUILT[(task.problem_name, task.problem_params_json, task.config_key, task.seed)] = model
    return replicas_per_graph(net, problem, int(fit_config.get("batch_size", 32)), memory_budget)


def _config_dropout(model_config: dict) -> bool:
    """Whether the config asks for dropout in its recurrent layers (``dense`` has none to apply it to).

    Only well-formed numbers count: a malformed value is left for ``build_model`` to report.
    """
    if model_config.get("family") == "dense":
        return False
    return any(_positive(model_config.get(key)) for key in DROPOUT_KEYS)


#: The last standalone model check_supported built, by (problem, params, config key, seed).
_BUILT: dict[tuple, Any] = {}


def replicas_per_graph(net: FusedNet, problem, batch_size: int, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """How many replicas fit in ``memory_budget``: activations kept for the backward pass, per replica."""
    steps = problem.input_shape[0]
    batch = max(1, min(batch_size, len(problem.x_train)))
    floats = 0
    for layer in net.layers:
        if isinstance(layer, RnnSpec):
            directions = 2 if layer.bidirectional else 1
            gates = 4 if layer.cell == "lstm" else 3
            floats += directions * steps * batch * (layer.units * (2 * gates + 6) + layer.input_width * 2)
        elif isinstance(layer, ConvSpec):
            floats += steps * batch * (layer.filters * 2 + layer.kernel_size * layer.input_width)
    weights = sum(int(np.prod(shape)) for shape in net.weight_shapes)
    per_replica = 4 * (3 * floats + 5 * weights) + 1
    return int(max(1, min(MAX_REPLICAS, memory_budget // per_replica)))


# -- the network, described in plain data ----------------------------------------------------------

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
    optimizer_class: Any = None

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
                if name not in _ACTIVATIONS:
                    raise Unsupported(f"activation {name}")
    for name in net.weight_layers:
        net.weight_shapes += [tuple(w.shape) for w in model.get_layer(name).weights]

    loss = model.loss
    if not isinstance(loss, str) or loss not in LOSSES:
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
    net.optimizer_class, net.optimizer_config = type(optimizer), config
    return net


_ACTIVATIONS = ("tanh", "relu", "sigmoid", "elu", "selu", "softsign", "linear", "hard_sigmoid", "softmax")


def _standalone_model(model_config: dict, problem, seed: int):
    """The model ``fit_one`` builds for ``seed``: same Keras state, same seed, same function."""
    import keras

    from tuning.models import build_model

    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    return build_model(model_config, problem)


# -- the fused graph -------------------------------------------------------------------------------

class FusedGraph:
    """Batched weights of R replicas and the forward pass over inputs shaped (R, batch, T, F)."""

    def __init__(self, net: FusedNet, weights: list[list[np.ndarray]], seeds: list[int],
                 dropout_rates: np.ndarray | None = None):
        import keras
        import tensorflow as tf

        self.net = net
        self.replicas = len(weights)
        self.seeds = tf.constant(np.asarray(seeds, dtype=np.int64))
        # (R, masks) when replicas drop with different rates; else net.dropout_widths' rates for all
        self.dropout_rates = None if dropout_rates is None else tf.constant(dropout_rates)
        stacked = [np.stack([replica[i] for replica in weights]).astype(np.float32)
                   for i in range(len(net.weight_shapes))]
        self.variables = [keras.Variable(value, trainable=True, name=f"fused_{i}") for i, value in enumerate(stacked)]
        # TensorFlow's own functions where Keras's are the same maths (less Python per traced op).
        self._activations = {name: keras.activations.get(name) for name in _ACTIVATIONS}
        self._activations.update({"tanh": tf.tanh, "sigmoid": tf.sigmoid, "relu": tf.nn.relu, "linear": tf.identity,
                                  "softmax": tf.nn.softmax})

    # slices of self.variables per layer, in the order of net.weight_layers
    def _layer_weights(self):
        index = 0
        out = []
        for spec in self.net.layers:
            if isinstance(spec, ConvSpec) or isinstance(spec, HeadSpec):
                count = 2
            elif isinstance(spec, RnnSpec):
                count = 6 if spec.bidirectional else 3
            else:
                out.append(())
                continue
            out.append(tuple(self.variables[index:index + count]))
            index += count
        return out

    def _draw_masks(self, batch, step):
        """Per replica, one uniform draw per step keyed by (seed, step); split into the masks."""
        import tensorflow as tf

        widths = self.net.dropout_widths
        total = sum(w for _, w in widths)
        draws = []
        for r in range(self.replicas):
            seed = tf.stack([self.seeds[r], tf.cast(step, tf.int64)])
            draws.append(tf.random.stateless_uniform(tf.stack([batch, total]), seed=seed))
        draw = tf.stack(draws)  # (R, B, total)
        masks, start = [], 0
        for index, (rate, width) in enumerate(widths):
            if self.dropout_rates is not None:  # replica r's own rate, shaped to broadcast over (B, width)
                rate = self.dropout_rates[:, index][:, None, None]
            keep = tf.cast(draw[:, :, start:start + width] >= rate, tf.float32)
            masks.append(keep / (1.0 - rate))
            start += width
        return masks

    def forward(self, x, *, training: bool, step=None):
        """Outputs (R, B, *target), the head's logits, and whether the loss may use the logits.

        Sequences stay batch-major, (R, B, T, C): every projection that does not recur is one
        batched matmul over all steps, and the time loop is written out step by step (a while
        loop, and its gradient's stacks, cost several times more per step on a CPU).
        """
        import tensorflow as tf

        masks = None
        if training and self.net.dropout_widths:
            masks = iter(self._draw_masks(tf.shape(x)[1], step))
        h = x
        for spec, weights in zip(self.net.layers, self._layer_weights(), strict=True):
            if isinstance(spec, ConvSpec):
                h = self._conv(spec, weights, h)
            elif isinstance(spec, RnnSpec):
                if spec.bidirectional:
                    forward = self._rnn(spec, weights[:3], h, masks, reverse=False, training=training)
                    backward = self._rnn(spec, weights[3:], h, masks, reverse=True, training=training)
                    h = tf.concat([forward, backward], axis=-1)
                else:
                    h = self._rnn(spec, weights, h, masks, reverse=False, training=training)
            elif isinstance(spec, RepeatSpec):
                h = tf.tile(h[:, :, None, :], [1, 1, spec.n, 1])
            elif isinstance(spec, FlattenSpec):
                h = tf.reshape(h, [self.replicas, -1, spec.width])
            else:
                return self._head(spec, weights, h)
        raise AssertionError("no head")

    def _project(self, h, kernel):
        """(R, B, T, F) @ (R, F, G) -> (R, B, T, G) as one batched matmul."""
        import tensorflow as tf

        steps = h.shape[2]
        flat = tf.matmul(tf.reshape(h, [self.replicas, -1, h.shape[-1]]), kernel)
        return tf.reshape(flat, [self.replicas, -1, steps, kernel.shape[-1]])

    def _conv(self, spec: ConvSpec, weights, h):
        import tensorflow as tf

        kernel, bias = weights  # (R, k, F, C), (R, C)
        k = spec.kernel_size
        steps = h.shape[2]
        before = (k - 1) // 2  # TensorFlow's "same" padding
        padded = tf.pad(h, [[0, 0], [0, 0], [before, k - 1 - before], [0, 0]])
        patches = tf.concat([padded[:, :, j:j + steps] for j in range(k)], axis=-1)  # (R, B, T, k*F)
        flat = tf.reshape(kernel, [self.replicas, k * spec.input_width, spec.filters])
        out = self._activations[spec.activation](self._project(patches, flat) + bias[:, None, None, :])
        if spec.pool > 1:
            kept = (steps // spec.pool) * spec.pool
            out = tf.reshape(out[:, :, :kept], [self.replicas, -1, steps // spec.pool, spec.pool, spec.filters])
            out = tf.reduce_max(out, axis=3)
        return out

    def _rnn(self, spec: RnnSpec, weights, h, masks, *, reverse: bool, training: bool):
        import tensorflow as tf

        kernel, recurrent, bias = weights
        units = spec.units
        gates = 4 if spec.cell == "lstm" else 3
        act = self._activations[spec.activation]
        rec_act = self._activations[spec.recurrent_activation]
        use_dropout = training and masks is not None
        per_gate = spec.recurrent_dropout > 0  # Keras's implementation 1: one mask per gate
        in_masks = rec_masks = None
        if use_dropout and spec.dropout > 0:
            in_masks = [next(masks) for _ in range(gates if per_gate else 1)]
        if use_dropout and spec.recurrent_dropout > 0:
            rec_masks = [next(masks) for _ in range(gates)]
        if spec.cell == "gru":
            in_bias, rec_bias = bias[:, 0], bias[:, 1]
        else:
            in_bias, rec_bias = bias, None
        # Inputs projected for every step at once (masks are per sequence, constant over steps).
        if in_masks is None:
            xz = self._project(h, kernel)
        elif len(in_masks) == 1:
            xz = self._project(h * in_masks[0][:, :, None, :], kernel)
        else:
            xz = tf.concat([self._project(h * m[:, :, None, :], kernel[:, :, i * units:(i + 1) * units])
                            for i, m in enumerate(in_masks)], axis=-1)
        xz = xz + in_bias[:, None, None, :]
        # (no recurrent masks: no recurrent dropout, or not training, where Keras applies none either)
        if rec_masks is None and recurrence.supported(spec.cell, spec.activation, spec.recurrent_activation):
            if spec.cell == "lstm":  # the loop with its gradient written out by hand (tuning/recurrence.py)
                return recurrence.lstm_sequence(xz, recurrent, reverse=reverse, return_sequences=spec.return_sequences)
            return recurrence.gru_sequence(xz, recurrent, rec_bias, reverse=reverse,
                                           return_sequences=spec.return_sequences)
        inputs = tf.unstack(xz, axis=2)
        if reverse:
            inputs = inputs[::-1]
        state = tf.zeros_like(inputs[0][:, :, :units])  # static shape when the batch is static
        carry = state
        ones = tf.ones_like(state)
        rec_parts = [recurrent[:, :, i * units:(i + 1) * units] for i in range(gates)] if rec_masks else None
        if rec_bias is not None:  # broadcast once, so the adds in the loop have equal shapes
            rec_bias_b = tf.broadcast_to(rec_bias[:, None, :], tf.shape(inputs[0]))
            rec_bias_b.set_shape(inputs[0].shape)
        outputs = []
        for x_t in inputs:
            if rec_masks is None:
                inner = tf.matmul(state, recurrent)
            else:
                inner = tf.concat([tf.matmul(state * m, part) for m, part in zip(rec_masks, rec_parts, strict=True)],
                                  axis=-1)
            if spec.cell == "lstm":
                z = x_t + inner
                i, f, _, o = tf.split(rec_act(z), 4, axis=-1)
                carry = f * carry + i * act(z[:, :, 2 * units:3 * units])
                state = o * act(carry)
            else:
                inner = inner + rec_bias_b
                x_z, x_r, x_h = tf.split(x_t, 3, axis=-1)
                r_z, r_r, r_h = tf.split(inner, 3, axis=-1)
                z = rec_act(x_z + r_z)
                r = rec_act(x_r + r_r)
                state = z * state + (ones - z) * act(x_h + r * r_h)
            if spec.return_sequences:
                outputs.append(state)
        if not spec.return_sequences:
            return state
        if reverse:  # Bidirectional flips the backward layer's outputs back into input order
            outputs = outputs[::-1]
        return tf.stack(outputs, axis=2)

    def _head(self, spec: HeadSpec, weights, h):
        import tensorflow as tf

        kernel, bias = weights
        if spec.time_distributed:
            logits = self._project(h, kernel) + bias[:, None, None, :]
        else:
            logits = tf.matmul(h, kernel) + bias[:, None, :]
        out = self._activations[spec.activation](logits) if spec.activation != "linear" else logits
        if spec.reshape_to is not None:
            out = tf.reshape(out, [self.replicas, -1, *spec.reshape_to])
        # Keras computes crossentropy from the logits when the output is the activation's own
        # tensor; TimeDistributed stacks per-step outputs, so there it clips probabilities.
        from_logits = not spec.time_distributed and spec.reshape_to is None and spec.activation in ("sigmoid", "softmax")
        return out, logits, from_logits


# -- losses and metrics, per replica ---------------------------------------------------------------

def _loss_values(name: str, y, out, logits, from_logits: bool):
    """Per-sample (per-step) loss values, shape (R, B[, T]), as Keras's loss function returns them."""
    import keras
    import tensorflow as tf

    eps = keras.backend.epsilon()
    if name == "mse":
        return tf.reduce_mean(tf.square(y - out), axis=-1)
    if name == "mae":
        return tf.reduce_mean(tf.abs(y - out), axis=-1)
    if name == "binary_crossentropy":
        if from_logits:
            values = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        else:
            p = tf.clip_by_value(out, eps, 1.0 - eps)
            values = -(y * tf.math.log(p) + (1 - y) * tf.math.log(1 - p))
        return tf.reduce_mean(values, axis=-1)
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits, axis=-1)
    p = out / tf.reduce_sum(out, axis=-1, keepdims=True)
    p = tf.clip_by_value(p, eps, 1.0 - eps)
    return -tf.reduce_sum(y * tf.math.log(p), axis=-1)


def _metric_values(name: str, loss: str, y, out):
    """Values Keras's metric averages (per sample, per step, or per element for binary accuracy)."""
    import tensorflow as tf

    if name == "mae":
        return tf.reduce_mean(tf.abs(y - out), axis=-1)
    if name == "mse":
        return tf.reduce_mean(tf.square(y - out), axis=-1)
    if loss == "binary_crossentropy":
        return tf.cast(tf.equal(y, tf.cast(out > 0.5, y.dtype)), tf.float32)
    return tf.cast(tf.equal(tf.argmax(y, axis=-1), tf.argmax(out, axis=-1)), tf.float32)


def _per_replica(values, how):
    """Reduce every axis but the replica axis."""
    axes = list(range(1, len(values.shape)))
    return how(values, axis=axes)


# -- early stopping, per replica (Keras's EarlyStopping rules) -------------------------------------

class _Stopper:
    def __init__(self, monitor: str, patience: int, min_delta: float, restore: bool):
        self.monitor, self.patience, self.restore = monitor, patience, restore
        name = monitor.removeprefix("val_")
        self.maximize = "accuracy" in name or name == "exact_match"
        self.min_delta = abs(min_delta) if self.maximize else -abs(min_delta)
        self.wait = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def _better(self, value, reference) -> bool:
        if reference is None:
            return True
        return bool(value - self.min_delta > reference) if self.maximize else bool(value - self.min_delta < reference)

    def update(self, epoch: int, logs: dict[str, float], weights) -> bool:
        """After epoch ``epoch`` (0-based); ``weights()`` reads this replica's weights. True: stop."""
        current = logs.get(self.monitor)
        if current is None:
            return False
        if self.restore and self.best_weights is None:
            self.best_weights = weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore:
                self.best_weights = weights()
            self.wait = 0
            return False
        return self.wait >= self.patience and epoch > 0


# -- one fused fit ---------------------------------------------------------------------------------

# Module-level so that tests can wrap it (e.g. to poison one replica's weights).
def initial_weights(net: FusedNet, model_configs: list[dict], problem, seeds: list[int], first_model=None,
                    on_model=None):
    """Per seed, the weights of the model ``fit_one`` would build, in ``net.weight_layers`` order.

    ``model_configs[r]`` is replica r's own config (replicas may differ in the keys of
    :data:`PER_REPLICA_KEYS` and :data:`DROPOUT_KEYS`); ``on_model`` is called with each
    replica's standalone model, to read what else is its own.
    """
    out = []
    for index, (config, seed) in enumerate(zip(model_configs, seeds, strict=True)):
        model = first_model if index == 0 and first_model is not None else _standalone_model(config, problem, seed)
        out.append([np.asarray(w) for name in net.weight_layers for w in model.get_layer(name).get_weights()])
        if on_model is not None:
            on_model(model)
    return out


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _dropout_rates(rates: list[list[float]]) -> np.ndarray | None:
    """(R, masks) dropout rates of the replicas, or None when every replica has the same."""
    if all(r == rates[0] for r in rates):
        return None
    if len({len(r) for r in rates}) != 1:
        raise Unsupported("replicas whose layers drop differently")
    return np.asarray(rates, dtype=np.float32)


def _learning_rate_scales(optimizer_configs: list[dict]) -> np.ndarray | None:
    """Each replica's learning rate over the graph optimizer's (replica 0's); None when all are equal.

    Adam, AdamW, RMSprop, SGD (with momentum) and Adagrad move a variable by the learning rate
    times a function of its gradients alone, so a replica's step at rate ``a * lr`` is ``a`` times
    its step at ``lr``: one optimizer can serve replicas with different rates. Anything else that
    differs between the replicas' optimizers cannot be shared.
    """
    base = optimizer_configs[0]
    rates = []
    for config in optimizer_configs:
        if {k: v for k, v in config.items() if k not in ("learning_rate", "name")} != \
                {k: v for k, v in base.items() if k not in ("learning_rate", "name")}:
            raise Unsupported("replicas with different optimizers")
        rates.append(float(config["learning_rate"]))
    if all(rate == rates[0] for rate in rates):
        return None
    return np.asarray(rates, dtype=np.float64) / rates[0]


def _batch_orders(n: int, batch_size: int, seeds: list[int], epochs: int, shuffle: bool) -> np.ndarray:
    """(epochs, R, n) sample orders: exactly the orders ``fit_data`` gives each seed's fit.

    ``fit_data`` shuffles ``n`` samples with a buffer of ``n``, the global TensorFlow seed set to
    the fit's seed (``fit_one`` sets it) and op seed ``seed``, reshuffling every epoch. A
    shuffle's order depends on those seeds and ``n``, not on what is shuffled or how it is batched
    afterwards, so the same shuffle of ``range(n)`` gives the order; all seeds' shuffles are
    zipped into one pipeline (5x faster than one pipeline per seed). ``tests/test_fused.py``
    checks the orders against ``fit_data``'s own batches.
    """
    import tensorflow as tf

    if not shuffle:
        return np.broadcast_to(np.arange(n, dtype=np.int64), (epochs, len(seeds), n)).copy()
    pipelines = []
    for seed in seeds:
        tf.random.set_seed(seed)  # the global seed ShuffleDataset reads when it is built
        pipelines.append(tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
                         .batch(n).repeat())
    epochs_iter = iter(tf.data.Dataset.zip(tuple(pipelines)).take(epochs))
    return np.stack([np.stack([order.numpy() for order in epoch]) for epoch in epochs_iter]).astype(np.int64)


def fit_group(tasks: list[FitTask]) -> list[FitResult]:
    """Fit the seeds of ``tasks`` (one config, problem and fit settings) as one fused graph.

    Raises :class:`Unsupported` if the config cannot be fused (the runner checks first).
    """
    from tuning.repeats import _configure_threads, _import_tensorflow_quietly, cached_problem, training_arrays

    _import_tensorflow_quietly()
    _configure_threads(tasks[0].threads)
    import logging

    import keras
    import tensorflow as tf

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing warnings, as in fit_one
    from tuning.space import split_config

    first = tasks[0]
    seeds = [t.seed for t in tasks]
    problem = cached_problem(first.problem_name, first.problem_params_json)
    model_config, fit_config = split_config(first.config)
    model_configs = [split_config(t.config)[0] for t in tasks]
    settings = first.fit
    if settings.get("deterministic"):
        tf.config.experimental.enable_op_determinism()
    first_model = _BUILT.pop((first.problem_name, first.problem_params_json, first.config_key, seeds[0]), None)
    if first_model is None:
        first_model = _standalone_model(model_config, problem, seeds[0])
    net = parse_model(first_model, problem)
    from tuning.repeats import trainable_weights

    weight_count = trainable_weights(first_model)  # replicas share the architecture: one count for all
    optimizer_configs: list[dict] = []
    dropout_rates: list[list[float]] = []

    def read_own(model):
        optimizer_configs.append(model.optimizer.get_config())
        dropout_rates.append([rate for rate, _ in parse_model(model, problem).dropout_widths])

    weights = initial_weights(net, model_configs, problem, seeds, first_model, read_own)
    rate_scales = _learning_rate_scales(optimizer_configs)
    per_replica_dropout = _dropout_rates(dropout_rates)
    del first_model

    x, y, x_val, y_val = training_arrays(problem, settings)
    epochs = int(fit_config.get("epochs", 10))
    batch_size = max(1, min(int(fit_config.get("batch_size", 32)), len(x)))
    steps = math.ceil(len(x) / batch_size)
    early = settings.get("early_stopping")

    started = time.perf_counter()
    orders = _batch_orders(len(x), batch_size, seeds, epochs, bool(settings.get("shuffle", True)))
    keras.backend.clear_session(free_memory=False)
    graph = FusedGraph(net, weights, seeds, per_replica_dropout)
    optimizer = net.optimizer_class.from_config(net.optimizer_config)
    optimizer.build(graph.variables)
    trainer = _Trainer(graph, optimizer, x, y, batch_size, steps, rate_scales)
    with _without_grappler():
        results = _train_and_score(tasks, problem, model_config, graph, optimizer, trainer, orders, x_val, y_val,
                                   epochs, steps, early, fit_config, started)
    for result in results:
        result.trainable_weights = weight_count
    return results


@contextmanager
def _without_grappler():
    """Run the fused functions without TensorFlow's graph optimizer (grappler).

    On the written-out time loop grappler spends about a second per function before the first
    step and makes the steps no faster (measured: docs/performance.md). The option is global to
    the process's TensorFlow context, so it is restored as soon as the fused fit is done; the
    fused fit runs synchronously, so nothing else runs under it.
    """
    import tensorflow as tf

    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": previous.get("disable_meta_optimizer", False)})


def _train_and_score(tasks, problem, model_config, graph, optimizer, trainer, orders, x_val, y_val,
                     epochs, steps, early, fit_config, started) -> list[FitResult]:
    import keras

    seeds = [t.seed for t in tasks]
    replicas = len(tasks)
    metric = graph.net.metric
    # Keras's history lists its names sorted: accuracy, loss, val_accuracy, val_loss.
    names = sorted(["loss", metric, "val_loss", f"val_{metric}"])
    curves: list[dict[str, list[float]]] = [{name: [] for name in names} for _ in tasks]
    status = ["running"] * replicas  # running | done | failed
    errors: list[str | None] = [None] * replicas
    stoppers = None
    if early:
        patience = int(fit_config.get("patience", early.get("patience", 10)))
        stoppers = [_Stopper(early.get("monitor", "val_loss"), patience, early.get("min_delta", 0.0),
                             early.get("restore_best_weights", True)) for _ in tasks]
    final_weights: list[list[np.ndarray] | None] = [None] * replicas
    alive = np.ones(replicas, dtype=bool)

    for epoch in range(epochs):
        train_loss, train_metric = trainer.train_epoch(orders[epoch], alive, epoch * steps)
        val_loss, val_metric = trainer.evaluate(x_val, y_val)
        values = None  # the variables as NumPy, read at most once an epoch
        for r in range(replicas):
            if status[r] != "running":
                continue
            logs = {"loss": float(train_loss[r]), metric: float(train_metric[r]),
                    "val_loss": float(val_loss[r]), f"val_{metric}": float(val_metric[r])}
            for name, value in logs.items():
                curves[r][name].append(value)
            if not all(math.isfinite(v) for v in logs.values()):
                status[r], errors[r] = "failed", f"diverged at epoch {epoch + 1}, seed {seeds[r]}"
                continue
            stop = False
            if stoppers is not None:
                def replica_weights(r=r):
                    nonlocal values
                    if values is None:
                        values = [np.array(v.numpy()) for v in graph.variables]
                    return [v[r].copy() for v in values]

                stop = stoppers[r].update(epoch, logs, replica_weights)
            if stop or epoch == epochs - 1:
                status[r] = "done"
                if values is None:
                    values = [np.array(v.numpy()) for v in graph.variables]
                final_weights[r] = [v[r].copy() for v in values]
        newly_dead = [r for r in range(replicas) if status[r] != "running" and alive[r]]
        if newly_dead:
            alive[newly_dead] = False
            _zero_replicas(graph, optimizer, newly_dead)
        if not alive.any():
            break

    # Scores: each replica with its final (or best, when early stopping restores) weights.
    results: list[FitResult | None] = [None] * replicas
    done = [r for r in range(replicas) if status[r] == "done"]
    if done:
        for r in done:
            if stoppers is not None and stoppers[r].restore and stoppers[r].best_weights is not None:
                final_weights[r] = stoppers[r].best_weights
        values = [np.array(v.numpy()) for v in graph.variables]
        for r in done:
            for i, w in enumerate(final_weights[r]):
                values[i][r] = w
        for v, value in zip(graph.variables, values, strict=True):
            v.assign(value)
        loss_name = model_config.get("loss")
        val_pred = trainer.predict(x_val, y_val)
        test_pred = trainer.predict(problem.x_test, problem.y_test) if problem.has_test else None
        for r in done:
            scores = {f"val_{k}": v for k, v in problem.score(y_val, val_pred[r], loss_name).items()}
            if test_pred is not None:
                scores.update({f"test_{k}": v for k, v in problem.score(problem.y_test, test_pred[r], loss_name).items()})
            scores["train_loss"] = curves[r]["loss"][-1]
            if not all(math.isfinite(v) for v in scores.values()):
                status[r], errors[r] = "failed", f"diverged: non-finite predictions, seed {seeds[r]}"
                continue
            best_epoch = stoppers[r].best_epoch + 1 if stoppers is not None else None
            results[r] = FitResult(tasks[r].config_key, seeds[r], OK, scores, curves[r], len(curves[r]["loss"]),
                                   best_epoch, 0.0)
    share = (time.perf_counter() - started) / replicas  # each replica's share of the graph's time
    out = []
    for r in range(replicas):
        result = results[r] or FitResult(tasks[r].config_key, seeds[r], FAILED, {}, curves[r],
                                         len(curves[r]["loss"]), None, 0.0, errors[r])
        result.fit_seconds = share
        out.append(result)
    keras.backend.clear_session(free_memory=False)
    return out


def _zero_replicas(graph: FusedGraph, optimizer, replicas: list[int]) -> None:
    """Zero finished replicas' weights and optimizer slots: a NaN stays out of every later op."""
    shapes = {tuple(v.shape) for v in graph.variables}
    for variable in [*graph.variables, *optimizer.variables]:
        if tuple(variable.shape) in shapes and len(variable.shape) and variable.shape[0] == graph.replicas:
            value = np.array(variable.numpy())
            value[replicas] = 0.0
            variable.assign(value)


class _Trainer:
    """The compiled functions of one fused fit: a whole epoch in one graph call, evaluation, predict."""

    def __init__(self, graph: FusedGraph, optimizer, x, y, batch_size: int, steps: int,
                 rate_scales: np.ndarray | None = None):
        import tensorflow as tf

        self.graph, self.optimizer = graph, optimizer
        self.net = graph.net
        self.x = tf.constant(x)
        self.y = tf.constant(y)
        self.batch_size, self.steps, self.n = batch_size, steps, len(x)
        replicas = graph.replicas
        loss_name, metric = self.net.loss, self.net.metric

        # Every step has the static shape (R, batch): the epoch's last, short batch is padded with
        # weight-0 samples. With fully known, equal shapes TensorFlow's gradients of the
        # elementwise ops skip their broadcasting bookkeeping (a third of the ops per time step).
        padded = steps * batch_size
        if rate_scales is not None:
            scales = [tf.constant(rate_scales.astype(np.float32).reshape([replicas] + [1] * (len(v.shape) - 1)))
                      for v in graph.variables]
        sample_weight = tf.constant(np.arange(padded) < self.n, dtype=tf.float32)

        def weighted(values, w):
            per_sample = int(np.prod(values.shape[2:]))  # e.g. per-step values (R, B, T)
            w = tf.reshape(w, [1, batch_size] + [1] * (len(values.shape) - 2))
            return _per_replica(values * w, tf.reduce_sum), tf.reduce_sum(w) * per_sample

        def train_step(s, order, alive, step0, loss_sum, metric_sum, metric_count):
            index = order[:, s * batch_size:(s + 1) * batch_size]
            w = sample_weight[s * batch_size:(s + 1) * batch_size]
            xb = tf.gather(self.x, index)
            yb = tf.gather(self.y, index)
            xb.set_shape([replicas, batch_size, *x.shape[1:]])
            yb.set_shape([replicas, batch_size, *y.shape[1:]])
            with tf.GradientTape() as tape:
                out, logits, from_logits = graph.forward(xb, training=True, step=step0 + tf.cast(s, tf.int64))
                total_loss, count = weighted(_loss_values(loss_name, yb, out, logits, from_logits), w)
                losses = total_loss / count  # each replica's mean over its real samples, as Keras's
                total = tf.reduce_sum(tf.where(alive, losses, tf.zeros_like(losses)))
            grads = tape.gradient(total, graph.variables)
            if rate_scales is None:
                optimizer.apply(grads, graph.variables)
            else:  # per-replica learning rates: scale each replica's step (see _learning_rate_scales)
                before = [tf.identity(v.value) for v in graph.variables]
                optimizer.apply(grads, graph.variables)
                for v, old, scale in zip(graph.variables, before, scales, strict=True):
                    v.assign(old + scale * (v.value - old))
            metric_total, metric_n = weighted(_metric_values(metric, loss_name, yb, out), w)
            return (s + 1, loss_sum + losses * tf.reduce_sum(w), metric_sum + metric_total, metric_count + metric_n)

        def train_epoch(order, alive, step0):
            order = tf.pad(order, [[0, 0], [0, padded - self.n]])  # padding: sample 0, weight 0
            # A whole epoch in one graph call: no Python between steps. (autograph=False below:
            # converting this code costs seconds per fit; the loops are explicit instead.)
            zeros = tf.zeros([replicas])
            _, loss_sum, metric_sum, metric_count = tf.while_loop(
                lambda s, *_: s < steps,
                lambda s, a, b, c: train_step(s, order, alive, step0, a, b, c),
                (tf.constant(0), zeros, zeros, zeros), maximum_iterations=steps)
            return loss_sum / float(self.n), metric_sum / metric_count

        def evaluate_chunk(xc, yc):
            xr = tf.broadcast_to(xc[None], tf.concat([[replicas], tf.shape(xc)], axis=0))
            yr = tf.broadcast_to(yc[None], tf.concat([[replicas], tf.shape(yc)], axis=0))
            out, logits, from_logits = graph.forward(xr, training=False)
            losses = _per_replica(_loss_values(loss_name, yr, out, logits, from_logits), tf.reduce_mean)
            metric_values = _metric_values(metric, loss_name, yr, out)
            return (losses, _per_replica(metric_values, tf.reduce_sum),
                    tf.cast(tf.reduce_prod(tf.shape(metric_values)[1:]), tf.float32), out)


        order_spec = tf.TensorSpec([replicas, self.n], tf.int64)
        self._train = tf.function(train_epoch, autograph=False, input_signature=[
            order_spec, tf.TensorSpec([replicas], tf.bool), tf.TensorSpec([], tf.int64)])
        sample = tf.TensorSpec([None, *x.shape[1:]], tf.float32)
        self._evaluate = tf.function(evaluate_chunk, autograph=False, input_signature=[sample, tf.TensorSpec([None, *y.shape[1:]], tf.float32)])
        # Validation and prediction in chunks small enough for R replicas' activations.
        width = max([s.units * 8 for s in self.net.layers if isinstance(s, RnnSpec)] + [1])
        per_sample = replicas * x.shape[1] * width * 4
        self.chunk = int(max(1, min(1024, (256 << 20) // max(1, per_sample))))

    def train_epoch(self, order: np.ndarray, alive: np.ndarray, step0: int):
        loss, metric = self._train(order, alive, np.int64(step0))
        return loss.numpy(), metric.numpy()

    def evaluate(self, x, y, *, predictions: bool = False):
        """Per replica: validation loss and metric (as Keras's evaluate), and the predictions if asked."""
        replicas = self.graph.replicas
        loss_sum = np.zeros(replicas, dtype=np.float64)
        metric_sum = np.zeros(replicas, dtype=np.float64)
        count = 0.0
        outputs = []
        for start in range(0, len(x), self.chunk):
            xc, yc = x[start:start + self.chunk], y[start:start + self.chunk]
            losses, sums, per, out = self._evaluate(xc, yc)
            loss_sum += losses.numpy().astype(np.float64) * len(xc)
            metric_sum += sums.numpy()
            count += float(per.numpy())
            if predictions:
                outputs.append(out.numpy())
        if predictions:
            return np.concatenate(outputs, axis=1)
        return loss_sum / len(x), metric_sum / count

    def predict(self, x, y) -> np.ndarray:
        """(R, samples, ...) predictions in inference mode (``y`` only shapes the shared function)."""
        return self.evaluate(x, y, predictions=True)
