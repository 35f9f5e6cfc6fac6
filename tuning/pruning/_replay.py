"""A pruner replayed over complete curves (no training): how pruning is measured and how a finished
study shows what a pruner would have saved."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tuning.objective import orientation
from tuning.pruning._judge import DECIDE_ON, EpochPruner, aggregate_curves

if TYPE_CHECKING:
    import optuna

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
            if stop is not None and stop >= last:  # every fit ends at that epoch anyway: a stop that
                stop = None                        # stops nothing, as live fit paths ignore it
            judge.conclude(config, stopped=stop is not None)
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
    for seed in range(min_seeds - 1, len(own)):
        decision = aggregate_curves(curves[: seed + 1], direction, aggregate)[: int(own[seed])]
        stop = _judge(judge, config, decision, seeds=seed + 1) if len(decision) else None
        used[seed] = own[seed] if stop is None else min(own[seed], stop)
        if stop is not None and stop >= own[seed] and seed == len(own) - 1:
            stop = None  # the last seed's own last epoch: nothing left to stop or skip
        if stop is not None:
            judge.conclude(config, stopped=True)
            return stop, seed, used
    judge.conclude(config, stopped=False)
    return None, None, used


def _own_epochs(x: np.ndarray) -> np.ndarray:
    """(configs, seeds): the epochs each fit trained, up to its last value that is not NaN."""
    finite = np.isfinite(x)
    last = x.shape[-1] - np.argmax(finite[..., ::-1], axis=-1)
    return np.where(finite.any(axis=-1), last, 0)
