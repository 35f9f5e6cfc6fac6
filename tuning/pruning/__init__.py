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

from tuning.pruning._hook import Concluded, SeedAggregatePruning, monitored_curve, stored_decisions
from tuning.pruning._judge import (
           DECIDE_ON,
           STUDY_NAME,
           EpochPruner,
           aggregate_curves,
           default_settings,
           make_pruner,
           why_nothing_pruned,
)
from tuning.pruning._replay import PruningReplay, replay_pruning
from tuning.vocabulary import PRUNERS

__all__ = ["DECIDE_ON", "PRUNERS", "STUDY_NAME", "Concluded", "EpochPruner", "PruningReplay", "SeedAggregatePruning",
           "aggregate_curves", "default_settings", "make_pruner", "monitored_curve", "replay_pruning", "stored_decisions",
           "why_nothing_pruned"]
