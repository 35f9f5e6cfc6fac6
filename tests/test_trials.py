"""Trial records (``tuning.trials``): the attributes a trial carries, read back as every reader reads
them, the seed policy, and who owns a trial. Real Optuna on a real SQLite store; no fits."""

from __future__ import annotations

import datetime
import os

import optuna
import pytest
from optuna.trial import TrialState

from tuning import trials
from tuning.results import FitResult, TrialResult, TrialStatus
from tuning.spec import load_spec
from tuning.store import Store


def result(config: dict, key: str, seeds: list[int], value: float | None = 0.5) -> TrialResult:
    fits = [FitResult(key, s, "ok", {"val_loss": 0.5 + s}, {}, 1, None, 0.1, None) for s in seeds]
    failure = None if value is not None else "diverged"
    return TrialResult(config, key, fits, "val_loss", value, failure=failure)


@pytest.fixture
def study(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    return store, optuna.create_study(study_name="s", storage=store.optuna_storage())


def run_trial(study, key: str, seeds: list[int], value: float | None = 0.5) -> int:
    trial = study.ask()
    trials.write(trial.set_user_attr, trials.start_attrs(trials.owner_tag(), {"units": 1}, key))
    outcome = result({"units": 1}, key, seeds, value)
    trials.write(trial.set_user_attr, trials.outcome_attrs(outcome))
    study.tell(trial, value, state=TrialState.COMPLETE if value is not None else TrialState.FAIL)
    return trial.number


def test_the_seed_policy_is_made_in_one_place_and_says_what_is_missing():
    spec = load_spec({"name": "s", "problem": {"name": "tenths"}, "sampler": "grid", "repeats": [3, 7, 11]})
    policy = trials.seed_policy(spec)
    assert policy == trials.FixedSeeds((3, 7, 11))
    assert policy.missing([7]) == [3, 11] and policy.missing(None) == [3, 7, 11]
    assert policy.covers([11, 3, 7, 20]) and not policy.covers([3])


def test_a_trial_reads_back_as_it_was_written(study):
    store, optuna_study = study
    number = run_trial(optuna_study, "k1", [0, 1])
    (frozen,) = optuna_study.get_trials()
    assert trials.config_key_of(frozen) == "k1" and trials.seeds_of(frozen) == [0, 1]
    assert trials.owner_of(frozen) == trials.owner_tag() and trials.status_of(frozen) == TrialStatus.COMPLETE
    (read,) = trials.read_trials(store, "s")
    assert read["number"] == number and read["status"] == "complete" and read["n_seeds"] == 2
    assert read["config"] == {"units": 1} and read["mean"] == pytest.approx(1.0)


def test_a_failed_trial_keeps_its_reason(study):
    store, optuna_study = study
    run_trial(optuna_study, "k1", [0], value=None)
    (read,) = trials.read_trials(store, "s")
    assert read["status"] == "failed" and read["fail_reason"] == "diverged"


def test_a_rerun_supersedes_and_a_taken_up_interruption_is_resumed(study):
    store, optuna_study = study
    first = run_trial(optuna_study, "k1", [0])
    interrupted = optuna_study.ask()
    trials.write(interrupted.set_user_attr, trials.start_attrs(trials.owner_tag(), {"units": 2}, "k2"))
    trials.write(interrupted.set_user_attr, trials.interrupted_attrs("stopped by the user"))
    optuna_study.tell(interrupted, state=TrialState.FAIL)
    again = run_trial(optuna_study, "k1", [0, 1])  # more seeds for k1
    taken_up = run_trial(optuna_study, "k2", [0])  # k2 resumed
    statuses = {t["number"]: t["status"] for t in trials.read_trials(store, "s")}
    assert statuses == {first: "superseded", interrupted.number: "resumed", again: "complete", taken_up: "complete"}
    # A config is named by the first trial that ran it.
    assert trials.trial_numbers(trials.read_trials(store, "s")) == {"k1": first, "k2": interrupted.number}


def test_a_duplicate_proposal_names_no_config(study):
    store, optuna_study = study
    duplicate = optuna_study.ask()
    trials.write(duplicate.set_user_attr, {**trials.start_attrs("h:1", {}, "k9"), **trials.duplicate_attrs()})
    optuna_study.tell(duplicate, state=TrialState.FAIL)
    assert trials.read_trials(store, "s")[0]["status"] == "duplicate"
    assert trials.trial_numbers(trials.read_trials(store, "s")) == {}


def test_origin_and_mirror_attributes():
    assert trials.origin_attrs(resumed_from=3) == {"resumed_from": 3}
    assert trials.origin_attrs(more_seeds_for=1, parked_from=2) == {"more_seeds_for": 1, "parked_from": 2}
    attrs = trials.mirror_attrs("kt-0", {"units": 3})
    frozen = optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0, user_attrs=attrs)
    assert trials.mirrored_of(frozen) == ("kt-0", {"units": 3})
    assert trials.mirrored_of(optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0)) == (None, None)


