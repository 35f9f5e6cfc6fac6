"""Trial records: what a trial writes in Optuna's tables, and how every reader reads it back.

Both backends keep their trials in Optuna's tables of the study's store (KerasTuner's as mirrors
of its own), so ``tuning status``, the report, resuming and the analysis read one place. This
module is the only one that knows the names of the user attributes a trial carries:

* when it starts: ``owner`` (``host:pid``, for recovery after ``kill -9``), ``config_key``,
  ``config``;
* when it ends: ``seeds``, ``seed_values``, ``n_seeds``, ``mean``, ``std``, ``tuning_status``
  (a :class:`~tuning.results.TrialStatus`) and, when it failed, ``fail_reason``.

Beside the records lives the rule that decides which seeds a config still needs
(:class:`FixedSeeds`): today every config gets the study's seeds; racing will replace this
policy with one that gives a config more seeds only while it could still be the best.
Optuna is imported only by the functions that read or write trials.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuning.results import TrialResult, TrialStatus

if TYPE_CHECKING:
    import optuna

    from tuning.store import Store

#: Statuses of trials that concluded on their own (not interrupted, not a parked duplicate).
CONCLUDED = (TrialStatus.COMPLETE, TrialStatus.FAILED)


@dataclass(frozen=True)
class FixedSeeds:
    """Seed allocation: every config is fitted with the study's seeds, no more, no fewer.

    The one rule for "does this trial cover the seeds it needs" (the backends' bookkeeping,
    ``tuning status``' trials remaining); a racing policy will answer per config instead.
    """

    seeds: tuple[int, ...]

    def missing(self, recorded: Iterable[int] | None) -> list[int]:
        """The study's seeds a trial that recorded ``recorded`` has not been fitted with."""
        have = set(recorded or [])
        return [s for s in self.seeds if s not in have]

    def covers(self, recorded: Iterable[int] | None) -> bool:
        return not self.missing(recorded)


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


def start_attrs(owner: str, config: dict[str, Any], key: str) -> dict[str, Any]:
    """The attributes a trial carries from its start: who runs it and which config it is."""
    return {"owner": owner, "config_key": key, "config": json.loads(json.dumps(config))}


def outcome_attrs(result: TrialResult) -> dict[str, Any]:
    """The attributes a trial carries from its end: every seed's value, or why it failed."""
    attrs: dict[str, Any] = {"seeds": [f.seed for f in result.fits],
                             "seed_values": {str(s): v for s, v in result.seed_values.items()},
                             "n_seeds": len(result.fits), "mean": result.mean, "std": result.std}
    if result.value is None:
        attrs.update(tuning_status=TrialStatus.FAILED.value, fail_reason=result.failure)
    else:
        attrs["tuning_status"] = TrialStatus.COMPLETE.value
    return attrs


def interrupted_attrs(reason: str) -> dict[str, Any]:
    """The attributes of a trial stopped before it ended (Ctrl-C, or its owner process gone)."""
    return {"tuning_status": TrialStatus.INTERRUPTED.value, "fail_reason": f"interrupted ({reason})"}


def write(set_attr: Callable[[str, Any], None], attrs: dict[str, Any]) -> None:
    """Write ``attrs`` with the backend's setter (``trial.set_user_attr`` or the storage's)."""
    for name, value in attrs.items():
        set_attr(name, value)


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
         "value": t.value, "params": t.params,
         **{k: t.user_attrs.get(k) for k in ("mean", "std", "n_seeds", "seeds", "fail_reason", "config")}}
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
