"""What a race over seeds would have done on a study that gave every config all its seeds.

``tuning replay STUDY`` runs :func:`tuning.racing.replay` on the stored seed scores of a finished
study: which config it would have picked, whom it would have dropped after how many seeds, and
the share of the study's fits and epochs it would have spent. Nothing is trained: it is how a
user sees the saving on their own study before racing a new one, and a fast test bed for the race.

Example:
    >>> from tuning import load_results                                  # doctest: +SKIP
    >>> print(replay_study(load_results("quickstart"), Race(3, 5)).text)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tuning.objective import orientation
from tuning.racing import Race, RaceResult, elimination_text, replay
from tuning.results import PRUNED
from tuning.trials import outcome_lines
from tuning.vocabulary import races

if TYPE_CHECKING:
    from tuning.analysis import Results


@dataclass
class StudyReplay:
    """A race replayed on a stored study.

    ``table`` has one row per config (best exhaustive mean first): ``trial``, ``config_key``,
    ``seeds_stored``, ``seeds_given``, ``epochs_given``, ``outcome`` (``picked``, ``left``, or
    "eliminated after 3 seeds: worse than trial 7, p = 0.003 (the level at that look: 0.0179)").
    """

    table: pd.DataFrame
    race: Race
    result: RaceResult
    picked: str | None          # the race's pick (config key)
    exhaustive_best: str | None  # the best aggregate with every stored seed
    fit_share: float
    epoch_share: float
    seeds: list[int]            # the study's seeds in the order the race drew them

    @property
    def text(self) -> str:
        lines = [f"race: {self.race.min_seeds} to {self.race.max_seeds} seeds, alpha {self.race.level:g}"
                 + self.race.margin_text,
                 f"{_picked(self.table, self.picked, self.exhaustive_best, 'every seed')}; "
                 f"it ended because {self.result.finished}",
                 f"spent {self.fit_share:.0%} of the study's fits and {self.epoch_share:.0%} of its epochs"]
        lines += outcome_lines([(row.trial, f"{row.seeds_given}/{row.seeds_stored} seeds, {row.outcome}")
                                for row in self.table.itertuples()])
        if self.result.eliminations:
            lines.append("p: the race's comparison at that look, among the configs still racing, on the seeds they "
                         "had then, against that look's share of alpha; `tuning status` compares every config on "
                         "every stored seed at once, and may still call a config eliminated here could-be-best "
                         "(docs/statistics.md, racing)")
        return "\n".join(lines)


def replay_study(results: Results, race: Race) -> StudyReplay:
    """Race the configs of ``results`` on their stored seeds, in the study's seed order.

    A config's failed fits count as seeds given (NaN scores); a config without ``race.min_seeds``
    stored seeds cannot be raced and is refused with a ``ValueError`` naming it.
    """
    from tuning.analysis import seed_matrix

    _not_pruned(results)
    if races(results.spec):
        raise ValueError("it raced itself: the configs it eliminated have only the seeds the race gave them; a "
                         "replay needs every config on every seed: replay a study run with fixed seeds")
    selection = results.selection.table
    keys = list(selection["config_key"])
    if not keys:
        raise ValueError("no finished fits to replay")
    fits = results.fits
    order = _seed_order(results, fits)
    metric = results.metric
    matrix, seeds = seed_matrix(fits, metric, keys)
    matrix = pd.DataFrame(matrix, index=keys, columns=seeds).reindex(columns=order).to_numpy(dtype=float)
    stored = fits.groupby("config_key")["seed"].nunique().reindex(keys).fillna(0).astype(int).to_numpy()
    if (short := np.flatnonzero(stored < race.min_seeds)).size:
        trial = _trial_names(fits).get(keys[short[0]], "?")
        count = stored[short[0]]
        raise ValueError(f"trial {trial} has {count} stored seed{'s' if count != 1 else ''}; a race starts with "
                         f"{race.min_seeds} (set --min-seeds lower)")
    oriented = orientation(results.direction) * matrix
    race = replace(race, max_seeds=min(race.max_seeds, len(order)))  # a race has only the seeds stored
    result = replay(oriented, race)
    epochs = fits.pivot_table(index="config_key", columns="seed", values="epochs_run", aggfunc="first") \
        .reindex(index=keys, columns=order).to_numpy(dtype=float)
    epochs = np.nan_to_num(epochs)
    given_mask = np.arange(len(order))[None, :] < result.seeds[:, None]
    names = _trial_names(fits)
    outcome = []
    dropped = {e.config: e for e in result.eliminations}
    for row in range(len(keys)):
        if row == result.winner:
            outcome.append("picked")
        elif row in dropped:
            outcome.append(elimination_text(dropped[row], race, names.get(keys[dropped[row].beaten_by], "?")))
        else:
            outcome.append("left in the race")
    table = pd.DataFrame({"trial": [names.get(k) for k in keys], "config_key": keys, "seeds_stored": stored,
                          "seeds_given": result.seeds, "epochs_given": (epochs * given_mask).sum(axis=1).astype(int),
                          "outcome": outcome})
    total_epochs = float(epochs.sum())
    return StudyReplay(table, race, result, keys[result.winner] if result.winner is not None else None, keys[0],
                       result.fits / int(stored.sum()),
                       float((epochs * given_mask).sum()) / total_epochs if total_epochs else math.nan, order)


def _not_pruned(results: Results) -> None:
    """Refuse a study its own pruner cut short: its stopped configs' curves and scores, read as
    complete, would mislead any replay."""
    fits = results.fits
    cut = fits.loc[fits["status"] == PRUNED, "config_key"].nunique() if "status" in fits else 0
    if cut:
        raise ValueError(f"it was pruned itself ({cut} config(s) stopped early): a replay needs every config "
                         "trained to its end; replay a study run without a pruner")


def _picked(table: pd.DataFrame, picked: str | None, best: str | None, everything: str) -> str:
    """"picked trial 7, the study's best with every epoch too", or the best spending ``everything`` gives instead."""
    name = dict(zip(table["config_key"], table["trial"], strict=True))
    label = {key: f"trial {name[key]}" if key is not None else "nothing" for key in (picked, best)}
    if picked == best:
        return f"picked {label[picked]}, the study's best with {everything} too"
    return f"picked {label[picked]}; with {everything} the study's best is {label[best]}"


def _seed_order(results: Results, fits: pd.DataFrame) -> list[int]:
    """The spec's own seed list when it names one (the order a race would draw), else ascending."""
    stored = sorted(int(s) for s in fits["seed"].unique())
    listed = ((results.spec or {}).get("repeats") or {}).get("seeds") or []
    first = [int(s) for s in listed if int(s) in stored]
    return first + [s for s in stored if s not in first]