def test_a_trial_is_orphaned_when_its_owner_holds_no_live_lease_on_any_host():
    host = os.uname().nodename
    mine = optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0, user_attrs={"owner": trials.owner_tag()})
    remote = optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0, user_attrs={"owner": "another-host:1:ab"})
    assert not trials.is_orphaned(mine, {trials.owner_tag()}) and trials.is_orphaned(mine, set())
    assert not trials.is_orphaned(remote, {"another-host:1:ab"}) and trials.is_orphaned(remote, {trials.owner_tag()})
    assert trials.owner_tag().startswith(f"{host}:{os.getpid()}:")  # a reused pid is another owner
    # Asked for a moment ago, its owner not written yet: another worker must not recover it.
    fresh = optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0)
    fresh.datetime_start = datetime.datetime.now()
    assert not trials.is_orphaned(fresh, set())
    fresh.datetime_start -= datetime.timedelta(seconds=trials.OWNERLESS_GRACE + 1)
    assert trials.is_orphaned(fresh, set())


def test_the_race_lines_count_every_concluded_config_a_pruned_one_too():
    """A race with a pruner: a config the pruner stopped has no race record, and was left out of the
    fits counted and of 'every config getting max would take' (a user read 48 of 48 for 59 of 60)."""
    from tuning.trials import race_lines

    repeats = {"strategy": "race", "min": 3, "max": 6, "alpha": 0.05}
    raced = [{"number": i, "config_key": f"k{i}", "status": "complete", "n_seeds": 6,
              "race": {"seeds": 6, "outcome": "left when the race ended", "beaten_by": None}} for i in range(2)]
    out = {"number": 2, "config_key": "k2", "status": "complete", "n_seeds": 3,
           "race": {"seeds": 3, "outcome": "eliminated after 3 seeds: worse than trial 0, p = 0.01", "beaten_by": "k0"}}
    pruned = {"number": 3, "config_key": "k3", "status": "pruned", "n_seeds": 4, "pruned_at": 8}
    lines = race_lines(repeats, [*raced, out, pruned], {})
    assert lines[0].endswith("; 19 fits for the 4 config(s) it concluded, where every config getting 6 would take 24")
    assert lines[-1] == "  trial 3: 4 seeds, pruned after 8 epochs by the study's pruner"
    assert len(lines) == 5
    # mid-race (a new user read '0 fits where every config getting 4 would take 0' while it ran)
    running = {"number": 4, "config_key": "k4", "status": "running", "n_seeds": 2}
    assert race_lines(repeats, [running], {}) == [
        "race: 3 to 6 seeds a config, alpha 0.05; no config concluded yet; 1 config(s) still racing"]
    assert race_lines(repeats, [*raced, running], {})[0].endswith("would take 12; 1 config(s) still racing")


def test_a_race_that_kept_hundreds_of_configs_is_one_line_not_hundreds():
    """A grid race of 240 configs that dropped none printed 240 identical 'left when the race ended'
    lines under `tuning status` (whose ranking stops at --top); the configs it dropped keep a line each."""
    from tuning.trials import SAME_OUTCOME_LINES, outcome_lines, race_lines

    repeats = {"strategy": "race", "min": 3, "max": 8, "alpha": 0.05}
    kept = [{"number": i, "config_key": f"k{i}", "status": "complete", "n_seeds": 8,
             "race": {"seeds": 8, "outcome": "left when the race ended: every config left has 8 seeds",
                      "beaten_by": None}} for i in range(240)]
    dropped = [{"number": 240 + i, "config_key": f"d{i}", "status": "complete", "n_seeds": 3,
                "race": {"seeds": 3, "outcome": f"eliminated after 3 seeds: worse than trial 0, p = 0.00{i + 1}",
                         "beaten_by": "k0"}} for i in range(3)]
    lines = race_lines(repeats, [*kept, *dropped], {})
    assert lines[1:] == [
        "  240 configs, trials 0, 1, 2, 3, 4 and 235 more: 8 seeds, left when the race ended: every config left "
        "has 8 seeds",
        "  trial 240: 3 seeds, eliminated after 3 seeds: worse than trial 0, p = 0.001",
        "  trial 241: 3 seeds, eliminated after 3 seeds: worse than trial 0, p = 0.002",
        "  trial 242: 3 seeds, eliminated after 3 seeds: worse than trial 0, p = 0.003"]
    few = [(n, "kept") for n in range(SAME_OUTCOME_LINES)]  # a small study reads as before, a line a config
    assert outcome_lines(few) == [f"  trial {n}: kept" for n in range(SAME_OUTCOME_LINES)]
