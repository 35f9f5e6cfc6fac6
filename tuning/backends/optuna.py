"""Optuna proposes configs; ``tuning`` fits them. Trials live in the same store as our fits.

The backend only decides *what* to try next and records what a trial concluded:

* **grid**: every point of :meth:`SearchSpace.grid` exactly once. Points are enqueued one at a
  time (``enqueue_trial``) in a stable order, skipping points that already have a finished
  trial, so an interrupted grid resumes with what is left and never repeats a point.
* **random / tpe / cmaes**: Optuna's samplers, seeded with ``seed + trials so far`` so that a
  resumed study does not replay the proposals of its first run.

Several workers: before a trial starts, its config is claimed in the store (:meth:`Backend.claim`),
so no two workers trial one config at once. A grid point is then asked with every parameter fixed
(not through Optuna's queue of enqueued trials, which any worker may pop). A worker that joins
others draws from a seed of its own (:meth:`OptunaBackend.join`), and a sampler's proposal that
another worker holds is dropped and the sampler reseeded past it. TPE runs with Optuna's constant liar (a running trial
counts as a bad one), as Optuna advises for parallel workers.

Recovery: a trial records its owner (the worker's tag). A RUNNING trial whose owner no longer
renews its lease (Ctrl-C, ``kill -9``, reboot, on any host) is marked FAIL with
``tuning_status=interrupted``; for samplers other than grid its params are enqueued again, so the
same config is finished, reusing every fit already stored.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from tuning import trials as records
from tuning.backends import grid_plan, planned_trials
from tuning.backends._base import Backend, GridOrder
from tuning.results import TrialResult
from tuning.space import SearchSpace
from tuning.spec import StudySpec, config_key
from tuning.store import Leases, Store, point_item
from tuning.vocabulary import BACKEND_SAMPLERS

optuna.logging.set_verbosity(logging.WARNING)


class OptunaBackend(Backend):
    """Proposes configs for one study and records each trial's outcome in Optuna's tables."""

    name = "optuna"
    samplers = BACKEND_SAMPLERS["optuna"]

    def __init__(self, spec: StudySpec, store: Store, space: SearchSpace, base: dict[str, Any], *,
                 order_grid: GridOrder | None = None):
        self.spec, self.space, self.base = spec, space, base
        storage = store.optuna_storage()
        self.study = optuna.create_study(
            storage=storage, study_name=spec.name, direction=spec.objective.direction, load_if_exists=True,
            sampler=optuna.samplers.RandomSampler(seed=spec.sampler.seed),
        )
        self.study.sampler = self._sampler(len(self.study.get_trials(deepcopy=False)))
        # The runner's order (the study passes ``runner.order_grid``): under the fused runner,
        # points that can share a graph are asked one after another, so that the trials in flight
        # together share graphs (the trial numbers follow this order).
        self.grid = grid_plan(space.grid(), spec.n_trials, spec.sampler.seed, order_grid) \
            if spec.sampler.name == "grid" else None

    def _sampler(self, trials_so_far: int) -> optuna.samplers.BaseSampler:
        seed = self.spec.sampler.seed + trials_so_far
        name = self.spec.sampler.name
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        if name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        return optuna.samplers.RandomSampler(seed=seed)  # random, and grid (whose points are enqueued)

    def join(self, leases: Leases, alone: bool) -> None:
        """Claim through ``leases`` from now on. A worker that joins others draws its sampler's
        proposals from a seed of its own (the study's seed, the trials so far and its owner tag):
        workers started on one study would otherwise all draw the same proposals, and all but one
        be dropped. The first worker (``alone``) keeps the study's seed, as a single run does."""
        self.leases = leases
        if not alone and self.grid is None:
            salt = int.from_bytes(hashlib.sha256(leases.owner.encode()).digest()[:3], "big")
            self.study.sampler = self._sampler(len(self.trials()) + salt)

    # -- bookkeeping ---------------------------------------------------------------------------

    def planned(self) -> int:
        """How many trials the study is to finish in all."""
        return planned_trials(self.spec, None if self.grid is None else len(self.grid))

    def done(self) -> list[optuna.trial.FrozenTrial]:
        """Finished trials that count towards the plan: those evaluated on every current seed.

        A study re-run with more seeds (``--repeats 10`` after 3) has no done trials until
        their configs are topped up; for a grid, each point counts once.
        """
        covering = [t for t in self.finished() if self.covers_seeds(t)]
        if self.grid is None:
            return covering
        by_key = {records.config_key_of(t): t for t in covering}
        return list(by_key.values())

    def recover(self, alive: set[str]) -> list[int]:
        """Fail RUNNING trials whose owner's lease is gone; re-enqueue their params (not grid)."""
        recovered = []
        for trial in self.trials():
            if trial.state != TrialState.RUNNING or not records.is_orphaned(trial, alive):
                continue
            self._interrupt(trial.number, trial.params, reason="owner process gone")
            recovered.append(trial.number)
        return recovered

    def _interrupt(self, number: int, params: dict[str, Any], reason: str) -> None:
        storage, trial_id = self.study._storage, self.study._storage.get_trial_id_from_study_id_trial_number(
            self.study._study_id, number)
        try:
            records.write(lambda name, value: storage.set_trial_user_attr(trial_id, name, value),
                          records.interrupted_attrs(reason))
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker recovered it first
            return
        self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        if self.grid is None and params:
            self.study.enqueue_trial(params, user_attrs=records.origin_attrs(resumed_from=number))

    # -- the loop ------------------------------------------------------------------------------

    def ask(self, busy: set[str] | None = None) -> tuple[optuna.Trial, dict[str, Any], str] | None:
        """The next trial, its config and config key; ``None`` when the study is done.

        ``busy`` holds the config keys of trials this process is running now: they count
        towards the plan and are not proposed again.
        """
        busy = busy or set()
        for _ in range(50):  # a proposal another worker holds is dropped and drawn again, not forever
            elsewhere = self.held_elsewhere()
            if len(self.done()) + len(busy) + len(elsewhere - busy) >= self.planned():
                return None
            if self.grid is not None:
                return self._ask_grid(busy | elsewhere)
            # configs run with fewer seeds than asked are topped up before new proposals
            waiting = any(t.state == TrialState.WAITING for t in self.trials())
            needing = [] if waiting else [
                t for t in self.needing_more_seeds() if records.config_key_of(t) not in busy | elsewhere]
            if needing:
                self.study.enqueue_trial(needing[0].params, user_attrs=records.origin_attrs(more_seeds_for=needing[0].number))
            trial = self.study.ask()
            point = self.space.suggest(trial)
            config = self.space.to_config(point, self.base)
            key = config_key(config)
            if key in busy:
                # The sampler proposed a config that is running right now. Park the proposal (it
                # is asked again, and counted, once the running one is done) and run what we have.
                records.write(trial.set_user_attr, records.duplicate_attrs())
                self.study.tell(trial, state=TrialState.FAIL)
                self.study.enqueue_trial(point, user_attrs=records.origin_attrs(parked_from=trial.number))
                return None
            if not self.claim(key):  # another worker trials it: drop it, draw past it
                records.write(trial.set_user_attr, records.duplicate_attrs())
                self.study.tell(trial, state=TrialState.FAIL)
                self.study.sampler = self._sampler(len(self.trials()))
                continue
            records.write(trial.set_user_attr, records.start_attrs(self.owner, config, key))
            return trial, config, key
        return None

    def _ask_grid(self, taken: set[str]) -> tuple[optuna.Trial, dict[str, Any], str] | None:
        """The first grid point not done and not ``taken`` that this worker can claim, as a trial."""
        for point in self._grid_todo():
            config = self.space.to_config(point, self.base)
            key = config_key(config)
            if key in taken or not self.claim(key):
                continue
            if key in self.done_keys():  # finished by another worker since the list was read
                if self.leases is not None:
                    self.leases.release([point_item(key)])
                continue
            # Every parameter fixed by the sampler: a trial enqueued by another worker (Optuna's
            # queue is shared) could be popped by this one instead.
            with warnings.catch_warnings():  # "experimental" since Optuna 2.4, and what a grid point is
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self.study.sampler = optuna.samplers.PartialFixedSampler(point, self._sampler(0))
            trial = self.study.ask(self.space.distributions(point))
            if self.space.to_config(dict(trial.params), self.base) != config:  # a WAITING trial of an older run
                records.write(trial.set_user_attr, records.duplicate_attrs())
                self.study.tell(trial, state=TrialState.FAIL)
                if self.leases is not None:
                    self.leases.release([point_item(key)])
                return self._ask_grid(taken)
            records.write(trial.set_user_attr, records.start_attrs(self.owner, config, key))
            return trial, config, key
        return None

    def _grid_todo(self) -> list[dict[str, Any]]:
        done = self.done_keys()
        return [p for p in self.grid if config_key(self.space.to_config(p, self.base)) not in done]

    def tell(self, trial: optuna.Trial, result: TrialResult) -> None:
        """Record a trial's outcome: the objective and every seed's value, or why it failed.

        A trial another worker already recovered (this worker's lease ran out while it worked,
        e.g. the database was away for longer than a lease) is left as that worker marked it:
        its fits are stored, and the config's next trial reuses them."""
        try:
            records.write(trial.set_user_attr, records.outcome_attrs(result))
        except optuna.exceptions.UpdateFinishedTrialError:
            return
        if result.pruned:  # Optuna's word for it: its sampler counts the config among the worst
            self.study.tell(trial, state=TrialState.PRUNED)
        elif result.value is None:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, result.value, skip_if_finished=True)

    def interrupt(self, trial: optuna.Trial, reason: str = "stopped by the user") -> None:
        self._interrupt(trial.number, dict(trial.params), reason)
