"""Trial records: what a trial writes in Optuna's tables, and how every reader reads it back.

Both backends keep their trials in Optuna's tables of the study's store (KerasTuner's as mirrors
of its own), so ``tuning status``, the report, resuming and the analysis read one place. This
module is the only one that knows the names of the user attributes a trial carries:

* when it starts: ``owner`` (the worker's :func:`owner_tag`; a RUNNING trial whose owner no longer
  renews its lease is orphaned, :func:`is_orphaned`), ``config_key``, ``config``;
* when it ends: ``seeds``, ``seed_values``, ``n_seeds``, ``mean``, ``std``, ``tuning_status``
  (a :class:`~tuning.results.TrialStatus`), when it failed, ``fail_reason``, and in a race,
  ``race`` (what the race decided for its config: ``outcome``, ``seeds``, ``beaten_by``, ``p``);
* on a trial enqueued again, where it came from: ``resumed_from``, ``more_seeds_for``,
  ``parked_from`` (:func:`origin_attrs`).

The backends read a trial through :func:`config_key_of`, :func:`seeds_of` and :func:`owner_of`.

Beside the records lives the rule that decides when a config's trial has the seeds it needs
(:func:`seed_policy`): :class:`FixedSeeds` (every config gets the study's seeds) or
:class:`RacedSeeds` (a race decides; the loop's rounds are :mod:`tuning.search.allocation`).
Optuna is imported only by the functions that read or write trials.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuning.results import TrialResult, TrialStatus
from tuning.vocabulary import first_few

if TYPE_CHECKING:
    import optuna

    from tuning.spec import StudySpec
    from tuning.store import Store

#: Statuses of trials that concluded on their own (not interrupted, not a parked duplicate).
CONCLUDED = (TrialStatus.COMPLETE, TrialStatus.FAILED, TrialStatus.PRUNED)
#: The study's attribute holding how many trials KerasTuner's tuner ran when it ended short of the
#: plan (its random or Hyperband sampling ran out of new configs): the plan is then that many.
TUNER_ENDED = "tuner_ended_after"


@dataclass(frozen=True)
class FixedSeeds:
    """Seed allocation: every config is fitted with the study's seeds, no more, no fewer."""

    seeds: tuple[int, ...]

    def missing(self, recorded: Iterable[int] | None) -> list[int]:
        """The study's seeds a trial that recorded ``recorded`` has not been fitted with."""
        have = set(recorded or [])
        return [s for s in self.seeds if s not in have]

    def covers(self, recorded: Iterable[int] | None, race: dict[str, Any] | None = None, *,
               pruned: bool = False) -> bool:
        """Does a concluded trial that recorded these seeds (and this race outcome) need nothing
        more? A config the pruner stopped needs nothing more, whatever seeds it has."""
        return pruned or not self.missing(recorded)


@dataclass(frozen=True)
class RacedSeeds(FixedSeeds):
    """Seed allocation by a race (:mod:`tuning.racing`): ``seeds`` is the sequence every config
    draws from, in order: the race's ``max``, then the ``confirm`` seeds that take no part in it
    (the configs left at its end are fitted on them). A config gets its first ``min`` and more
    only while it could still be the best. A trial is done when the race decided for its config
    (its ``race`` record) or it has every seed."""

    min_seeds: int = 3
    alpha: float = 0.05
    confirm: int = 0

    @property
    def race_seeds(self) -> tuple[int, ...]:
        return self.seeds[:len(self.seeds) - self.confirm]

    @property
    def confirm_seeds(self) -> tuple[int, ...]:
        return self.seeds[len(self.seeds) - self.confirm:]

    def covers(self, recorded: Iterable[int] | None, race: dict[str, Any] | None = None, *,
               pruned: bool = False) -> bool:
        return pruned or race is not None or not self.missing(recorded)


def seed_policy(spec: StudySpec) -> FixedSeeds:
    """The study's seed-allocation policy: the one place it is made (backends, loop, ``tuning status``)."""
    repeats = spec.repeats
    if repeats.strategy == "race":
        return RacedSeeds(tuple(spec.seeds), repeats.min, repeats.alpha, repeats.confirm)
    return FixedSeeds(tuple(spec.seeds))


