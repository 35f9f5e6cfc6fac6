"""The per-epoch hook every fit path calls: each epoch's monitored value in, "stop these fits" out.

An :class:`EpochHook` is told, after every epoch, the monitored value of each fit that trained
that epoch, and answers which of them should stop. Every fit path calls it the same way:

* :func:`tuning.fit.fit_one`: through a Keras callback (``model.stop_training``), on TensorFlow
  and on JAX alike; one fit per call.
* the TensorFlow fused trainer (:func:`tuning.fit.fused.fit_group`): between epochs, once for all
  replicas that trained the epoch; a replica told to stop leaves the graph's ``alive`` mask, the
  others train on as if alone.
* the JAX fused trainer (:func:`tuning.fit.jax.fit_seeds`): the same, between epochs.

It is what an epoch pruner (:mod:`tuning.pruning`) plugs into; the hook itself knows nothing of
pruning, so it can also stop fits for a time budget or record curves as they come.

A stopped fit keeps the curves of the epochs it ran and is scored as early stopping would score
it (its best weights when ``restore_best_weights``); its :class:`~tuning.results.FitResult` says
``stopped_by_hook=N``, the epochs it ran. A request to stop a fit that ends after this epoch
anyway (its last epoch, its own early stopping, a non-finite loss) is not a stop: such a fit
ended on its own.

Without a hook (the default) no fit path does anything more than before: no callback is added
and no value is read (``benchmarks/epoch_hook.py`` measures it).

Example:
    >>> class StopSeed:
    ...     monitor = "val_loss"
    ...     def __call__(self, epoch, fits, values):
    ...         return [epoch == 1 and seed == 3 for _key, seed in fits]
    >>> stop_mask(StopSeed()(1, [("c1", 0), ("c1", 3)], np.array([0.5, 0.7])), 2).tolist()
    [False, True]
    >>> stop_mask(None, 2) is None
    True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from tuning.errors import SpecError
from tuning.vocabulary import DEFAULT_MONITOR


class EpochHook(Protocol):
    """Called after every epoch with the fits that trained it; returns which should stop.

    ``monitor`` (optional, default ``val_loss``) names the curve whose value the hook is told, one
    of the names a fit logs (``loss``, ``val_loss``, ``val_mae``, ...): the value told is exactly
    the one the fit's ``curves[monitor]`` holds for that epoch. A plain function is a hook too.

    Args (of a call):
        epoch: the epoch just trained, from 0 (as Keras's ``on_epoch_end`` and Optuna's steps count).
        fits: ``(config_key, seed)`` of each fit that trained this epoch, in a fixed order.
        values: (len(fits),) float64, each fit's monitored value at this epoch (NaN or inf when it
            diverged; that fit fails whatever the hook answers).

    Returns:
        ``None`` or ``False``: none stops; ``True``: all stop; else one bool per fit.

    Two optional methods, for hooks that decide per config (a pruner): ``skips((config_key,
    seed))`` - True when that fit need not start (:func:`tuning.fit.fit_one` then returns it
    stopped after 0 epochs); ``config_done(config_key, stopped)`` - called once every fit of the
    config in the runner's batch is in (``stopped``: whether the hook stopped or skipped any of
    them): by the study's evaluator in its process, and by a runner in the process where the fits
    ran (:func:`tell_configs_done`), whose copy of the hook judges that process's next configs.
    """

    def __call__(self, epoch: int, fits: Sequence[tuple[str, int]], values: np.ndarray) -> Any: ...


class ConfigsDone:
    """Tells ``hook.config_done(config_key, stopped)`` (if it has one) at the last fit of each config
    of ``tasks``; ``stopped``: whether the hook stopped or skipped any of that config's fits.

    A pruner's median counts the configs that finished, and the ones a process fits next are
    judged against them: in a worker process the hook is that process's copy, which only this
    tells (the evaluator tells the study's copy). A copy that ran only some of a config's fits is
    never told; telling one copy twice changes nothing.
    """

    def __init__(self, tasks: Sequence[Any], hook: EpochHook | None):
        self.hook = hook
        self.left = Counter(task.config_key for task in tasks)
        self.stopped: dict[str, bool] = {}

    def arrived(self, result: Any) -> None:
        """``result``: a fit result of ``tasks`` (its ``config_key`` and ``stopped_by_hook``)."""
        key = result.config_key
        self.left[key] -= 1
        self.stopped[key] = self.stopped.get(key, False) or result.stopped_by_hook is not None
        if self.left[key] == 0 and hasattr(self.hook, "config_done"):
            self.hook.config_done(key, stopped=self.stopped[key])


def tell_configs_done(results: Iterable[Any], tasks: Sequence[Any], hook: EpochHook | None) -> Iterator[Any]:
    """``results`` (fit results of ``tasks``) passed on, each config's last told first (:class:`ConfigsDone`)."""
    done = ConfigsDone(tasks, hook)
    for result in results:
        done.arrived(result)
        yield result


def monitor_of(hook: EpochHook) -> str:
    """The curve ``hook`` is told (its ``monitor``, else :data:`DEFAULT_MONITOR`)."""
    return getattr(hook, "monitor", DEFAULT_MONITOR)


def require_monitor(hook: EpochHook, logged: Sequence[str]) -> str:
    """``hook``'s monitor, checked against the names a fit logs.

    Raises:
        SpecError: the fit logs no such curve (every fit of the config would miss it alike).
    """
    monitor = monitor_of(hook)
    if monitor not in logged:
        raise SpecError(f"the epoch hook monitors {monitor!r}, which this fit does not log "
                        f"(it logs {', '.join(sorted(logged))})", field="monitor")
    return monitor


def stop_mask(answer: Any, count: int) -> np.ndarray | None:
    """A hook's answer for ``count`` fits as a bool mask, or ``None`` when none is to stop.

    Raises:
        ValueError: the answer is neither one bool nor one per fit.
    """
    if answer is None:
        return None
    mask = np.asarray(answer, dtype=bool)
    if mask.ndim == 0:
        mask = np.full(count, bool(mask))
    if mask.shape != (count,):
        raise ValueError(f"an epoch hook answered {mask.shape[0] if mask.ndim == 1 else mask.shape} "
                         f"stop flags for {count} fits")
    return mask if mask.any() else None


def ask(hook: EpochHook, epoch: int, fits: Sequence[tuple[str, int]], values) -> list[int]:
    """Positions in ``fits`` that ``hook`` asks to stop after ``epoch`` (told ``values``, one per fit)."""
    mask = stop_mask(hook(epoch, fits, np.asarray(values, dtype=float)), len(fits))
    return [] if mask is None else np.flatnonzero(mask).tolist()


def replicas_to_stop(hook: EpochHook, epoch: int, fits: Sequence[tuple[str, int]],
                     curves: Sequence[dict[str, list[float]]], monitor: str, trained: Sequence[int]) -> list[int]:
    """The replicas among ``trained`` (those that trained ``epoch``) that ``hook`` asks to stop,
    told each one's latest ``monitor`` value: what both fused trainers ask between epochs."""
    trained = list(trained)
    asked = ask(hook, epoch, [fits[r] for r in trained], [curves[r][monitor][-1] for r in trained])
    return [trained[i] for i in asked]


class HookCallback:
    """The Keras callback that calls ``hook`` for one fit after every epoch and stops the fit when
    asked (``model.stop_training``, which Keras's ``fit`` reads on every backend).

    Placed after the callbacks that may end the fit themselves (non-finite loss, early stopping),
    so that a fit they end is not counted as stopped by the hook. ``stopped_after``: the epochs
    the fit had run when the hook stopped it, else ``None``. Built lazily, so that importing this
    module does not import Keras.
    """

    def __new__(cls, hook: EpochHook, fit: tuple[str, int], epochs: int):
        import keras

        monitor = monitor_of(hook)
        fits = (fit,)

        class EpochHookCallback(keras.callbacks.Callback):
            stopped_after: int | None = None

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                require_monitor(hook, list(logs))
                if ask(hook, epoch, fits, [logs[monitor]]) and not self.model.stop_training and epoch + 1 < epochs:
                    self.model.stop_training = True
                    self.stopped_after = epoch + 1

        return EpochHookCallback()
