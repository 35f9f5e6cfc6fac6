"""Training one fused graph: the compiled epoch, evaluation and prediction, per-replica early
stopping, the seeds' batch orders, and the scoring of every replica as its own :class:`FitResult`.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numpy as np

from tuning.fit._hook import EpochHook, replicas_to_stop, require_monitor
from tuning.fit.fused._graph import FusedGraph, loss_values, metric_values, per_replica
from tuning.fit.fused._net import RnnSpec
from tuning.results import FAILED, OK, FitResult
from tuning.vocabulary import direction_of

# -- early stopping, per replica (Keras's EarlyStopping rules) -------------------------------------

class Stopper:
    """One replica's early stopping, with Keras's ``EarlyStopping`` rules (wait, min_delta, best epoch)."""

    def __init__(self, monitor: str, patience: int, min_delta: float, restore: bool):
        self.monitor, self.patience, self.restore = monitor, patience, restore
        self.maximize = direction_of(monitor.removeprefix("val_")) == "maximize"
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




def batch_orders(n: int, batch_size: int, seeds: list[int], epochs: int, shuffle: bool) -> np.ndarray:
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




@contextmanager
def without_grappler():
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


def train_and_score(tasks, problem, model_config, graph, optimizer, trainer, orders, x_val, y_val,
                    epochs, steps, started, epoch_hook: EpochHook | None = None) -> list[FitResult]:
    """Train the replicas at most ``epochs`` epochs (each stops, fails or finishes on its own) and score each.

    Each replica trains its own task's ``fit.epochs`` and stops early by its own
    ``fit.early_stopping`` (the same for all tasks but the patience, or ``None`` for all); a replica
    that is done or failed is masked out of the loss and zeroed, so the others train on as if alone.
    ``epoch_hook`` is told after every epoch the monitored value of each replica that trained it,
    and a replica it stops is done as if its early stopping had fired (``stopped_by_hook``).
    """
    import keras

    seeds = [t.seed for t in tasks]
    replicas = len(tasks)
    metric = graph.net.metric
    # Keras's history lists its names sorted: accuracy, loss, val_accuracy, val_loss.
    names = sorted(["loss", metric, "val_loss", f"val_{metric}"])
    curves: list[dict[str, list[float]]] = [{name: [] for name in names} for _ in tasks]
    status = ["running"] * replicas  # running | done | failed
    errors: list[str | None] = [None] * replicas
    own_epochs = [t.fit.epochs for t in tasks]
    stoppers = None
    if tasks[0].fit.early_stopping is not None:
        stoppers = [Stopper(e.monitor, e.patience, e.min_delta, e.restore_best_weights)
                    for e in (t.fit.early_stopping for t in tasks)]
    final_weights: list[list[np.ndarray] | None] = [None] * replicas
    alive = np.ones(replicas, dtype=bool)
    hooked: list[int | None] = [None] * replicas  # epochs run when the hook stopped it
    if epoch_hook is not None:
        monitor = require_monitor(epoch_hook, names)
        fits = [(t.config_key, t.seed) for t in tasks]

    for epoch in range(epochs):
        trained = np.flatnonzero(alive) if epoch_hook is not None else None  # before this epoch's deaths
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
            if stop or epoch == own_epochs[r] - 1:
                status[r] = "done"
                if values is None:
                    values = [np.array(v.numpy()) for v in graph.variables]
                final_weights[r] = [v[r].copy() for v in values]
        if epoch_hook is not None:
            for r in replicas_to_stop(epoch_hook, epoch, fits, curves, monitor, trained):
                if status[r] == "running":  # not ended this epoch on its own
                    status[r], hooked[r] = "done", epoch + 1
                    if values is None:
                        values = [np.array(v.numpy()) for v in graph.variables]
                    final_weights[r] = [v[r].copy() for v in values]
        newly_dead = [r for r in range(replicas) if status[r] != "running" and alive[r]]
        if newly_dead:
            alive[newly_dead] = False
            zero_replicas(graph, optimizer, newly_dead)
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
        test_pred = trainer.predict(problem.x_test, problem.dense(problem.y_test)) if problem.has_test else None
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
                                   best_epoch, 0.0, stopped_by_hook=hooked[r])
    share = (time.perf_counter() - started) / replicas  # each replica's share of the graph's time
    out = []
    for r in range(replicas):
        result = results[r] or FitResult(tasks[r].config_key, seeds[r], FAILED, {}, curves[r],
                                         len(curves[r]["loss"]), None, 0.0, errors[r], stopped_by_hook=hooked[r])
        result.fit_seconds = share
        out.append(result)
    keras.backend.clear_session(free_memory=False)
    return out


def zero_replicas(graph: FusedGraph, optimizer, replicas: list[int]) -> None:
    """Zero finished replicas' weights and optimizer slots: a NaN stays out of every later op."""
    shapes = {tuple(v.shape) for v in graph.variables}
    for variable in [*graph.variables, *optimizer.variables]:
        if tuple(variable.shape) in shapes and len(variable.shape) and variable.shape[0] == graph.replicas:
            value = np.array(variable.numpy())
            value[replicas] = 0.0
            variable.assign(value)


class Trainer:
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
            return per_replica(values * w, tf.reduce_sum), tf.reduce_sum(w) * per_sample

        def train_step(s, order, alive, step0, loss_sum, metric_sum, metric_count):
            index = order[:, s * batch_size:(s + 1) * batch_size]
            w = sample_weight[s * batch_size:(s + 1) * batch_size]
            xb = tf.gather(self.x, index)
            yb = tf.gather(self.y, index)
            xb.set_shape([replicas, batch_size, *x.shape[1:]])
            yb.set_shape([replicas, batch_size, *y.shape[1:]])
            with tf.GradientTape() as tape:
                out, logits, from_logits = graph.forward(xb, training=True, step=step0 + tf.cast(s, tf.int64))
                total_loss, count = weighted(loss_values(loss_name, yb, out, logits, from_logits), w)
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
            metric_total, metric_n = weighted(metric_values(metric, loss_name, yb, out), w)
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
            losses = per_replica(loss_values(loss_name, yr, out, logits, from_logits), tf.reduce_mean)
            metrics = metric_values(metric, loss_name, yr, out)
            return (losses, per_replica(metrics, tf.reduce_sum),
                    tf.cast(tf.reduce_prod(tf.shape(metrics)[1:]), tf.float32), out)


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

