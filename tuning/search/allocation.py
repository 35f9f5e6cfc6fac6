"""Which seeds each config in flight gets next, and when its trial is told: the loop's seed policy.

The loop asks :meth:`Allocation.step` before every round of fits. Two policies:

* :class:`FixedAllocation` (``repeats: N``): every config gets every seed of the study, and its
  trial is told the moment its seeds are in.
* :class:`RaceAllocation` (``repeats: {strategy: race}``): every config draws from one seed
  sequence; after each round :func:`tuning.racing.next_round` drops the configs that can no longer
  be the best, and the survivors get more seeds (:mod:`tuning.racing` says how the error rate is
  kept over the rounds). A dropped config's trial is told at once, with the aggregate of the seeds
  it got and the race's decision (``race`` in its trial record: ``outcome``, ``seeds``,
  ``beaten_by``, ``p``); the survivors' trials are told when the race ends, after their fits on
  the ``confirm`` seeds that took no part in it (``confirmed_on``).

The race keeps no state of its own: each step reads the study's fits and trial records from the
store, so a study killed mid-race and resumed reaches the decisions it would have reached without
the interruption, and no finished fit is fitted again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tuning.objective import orientation
from tuning.results import OK
from tuning.trials import CONCLUDED, FixedSeeds, RacedSeeds, read_trials, trial_numbers
from tuning.vocabulary import PLAN_SAMPLERS

if TYPE_CHECKING:
    from tuning.spec import StudySpec
    from tuning.store import Store


@dataclass(frozen=True)
class Step:
    """What one config in flight does this round: have ``seeds`` (fitting those it lacks), and,
    when ``concludes``, tell its trial as soon as they are in (with ``race``, the race's decision)."""

    seeds: list[int]
    concludes: bool
    race: dict[str, Any] | None = None


class FixedAllocation:
    """Every config gets the study's seeds in one round; each trial is told when they are in."""

    #: the loop keeps every planned config in flight only for a race among the whole plan
    races_the_plan = False

    def __init__(self, policy: FixedSeeds):
        self.policy = policy

    @property
    def most_seeds(self) -> int:
        return len(self.policy.seeds)

    def step(self, keys: list[str]) -> dict[str, Step]:
        return {key: Step(list(self.policy.seeds), True) for key in keys}


class RaceAllocation:
    """A race over the study's seed sequence: among every config of the plan at once (grid and
    random samplers), or, under a sampler that proposes from the values told so far (TPE,
    CMA-ES), each config racing as it arrives against those that went before it."""

    def __init__(self, policy: RacedSeeds, spec: StudySpec, store: Store):
        from tuning.racing import Race  # SciPy's statistics, loaded by studies that race only

        self.policy, self.spec, self.store = policy, spec, store
        self.races_the_plan = spec.sampler.name in PLAN_SAMPLERS
        self.race = Race.with_margin(spec.objective.margin, min_seeds=policy.min_seeds,
                                     max_seeds=len(policy.race_seeds), level=policy.alpha,
                                     arriving=not self.races_the_plan)

    @property
    def most_seeds(self) -> int:
        return len(self.policy.seeds)

    def step(self, keys: list[str]) -> dict[str, Step]:
        """The next round for the configs ``keys`` in flight (every other config of the study has
        concluded: dropped by the race, or told when it ended)."""
        from tuning.racing import elimination_text, next_round  # with Race: SciPy only where a study races

        trials = read_trials(self.store, self.spec.name)
        concluded = {t["config_key"]: t.get("race") for t in trials
                     if t["config_key"] and t["status"] in {s.value for s in CONCLUDED} and t["config_key"] not in keys}
        order = list(keys) + [k for k in concluded if k not in keys]
        scores, given = self._state(order)
        alive = np.array([key in keys for key in order])
        decision = next_round(scores, given, alive, self.race)
        names = trial_numbers(trials)
        sequence = list(self.policy.race_seeds)
        steps: dict[str, Step] = {}
        for dropped in decision.eliminated:
            key = order[dropped.config]
            beaten_by = order[dropped.beaten_by]
            steps[key] = Step(sequence[:int(given[dropped.config])], True, {
                "outcome": elimination_text(dropped, self.race, names.get(beaten_by, "?")),
                "seeds": dropped.seeds, "beaten_by": beaten_by, "p": dropped.p})
        for row, key in enumerate(keys):
            if key in steps:
                continue
            if row in decision.survived:  # and fitted on the confirmation seeds, which took no part in it
                confirm = list(self.policy.confirm_seeds)
                steps[key] = Step(sequence[:int(given[row])] + confirm, True, {
                    "outcome": decision.survived[row], "seeds": int(given[row]),
                    "beaten_by": None, "p": None, "confirmed_on": confirm})
            else:
                steps[key] = Step(sequence[:decision.targets.get(row, int(given[row]))], False)
        return steps

    def _state(self, order: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(configs, sequence) scores, oriented so that lower is better (NaN: not fitted or failed),
        and how many leading seeds of the sequence each config has a stored fit for."""
        position = {seed: j for j, seed in enumerate(self.policy.race_seeds)}
        row = {key: i for i, key in enumerate(order)}
        scores = np.full((len(order), len(position)), np.nan)
        fitted = np.zeros(scores.shape, dtype=bool)
        metric = self.spec.objective.metric
        sign = orientation(self.spec.objective.direction)
        for key, seed, status, values in self.store.fit_scores(self.spec.name):
            i, j = row.get(key), position.get(seed)
            if i is None or j is None:
                continue
            fitted[i, j] = True
            if status == OK and metric in values:
                scores[i, j] = sign * float(values[metric])
        given = np.where(fitted.all(axis=1), fitted.shape[1], np.argmin(fitted, axis=1))
        return scores, given


def seed_allocation(spec: StudySpec, store: Store) -> FixedAllocation | RaceAllocation:
    """The study's seed policy as the loop runs it."""
    from tuning.trials import seed_policy

    policy = seed_policy(spec)
    if isinstance(policy, RacedSeeds):
        return RaceAllocation(policy, spec, store)
    return FixedAllocation(policy)
