"""The study's pruner for one batch of trials: :class:`tuning.pruning.SeedAggregatePruning` made
from the spec and the decisions stored so far.

Made anew for every batch the loop hands to the runner, from the store alone (the pruned fits and
the curves of every fit), so that a resumed study, or another worker, continues from the same
decisions; nothing about pruning is kept in this process between batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuning.results import OK, PRUNED

if TYPE_CHECKING:
    from tuning.pruning import SeedAggregatePruning
    from tuning.spec import StudySpec
    from tuning.store import Store


def batch_pruner(spec: StudySpec, store: Store, training: list[str]) -> SeedAggregatePruning | None:
    """The epoch hook that prunes the configs ``training`` (config keys) on their seed aggregate,
    as of the decisions in ``store``; ``None`` when the study has no pruner."""
    if not spec.pruner.active:
        return None
    from tuning.pruning import (  # SciPy: only with a pruner
        SeedAggregatePruning,
        monitored_curve,
        stored_decisions,
    )

    monitor, direction = monitored_curve(spec.model_dump(mode="json"))
    fits = [(f.config_key, f.seed, f.status == PRUNED, f.curves.get(monitor) if f.status in (OK, PRUNED) else None)
            for f in store.fits(spec.name)]
    history, stored, pruned = stored_decisions(fits, direction=direction, aggregate=spec.objective.aggregate,
                                               training=training)
    return SeedAggregatePruning(spec.pruner.name, monitor, direction, spec.objective.aggregate, spec.fit.epochs,
                                dict(spec.pruner.settings), history, stored, pruned,
                                min_seeds=min(spec.pruner.min_seeds, len(spec.seeds)))
