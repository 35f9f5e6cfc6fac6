"""The Optuna backend and the trial records, on a real SQLite store, with no fit at all.

A backend only proposes configs and records outcomes, so it is driven here with hand-made
TrialResults: grid order and no repeats, the records both backends write, top-ups when the seeds
grow, duplicates, recovery of a dead owner's trial, and what `tuning status` reads back.
"""

from __future__ import annotations

import os

import optuna
import pytest

from tuning import trials as records
from tuning.backends import BACKENDS, make_backend
from tuning.backends._base import Backend
from tuning.results import OK, FitResult, TrialResult, TrialStatus
from tuning.space import SearchSpace, base_config
from tuning.spec import load_spec
from tuning.store import Store, point_item


def spec_of(tmp_path, *, sampler="grid", seeds=2, n_trials=None, units=(1, 2, 3)):
    text = {"name": "b", "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 2},
            "space": {"units": list(units)}, "sampler": sampler, "repeats": seeds,
            "storage": f"sqlite:///{tmp_path / 'b.db'}"}
    if n_trials:
        text["n_trials"] = n_trials
    return load_spec(text)


def backend_of(spec, **options) -> Backend:
    store = Store(spec.storage)
    return make_backend(spec, store, SearchSpace.from_spec(spec), base_config(spec), **options)


def result(config, key, seeds, value=0.5):
    fits = [FitResult(key, s, OK, {"val_loss": (value or 1.0) + s / 100}) for s in seeds]
    return TrialResult(config, key, fits, "val_loss", None if value is None else value,
                       failure=None if value is not None else "seed 0 diverged")


def run_all(backend, seeds=(0, 1), value=0.5):
    told = []
    while (proposal := backend.ask()) is not None:
        trial, config, key = proposal
        backend.tell(trial, result(config, key, seeds, value))
        told.append(config["units"])
    return told


def test_registry_names_each_backend_and_what_it_supports():
    assert set(BACKENDS) == {"optuna", "kerastuner"}
    from tuning.backends.optuna import OptunaBackend

    assert OptunaBackend.name == "optuna" and OptunaBackend.parallel_trials and OptunaBackend.resumable
    assert set(OptunaBackend.samplers) == {"grid", "random", "tpe", "cmaes"}


def test_grid_visits_each_point_once_in_the_runners_order(tmp_path):
    spec = spec_of(tmp_path)
    backend = backend_of(spec, order_grid=lambda points: sorted(points, key=lambda p: -p["units"]))
    assert run_all(backend) == [3, 2, 1]
    assert backend.ask() is None and len(backend.done()) == backend.planned() == 3
    # A new process on the same store proposes nothing more.
    assert backend_of(spec).ask() is None


def test_records_are_what_status_reads_back(tmp_path):
    spec = spec_of(tmp_path, units=(1, 2))
    backend = backend_of(spec)
    trial, config, key = backend.ask()
    backend.tell(trial, result(config, key, [0, 1], value=0.25))
    trial, config, key = backend.ask()
    backend.tell(trial, result(config, key, [0, 1], value=None))
    read = records.read_trials(Store(spec.storage, create=False), "b")
    assert [t["status"] for t in read] == [TrialStatus.COMPLETE, TrialStatus.FAILED]
    assert read[0]["seeds"] == [0, 1] and read[0]["n_seeds"] == 2 and read[0]["mean"] == pytest.approx(0.255)
    assert read[0]["config"]["units"] == 1 and read[0]["config_key"]
    assert read[1]["fail_reason"] == "seed 0 diverged"
    frozen = optuna.load_study(study_name="b", storage=Store(spec.storage).optuna_storage()).get_trials()
    assert frozen[0].user_attrs["owner"] == records.owner_tag()
    assert records.owner_tag().startswith(f"{os.uname().nodename}:{os.getpid()}:")
    assert records.status_of(frozen[1]) is TrialStatus.FAILED


def test_more_seeds_top_up_finished_configs_and_supersede_their_trials(tmp_path):
    spec = spec_of(tmp_path, units=(1, 2))
    run_all(backend_of(spec))
    grown = spec_of(tmp_path, units=(1, 2), seeds=3)
    backend = backend_of(grown)
    assert backend.done() == [] and len(backend.needing_more_seeds()) == 2
    assert sorted(run_all(backend, seeds=(0, 1, 2))) == [1, 2]
    statuses = [t["status"] for t in records.read_trials(Store(grown.storage), "b")]
    assert statuses == [TrialStatus.SUPERSEDED] * 2 + [TrialStatus.COMPLETE] * 2


