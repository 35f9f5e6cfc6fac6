"""Repeated evaluation: fit one config once per seed, keep every seed, report the aggregate.

Three pieces, each replaceable:

* :func:`fit_one` - a pure function: one (config, seed) in, one :class:`FitResult` out. It
  imports TensorFlow itself, so it runs the same in this process or in a worker.
* runners - decide *where* fits run: :class:`SequentialRunner` (here, one after another),
  :class:`ProcessRunner` (joblib worker processes, each with its share of the CPU threads), or
  :class:`tuning.fused.FusedRunner` (all seeds of a config as one graph; ``auto``, the default,
  fuses only the configs whose fused fit is the standalone one); :func:`make_runner` picks one.
  A runner only maps tasks to results; it knows nothing of stores or studies.
* :class:`Evaluator` - for one config: takes finished fits from the store, sends the missing
  (config, seed) tasks to the runner, writes each result the moment it arrives, checks every
  seed came back, and aggregates.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from tuning.results import FAILED, OK, FitResult, TrialResult, aggregate


@dataclass(frozen=True)
class FitTask:
    """Everything a worker needs to fit one config with one seed: plain, picklable data."""

    problem_name: str
    problem_params_json: str
    config: dict[str, Any]
    config_key: str
    seed: int
    fit: dict[str, Any] = field(default_factory=dict)  # FitSpec as a dict
    threads: int | None = None


class Runner(Protocol):
    """Where fits run. ``map`` may yield results in any order, each as soon as it is done."""

    def map(self, tasks: list[FitTask]) -> Iterator[FitResult]: ...


class SequentialRunner:
    """Fits in this process, one after another."""

    name = "sequential"

    def map(self, tasks: list[FitTask]) -> Iterator[FitResult]:
        for task in tasks:
            yield fit_one(task)


class ProcessRunner:
    """Fits in ``jobs`` joblib worker processes (loky), reused across trials.

    Each worker gets ``cores // jobs`` TensorFlow threads (at least one), so N workers do not
    oversubscribe the cores; results stream back as they finish, so each is stored at once.
    """

    name = "processes"

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.threads = max(1, (os.cpu_count() or 1) // jobs)

    def map(self, tasks: list[FitTask]) -> Iterator[FitResult]:
        from dataclasses import replace

        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=self.jobs, backend="loky", return_as="generator_unordered")
        yield from parallel(delayed(fit_one)(replace(t, threads=self.threads)) for t in tasks)


def make_runner(name: str, jobs: int) -> Runner:
    """The runner a spec's ``runner`` and ``jobs`` ask for.

    ``auto`` (the default) fuses the seeds of every config whose fused fit is its standalone fit
    (no dropout) and fits the others with ``processes`` (``jobs`` > 1) or ``sequential``, without
    a word on stderr; ``fused`` fuses every config it can, with a notice for those it cannot;
    ``sequential`` with ``jobs`` > 1 means ``processes``.
    """
    if name in ("fused", "auto"):  # all seeds of a config in one graph (tuning/fused.py)
        from tuning.fused import FusedRunner, no_notice

        if name == "auto":
            return FusedRunner(jobs, exact_only=True, notice=no_notice)
        return FusedRunner(jobs)
    if name == "processes" or jobs > 1:
        return ProcessRunner(jobs)
    return SequentialRunner()


class Evaluator:
    """Evaluates configs over seeds, reusing every fit the store already holds.

    Args:
        runner: where fits run.
        record: called with each new :class:`FitResult` as soon as it exists (the study writes it
            to the store there, so an interruption loses no finished fit).
        finished: returns the stored fits of a config key (so they are never recomputed).
    """

    def __init__(
        self,
        runner: Runner,
        *,
        problem_name: str,
        problem_params: dict[str, Any],
        fit_settings: dict[str, Any],
        metric: str,
        aggregate: str,
        direction: str,
        k: float,
        record: Callable[[FitResult], None],
        finished: Callable[[str], list[FitResult]],
    ):
        self.runner = runner
        self.problem_name = problem_name
        self.problem_params_json = json.dumps(problem_params, sort_keys=True)
        self.fit_settings = fit_settings
        self.metric, self.aggregate, self.direction, self.k = metric, aggregate, direction, k
        self.record = record
        self.finished = finished

    def evaluate(self, config: dict[str, Any], key: str, seeds: Iterable[int],
                 on_fit: Callable[[FitResult, bool], None] | None = None) -> TrialResult:
        """Fit ``config`` once per seed (skipping stored fits) and aggregate the objective."""
        (result,) = self.evaluate_many([(config, key)], seeds, on_fit)
        return result

    def evaluate_many(self, configs: list[tuple[dict[str, Any], str]], seeds: Iterable[int],
                      on_fit: Callable[[FitResult, bool], None] | None = None) -> Iterator[TrialResult]:
        """Evaluate several configs with one runner call; yield each as soon as its seeds are in.

        Handing the runner every (config, seed) of a batch at once keeps all its workers busy:
        three seeds on two workers would otherwise leave one idle for every other round.
        """
        seeds = list(seeds)
        done: dict[str, dict[int, FitResult]] = {}
        tasks = []
        for config, key in configs:
            done[key] = {f.seed: f for f in self.finished(key) if f.seed in seeds}
            for fit in done[key].values():
                if on_fit:
                    on_fit(fit, True)
            tasks += [FitTask(self.problem_name, self.problem_params_json, config, key, seed, self.fit_settings)
                      for seed in seeds if seed not in done[key]]
        by_key = {key: config for config, key in configs}
        pending = [key for _, key in configs]
        for key in [k for k in pending if len(done[k]) == len(seeds)]:
            pending.remove(key)
            yield self._result(by_key[key], key, [done[key][s] for s in seeds])
        for fit in self.runner.map(tasks):
            self.record(fit)
            done[fit.config_key][fit.seed] = fit
            if on_fit:
                on_fit(fit, False)
            if len(done[fit.config_key]) == len(seeds):
                pending.remove(fit.config_key)
                yield self._result(by_key[fit.config_key], fit.config_key, [done[fit.config_key][s] for s in seeds])
        if pending:  # a runner that drops work is a bug, not a user mistake
            missing = {key: sorted(set(seeds) - set(done[key])) for key in pending}
            raise RuntimeError(f"runner returned no result for {missing}")

    def _result(self, config: dict[str, Any], key: str, fits: list[FitResult]) -> TrialResult:
        failed = [f for f in fits if not f.ok]
        if failed:
            reasons = "; ".join(f.error or "failed" for f in failed)
            return TrialResult(config, key, fits, self.metric, None, failure=reasons)
        missing = [f.seed for f in fits if self.metric not in f.scores]
        if missing:
            known = ", ".join(sorted(fits[0].scores))
            return TrialResult(config, key, fits, self.metric, None,
                               failure=f"metric {self.metric!r} not scored (have {known})")
        values = [f.scores[self.metric] for f in fits]
        return TrialResult(config, key, fits, self.metric, aggregate(values, self.aggregate, self.direction, self.k))


# -- the fit itself (runs in this process or a worker) --------------------------------------------

_threads_set = False


@contextmanager
def silenced_stderr() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null for the block: C++ code (TensorFlow's absl logging)
    writes there directly, past Python's ``sys.stderr``."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up chatter kept off the user's terminal.

    TensorFlow prints absl lines ("Could not find cuda drivers ...", "failed call to cuInit")
    straight to file descriptor 2 before ``TF_CPP_MIN_LOG_LEVEL`` applies, at import and when it
    first looks for devices, so they would stand above every one-line error message. Both happen
    here, silenced. Python-level import errors still raise as usual.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery, and its CUDA probe, while silenced


def _configure_threads(threads: int | None) -> None:
    """Pin TensorFlow's thread pools once per process, before any op runs."""
    global _threads_set
    if _threads_set or not threads:
        return
    _import_tensorflow_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process: keep what it has
        pass
    _threads_set = True