def _trial_names(fits: pd.DataFrame) -> dict[str, int]:
    """config_key -> its name (``load_results`` gives every fit the first trial that ran its config)."""
    return dict(zip(fits["config_key"], fits["trial"], strict=True)) if "trial" in fits.columns else {}


@dataclass
class PruningStudyReplay:
    """A pruner replayed on a stored study's curves (``tuning replay STUDY --pruner NAME``).

    ``table`` has one row per config in the order the study ran them: ``trial``, ``config_key``,
    ``epochs_stored``, ``epochs_given`` (each summed over the seeds), ``outcome`` (``picked``,
    ``kept`` or "pruned after 4 epochs"). ``picked`` is the study's best by its own objective (as
    ``tuning status`` ranks it) among the configs the pruner let finish; ``exhaustive_best`` its
    best with every epoch spent.
    """

    table: pd.DataFrame
    pruner: str
    curve: str
    picked: str | None
    exhaustive_best: str | None
    epoch_share: float

    @property
    def text(self) -> str:
        pruned = int(self.table["outcome"].str.startswith("pruned").sum())
        lines = [f"pruner: {self.pruner} on the seed mean of {self.curve}, configs in the order the study ran them",
                 f"{_picked(self.table, self.picked, self.exhaustive_best, 'every epoch')}; "
                 f"pruned {pruned} of {len(self.table)} configs",
                 f"spent {self.epoch_share:.0%} of the study's epochs"]
        lines += outcome_lines([(row.trial, f"{row.epochs_given}/{row.epochs_stored} epochs, {row.outcome}")
                                for row in self.table.itertuples()])
        return "\n".join(lines)


