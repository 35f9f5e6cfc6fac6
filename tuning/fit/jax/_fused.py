"""Every seed of one config trained together on Keras's JAX backend: ``jax.vmap`` over replicas.

The seeds of a config, and of the configs that differ from it only in learning rate (a value in
each replica's optimizer state), are replicas of one step. Each seed's model is built as its
standalone fit builds it (``set_random_seed(seed)``, then
:func:`~tuning.models.build_model`), so a replica starts from that fit's initial weights, optimizer
state and dropout seed-generator state (Keras keeps the latter among the non-trainable variables).
Their values are stacked on a leading replica axis, and Keras's own stateless ``train_step`` and
``test_step`` of the first model (JAX's trainer: ``(state, batch) -> (logs, state)``) are mapped
over that axis with ``jax.vmap`` and compiled once for all replicas. Replica r is fed the batches
of :func:`~tuning.fit.pipeline.batch_order` for its own seed, the order its standalone JAX fit
(:func:`~tuning.fit.fit_one`, through :func:`~tuning.fit.pipeline.numpy_fit_data`) sees; its
metrics are reset every epoch and its validation is run as Keras's ``fit`` runs it. So each
replica is its seed's standalone JAX fit, dropout included, to float32 rounding (the batched
matrix products may round differently): tests/test_fused_jax.py checks it.

Early stopping is Keras's own ``EarlyStopping``, one per replica, told each epoch's logs with its
replica's weights in its model: a replica that stops keeps the weights it stopped with (or its best
ones), while the others train on; so does a replica whose loss goes non-finite, which fails as its
standalone fit does ("diverged at epoch k"). An epoch hook (:class:`~tuning.fit.EpochHook`) is told
each epoch's monitored value of every replica that trained it, and a replica it stops is kept as
early stopping keeps one (its weights as they are, or its best ones). The compiled step still
carries a stopped replica (as it does one that stopped early): what it computes is not recorded.

A ``model.builder``'s models are fused the same way, the seeds of one config only (a builder may
use any of its config's values anywhere, a learning rate in its own schedule say, so no value of
it is taken for per-replica state). When its models cannot be replicas of one step (the builder
raises, builds seeds of different shapes, or its model's step does not map over replicas), the
caller fits those seeds one by one (:class:`Unsupported`), where ``fit_one`` records what went wrong.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from functools import partial
from typing import Any

from tuning.errors import TuningError
from tuning.fit._backend import start_keras
from tuning.fit._compile_cache import forget_compiled
from tuning.fit._hook import EpochHook, replicas_to_stop, require_monitor
from tuning.fit._keras import scores_of, trainable_weights, training_arrays
from tuning.fit._task import FitTask
from tuning.fit.pipeline import VALIDATION_BATCH, batch_order
from tuning.problems import cached_problem
from tuning.results import FAILED, OK, FitResult

#: What replicas of one step may differ in besides their seed: values Keras keeps in a replica's
#: own state (the optimizer's learning-rate variable), not in the compiled step.
PER_REPLICA = ("learning_rate",)


class Unsupported(Exception):
    """These tasks cannot be fused on JAX (the message says why); fit them one by one."""


def step_key(task: FitTask) -> str:
    """Tasks with one step key can be replicas of one compiled step: the same problem, fit settings
    and config but for :data:`PER_REPLICA` (for a builder's config: nothing)."""
    per_replica = () if task.config.get("builder") else PER_REPLICA
    shared = {k: v for k, v in task.config.items() if k not in per_replica}
    return json.dumps([task.problem_name, task.problem_params_json, repr(task.fit), task.keras_backend, shared],
                      sort_keys=True, default=str)


def check_fusable(tasks: list[FitTask]) -> None:
    """Raise :class:`Unsupported` unless ``tasks`` are seeds on JAX that share a step."""
    if not tasks:
        raise Unsupported("no tasks")
    first = tasks[0]
    if any(step_key(t) != step_key(first) for t in tasks):
        raise Unsupported(f"configs that differ in more than {', '.join(PER_REPLICA)}")
    if len({(t.config_key, t.seed) for t in tasks}) != len(tasks):
        raise Unsupported("a fit twice")
    if first.keras_backend != "jax":
        raise Unsupported(f"keras_backend {first.keras_backend} (this trainer is JAX's)")


def fit_seeds(tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> list[FitResult]:
    """Fit ``tasks`` (seeds of configs that share a step, :func:`step_key`) as replicas; one result per
    task, in order. ``epoch_hook`` may stop replicas between epochs (``stopped_by_hook``).

    Raises:
        Unsupported: see :func:`check_fusable`.
    """
    check_fusable(tasks)
    start_keras("jax", tasks[0].threads)
    forget_compiled()  # the programs of earlier fits: a process of many fits stays flat
    import jax
    import numpy as np

    from tuning.space import split_config

    first = tasks[0]
    settings = first.fit
    problem = cached_problem(first.problem_name, first.problem_params_json)
    model_configs = [split_config(task.config)[0] for task in tasks]
    x, y, x_val, y_val = training_arrays(problem, settings)
    batch_size = max(1, min(int(settings.batch_size), len(x)))
    started = time.perf_counter()
    models = [_standalone_model(task.seed, config, problem, x[:batch_size], y[:batch_size])
              for task, config in zip(tasks, model_configs, strict=True)]
    template = models[0]
    trainable = _stacked(models, lambda m: m.trainable_variables)
    non_trainable = _stacked(models, lambda m: m.non_trainable_variables)
    optimizer = _stacked(models, lambda m: m.optimizer.variables)
    template.reset_metrics()
    fresh_metrics = _stacked(models, lambda m: template.metrics_variables)  # zeros: every epoch starts from them
    train_step = jax.jit(jax.vmap(template.train_step))
    test_step = jax.jit(jax.vmap(template.test_step))

    replicas = len(tasks)
    curves: list[dict[str, list[float]]] = [defaultdict(list) for _ in tasks]
    diverged: list[int | None] = [None] * replicas
    stoppers = [_early_stopping(settings.early_stopping, model) for model in models]
    stopped = [False] * replicas
    hooked: list[int | None] = [None] * replicas  # epochs run when the hook stopped it
    fits = [(t.config_key, t.seed) for t in tasks]
    state = (trainable, non_trainable, optimizer, fresh_metrics)
    for epoch in range(settings.epochs):
        orders = [batch_order(len(x), batch_size, task.seed, epoch, settings.shuffle) for task in tasks]
        state = (*state[:3], fresh_metrics)
        for step in range(len(orders[0])):
            rows = np.stack([order[step] for order in orders])  # (replicas, batch)
            logs, state = train_step(state, (x[rows], y[rows]))
        val_logs, val_state = _test_all(test_step, (state[0], state[1], fresh_metrics), x_val, y_val)
        # Keras's fit keeps what validation did to the non-trainable variables (a seed generator
        # a layer advances even when it drops nothing), and so does each replica.
        state = (state[0], val_state[1], *state[2:])
        epoch_logs = {**{k: np.asarray(v) for k, v in logs.items()},
                      **{f"val_{k}": np.asarray(v) for k, v in val_logs.items()}}
        trained = [r for r in range(replicas) if diverged[r] is None and not stopped[r]]
        for r in trained:
            for name, values in epoch_logs.items():
                curves[r][name].append(float(values[r]))
            if not all(math.isfinite(values[r]) for values in epoch_logs.values()):
                diverged[r] = epoch + 1  # its standalone fit stops after this epoch and fails
            elif stoppers[r] is not None:
                _assign(models[r], state, r)
                stoppers[r].on_epoch_end(epoch, {k: float(v[r]) for k, v in epoch_logs.items()})
                stopped[r] = bool(models[r].stop_training)  # its weights stay in its model as they are
        if epoch_hook is not None:
            monitor = require_monitor(epoch_hook, list(epoch_logs))
            for r in replicas_to_stop(epoch_hook, epoch, fits, curves, monitor, trained):
                if diverged[r] is None and not stopped[r] and epoch + 1 < settings.epochs:
                    _assign(models[r], state, r)  # kept as early stopping keeps it
                    stopped[r], hooked[r] = True, epoch + 1
        if all(d is not None or s for d, s in zip(diverged, stopped, strict=True)):
            break
    seconds = (time.perf_counter() - started) / replicas  # the replicas share the graph's time
    weights = trainable_weights(template)
    for r, model in enumerate(models):
        if diverged[r] is None:
            if not stopped[r]:
                _assign(model, state, r)
            if stoppers[r] is not None:
                stoppers[r].on_train_end()  # restores its best weights, if asked to
    final = _FinalWeights(template, models, test_step, fresh_metrics)
    results = []
    for r, (task, model) in enumerate(zip(tasks, models, strict=True)):
        replica_curves = dict(curves[r])
        epochs_run = len(replica_curves.get("loss", []))
        if diverged[r] is not None:
            results.append(FitResult(task.config_key, task.seed, FAILED, {}, replica_curves, epochs_run, None, seconds,
                                     f"diverged at epoch {diverged[r]}, seed {task.seed}", weights, hooked[r]))
            continue
        scores = scores_of(model, problem, model_configs[r], x_val, y_val, replica_curves,
                           partial(final.predictions, r), partial(final.evaluation, r))
        if not all(math.isfinite(v) for v in scores.values()):
            results.append(FitResult(task.config_key, task.seed, FAILED, {}, replica_curves, epochs_run, None, seconds,
                                     f"diverged: non-finite predictions, seed {task.seed}", weights, hooked[r]))
            continue
        best_epoch = int(stoppers[r].best_epoch) + 1 if stoppers[r] is not None else None
        results.append(FitResult(task.config_key, task.seed, OK, scores, replica_curves, epochs_run, best_epoch,
                                 seconds, trainable_weights=weights, stopped_by_hook=hooked[r]))
    return results


def _standalone_model(seed: int, model_config: dict[str, Any], problem, x_batch, y_batch):
    """The model seed's standalone fit trains, built as ``fit_one`` builds it, with what Keras's
    ``fit`` builds before its first step (the optimizer's and the metrics' variables)."""
    import keras

    from tuning.models import build_model

    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    model = build_model(model_config, problem)
    # What fit() does first; Keras has no public name for it. The data only gives shapes.
    model._symbolic_build(data_batch=(x_batch, y_batch, None))
    model.stop_training = False
    return model


def _early_stopping(early, model):
    """The ``EarlyStopping`` callback ``fit_one`` gives this replica's standalone fit, or ``None``."""
    if early is None:
        return None
    import keras

    stopper = keras.callbacks.EarlyStopping(monitor=early.monitor, patience=early.patience, min_delta=early.min_delta,
                                            restore_best_weights=early.restore_best_weights)
    stopper.set_model(model)
    stopper.on_train_begin()
    return stopper


def _stacked(models, variables_of) -> list:
    """The values of ``variables_of(model)`` of every model, each stacked on a leading replica axis."""
    import jax.numpy as jnp

    per_model = ([v.value for v in variables_of(m)] for m in models)
    return [jnp.stack(values) for values in zip(*per_model, strict=True)]


def _test_all(test_step, state, x, y) -> tuple[dict[str, Any], Any]:
    """Every replica's vmapped ``test_step`` over ``(x, y)`` in ``fit_one``'s batches, as Keras's
    validation and ``evaluate`` run it: (the last batch's logs, the state after it). The replica
    count is the state's leading axis; each replica sees the same rows (a view, no copy)."""
    import jax
    import numpy as np

    replicas = jax.tree_util.tree_leaves(state)[0].shape[0]
    logs: dict[str, Any] = {}
    for start, stop in _batches(len(x)):
        batch = tuple(np.broadcast_to(part, (replicas, *part.shape)) for part in (x[start:stop], y[start:stop]))
        logs, state = test_step(state, batch)
    return logs, state


class _FinalWeights:
    """Every replica's predictions and compiled metrics from its final weights (those in its model:
    early stopping may have restored its best ones), one compiled call for all replicas: Keras's
    stateless ``predict_step`` and the fit's vmapped ``test_step``. A ``model.predict`` or
    ``model.evaluate`` per replica compiles a program per replica, about 0.3 s each on a 2-core
    CPU (docs/performance.md); the batches are :func:`~tuning.fit._keras.fit_one`'s
    (``VALIDATION_BATCH`` rows)."""

    def __init__(self, template, models, test_step, fresh_metrics):
        import jax

        self._state = (_stacked(models, lambda m: m.trainable_variables),
                       _stacked(models, lambda m: m.non_trainable_variables))
        self._predict_step = jax.jit(jax.vmap(template.predict_step, in_axes=(0, None)))
        self._test_step, self._fresh_metrics = test_step, fresh_metrics
        self._done: dict[tuple, tuple[Any, Any]] = {}  # (what, id(x)) -> (x, every replica's answer)

    def predictions(self, replica: int, x):
        """Replica ``replica``'s predictions for ``x`` (all replicas' computed on the first call)."""
        import numpy as np

        key = ("predict", id(x))
        if key not in self._done:
            state, outputs = self._state, []
            for start, stop in _batches(len(x)):
                out, non_trainable = self._predict_step(state, x[start:stop])
                state = (state[0], non_trainable)
                outputs.append(np.asarray(out))
            self._done[key] = (x, np.concatenate(outputs, axis=1))
        return self._done[key][1][replica]

    def evaluation(self, replica: int, x, y) -> dict[str, float]:
        """Replica ``replica``'s compiled metrics on ``(x, y)``, as ``model.evaluate`` reports them."""
        import numpy as np

        key = ("evaluate", id(x))
        if key not in self._done:
            logs, _ = _test_all(self._test_step, (*self._state, self._fresh_metrics), x, y)
            self._done[key] = (x, {name: np.asarray(values) for name, values in logs.items()
                                   if np.ndim(values) == 1})  # a number per replica, as evaluate's
        return {name: float(values[replica]) for name, values in self._done[key][1].items()}


def _batches(rows: int) -> list[tuple[int, int]]:
    """(start, stop) of the batches ``fit_one`` predicts and evaluates in."""
    batch = max(1, min(rows, VALIDATION_BATCH))
    return [(start, min(start + batch, rows)) for start in range(0, rows, batch)]


def _assign(model, state, replica: int) -> None:
    """Replica ``replica``'s trainable and non-trainable values (``state[:2]``) into its model's variables."""
    both = (model.trainable_variables, model.non_trainable_variables)
    for variables, stacked_values in zip(both, state[:2], strict=True):
        for variable, values in zip(variables, stacked_values, strict=True):
            variable.assign(values[replica])


def fit_config_seeds(tasks: list[FitTask], epoch_hook: EpochHook | None = None) -> list[FitResult]:
    """The seeds of one config fused (:func:`fit_seeds`), or fitted one by one by
    :func:`~tuning.fit.fit_one` when they cannot be (:class:`Unsupported`): what a runner's worker runs."""
    try:
        return fit_seeds(tasks, epoch_hook)
    except Unsupported:
        pass
    except Exception as exc:  # a builder's model that is not replicas of one step: its seeds alone
        if isinstance(exc, TuningError) or not tasks[0].config.get("builder"):
            raise
    from tuning.fit._keras import fit_one

    return [fit_one(task, epoch_hook) for task in tasks]