def finished_trials(trials: list[dict[str, Any]], spec: StudySpec) -> int:
    """How many of a study's trials (:func:`read_trials`) count towards its plan: concluded on
    every seed the spec asks for (``tuning status``'s "remaining", ``tuning resume``'s check)."""
    policy = seed_policy(spec)
    return sum(1 for t in trials if t["status"] in CONCLUDED
               and policy.covers(t["seeds"], t.get("race"), pruned=t["status"] == TrialStatus.PRUNED))


def status_of(trial: optuna.trial.FrozenTrial) -> TrialStatus:
    """What a trial concluded, in ``tuning``'s words (running trials say ``running``)."""
    from optuna.trial import TrialState

    if trial.state == TrialState.RUNNING:
        return TrialStatus.RUNNING
    if trial.state == TrialState.WAITING:
        return TrialStatus.WAITING
    if trial.state == TrialState.COMPLETE:
        return TrialStatus.COMPLETE
    return TrialStatus(trial.user_attrs.get("tuning_status", TrialStatus.FAILED.value))


def config_key_of(trial: optuna.trial.FrozenTrial) -> str | None:
    """The config key a trial recorded when it started (``None`` for a trial that never started)."""
    return trial.user_attrs.get("config_key")


def config_of(trial: optuna.trial.FrozenTrial) -> dict[str, Any] | None:
    """The config a trial recorded when it started (``None`` for a trial that never started)."""
    return trial.user_attrs.get("config")


def seeds_of(trial: optuna.trial.FrozenTrial) -> list[int] | None:
    """The seeds a concluded trial was fitted with (``None`` before it concluded)."""
    return trial.user_attrs.get("seeds")


def race_of(trial: optuna.trial.FrozenTrial) -> dict[str, Any] | None:
    """What the race decided for a concluded trial's config (``None``: not raced, or not yet)."""
    return trial.user_attrs.get("race")


def owner_of(trial: optuna.trial.FrozenTrial) -> str | None:
    """Who runs (or ran) a trial: the :func:`owner_tag` of its process."""
    return trial.user_attrs.get("owner")


def fail_reason_of(trial: optuna.trial.FrozenTrial) -> str | None:
    return trial.user_attrs.get("fail_reason")


#: Told apart from an earlier process with the same pid on the same host (pids are reused).
_NONCE = os.urandom(3).hex()


def owner_tag() -> str:
    """Who runs a trial: ``host:pid:nonce``, the same for the whole process, never for another."""
    return f"{os.uname().nodename}:{os.getpid()}:{_NONCE}"


#: Seconds a RUNNING trial may go without an owner: between Optuna's ask and the owner's record
#: another worker must not take it for orphaned (a worker killed right there leaves one for good).
OWNERLESS_GRACE = 120.0


def is_orphaned(trial: optuna.trial.FrozenTrial, alive: set[str]) -> bool:
    """A trial whose owner is not among the workers whose lease is ``alive`` (on any host): it was
    killed, its machine rebooted, or it lost the database; it cannot finish the trial. A trial
    just asked for has no owner yet: it is orphaned only once :data:`OWNERLESS_GRACE` has passed."""
    owner = owner_of(trial)
    if owner is None:
        started = trial.datetime_start
        return started is None or (datetime.datetime.now() - started).total_seconds() > OWNERLESS_GRACE
    return owner not in alive


def start_attrs(owner: str, config: dict[str, Any], key: str) -> dict[str, Any]:
    """The attributes a trial carries from its start: who runs it and which config it is.

    The key comes last: each attribute is written in a transaction of its own, so a worker that
    finds a trial by its key (to help with its seeds) finds its config there too."""
    return {"owner": owner, "config": json.loads(json.dumps(config)), "config_key": key}


def outcome_attrs(result: TrialResult) -> dict[str, Any]:
    """The attributes a trial carries from its end: every seed's value, or why it failed."""
    attrs: dict[str, Any] = {"seeds": [f.seed for f in result.fits],
                             "seed_values": {str(s): v for s, v in result.seed_values.items()},
                             "n_seeds": len(result.fits), "mean": result.mean, "std": result.std}
    if result.race is not None:
        attrs["race"] = result.race
    if result.pruned:
        attrs.update(tuning_status=TrialStatus.PRUNED.value, pruned_at=result.pruned_at)
    elif result.value is None:
        attrs.update(tuning_status=TrialStatus.FAILED.value, fail_reason=result.failure)
    else:
        attrs["tuning_status"] = TrialStatus.COMPLETE.value
    return attrs


def duplicate_attrs() -> dict[str, Any]:
    """The attributes of a proposal dropped (or parked) because its config is done or running."""
    return {"tuning_status": TrialStatus.DUPLICATE.value}


