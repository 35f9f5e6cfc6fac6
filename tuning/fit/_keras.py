"""One fit: one (config, seed) in, one :class:`~tuning.results.FitResult` out, in this process.

:func:`fit_one` is a pure function of its :class:`~tuning.fit.FitTask`: it imports TensorFlow
itself, so it runs the same in the study's process or in a worker, and runners only decide where
it runs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from tuning.fit._backend import start_keras
from tuning.fit._compile_cache import forget_compiled
from tuning.fit._hook import EpochHook, HookCallback
from tuning.fit._task import FitSettings, FitTask
from tuning.problems import cached_problem
from tuning.results import FAILED, OK, FitResult


def fit_one(task: FitTask, epoch_hook: EpochHook | None = None) -> FitResult:
    """Fit ``task.config`` with ``task.seed`` and score it; never raises for a failed fit.

    See :func:`fit_and_keep` (which also returns the trained model) for the procedure.
    ``epoch_hook``: told every epoch's monitored value, it may stop the fit
    (:class:`~tuning.fit.EpochHook`). A hook that says it ``skips`` the fit (a pruner that pruned
    its config while an earlier seed trained) has it not started: 0 epochs, ``stopped_by_hook=0``.
    """
    if epoch_hook is not None and getattr(epoch_hook, "skips", None) and epoch_hook.skips((task.config_key, task.seed)):
        return FitResult(task.config_key, task.seed, OK, stopped_by_hook=0)
    return fit_and_keep(task, epoch_hook)[0]


def fit_and_keep(task: FitTask, epoch_hook: EpochHook | None = None) -> tuple[FitResult, Any]:
    """(result, trained Keras model) of ``task``: :func:`fit_one`'s procedure, the model kept.

    The model is ``None`` when the fit failed. ``tuning export`` and ``Results.best_model`` use
    this to refit a stored config on one seed and get the very model whose scores were stored.

    The seed goes through ``keras.utils.set_random_seed`` (Python, NumPy and TensorFlow), which
    fixes initial weights, dropout masks and Keras's shuffling: the same task gives the same
    scores on the same machine. A NaN/inf loss fails the fit with the epoch it happened at.
    Spec mistakes found while building (``SpecError``) are raised: every seed would fail alike.
    A config's own builder (``model.builder``) that raises, or returns no Keras model, fails that
    fit with its message instead (another config may build); its scores gain the compiled
    model's own metrics (``val_auc`` ...) beside :meth:`~tuning.problems.Problem.score`'s.
    An ``epoch_hook`` is called after every epoch (a Keras callback after early stopping's) and
    may stop the fit: its result then says ``stopped_by_hook``, the epochs it ran.
    """
    start_keras(task.keras_backend, task.threads)
    if task.keras_backend == "jax":
        forget_compiled()  # the programs of earlier fits: a process of many fits stays flat
    import keras

    # Each fit builds a new model, so its train step is traced anew; TF's warning about
    # retracing is expected here and only noise for the user.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    from tuning.errors import TuningError, one_line
    from tuning.fit.pipeline import fit_data, numpy_fit_data
    from tuning.models import build_model
    from tuning.space import split_config

    problem = cached_problem(task.problem_name, task.problem_params_json)
    model_config, _ = split_config(task.config)
    settings = task.fit
    # Reset Keras's global state (layer names, graph) but skip the full garbage collection that
    # clear_session() runs by default: it costs ~0.7 s a fit (docs/performance.md) and
    # Python's own collector frees the previous model's cycles anyway.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(task.seed)
    if settings.deterministic and task.keras_backend == "tensorflow":  # JAX on CPU is deterministic as it is
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    custom = bool(model_config.get("builder"))
    started = time.perf_counter()
    try:
        model = build_model(model_config, problem)
    except Exception as exc:
        if not custom or isinstance(exc, TuningError):
            raise
        # the user's code, for this config: recorded, and the study goes on
        return _failed(task, f"builder: {one_line(exc)} (seed {task.seed})", {}, 0, started), None
    weights = trainable_weights(model)

    x, y, x_val, y_val = training_arrays(problem, settings)
    callbacks: list[Any] = [_NonFiniteLoss()]
    stopper = None
    early = settings.early_stopping
    if early is not None:
        stopper = keras.callbacks.EarlyStopping(monitor=early.monitor, patience=early.patience,
                                                min_delta=early.min_delta,
                                                restore_best_weights=early.restore_best_weights)
        callbacks.append(stopper)
    hooked = None
    if epoch_hook is not None:  # last: a fit the callbacks above end is not stopped by the hook
        hooked = HookCallback(epoch_hook, (task.config_key, task.seed), settings.epochs)
        callbacks.append(hooked)

    started = time.perf_counter()
    try:
        pipeline = fit_data if task.keras_backend == "tensorflow" else numpy_fit_data
        data = pipeline(x, y, x_val, y_val, batch_size=settings.batch_size, seed=task.seed, shuffle=settings.shuffle)
        history = model.fit(
            data.train, steps_per_epoch=data.steps_per_epoch, validation_data=data.validation,
            validation_steps=data.validation_steps, epochs=settings.epochs,
            callbacks=callbacks, verbose=0, shuffle=False,  # the pipeline shuffles
        )
        curves = {name: [float(v) for v in values] for name, values in history.history.items()}
        epochs_run = len(curves.get("loss", []))
        stopped_by_hook = hooked.stopped_after if hooked is not None else None
        bad_epoch = _first_non_finite(curves)
        if bad_epoch is not None:
            return _failed(task, f"diverged at epoch {bad_epoch}, seed {task.seed}", curves, epochs_run, started,
                           weights), None
        scores = scores_of(model, problem, model_config, x_val, y_val, curves)
        if not all(math.isfinite(v) for v in scores.values()):
            return _failed(task, f"diverged: non-finite predictions, seed {task.seed}", curves, epochs_run, started,
                           weights, stopped_by_hook), None
    except TuningError:
        raise
    except Exception as exc:  # a fit that raises is recorded, and the study goes on
        return _failed(task, f"{one_line(exc)} (seed {task.seed})", {}, 0, started, weights), None
    # The epoch whose weights early stopping kept (its own notion of best, min_delta included).
    best_epoch = int(stopper.best_epoch) + 1 if stopper is not None else None
    return FitResult(task.config_key, task.seed, OK, scores, curves, epochs_run, best_epoch,
                     time.perf_counter() - started, trainable_weights=weights, stopped_by_hook=stopped_by_hook), model


def scores_of(model, problem, model_config: dict[str, Any], x_val, y_val, curves: dict[str, list[float]],
              predict: Callable[[Any], Any] | None = None,
              evaluate: Callable[[Any, Any], dict[str, Any]] | None = None) -> dict[str, float]:
    """A trained model's scores: :meth:`~tuning.problems.Problem.score` on the validation (and test)
    set, a builder's compiled metrics beside them, and the last epoch's training loss.

    ``predict(x)`` and ``evaluate(x, y)``: the model's predictions for ``x`` and its compiled
    metrics on ``(x, y)`` when the caller has them already (fused replicas predict and evaluate
    together, one compiled call for all); else ``model.predict`` and ``model.evaluate``.
    """
    predict = predict or (lambda x: _predict(model, x))
    loss = model_config.get("loss")
    custom = bool(model_config.get("builder"))
    scores = {f"val_{k}": v for k, v in problem.score(y_val, predict(x_val), loss).items()}
    if custom:
        scores.update(compiled_metrics(model, "val", x_val, y_val, scores, evaluate))
    if problem.has_test:
        test_scores = problem.score(problem.y_test, predict(problem.x_test), loss)
        scores.update({f"test_{k}": v for k, v in test_scores.items()})
        if custom:
            scores.update(compiled_metrics(model, "test", problem.x_test, problem.y_test, scores, evaluate))
    scores["train_loss"] = curves["loss"][-1]
    return scores


def trainable_weights(model) -> int:
    """How many numbers training adjusts: the size "the simplest config equivalent to the best" means."""
    import numpy as np

    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def training_arrays(problem, settings: FitSettings) -> tuple:
    """(x, y, x_val, y_val) a fit trains and validates on: the problem's own validation set, or
    the last ``fraction`` of the training rows when ``fit.validation.source`` is ``split``."""
    x, y = problem.x_train, problem.y_train
    if settings.validation_source == "split":
        cut = int(round(len(x) * (1 - settings.validation_fraction)))
        return x[:cut], y[:cut], x[cut:], y[cut:]
    return x, y, problem.x_val, problem.y_val


def compiled_metrics(model, split: str, x, y, scores: dict[str, float],
                     evaluate: Callable[[Any, Any], dict[str, Any]] | None = None) -> dict[str, float]:
    """``<split>_<name>`` for each metric the compiled model reports that ``scores`` lacks
    (``evaluate(x, y)``: those metrics, when the caller has them; else ``model.evaluate``).

    ``Problem.score`` computes the scores every model shares (so they compare with the baseline);
    a builder's model may report more (``auc``, ``precision``), which the objective can then name.
    """
    from tuning.fit.pipeline import VALIDATION_BATCH

    if evaluate is not None:
        found = evaluate(x, y)
    else:
        found = model.evaluate(x, y, batch_size=max(1, min(len(x), VALIDATION_BATCH)), verbose=0, return_dict=True)
    return {f"{split}_{name}": float(value) for name, value in found.items()
            if f"{split}_{name}" not in scores and name != "loss" and _is_number(value)}


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _predict(model, x):
    """Predict in few large batches: Keras's default of 32 costs ~0.3 s a fit on small sets."""
    from tuning.fit.pipeline import VALIDATION_BATCH

    return model.predict(x, batch_size=max(1, min(len(x), VALIDATION_BATCH)), verbose=0)


def _failed(task: FitTask, reason: str, curves: dict, epochs_run: int, started: float,
            weights: int | None = None, stopped_by_hook: int | None = None) -> FitResult:
    return FitResult(task.config_key, task.seed, FAILED, {}, curves, epochs_run, None,
                     time.perf_counter() - started, reason, weights, stopped_by_hook)


def _first_non_finite(curves: dict[str, list[float]]) -> int | None:
    epochs = [i + 1 for values in curves.values() for i, v in enumerate(values) if not math.isfinite(v)]
    return min(epochs) if epochs else None


class _NonFiniteLoss:
    """Stop training after the first epoch whose loss is NaN/inf.

    Checked per epoch, not per batch: a per-batch check forces a device sync on every step,
    which costs more than the few wasted batches. Built lazily so that importing this module
    does not import Keras.
    """

    def __new__(cls):
        import keras

        class NonFiniteLoss(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if any(not math.isfinite(float(v)) for v in (logs or {}).values()):
                    self.model.stop_training = True

        return NonFiniteLoss()
