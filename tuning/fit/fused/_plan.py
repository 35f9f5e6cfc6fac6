"""Planning fused fits: which tasks share a graph, whether a config can be fused, how many replicas
fit in one graph, and :func:`fit_group`, which runs one such plan.

check -> plan -> fit: :func:`plan_graphs` checks a group of tasks (the config alone first, then
the standalone model it builds) and returns :class:`FusedPlan` objects, plain data that any
executor can ship to a worker: the tasks of one graph and, for the first, what the check found
(its parsed network and initial weights), so the model built for the check is not built again.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tuning.fit import (
    EpochHook,
    FitTask,
    cached_problem,
    configure_threads,
    import_tensorflow_quietly,
    trainable_weights,
    training_arrays,
)
from tuning.fit.fused._graph import FusedGraph
from tuning.fit.fused._net import (
    FUSED_LOSSES,
    ConvSpec,
    FusedNet,
    NeedsKerasMasks,
    RnnSpec,
    Unsupported,
    parse_model,
    standalone_model,
)
from tuning.fit.fused._train import Trainer, batch_orders, train_and_score, without_grappler
from tuning.results import FitResult
from tuning.vocabulary import DROPOUT_KEYS

#: Memory one fused graph may use for activations (bytes); larger groups are split.
DEFAULT_MEMORY_BUDGET = 1 << 30
#: Upper bound of replicas in one graph, whatever the memory says.
MAX_REPLICAS = 64
#: TensorFlow threads (intra- and inter-op) a fused graph runs with. Its ops are many and small
#: (a few thousand floats each): on 2 cores one thread trained the 20-cell benchmark graph 1.6-2.6x
#: faster than TensorFlow's default, which spends more synchronising its threads than it gains.
GRAPH_THREADS = 1
#: Config keys whose values may differ between the replicas of one graph: each replica's
#: initial weights are its own model's, its learning rate scales its own optimizer step, and its
#: ``epochs`` and early-stopping ``patience`` end its own training (a replica that is done is
#: masked out of the loss and zeroed, as one that stopped early).
PER_REPLICA_KEYS = ("learning_rate", "initializer", "epochs", "patience")
#: Dropout rates (:data:`~tuning.vocabulary.DROPOUT_KEYS`) may differ between replicas too (not
#: under ``keras_masks``, which fuses no dropout config): each replica's masks are drawn with its own rates.


def shared_part(config: dict[str, Any], keras_masks: bool) -> dict[str, Any]:
    """What configs must have in common to share one graph (everything but the per-replica keys)."""
    shared = {k: v for k, v in config.items() if k not in PER_REPLICA_KEYS}
    if not keras_masks:  # dropout rates are per replica too; whether a layer drops is not
        shared.update({k: drops(config.get(k, 0.0)) for k in DROPOUT_KEYS})
    return shared


def group_key(task: FitTask, keras_masks: bool) -> tuple:
    """Tasks with equal keys may share a graph: same problem, same :func:`shared_part`, same settings
    but for the epochs and the patience, which are per replica."""
    shared = json.dumps(shared_part(task.config, keras_masks), sort_keys=True, default=str)
    early = task.fit.early_stopping
    settings = replace(task.fit, epochs=0, early_stopping=early and replace(early, patience=0))
    return task.problem_name, task.problem_params_json, shared, settings


def order_for_sharing(points: list[dict[str, Any]], *, keras_masks: bool) -> list[dict[str, Any]]:
    """Grid points reordered so that those which can share a graph are adjacent.

    Stable: groups come in the order of their first point, and points within a group keep their
    order, so a grid whose per-replica axes already vary fastest is unchanged.
    """
    first: dict[str, int] = {}
    keys = []
    for index, point in enumerate(points):
        key = json.dumps(shared_part(point, keras_masks), sort_keys=True, default=str)
        first.setdefault(key, index)
        keys.append(first[key])
    return [point for _, _, point in sorted(zip(keys, range(len(points)), points, strict=True))]


@dataclass
class CheckedModel:
    """What building and parsing one task's standalone model found, as plain (picklable) data."""

    config_key: str
    seed: int
    net: FusedNet
    weights: list[np.ndarray]  # its initial weights, in ``net.weight_layers`` order
    trainable_weights: int

    def is_for(self, task: FitTask) -> bool:
        return (task.config_key, task.seed) == (self.config_key, self.seed)


