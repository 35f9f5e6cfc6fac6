"""Optuna proposes configs; ``tuning`` fits them. Trials live in the same store as our fits.

The backend only decides *what* to try next and records what a trial concluded:

* **grid**: every point of :meth:`SearchSpace.grid` exactly once. Points are enqueued one at a
  time (``enqueue_trial``) in a stable order, skipping points that already have a finished
  trial, so an interrupted grid resumes with what is left and never repeats a point.
* **random / tpe / cmaes**: Optuna's samplers, seeded with ``seed + trials so far`` so that a
  resumed study does not replay the proposals of its first run.

Recovery: a trial records its owner (``host:pid``). On the next run, a RUNNING trial whose owner
process is gone (Ctrl-C, ``kill -9``, reboot) is marked FAIL with ``tuning_status=interrupted``;
for samplers other than grid its params are enqueued again, so the same config is finished,
reusing every fit already stored.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import optuna
from optuna.trial import TrialState

from tuning.backends import planned_trials
from tuning.results import TrialResult
from tuning.space import SearchSpace
from tuning.spec import StudySpec, config_key
from tuning.store import Store, owner_is_dead, owner_tag

COMPLETE, FAILED, INTERRUPTED, DUPLICATE = "complete", "failed", "interrupted", "duplicate"
optuna.logging.set_verbosity(logging.WARNING)


def trial_status(trial: optuna.trial.FrozenTrial) -> str:
    """What a trial concluded, in ``tuning``'s words (running trials say ``running``)."""
    if trial.state == TrialState.RUNNING:
        return "running"
    if trial.state == TrialState.WAITING:
        return "waiting"
    if trial.state == TrialState.COMPLETE:
        return COMPLETE
    return trial.user_attrs.get("tuning_status", FAILED)


class StoredTrials:
    """A study's trials as Optuna's tables hold them, read the way ``tuning`` counts them.

    Both backends keep their trials there (KerasTuner's as mirrors of its own), so ``status``,
    reports and resuming read one place. Subclasses set ``spec`` and ``study``.
    """

    spec: StudySpec
    study: optuna.Study

    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def finished(self) -> list[optuna.trial.FrozenTrial]:
        """Trials that concluded (complete, or failed for a reason of their own)."""
        return [t for t in self.trials() if trial_status(t) in (COMPLETE, FAILED)]

    def _covers_seeds(self, trial: optuna.trial.FrozenTrial) -> bool:
        return set(self.spec.seeds) <= set(trial.user_attrs.get("seeds", []))

    def _done_keys(self) -> set[str]:
        """Configs with a finished trial on every current seed."""
        return {t.user_attrs.get("config_key") for t in self.finished() if self._covers_seeds(t)}

    def _needing_more_seeds(self) -> list[optuna.trial.FrozenTrial]:
        """One finished trial per config that lacks some of the current seeds (``--repeats`` grew)."""
        done_keys = self._done_keys()
        needing: dict[str, optuna.trial.FrozenTrial] = {}
        for trial in self.finished():
            key = trial.user_attrs.get("config_key")
            if key not in done_keys and not self._covers_seeds(trial):
                needing.setdefault(key, trial)
        return list(needing.values())