def origin_attrs(*, resumed_from: int | None = None, more_seeds_for: int | None = None,
                 parked_from: int | None = None) -> dict[str, int]:
    """The attributes of a trial enqueued again: the trial it continues (interrupted, topped up
    with more seeds, or parked while its config was running)."""
    given = {"resumed_from": resumed_from, "more_seeds_for": more_seeds_for, "parked_from": parked_from}
    return {name: number for name, number in given.items() if number is not None}


def mirror_attrs(kt_trial_id: str | None, kt_values: dict[str, Any] | None) -> dict[str, Any]:
    """The attributes of an Optuna trial that mirrors a KerasTuner trial: its id and ``hp`` values."""
    attrs: dict[str, Any] = {"backend": "kerastuner"}
    if kt_trial_id is not None:
        attrs["kt_trial_id"] = kt_trial_id
    if kt_values is not None:
        attrs["kt_values"] = json.loads(json.dumps(kt_values, default=str))
    return attrs


def mirrored_of(trial: optuna.trial.FrozenTrial) -> tuple[str | None, dict[str, Any] | None]:
    """(KerasTuner trial id, its ``hp`` values) of a mirror trial; ``(None, None)`` for others."""
    return trial.user_attrs.get("kt_trial_id"), trial.user_attrs.get("kt_values")


def interrupted_attrs(reason: str) -> dict[str, Any]:
    """The attributes of a trial stopped before it ended (Ctrl-C, or its owner process gone)."""
    return {"tuning_status": TrialStatus.INTERRUPTED.value, "fail_reason": f"interrupted ({reason})"}


def write(set_attr: Callable[[str, Any], None], attrs: dict[str, Any]) -> None:
    """Write ``attrs`` with the backend's setter (``trial.set_user_attr`` or the storage's)."""
    for name, value in attrs.items():
        set_attr(name, value)


def tuner_ended_after(store: Store, study: str) -> int | None:
    """How many trials KerasTuner's tuner ran when it ended short of the plan, or ``None``."""
    import optuna

    try:
        ended = optuna.load_study(study_name=study, storage=store.optuna_storage()).user_attrs.get(TUNER_ENDED)
    except KeyError:
        return None
    return None if ended is None else int(ended)


def read_trials(store: Store, study: str) -> list[dict[str, Any]]:
    """A study's trials as plain dicts: number, status, config_key, value, params and the records.

    A config re-run with more seeds has a newer trial; the older one is kept, as ``superseded``.
    An interrupted trial whose config a later trial took up (``tuning resume``, its fits reused)
    is ``resumed``: only a config nothing has taken up since counts as interrupted.
    """
    import optuna

    try:
        loaded = optuna.load_study(study_name=study, storage=store.optuna_storage())
    except KeyError:
        return []
    trials = [
        {"number": t.number, "status": status_of(t).value, "config_key": t.user_attrs.get("config_key"),
         "value": t.value, "params": t.params, "owner": owner_of(t),
         **{k: t.user_attrs.get(k) for k in ("mean", "std", "n_seeds", "seeds", "seed_values", "fail_reason", "config",
                                             "race", "pruned_at")}}
        for t in loaded.get_trials(deepcopy=False)
    ]
    concluded = {s.value for s in CONCLUDED}
    latest = {t["config_key"]: t["number"] for t in trials if t["status"] in concluded}
    last_started = {t["config_key"]: t["number"] for t in trials if t["config_key"]}
    for t in trials:
        if t["status"] in concluded and latest[t["config_key"]] != t["number"]:
            t["status"] = TrialStatus.SUPERSEDED.value
        elif t["status"] == TrialStatus.INTERRUPTED and last_started.get(t["config_key"], -1) > t["number"]:
            t["status"] = TrialStatus.RESUMED.value
    return trials