@dataclass
class FusedPlan:
    """The tasks of one graph (at most ``capacity`` replicas), and the check of the first if it was made."""

    tasks: list[FitTask]
    checked: CheckedModel | None = None
    capacity: int = field(default=MAX_REPLICAS)

    def with_threads(self, threads: int | None) -> FusedPlan:
        """The same plan for a worker process that pins its TensorFlow threads to ``threads``."""
        return replace(self, tasks=[replace(t, threads=threads) for t in self.tasks])

    def fit(self, epoch_hook: EpochHook | None = None) -> list[FitResult]:
        return fit_group(self.tasks, self.checked, epoch_hook)


def check_fusable(task: FitTask, problem) -> CheckedModel:
    """Build ``task``'s standalone model as ``fit_one`` would and describe it; :class:`Unsupported` if unknown."""
    from tuning.space import split_config

    model = standalone_model(split_config(task.config)[0], problem, task.seed)
    net = parse_model(model, problem)
    return CheckedModel(task.config_key, task.seed, net, own_weights(net, model), trainable_weights(model))


def plan_graphs(group: list[FitTask], *, memory_budget: int = DEFAULT_MEMORY_BUDGET, keras_masks: bool = False,
                max_replicas: int | None = None) -> list[FusedPlan]:
    """Check that ``group`` (tasks of one :func:`group_key`) can be fused and split it into graphs.

    Raises :class:`Unsupported` if it cannot. Checks the config itself (no Keras needed) and then
    the standalone model it builds. With ``keras_masks``, a config with dropout raises
    :class:`NeedsKerasMasks`: from the config alone when it sets ``dropout``/``recurrent_dropout`` > 0
    (before TensorFlow is imported), and otherwise from the parsed model's recurrent layers. Each
    graph holds as many replicas as ``memory_budget`` allows (at most ``max_replicas``).
    """
    from tuning.space import split_config

    task = group[0]
    model_config, _ = split_config(task.config)
    loss = model_config.get("loss")
    if loss is not None and loss not in FUSED_LOSSES:
        raise Unsupported(f"loss {loss!r} is not one of {', '.join(FUSED_LOSSES)}")
    if keras_masks and config_dropout(model_config):
        raise NeedsKerasMasks("dropout: fused masks are not Keras's")
    import_tensorflow_quietly()
    problem = cached_problem(task.problem_name, task.problem_params_json)
    checked = check_fusable(task, problem)
    if keras_masks and checked.net.dropout_widths:
        raise NeedsKerasMasks("dropout: fused masks are not Keras's")
    capacity = replicas_per_graph(checked.net, problem, task.fit.batch_size, memory_budget)
    size = max(1, min(capacity, max_replicas or capacity))
    return [FusedPlan(group[i:i + size], checked if i == 0 else None, capacity) for i in range(0, len(group), size)]


def config_dropout(model_config: dict) -> bool:
    """Whether the config asks for dropout in its recurrent layers (``dense`` has none to apply it to).

    Only well-formed numbers count: a malformed value is left for ``build_model`` to report.
    """
    if model_config.get("family") == "dense":
        return False
    return any(drops(model_config.get(key)) for key in DROPOUT_KEYS)


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