def test_a_busy_config_is_not_proposed_twice(tmp_path):
    spec = spec_of(tmp_path, sampler="random", n_trials=3, units=(1,))
    backend = backend_of(spec)
    trial, config, key = backend.ask()
    assert backend.ask(busy={key}) is None  # the only config is running: park the duplicate
    parked = [t for t in backend.trials() if t.user_attrs.get("tuning_status") == TrialStatus.DUPLICATE]
    assert len(parked) == 1
    backend.tell(trial, result(config, key, [0, 1]))


def test_a_running_trial_is_recovered_once_its_owners_lease_is_gone_whatever_its_host(tmp_path):
    spec = spec_of(tmp_path, sampler="random", n_trials=1)
    store = Store(spec.storage)
    backend = backend_of(spec)
    trial, config, key = backend.ask()
    trial.set_user_attr("owner", "another-machine:1:abcdef")
    other = store.leases("b", "another-machine:1:abcdef", lease=30)
    other.register("another-machine", 1)  # its worker renews its lease: the trial is left to it
    assert backend_of(spec).recover(store.live_owners("b")) == []
    other.expire(["another-machine:1:abcdef"])  # its lease ran out: no pid is looked at
    again = backend_of(spec)
    assert again.recover(store.live_owners("b")) == [trial.number]
    read = records.read_trials(Store(spec.storage), "b")
    assert read[0]["status"] == TrialStatus.INTERRUPTED and "owner process gone" in read[0]["fail_reason"]
    trial2, config2, _ = again.ask()
    assert config2 == config and trial2.number != trial.number


def test_tpe_lies_about_running_trials_so_that_parallel_workers_spread_out(tmp_path):
    spec = load_spec({"name": "b", "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 2},
                      "space": {"learning_rate": {"low": 1.0e-4, "high": 1.0e-2, "log": True}}, "sampler": "tpe",
                      "n_trials": 4, "storage": f"sqlite:///{tmp_path / 'b.db'}"})
    assert backend_of(spec).study.sampler._constant_liar  # Optuna's constant liar: a running trial counts as bad


def test_two_workers_never_trial_the_same_grid_point(tmp_path):
    """Each backend claims a point in the store before its trial starts: a second worker asks for
    the next point, and once every point is held or done there is nothing to ask for."""
    spec = spec_of(tmp_path, units=(1, 2, 3))
    store = Store(spec.storage)
    workers = [backend_of(spec) for _ in range(4)]
    for number, backend in enumerate(workers):
        backend.leases = store.leases("b", f"worker-{number}", 30)
    asked = [backend.ask() for backend in workers[:3]]
    assert len({key for _, _, key in asked}) == 3  # three workers, three points
    assert workers[3].ask() is None  # every point held by a live worker
    trial, config, key = asked[0]
    workers[0].tell(trial, result(config, key, [0, 1]))
    workers[0].leases.release([point_item(key)])
    assert workers[3].ask() is None  # done now, not trialled again
    workers[1].leases.expire(["worker-1"])  # worker 1 died: its point is taken over
    taken = workers[3].ask()
    assert taken is not None and taken[2] == asked[1][2]
    assert store.workers("b") == []  # none of them registered as a process; the claims alone did it


def test_fixed_seeds_is_the_one_rule_for_coverage():
    policy = records.FixedSeeds((0, 1, 2))
    assert policy.missing([0, 2]) == [1] and not policy.covers([0, 2])
    assert policy.covers([2, 1, 0, 7]) and policy.missing(None) == [0, 1, 2]


def test_trial_status_words_are_what_the_store_holds():
    assert TrialStatus.COMPLETE == "complete" and str(TrialStatus.INTERRUPTED) == "interrupted"
    assert TrialStatus("superseded") is TrialStatus.SUPERSEDED


def test_the_backend_registry_knows_every_backend_a_spec_may_name():
    import importlib

    from tuning.backends import BACKENDS
    from tuning.vocabulary import BACKEND_SAMPLERS
    from tuning.vocabulary import BACKENDS as SPEC_BACKENDS

    assert sorted(BACKENDS) == sorted(SPEC_BACKENDS) == sorted(BACKEND_SAMPLERS)
    module, name = BACKENDS["optuna"]
    backend = getattr(importlib.import_module(module), name)
    assert backend.name == "optuna" and backend.samplers == BACKEND_SAMPLERS["optuna"]
