"""Pruning on the seed aggregate: stop a config early when its seeds, together, are hopeless.

Optuna's pruners (median, percentile, successive halving, Hyperband) judge one learning curve
per trial. In ``tuning`` a trial is a config fitted on several seeds, and one seed's curve is
noisy: a seed that starts badly makes a good config look hopeless. Here the pruner judges the
config's **seed aggregate** at each epoch, with Optuna's own pruner classes (nothing
re-implemented): :class:`EpochPruner` holds one in-memory Optuna study per study, one Optuna
trial per config, and a config's aggregate is reported as that trial's intermediate value, epoch
by epoch (``trial.report(value, epoch)`` then ``trial.should_prune()``).

What a seed contributes at epoch ``e`` (:func:`aggregate_curves`): its best monitored value up
to ``e`` (what ``restore_best_weights``, the default, would score if the fit stopped at ``e``),
and after its own early stopping the value it stopped with. So the last epoch's aggregate is the
config's final score, and a seed that stopped early is neither a missing seed nor a zero.

When a value is reported. Optuna keeps one value per step and cannot overwrite it, so a
config's aggregate at epoch ``e`` is reported **once, when every seed still training has reached
``e``** (the fused runner trains all seeds of a config together, so that is the end of each
epoch). With seeds fitted **one at a time** the pruner decides on the seeds fitted so far: while
the ``k``-th seed trains, its epoch ``e`` is reported with the aggregate over seeds 1..k (the
first ``k - 1`` complete, the ``k``-th at ``e``), as a new Optuna trial of the config
(``report(..., seeds=k)``): the trial of ``k - 1`` seeds is retired as failed, which the
median and percentile pruners ignore (they read completed trials only). Pruning the ``k``-th
seed stops the config: its remaining seeds are not fitted. :func:`replay_pruning` replays both.

Steps are epoch indices from 0, as Keras's ``on_epoch_end`` and Optuna's own Keras callback
count them: ``n_warmup_steps=5`` lets a config be pruned after 6 epochs at the earliest.

Why a study of its own, in memory, and not the search's Optuna study: the search's trials are
told each config's final aggregate and its sampler learns from them; the pruning study holds
per-epoch curves and, with seeds one at a time, several trials per config, which a sampler must
never see. It holds nothing the stored curves cannot rebuild: reporting them again in the same
order reaches the same decisions.

Measured (docs/statistics.md, "Pruning on the seed aggregate"): on the aggregate the true best
was pruned less often than on one seed's curve with every pruner, but no pruner matched no
pruning's right picks over the whole synthetic grid; on curves that cross it loses most.

The module is pure NumPy and Optuna (no Keras): :func:`replay_pruning` runs a pruner over a
complete (configs, seeds, epochs) array of validation curves, which is how pruning is measured
(``benchmarks/pruning.py``) and how a finished study can show what a pruner would have saved.

Example:
    >>> import numpy as np
    >>> epochs = np.arange(20)
    >>> finals = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 2.0])       # the last config is hopeless
    >>> curves = finals[:, None, None] + np.exp(-epochs / 3)[None, None, :] + np.zeros((6, 3, 1))
    >>> replay = replay_pruning(curves, "median", n_warmup_steps=2)
    >>> replay.stopped_at, replay.pick
    ([None, None, None, None, None, 3], 0)
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tuning.objective import orientation
from tuning.statistics import oriented_aggregate
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


def make_pruner(name: str = "median", epochs: int | None = None, **settings) -> optuna.pruners.BasePruner:
    """Optuna's pruner ``name`` with :func:`default_settings`, any of them overridden by ``settings``.

    Example:
        >>> type(make_pruner("hyperband", epochs=50)).__name__
        'HyperbandPruner'
    """
    import optuna

    arguments = {**default_settings(name, epochs), **settings}
    classes = {"median": optuna.pruners.MedianPruner, "percentile": optuna.pruners.PercentilePruner,
               "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
               "hyperband": optuna.pruners.HyperbandPruner, "none": optuna.pruners.NopPruner}
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

    def report(self, config: Hashable, epoch: int, value: float, *, seeds: int | None = None) -> bool:
        """Report a config's seed aggregate at ``epoch`` (from 0); True when the config should stop.

        ``seeds``: how many seeds the aggregate is over, for seeds fitted one at a time. When it
        grows, the config's aggregate curve starts again on more seeds, so it becomes a new Optuna
        trial and the old one is retired (told failed). A config is reported at most once per
        epoch and seed count (Optuna keeps the first value of a step); reporting an epoch again,
        or a config that was pruned or completed, raises ``ValueError``.
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
        self.study.tell(running.trial, state=optuna.trial.TrialState.PRUNED)
        del self._running[config]
        self.stopped[config] = epoch + 1
        return True

    def complete(self, config: Hashable) -> None:
        """The config trained to its end (or every seed stopped on its own): its curve now counts
        among the finished ones the median and percentile pruners compare with."""
        import optuna

        running = self._running.pop(config, None)
        if running is None:
            raise ValueError(f"config {config!r} has nothing reported, or was pruned")
        value = running.last_value if math.isfinite(running.last_value) else None
        if value is None:
            self.study.tell(running.trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(running.trial, value)
        self.completed[config] = running.last_value


@dataclass
class PruningReplay:
    """A pruner replayed over complete curves (:func:`replay_pruning`).

    ``stopped_at[c]``: the epochs config ``c``'s fits had trained when it was pruned (None: it
    trained to its end); ``epochs_spent[c]``: the epochs its seeds trained, summed;
    ``epochs_full[c]``: the same without pruning (each fit to its own early stop); ``final[c]``:
    its aggregate with every seed and epoch; ``pick``: the best ``final`` among the configs not
    pruned (what the study would report as its best).
    """

    stopped_at: list[int | None]
    epochs_spent: np.ndarray
    epochs_full: np.ndarray
    final: np.ndarray
    pick: int | None
    decided_at_seed: list[int | None] = field(default_factory=list)  # one seed at a time: the seed that was pruned

    @property
    def pruned(self) -> np.ndarray:
        return np.array([stop is not None for stop in self.stopped_at])

    @property
    def epoch_share(self) -> float:
        """Epochs trained with pruning over epochs trained without it."""
        total = float(self.epochs_full.sum())
        return float(self.epochs_spent.sum()) / total if total else math.nan


def replay_pruning(curves, pruner: str | optuna.pruners.BasePruner = "median", *, direction: str = "minimize",
                   aggregate: str = "mean", decide_on: str = "aggregate", one_seed_at_a_time: bool = False,
                   min_seeds: int = 1, **settings) -> PruningReplay:
    """Replay a pruner over configs in order, on complete validation curves.

    Each config in turn reports epoch by epoch (a fresh :class:`EpochPruner`; every config
    before it has completed or been pruned) until it is pruned or its fits have all stopped.

    Args:
        curves: (configs, seeds, epochs) array of the monitored value; NaN after a fit's own
            early stop (such a fit trains no further, with or without pruning).
        pruner: a name of :data:`PRUNERS` or an Optuna pruner (used once: pruners keep state).
        direction: ``minimize`` (a loss) or ``maximize`` (an accuracy).
        aggregate: the seed aggregate (``tuning.objective.AGGREGATES``).
        decide_on: ``aggregate`` (every seed's aggregate, all seeds trained together) or
            ``first_seed`` (the first seed's curve alone decides for the config, as a pruning
            callback on one fit would; the pick is still on every seed's aggregate).
        one_seed_at_a_time: seeds fitted one after the other, each seed's epochs judged on the
            aggregate over the seeds fitted so far (see the module's docstring); a pruned seed
            leaves the config's later seeds unfitted.
        min_seeds: with ``one_seed_at_a_time``, the seed from which on seeds are judged: the
            ones before it train in full first (1: the first seed is judged on its own curve).
        settings: Optuna keyword arguments overriding :func:`default_settings`.
    """
    x = np.asarray(curves, dtype=float)
    if x.ndim != 3 or 0 in x.shape:
        raise ValueError(f"curves must be a non-empty (configs, seeds, epochs) array, got shape {x.shape}")
    if decide_on not in DECIDE_ON:
        raise ValueError(f"decide_on must be one of {', '.join(DECIDE_ON)} (got {decide_on!r})")
    if one_seed_at_a_time and decide_on != "aggregate":
        raise ValueError("one_seed_at_a_time decides on the seeds fitted so far, not on the first seed")
    if not 1 <= min_seeds <= max(1, x.shape[1]):
        raise ValueError(f"min_seeds must be between 1 and the {x.shape[1]} seeds (got {min_seeds})")
    configs, seeds, epochs = x.shape
    own = _own_epochs(x)
    judge = EpochPruner(pruner, direction, epochs=epochs, **settings)
    stopped: list[int | None] = []
    decided_at: list[int | None] = []
    spent = np.zeros(configs)
    for config in range(configs):
        if one_seed_at_a_time:
            stop, at_seed, used = _one_at_a_time(judge, config, x[config], own[config], direction, aggregate,
                                                   min_seeds)
        else:
            decision = aggregate_curves(x[config, :1] if decide_on == "first_seed" else x[config], direction, aggregate)
            last = int(own[config, 0] if decide_on == "first_seed" else own[config].max())
            stop, at_seed = _judge(judge, config, decision[:last]), None
            if stop is None and last:
                judge.complete(config)
            used = np.minimum(own[config], stop if stop is not None else epochs)
        stopped.append(stop)
        decided_at.append(at_seed)
        spent[config] = used.sum()
    final = aggregate_curves(x, direction, aggregate)[:, -1]
    kept = np.flatnonzero([stop is None for stop in stopped])
    pick = None
    oriented = orientation(direction) * final[kept]
    if len(kept) and np.isfinite(oriented).any():
        pick = int(kept[np.nanargmin(oriented)])
    return PruningReplay(stopped, spent, own.sum(axis=1).astype(float), final, pick, decided_at)


def _judge(judge: EpochPruner, config: Hashable, decision: np.ndarray, seeds: int | None = None) -> int | None:
    """Report a curve epoch by epoch; the epochs trained when pruned, or None (then not completed yet)."""
    for epoch, value in enumerate(decision):
        if judge.report(config, epoch, value, seeds=seeds):
            return epoch + 1
    return None


def _one_at_a_time(judge: EpochPruner, config: int, curves: np.ndarray, own: np.ndarray, direction: str,
                   aggregate: str, min_seeds: int) -> tuple[int | None, int | None, np.ndarray]:
    used = np.zeros(len(own))
    used[: min_seeds - 1] = own[: min_seeds - 1]  # trained in full before any seed is judged
    reported = False
    for seed in range(min_seeds - 1, len(own)):
        decision = aggregate_curves(curves[: seed + 1], direction, aggregate)[: int(own[seed])]
        stop = _judge(judge, config, decision, seeds=seed + 1) if len(decision) else None
        reported = reported or len(decision) > 0
        used[seed] = own[seed] if stop is None else min(own[seed], stop)
        if stop is not None:
            return stop, seed, used
    if reported:
        judge.complete(config)
    return None, None, used


def _own_epochs(x: np.ndarray) -> np.ndarray:
    """(configs, seeds): the epochs each fit trained, up to its last value that is not NaN."""
    finite = np.isfinite(x)
    last = x.shape[-1] - np.argmax(finite[..., ::-1], axis=-1)
    return np.where(finite.any(axis=-1), last, 0)