def drops(value) -> bool:
    """Whether a dropout rate drops anything (a number > 0)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def own_weights(net: FusedNet, model) -> list[np.ndarray]:
    """A standalone model's weights in ``net.weight_layers`` order (the fused variables' order)."""
    return [np.asarray(w) for name in net.weight_layers for w in model.get_layer(name).get_weights()]


def initial_weights(net: FusedNet, model_configs: list[dict], problem, seeds: list[int],
                    first: CheckedModel | None = None, on_replica=None):
    """Per seed, the weights of the model ``fit_one`` would build, in ``net.weight_layers`` order.

    ``model_configs[r]`` is replica r's own config (replicas may differ in the keys of
    :data:`PER_REPLICA_KEYS` and :data:`DROPOUT_KEYS`); ``first`` is replica 0's checked model,
    whose weights are taken instead of building it again. ``on_replica`` is called with each
    replica's optimizer config and dropout rates, what else is its own.
    """
    out = []
    for index, (config, seed) in enumerate(zip(model_configs, seeds, strict=True)):
        if index == 0 and first is not None:
            own_net, weights = first.net, first.weights
        else:
            model = standalone_model(config, problem, seed)
            own_net, weights = parse_model(model, problem), own_weights(net, model)
        out.append(weights)
        if on_replica is not None:
            on_replica(own_net.optimizer_config, [rate for rate, _ in own_net.dropout_widths])
    return out


def dropout_rates_of(rates: list[list[float]]) -> np.ndarray | None:
    """(R, masks) dropout rates of the replicas, or None when every replica has the same."""
    if all(r == rates[0] for r in rates):
        return None
    if len({len(r) for r in rates}) != 1:
        raise Unsupported("replicas whose layers drop differently")
    return np.asarray(rates, dtype=np.float32)


def learning_rate_scales(optimizer_configs: list[dict]) -> np.ndarray | None:
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


def fit_group(tasks: list[FitTask], checked: CheckedModel | None = None,
              epoch_hook: EpochHook | None = None) -> list[FitResult]:
    """Fit the seeds of ``tasks`` (one :func:`group_key`) as one fused graph.

    ``checked`` is what :func:`plan_graphs` found for ``tasks[0]``, if it was that task: its
    network and initial weights are used instead of building the model again (the same numbers).
    Raises :class:`Unsupported` if the config cannot be fused (the planner checks first).
    ``epoch_hook`` is told every epoch's monitored value of each replica and may stop some
    (:class:`~tuning.fit.EpochHook`).
    """
    return fit_graph(tasks, checked, epoch_hook)[0]


def fit_graph(tasks: list[FitTask], checked: CheckedModel | None = None,
              epoch_hook: EpochHook | None = None) -> tuple[list[FitResult], FusedGraph]:
    """:func:`fit_group`'s results and the trained graph, whose variables hold the weights each
    finished replica was scored with (its best ones when early stopping restores them)."""
    import_tensorflow_quietly()
    configure_threads(tasks[0].threads)
    import logging

    import keras
    import tensorflow as tf

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing warnings, as in fit_one
    from tuning.space import split_config

    first = tasks[0]
    seeds = [t.seed for t in tasks]
    problem = cached_problem(first.problem_name, first.problem_params_json)
    model_config, _ = split_config(first.config)
    model_configs = [split_config(t.config)[0] for t in tasks]
    settings = first.fit
    if settings.deterministic:
        tf.config.experimental.enable_op_determinism()
    if checked is None or not checked.is_for(first):
        checked = check_fusable(first, problem)
    net = checked.net
    optimizer_configs: list[dict] = []
    dropout_rates: list[list[float]] = []

    def read_own(optimizer_config, rates):
        optimizer_configs.append(optimizer_config)
        dropout_rates.append(rates)

    weights = initial_weights(net, model_configs, problem, seeds, checked, read_own)
    rate_scales = learning_rate_scales(optimizer_configs)
    per_replica_dropout = dropout_rates_of(dropout_rates)

    x, y, x_val, y_val = training_arrays(problem, settings)
    # the graph computes its losses on dense targets: class indices as one-hot rows (their
    # sparse crossentropy is the categorical one), a [samples] vector of 0/1 as [samples, 1]
    y, y_val = problem.dense(y), problem.dense(y_val)
    epochs = max(t.fit.epochs for t in tasks)  # each replica stops at its own (train_and_score)
    batch_size = max(1, min(settings.batch_size, len(x)))
    steps = math.ceil(len(x) / batch_size)

    started = time.perf_counter()
    orders = batch_orders(len(x), batch_size, seeds, epochs, settings.shuffle)
    keras.backend.clear_session(free_memory=False)
    graph = FusedGraph(net, weights, seeds, per_replica_dropout)
    optimizer = net.make_optimizer()
    optimizer.build(graph.variables)
    trainer = Trainer(graph, optimizer, x, y, batch_size, steps, rate_scales)
    with without_grappler():
        results = train_and_score(tasks, problem, model_config, graph, optimizer, trainer, orders, x_val, y_val,
                                  epochs, steps, started, epoch_hook)
    for result in results:  # replicas share the architecture: one count for all
        result.trainable_weights = checked.trainable_weights
    return results, graph