@lru_cache(maxsize=4)
def cached_problem(name: str, params_json: str):
    """The problem's data, generated once per process (the study and in-process fits share it)."""
    from tuning.problems import load_problem

    return load_problem(name, json.loads(params_json))


def fit_one(task: FitTask) -> FitResult:
    """Fit ``task.config`` with ``task.seed`` and score it; never raises for a failed fit.

    The seed goes through ``keras.utils.set_random_seed`` (Python, NumPy and TensorFlow), which
    fixes initial weights, dropout masks and Keras's shuffling: the same task gives the same
    scores on the same machine. A NaN/inf loss fails the fit with the epoch it happened at.
    Spec mistakes found while building (``SpecError``) are raised: every seed would fail alike.
    """
    _import_tensorflow_quietly()
    _configure_threads(task.threads)
    import keras

    # Each fit builds a new model, so its train step is traced anew; TF's warning about
    # retracing is expected here and only noise for the user.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    from tuning.errors import TuningError
    from tuning.models import build_model
    from tuning.pipeline import fit_data
    from tuning.space import split_config

    problem = cached_problem(task.problem_name, task.problem_params_json)
    model_config, fit_config = split_config(task.config)
    settings = task.fit
    # Reset Keras's global state (layer names, graph) but skip the full garbage collection that
    # clear_session() runs by default: it costs ~0.7 s a fit (docs/performance.md) and
    # Python's own collector frees the previous model's cycles anyway.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(task.seed)
    if settings.get("deterministic"):
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    model = build_model(model_config, problem)
    weights = trainable_weights(model)

    x, y, x_val, y_val = training_arrays(problem, settings)
    callbacks: list[Any] = [_NonFiniteLoss()]
    stopper = None
    early = settings.get("early_stopping")
    if early:
        stopper = keras.callbacks.EarlyStopping(
            monitor=early.get("monitor", "val_loss"), patience=int(fit_config.get("patience", early.get("patience", 10))),
            min_delta=early.get("min_delta", 0.0), restore_best_weights=early.get("restore_best_weights", True),
        )
        callbacks.append(stopper)

    started = time.perf_counter()
    try:
        data = fit_data(x, y, x_val, y_val, batch_size=int(fit_config.get("batch_size", 32)), seed=task.seed,
                        shuffle=bool(settings.get("shuffle", True)))
        history = model.fit(
            data.train, steps_per_epoch=data.steps_per_epoch, validation_data=data.validation,
            validation_steps=data.validation_steps, epochs=int(fit_config.get("epochs", 10)),
            callbacks=callbacks, verbose=0, shuffle=False,  # the pipeline shuffles
        )
        curves = {name: [float(v) for v in values] for name, values in history.history.items()}
        epochs_run = len(curves.get("loss", []))
        bad_epoch = _first_non_finite(curves)
        if bad_epoch is not None:
            return _failed(task, f"diverged at epoch {bad_epoch}, seed {task.seed}", curves, epochs_run, started,
                           weights)
        loss = model_config.get("loss")
        scores = {f"val_{k}": v for k, v in problem.score(y_val, _predict(model, x_val), loss).items()}
        if problem.has_test:
            test_scores = problem.score(problem.y_test, _predict(model, problem.x_test), loss)
            scores.update({f"test_{k}": v for k, v in test_scores.items()})
        scores["train_loss"] = curves["loss"][-1]
        if not all(math.isfinite(v) for v in scores.values()):
            return _failed(task, f"diverged: non-finite predictions, seed {task.seed}", curves, epochs_run, started,
                           weights)
    except TuningError:
        raise
    except Exception as exc:  # a fit that raises is recorded, and the study goes on
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _failed(task, f"{type(exc).__name__}: {message} (seed {task.seed})", {}, 0, started, weights)
    # The epoch whose weights early stopping kept (its own notion of best, min_delta included).
    best_epoch = int(stopper.best_epoch) + 1 if stopper is not None else None
    return FitResult(task.config_key, task.seed, OK, scores, curves, epochs_run, best_epoch,
                     time.perf_counter() - started, trainable_weights=weights)


