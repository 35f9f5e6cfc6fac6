"""The study's pruner for one batch of trials: :class:`tuning.pruning.SeedAggregatePruning` made
from the spec and the decisions stored so far.

Made anew for every batch the loop hands to the runner, from the store alone (the pruned fits and
the curves of every fit), so that a resumed study, or another worker, continues from the same
decisions; nothing about pruning is kept in this process between batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuning.fit import DEFAULT_MONITOR
from tuning.pruning import SeedAggregatePruning, stored_decisions
from tuning.results import OK, PRUNED
from tuning.vocabulary import direction_of

if TYPE_CHECKING:
    from tuning.spec import StudySpec
    from tuning.store import Store


def pruned_monitor(spec: StudySpec) -> tuple[str, str]:
    """(the curve the study's pruner judges, its direction): ``pruner.monitor``, else the early
    stopping's monitor (``val_loss`` without early stopping), better in the direction its name says."""
    early = spec.fit.early_stopping
    monitor = spec.pruner.monitor or (early.monitor if early is not None else DEFAULT_MONITOR)
    return monitor, direction_of(monitor.removeprefix("val_"))


def batch_pruner(spec: StudySpec, store: Store, training: list[str]) -> SeedAggregatePruning | None:
    """The epoch hook that prunes the configs ``training`` (config keys) on their seed aggregate,
    as of the decisions in ``store``; ``None`` when the study has no pruner."""
    if not spec.pruner.active:
        return None
    monitor, direction = pruned_monitor(spec)
    fits = [(f.config_key, f.seed, f.status == PRUNED, f.curves.get(monitor) if f.status in (OK, PRUNED) else None)
            for f in store.fits(spec.name)]
    history, stored = stored_decisions(fits, direction=direction, aggregate=spec.objective.aggregate,
                                       training=training)
    return SeedAggregatePruning(spec.pruner.name, monitor, direction, spec.objective.aggregate, spec.fit.epochs,
                                dict(spec.pruner.settings), history, stored)