def replay_pruner_on_study(results: Results, pruner: str, settings: dict | None = None) -> PruningStudyReplay:
    """Prune the configs of ``results`` on their stored curves, as :func:`tuning.pruning.replay_pruning`
    does: every seed of a config trained together, the seed aggregate of the monitored curve judged
    epoch by epoch by Optuna's ``pruner``, the configs in the order the study ran them.

    The same rules as a live pruner (:mod:`tuning.pruning`): the curve of
    :func:`~tuning.pruning.monitored_curve` (``val_loss`` unless the spec names another), the
    objective's aggregate, and ``settings`` (Optuna keyword arguments; default: the study's own
    ``pruner.settings`` when it ran this pruner, else :func:`~tuning.pruning.default_settings`).
    A fused study whose configs each had a graph of their own and ran one batch after another
    (``jobs: 1``) reaches the live pruner's decisions. Seeds that some config lacks are left out,
    so that every config is judged on the same seeds.
    """
    from tuning.analysis.tables import best_row
    from tuning.pruning import monitored_curve, replay_pruning

    curves = results.curves
    if curves.empty:
        raise ValueError("no stored curves to replay a pruner on")
    _not_pruned(results)
    spec = results.spec or {}
    curve, direction = monitored_curve(spec)
    if settings is None:
        own = spec.get("pruner") or {}
        settings = dict(own.get("settings") or {}) if own.get("name") == pruner else {}
    aggregate = (spec.get("objective") or {}).get("aggregate", "mean")
    own = curves[curves["curve"] == curve]
    if own.empty:
        raise ValueError(f"no {curve} curve stored to prune on")
    names = _trial_names(results.fits)
    keys = sorted(own["config_key"].unique(), key=lambda key: (names.get(key, 0), key))
    seeds = sorted(set.intersection(*(set(own.loc[own["config_key"] == key, "seed"]) for key in keys)))
    epochs = sorted(own["epoch"].unique())
    cube = np.full((len(keys), len(seeds), len(epochs)), np.nan)
    at = {"config_key": {k: i for i, k in enumerate(keys)}, "seed": {s: i for i, s in enumerate(seeds)},
          "epoch": {e: i for i, e in enumerate(epochs)}}
    kept = own[own["seed"].isin(seeds)]
    cube[kept["config_key"].map(at["config_key"]).to_numpy(), kept["seed"].map(at["seed"]).to_numpy(),
         kept["epoch"].map(at["epoch"]).to_numpy()] = kept["value"].to_numpy(dtype=float)
    result = replay_pruning(cube, pruner, direction=direction, aggregate=aggregate, **settings)
    # What the study would have ended with: its best by its own objective (as `tuning status` ranks
    # it) among the configs the pruner let finish, against its best with every epoch spent.
    ranking = results.selection.table
    kept = ranking[ranking["config_key"].isin([k for k, stop in zip(keys, result.stopped_at, strict=True)
                                                if stop is None])]
    picked, best = (best_row(table) for table in (kept, ranking))
    picked = ranking.at[picked, "config_key"] if picked is not None else None
    outcome = ["picked" if key == picked else (f"pruned after {stop} epochs" if stop is not None else "kept")
               for key, stop in zip(keys, result.stopped_at, strict=True)]
    table = pd.DataFrame({"trial": [names.get(k) for k in keys], "config_key": keys,
                          "epochs_stored": result.epochs_full.astype(int), "epochs_given": result.epochs_spent.astype(int),
                          "outcome": outcome})
    return PruningStudyReplay(table, pruner, curve, picked, ranking.at[best, "config_key"] if best is not None else None,
                              result.epoch_share)