def trainable_weights(model) -> int:
    """How many numbers training adjusts: the size "the simplest config equivalent to the best" means."""
    import numpy as np

    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def training_arrays(problem, settings: dict[str, Any]) -> tuple:
    """(x, y, x_val, y_val) a fit trains and validates on: the problem's own validation set, or
    the last ``fraction`` of the training rows when ``fit.validation.source`` is ``split``."""
    x, y = problem.x_train, problem.y_train
    validation = settings.get("validation") or {}
    if validation.get("source") == "split":
        cut = int(round(len(x) * (1 - validation.get("fraction", 0.2))))
        return x[:cut], y[:cut], x[cut:], y[cut:]
    return x, y, problem.x_val, problem.y_val


def _predict(model, x):
    """Predict in few large batches: Keras's default of 32 costs ~0.3 s a fit on small sets."""
    from tuning.pipeline import VALIDATION_BATCH

    return model.predict(x, batch_size=max(1, min(len(x), VALIDATION_BATCH)), verbose=0)


def _failed(task: FitTask, reason: str, curves: dict, epochs_run: int, started: float,
            weights: int | None = None) -> FitResult:
    return FitResult(task.config_key, task.seed, FAILED, {}, curves, epochs_run, None,
                     time.perf_counter() - started, reason, weights)


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
