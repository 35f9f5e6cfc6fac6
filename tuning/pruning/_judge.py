"""Optuna's pruners judging a config's seed aggregate, epoch by epoch (:class:`EpochPruner`)."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tuning.objective import orientation, oriented_aggregate
from tuning.vocabulary import PRUNERS

if TYPE_CHECKING:
    import optuna

#: what a decision is made on: every seed's aggregate, or the first seed's curve alone (what a
#: pruning callback on one fit does, which is all Optuna offers today)
DECIDE_ON = ("aggregate", "first_seed")
#: the study name of the pruning study: Hyperband assigns a trial's bracket from a hash of the
#: study name and the trial number, so a fixed name keeps replays deterministic
STUDY_NAME = "pruning"


def default_settings(name: str, epochs: int | None = None) -> dict:
    """The keyword arguments :func:`make_pruner` passes to Optuna's pruner ``name`` by default.

    * ``n_startup_trials=5`` (median, percentile; Optuna's default): the median of fewer than five
      finished configs is mostly seed-and-config noise, so nothing is pruned before five
      configs have finished.
    * ``n_warmup_steps``: a third of ``epochs`` (at least 1; 5 when ``epochs`` is unknown).
      Learning curves cross early (a lower learning rate starts slowly and may end best), and
      the first epochs say least about the last; Optuna's default of 0 judges epoch 1. On
      synthetic studies (``benchmarks/pruning.py --quick --seed 11``, not the draws reported
      in docs/performance.md) the median pruner lost the true best in 0.23 of studies with a
      warm-up of a tenth of the epochs, 0.10 with 0.3 and 0.03 with a half, while the epochs
      it spent rose from 0.63 to 0.77 and 0.88 of those without pruning: a third is the
      compromise, and ``n_warmup_steps`` sets another.
    * successive halving and Hyperband: the same warm-up as their ``min_resource`` (the first
      rung), Hyperband's ``max_resource`` the epochs; otherwise Optuna's defaults
      (``reduction_factor`` 4 and 3).
    """
    if name not in PRUNERS:
        raise ValueError(f"pruner must be one of {', '.join(PRUNERS)} (got {name!r})")
    warmup = max(1, epochs // 3) if epochs else 5
    if name in ("median", "percentile"):
        return {"n_startup_trials": 5, "n_warmup_steps": warmup, "interval_steps": 1,
                **({"percentile": 25.0} if name == "percentile" else {})}
    if name == "successive_halving":
        return {"min_resource": warmup, "reduction_factor": 4, "min_early_stopping_rate": 0}
    if name == "hyperband":
        return {"min_resource": warmup, "max_resource": epochs or "auto", "reduction_factor": 3}
    return {}


def why_nothing_pruned(name: str, settings: dict, epochs: int | None, finished: int, *,
                       seeds_together: bool = True) -> str | None:
    """Why pruner ``name`` with ``settings`` could not have pruned a config of a study whose fits
    ran ``epochs`` epochs (None: searched, not one number) and that finished ``finished`` configs, or None if it could have.

    A pruner that never fires leaves a study that looks unpruned by choice; these are its
    settings' reasons, said after the run: a warm-up as long as the fits, or fewer finished
    configs than the median needs before it judges one. A warm-up that leaves only the fits' last
    epoch to judge is one too when a config's seeds train together (``seeds_together``): a stop
    at a fit's last epoch stops nothing; seeds fitted one at a time can still have later seeds skipped.
    """
    if name not in PRUNERS or name == "none":
        return None
    arguments = {**default_settings(name, epochs), **settings}
    warmup_name = "n_warmup_steps" if name in ("median", "percentile") else "min_resource"
    warmup = arguments.get(warmup_name)
    if epochs is not None and isinstance(warmup, int | float) and warmup >= epochs - (1 if seeds_together else 0):
        # Optuna judges the epochs from index `warmup` on; a stop at a fit's last epoch stops nothing
        earlier = max(0 if warmup_name == "n_warmup_steps" else 1, min(epochs // 3, epochs - 2))  # Optuna's floor
        judged = "never judged one" if warmup >= epochs else "judged only their last epoch, when nothing is left to stop"
        advice = (f"pruner.settings: {{{warmup_name}: {earlier}}} judges from epoch {earlier + 1}" if earlier < epochs - 1
                  else "fits of more epochs leave it epochs to stop")
        return f"pruner {name} pruned nothing: its {warmup_name} is {warmup:g} and the fits run {epochs} epochs, so it {judged} ({advice})"
    startup = arguments.get("n_startup_trials")
    if name in ("median", "percentile") and startup is not None and finished <= startup:
        return (f"pruner {name} pruned nothing: it judges a config only once n_startup_trials={startup} others "
                f"have finished, and this study finished {finished} (pruner.settings: {{n_startup_trials: "
                f"{max(1, finished - 2)}}} starts sooner)")
    return None


def make_pruner(name: str = "median", epochs: int | None = None, **settings) -> optuna.pruners.BasePruner:
    """Optuna's pruner ``name`` with :func:`default_settings`, any of them overridden by ``settings``.

    Example:
        >>> type(make_pruner("hyperband", epochs=50)).__name__
        'HyperbandPruner'
    """
    import inspect

    import optuna

    arguments = {**default_settings(name, epochs), **settings}
    classes = {"median": optuna.pruners.MedianPruner, "percentile": optuna.pruners.PercentilePruner,
               "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
               "hyperband": optuna.pruners.HyperbandPruner, "none": optuna.pruners.NopPruner}
    accepted = [p for p in inspect.signature(classes[name]).parameters if p != "self"]
    unknown = [k for k in settings if k not in accepted]
    if unknown:  # Optuna's own TypeError names the class's __init__, not the setting's place
        raise ValueError(f"pruner {name!r} has no setting {', '.join(map(repr, unknown))}; "
                         f"its settings: {', '.join(accepted) or 'none'}")
    try:
        return classes[name](**arguments)
    except TypeError as error:
        raise ValueError(f"pruner {name!r}: {error}") from None


def aggregate_curves(curves, direction: str = "minimize", aggregate: str = "mean") -> np.ndarray:
    """Per-epoch seed aggregate of validation curves, in the metric's units.

    Args:
        curves: (seeds, epochs) or (configs, seeds, epochs); NaN after a fit's own early stop.
        direction: ``minimize`` or ``maximize``, the monitored value's.
        aggregate: one of ``tuning.objective.AGGREGATES``.

    Returns:
        (epochs,) or (configs, epochs): at epoch ``e`` the aggregate over seeds of each seed's
        best value up to ``e``, a stopped seed keeping the value it stopped with. NaN where no
        seed has a value yet.
    """
    x = np.asarray(curves, dtype=float)
    if x.ndim not in (2, 3):
        raise ValueError(f"curves must be (seeds, epochs) or (configs, seeds, epochs), got shape {x.shape}")
    sign = orientation(direction)
    best_so_far = np.fmin.accumulate(sign * x, axis=-1)  # fmin skips NaN: a stopped seed keeps its best
    return sign * oriented_aggregate(np.moveaxis(best_so_far, -2, -1), aggregate)


@dataclass
class _Running:
    trial: optuna.trial.Trial
    seeds: int | None
    last_epoch: int = -1
    last_value: float = math.nan


class EpochPruner:
    """One study's pruning decisions: should this config stop after this epoch?

    Wraps an in-memory Optuna study whose trials are the study's configs (not its fits), with
    one of Optuna's pruners. Call :meth:`report` once per epoch of a config with its seed
    aggregate (:func:`aggregate_curves` computes it from curves), stop the config's fits when it
    returns True, and call :meth:`complete` when a config trains to its end. Decisions depend on
    the order configs are reported in (a pruner compares with the configs finished before), so
    a study that resumes must report the stored curves again in the same order.

    Args:
        pruner: a name of :data:`PRUNERS`, or an Optuna pruner made already.
        direction: of the monitored value (``minimize`` for a loss).
        epochs: the fits' epochs, for the default warm-up and Hyperband's ``max_resource``.
        settings: Optuna keyword arguments overriding :func:`default_settings`.

    Example:
        >>> pruner = EpochPruner("median", n_startup_trials=1, n_warmup_steps=0)
        >>> for epoch, value in enumerate([1.0, 0.5, 0.4]):
        ...     _ = pruner.report("good", epoch, value)
        >>> pruner.complete("good")
        >>> pruner.report("bad", 0, 3.0), pruner.stopped
        (True, {'bad': 1})
    """

    def __init__(self, pruner: str | optuna.pruners.BasePruner = "median", direction: str = "minimize", *,
                 epochs: int | None = None, **settings) -> None:
        import optuna

        orientation(direction)  # refuses a direction that is neither
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.pruner = make_pruner(pruner, epochs, **settings) if isinstance(pruner, str) else pruner
        self.direction = direction
        self.study = optuna.create_study(storage=optuna.storages.InMemoryStorage(), direction=direction,
                                         pruner=self.pruner, study_name=STUDY_NAME)
        self.stopped: dict[Hashable, int] = {}   # config -> epochs trained when it was pruned
        self.completed: dict[Hashable, float] = {}  # config -> its last aggregate
        self._running: dict[Hashable, _Running] = {}
        self._stopping: dict[Hashable, _Running] = {}  # asked to stop, not concluded yet (:meth:`conclude`)

    def report(self, config: Hashable, epoch: int, value: float, *, seeds: int | None = None) -> bool:
        """Report a config's seed aggregate at ``epoch`` (from 0); True when the config should stop.

        ``seeds``: how many seeds the aggregate is over, for seeds fitted one at a time. When it
        grows, the config's aggregate curve starts again on more seeds, so it becomes a new Optuna
        trial and the old one is retired (told failed). A config is reported at most once per
        epoch and seed count (Optuna keeps the first value of a step); reporting an epoch again,
        or a config that was pruned or completed, raises ``ValueError``.

        True is a request: the config's Optuna trial is told pruned when the config concludes
        (:meth:`conclude`) and its request stopped or spared a fit; asked at the epoch its fits end
        anyway, it stopped nothing and the config completes.
        """
        import optuna

        if config in self.stopped or config in self.completed:
            raise ValueError(f"config {config!r} was {'pruned' if config in self.stopped else 'completed'} already")
        running = self._running.get(config)
        if running is not None and seeds is not None and running.seeds is not None and seeds != running.seeds:
            if seeds < running.seeds:
                raise ValueError(f"config {config!r}: aggregate over {seeds} seeds after {running.seeds}")
            self.study.tell(running.trial, state=optuna.trial.TrialState.FAIL)
            running = None
        if running is None:
            running = self._running[config] = _Running(self.study.ask(), seeds)
        if epoch <= running.last_epoch:
            raise ValueError(f"config {config!r}: epoch {epoch} comes after epoch {running.last_epoch}; Optuna keeps "
                             f"one value per epoch, so report the aggregate once every seed has reached it")
        running.trial.report(float(value), epoch)
        running.last_epoch, running.last_value = epoch, float(value)
        if not running.trial.should_prune():
            return False
        self._stopping[config] = self._running.pop(config)
        self.stopped[config] = epoch + 1
        return True

    def replay(self, config: Hashable, curve, *, pruned: bool) -> None:
        """Report again a config that concluded before (its aggregate ``curve`` as it was reported,
        epoch by epoch) with the outcome it had: how a study that resumes, or a worker process,
        rebuilds the decisions so far without training.

        The pruner is not obeyed here (the outcome is history), but it is asked at every epoch when
        it keeps state of its own while asked (successive halving and Hyperband record the rungs a
        trial reached then); median and percentile read only the values, so asking them is skipped.
        """
        import optuna

        if config in self.stopped or config in self.completed or config in self._running or config in self._stopping:
            raise ValueError(f"config {config!r} was reported already")
        trial = self.study.ask()
        stateful = isinstance(self.pruner, (optuna.pruners.SuccessiveHalvingPruner, optuna.pruners.HyperbandPruner))
        values = np.asarray(curve, dtype=float)
        for epoch, value in enumerate(values):
            if math.isfinite(value):
                trial.report(float(value), epoch)
                if stateful:
                    trial.should_prune()
        finite = values[np.isfinite(values)]
        if pruned:
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            self.stopped[config] = len(values)
        elif len(finite):
            self.study.tell(trial, float(finite[-1]))
            self.completed[config] = float(finite[-1])
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self.completed[config] = math.nan

    def running(self, config: Hashable) -> bool:
        """Has ``config`` reported epochs, and neither been pruned nor completed?"""
        return config in self._running

    def complete(self, config: Hashable) -> None:
        """The config trained to its end (or every seed stopped on its own): its curve now counts
        among the finished ones the median and percentile pruners compare with."""
        import optuna

        running = self._running.pop(config, None)
        if running is None and config in self._stopping:  # its stop stopped nothing (:meth:`conclude`)
            running = self._stopping.pop(config)
            del self.stopped[config]
        if running is None:
            raise ValueError(f"config {config!r} has nothing reported, or was pruned")
        value = running.last_value if math.isfinite(running.last_value) else None
        if value is None:
            self.study.tell(running.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(running.trial, value)
        self.completed[config] = running.last_value

    def conclude(self, config: Hashable, *, stopped: bool) -> None:
        """Every fit of ``config`` is in; ``stopped``: whether the pruner's request stopped a fit or
        spared a seed from starting.

        A request at the epoch a config's fits end anyway (their last, their own early stopping) stops
        nothing: the fit paths ignore it (:mod:`tuning.fit._hook`) and the fits are stored complete.
        Such a config completes here, as a study resumed from those stored fits reads it, so a run
        that goes on and one resumed judge the configs after it alike; a config whose request took
        effect is told pruned. A config never reported (fewer seeds than ``min_seeds``, no finite
        value) concludes as nothing.
        """
        import optuna

        if stopped and config in self._stopping:
            self.study.tell(self._stopping.pop(config).trial, state=optuna.trial.TrialState.PRUNED)
        elif not stopped and (config in self._running or config in self._stopping):
            self.complete(config)