def race_lines(repeats: dict[str, Any], trials: list[dict[str, Any]], numbers: dict[str, int]) -> list[str]:
    """What a raced study's race decided (``repeats``: the spec's section, as stored), one line per
    config it decided for (those left at the end first, then the latest dropped); empty for a
    study that did not race."""
    if (repeats or {}).get("strategy") != "race":
        return []
    # every config the study concluded counts in the fits, a pruned one too (the pruner stopped it
    # before the race decided: it has no race record, only the fits it was given)
    concluded = [t for t in trials if t["status"] in {s.value for s in CONCLUDED}]
    decided = [t for t in concluded if t.get("race")]
    decided.sort(key=lambda t: (t["race"].get("beaten_by") is not None, -int(t["race"].get("seeds") or 0)))
    pruned = [t for t in concluded if not t.get("race") and t["status"] == TrialStatus.PRUNED]
    most = repeats["max"] + repeats.get("confirm", 0)
    racing = sum(1 for t in trials if t["status"] == TrialStatus.RUNNING)
    head = (f"race: {repeats['min']} to {repeats['max']} seeds a config, alpha {repeats['alpha']:g}; "
            + (f"{sum(int(t.get('n_seeds') or 0) for t in concluded)} fits for the {len(concluded)} config(s) it "
               f"concluded, where every config getting {most} would take {len(concluded) * most}" if concluded
               else "no config concluded yet")
            + (f"; {racing} config(s) still racing" if racing else ""))
    return [head] + outcome_lines(
        [(numbers.get(t["config_key"], t["number"]), f"{t['race'].get('seeds')} seeds, {t['race']['outcome']}"
          f"{_confirmed(t)}") for t in decided]
        + [(numbers.get(t["config_key"], t["number"]), f"{t.get('n_seeds')} seeds, pruned after {t.get('pruned_at')} "
            "epochs by the study's pruner") for t in pruned])


#: configs sharing one outcome are listed one a line up to this many, then said in one line
SAME_OUTCOME_LINES = 5


def outcome_lines(rows: list[tuple[object, str]]) -> list[str]:
    """``"  trial N: outcome"`` for each (trial, outcome) in ``rows``, in their order; an outcome
    shared by more than :data:`SAME_OUTCOME_LINES` configs is one line where its first config
    stood, naming the first trials and how many more (a race that kept 240 configs to its end
    reads as one line, not 240)."""
    groups: dict[str, list[object]] = {}
    for trial, outcome in rows:
        groups.setdefault(outcome, []).append(trial)
    lines, said = [], set()
    for trial, outcome in rows:
        trials = groups[outcome]
        if len(trials) <= SAME_OUTCOME_LINES:
            lines.append(f"  trial {trial}: {outcome}")
        elif outcome not in said:
            said.add(outcome)
            lines.append(f"  {len(trials)} configs, trials {first_few(trials, SAME_OUTCOME_LINES)}: {outcome}")
    return lines


def _confirmed(trial: dict[str, Any]) -> str:
    """A survivor's mean on the seeds that took no part in the race, beside its racing mean."""
    fresh = [str(s) for s in trial["race"].get("confirmed_on") or []]
    values = trial.get("seed_values") or {}
    confirmed = [values[s] for s in fresh if s in values]
    raced = [v for s, v in values.items() if s not in fresh]
    if not confirmed:
        return ""
    mean = sum(confirmed) / len(confirmed)
    # Which way the two differ is the seeds' luck as often as the race's pick: said as they are.
    return (f"; on {len(confirmed)} fresh seeds {mean:.4g} (seeds that took no part in the race, so free of the "
            f"winner's curse the racing seeds can carry; on its racing seeds {sum(raced) / max(len(raced), 1):.4g})")


def race_eliminations(trials: list[dict[str, Any]]) -> dict[str, str]:
    """config_key -> what the study's race said when it eliminated the config ("eliminated after 3
    seeds: worse than trial 7, p = 0.013"); configs it kept or never raced are absent."""
    return {t["config_key"]: t["race"]["outcome"] for t in trials
            if t["config_key"] and (t.get("race") or {}).get("beaten_by") is not None}


def latest_statuses(trials: list[dict[str, Any]]) -> dict[str, str]:
    """config_key -> the latest conclusion of its trial (complete / failed / running ...)."""
    return {t["config_key"]: t["status"] for t in trials if t["config_key"]}


def trial_numbers(trials: list[dict[str, Any]]) -> dict[str, int]:
    """config_key -> the number of the first trial that ran it: how a config is named to users.

    A config keeps its name when a resume or ``--repeats`` takes it up in a later trial (Optuna
    records every retry as a new trial, as its ``RetryFailedTrialCallback`` does), so "trial 0"
    in the progress lines of the first run is "trial 0" in ``tuning status`` and the report.
    """
    numbers: dict[str, int] = {}
    for t in sorted(trials, key=lambda t: t["number"]):
        if t["config_key"] and t["status"] != TrialStatus.DUPLICATE:
            numbers.setdefault(t["config_key"], t["number"])
    return numbers