class OptunaBackend(StoredTrials):
    """Proposes configs for one study and records each trial's outcome in Optuna's tables."""

    def __init__(self, spec: StudySpec, store: Store, space: SearchSpace, base: dict[str, Any]):
        self.spec, self.space, self.base = spec, space, base
        storage = store.optuna_storage()
        self.study = optuna.create_study(
            storage=storage, study_name=spec.name, direction=spec.objective.direction, load_if_exists=True,
            sampler=optuna.samplers.RandomSampler(seed=spec.sampler.seed),
        )
        self.study.sampler = self._sampler(len(self.study.get_trials(deepcopy=False)))
        self.grid = space.grid() if spec.sampler.name == "grid" else None
        if self.grid is not None and spec.runner in ("auto", "fused"):
            from tuning.fused import order_for_sharing

            # Points that can share a fused graph are asked one after another, so that the trials
            # in flight together share graphs (the trial numbers follow this order).
            self.grid = order_for_sharing(self.grid, exact_only=spec.runner == "auto")

    def _sampler(self, trials_so_far: int) -> optuna.samplers.BaseSampler:
        seed = self.spec.sampler.seed + trials_so_far
        name = self.spec.sampler.name
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        return optuna.samplers.RandomSampler(seed=seed)  # random, and grid (whose points are enqueued)

    # -- bookkeeping ---------------------------------------------------------------------------

    def planned(self) -> int:
        """How many trials the study is to finish in all."""
        return planned_trials(self.spec, None if self.grid is None else len(self.grid))

    def done(self) -> list[optuna.trial.FrozenTrial]:
        """Finished trials that count towards the plan: those evaluated on every current seed.

        A study re-run with more seeds (``--repeats 10`` after 3) has no done trials until
        their configs are topped up; for a grid, each point counts once.
        """
        covering = [t for t in self.finished() if self._covers_seeds(t)]
        if self.grid is None:
            return covering
        by_key = {t.user_attrs.get("config_key"): t for t in covering}
        return list(by_key.values())

    def recover(self) -> list[int]:
        """Fail RUNNING trials whose owner process is gone; re-enqueue their params (not grid)."""
        recovered = []
        for trial in self.trials():
            if trial.state != TrialState.RUNNING or not owner_is_dead(trial.user_attrs.get("owner")):
                continue
            self._interrupt(trial.number, trial.params, reason="owner process gone")
            recovered.append(trial.number)
        return recovered

    def _interrupt(self, number: int, params: dict[str, Any], reason: str) -> None:
        storage, trial_id = self.study._storage, self.study._storage.get_trial_id_from_study_id_trial_number(
            self.study._study_id, number)
        storage.set_trial_user_attr(trial_id, "tuning_status", INTERRUPTED)
        storage.set_trial_user_attr(trial_id, "fail_reason", f"interrupted ({reason})")
        self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        if self.grid is None and params:
            self.study.enqueue_trial(params, user_attrs={"resumed_from": number})

    # -- the loop ------------------------------------------------------------------------------

    def ask(self, busy: set[str] | None = None) -> tuple[optuna.Trial, dict[str, Any], str] | None:
        """The next trial, its config and config key; ``None`` when the study is done.

        ``busy`` holds the config keys of trials this process is running now: they count
        towards the plan and are not proposed again.
        """
        busy = busy or set()
        while True:
            if len(self.done()) + len(busy) >= self.planned():
                return None
            if self.grid is not None:
                todo = [p for p in self._grid_todo() if config_key(self.space.to_config(p, self.base)) not in busy]
                if not todo:
                    return None
                # a WAITING trial left by a run killed between enqueue and ask goes first
                waiting = [t for t in self.trials() if t.state == TrialState.WAITING]
                point = waiting[0].system_attrs.get("fixed_params", todo[0]) if waiting else todo[0]
                if not waiting:
                    self.study.enqueue_trial(point)
                trial = self.study.ask(self.space.distributions(point))
                point = dict(trial.params)
            else:
                # configs run with fewer seeds than asked are topped up before new proposals
                waiting = any(t.state == TrialState.WAITING for t in self.trials())
                needing = [] if waiting else [
                    t for t in self._needing_more_seeds() if t.user_attrs.get("config_key") not in busy]
                if needing:
                    self.study.enqueue_trial(needing[0].params, user_attrs={"more_seeds_for": needing[0].number})
                trial = self.study.ask()
                point = self.space.suggest(trial)
            config = self.space.to_config(point, self.base)
            key = config_key(config)
            if self.grid is not None and (key in self._done_keys() or key in busy):
                # a stale WAITING trial for a point finished meanwhile: drop it, do not count it
                trial.set_user_attr("tuning_status", DUPLICATE)
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            if key in busy:
                # The sampler proposed a config that is running right now. Park the proposal (it
                # is asked again, and counted, once the running one is done) and run what we have.
                trial.set_user_attr("tuning_status", DUPLICATE)
                self.study.tell(trial, state=TrialState.FAIL)
                self.study.enqueue_trial(point, user_attrs={"parked_from": trial.number})
                return None
            trial.set_user_attr("owner", owner_tag())
            trial.set_user_attr("config_key", key)
            trial.set_user_attr("config", json.loads(json.dumps(config)))
            return trial, config, key

    def _grid_todo(self) -> list[dict[str, Any]]:
        done = self._done_keys()
        return [p for p in self.grid if config_key(self.space.to_config(p, self.base)) not in done]

    def tell(self, trial: optuna.Trial, result: TrialResult) -> None:
        """Record a trial's outcome: the objective and every seed's value, or why it failed."""
        trial.set_user_attr("seeds", [f.seed for f in result.fits])
        trial.set_user_attr("seed_values", {str(s): v for s, v in result.seed_values.items()})
        trial.set_user_attr("n_seeds", len(result.fits))
        trial.set_user_attr("mean", result.mean)
        trial.set_user_attr("std", result.std)
        if result.value is None:
            trial.set_user_attr("tuning_status", FAILED)
            trial.set_user_attr("fail_reason", result.failure)
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            trial.set_user_attr("tuning_status", COMPLETE)
            self.study.tell(trial, result.value)

    def interrupt(self, trial: optuna.Trial, reason: str = "stopped by the user") -> None:
        self._interrupt(trial.number, dict(trial.params), reason)
