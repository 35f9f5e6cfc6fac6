"""Studies through the Python API: resume with more seeds, spec changes, failures, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tuning
import tuning.store
from tuning.errors import SpecError


def spec(tmp_path, **changes) -> dict:
    base = {
        "name": "s", "problem": {"name": "tenths"}, "model": {"units": 2},
        "fit": {"epochs": 1, "batch_size": 5}, "space": {"units": [1, 2]}, "sampler": "grid",
        "repeats": 1, "storage": f"sqlite:///{tmp_path / 'study.db'}",
    }
    base.update(changes)
    return base


@pytest.mark.slow
def test_more_seeds_top_up_every_config_without_refitting(tmp_path):
    first = tuning.run_study(spec(tmp_path))
    assert (first.complete, first.fits_run) == (2, 2)
    more = tuning.run_study(spec(tmp_path), repeats=3)
    assert (more.complete, more.fits_run, more.fits_reused) == (2, 4, 2)
    results = tuning.load_results("s", storage=str(tmp_path / "study.db"))
    assert sorted(results.trials["n_seeds"]) == [3, 3]
    status = tuning.study_status("s", storage=str(tmp_path / "study.db"))
    assert (status["complete"], status["remaining"]) == (2, 0)
    assert all(best["n_seeds"] == 3 for best in status["best"])


@pytest.mark.slow
def test_random_sampler_tops_up_and_proposes_new_trials(tmp_path):
    random_spec = spec(tmp_path, sampler={"name": "random", "seed": 1}, n_trials=2,
                       space={"learning_rate": {"low": 1.0e-3, "high": 1.0e-2, "log": True}})
    first = tuning.run_study(random_spec)
    assert first.complete == 2
    more = tuning.run_study(random_spec, repeats=2, n_trials=3)
    # two configs topped up with seed 1 (their seed-0 fits reused) and one new config
    assert (more.complete, more.fits_reused, more.fits_run) == (3, 2, 4)


def test_a_changed_space_on_an_existing_study_is_refused(tmp_path):
    run_fake(spec(tmp_path))  # the fits come from a runner without Keras: the refusal is the loop's
    with pytest.raises(SpecError) as info:
        run_fake(spec(tmp_path, space={"units": [1, 3]}))
    assert info.value.field == "space" and "already exists" in str(info.value)


def test_a_study_stored_before_fingerprints_adopts_this_runs_then_refuses_other_data(tmp_path):
    from tuning.store import Store

    run_fake(spec(tmp_path))
    store = Store(f"sqlite:///{tmp_path / 'study.db'}", create=False)
    kept = store.study_record("s")["data_fingerprint"]
    store.update_study("s", data_fingerprint=None)  # as a store of before fingerprints holds it
    again, runner = run_fake(spec(tmp_path))
    assert again.fits_run == 0 and store.study_record("s")["data_fingerprint"] == kept
    store.update_study("s", data_fingerprint="0123456789ab")  # as if the data had changed since
    with pytest.raises(SpecError) as info:
        run_fake(spec(tmp_path))
    assert info.value.field == "problem" and "other data (data fingerprint 0123456789ab, now " in str(info.value)


def test_a_refusal_names_the_flag_that_gave_the_value_or_the_file_that_did(tmp_path):
    """spec.md: a value a flag gave is named by its flag (a new user's --sampler was blamed on the file)."""
    from tuning.spec import apply_overrides, load_spec

    run_fake(spec(tmp_path))
    flagged = apply_overrides(load_spec(spec(tmp_path)), keras_backend="jax")
    assert flagged.named_field("keras_backend") == (None, "--keras-backend")
    with pytest.raises(SpecError) as info:
        run_fake(spec(tmp_path), keras_backend="jax")
    assert info.value.field == "--keras-backend" and info.value.source is None, info.value
    import yaml
    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search

    in_file = tmp_path / "jax.yaml"
    in_file.write_text(yaml.safe_dump({**spec(tmp_path), "keras_backend": "jax"}))
    with pytest.raises(SpecError) as info:
        run_search(apply_overrides(load_spec(in_file)), runner=FakeRunner())
    assert info.value.field == "keras_backend" and info.value.source == str(in_file), info.value


def test_what_changed_is_one_rule_for_data_and_builder_code_and_trusts_records_without_prints():
    from tuning.search.study_record import what_changed

    record = {"data_fingerprint": "d1", "model_fingerprint": "m1"}
    assert what_changed(record, "d1", "my:build", ("m1",)) is None
    assert what_changed(record, "d1", "my:build", ("m2", "m1")) is None  # stored the earlier way: the same code
    assert what_changed(record, "d2", "my:build", ("m2",))[0] == "problem"  # the data is named first
    field, words = what_changed(record, "d1", "my:build", ("m2", "m3"))
    assert field == "model.builder" and words == "another version of builder my:build (builder fingerprint m1, now m2)"
    assert what_changed(record, None, None, None) is None  # a refit of a built-in family that does not read the data
    assert what_changed({"data_fingerprint": None, "model_fingerprint": None}, "d2", "my:build", ("m2",)) is None


@pytest.mark.slow
def test_diverging_configs_fail_with_reasons_and_the_study_goes_on(tmp_path):
    diverging = spec(
        tmp_path, problem={"name": "damped_sine", "params": {"length": 10, "n_train": 64, "n_val": 16, "n_test": 0}},
        model={"units": 4, "optimizer": "sgd", "loss": "mse"}, fit={"epochs": 3, "batch_size": 16},
        space={"learning_rate": [1.0e6, 1.0e-3]},
    )
    outcome = tuning.run_study(diverging)
    assert (outcome.complete, outcome.failed) == (1, 1)
    status = tuning.study_status("s", storage=str(tmp_path / "study.db"))
    (failure,) = status["failures"]
    assert failure["params"] == {"learning_rate": 1.0e6}
    assert failure["fail_reason"].startswith("diverged at epoch") and "seed 0" in failure["fail_reason"]


@pytest.mark.slow  # over 6 s of real fits or simulations on 2 cores: out of the fast tier
def test_same_spec_and_seeds_give_the_same_per_seed_scores(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    scores = []
    for folder in ("a", "b"):
        tuning.run_study(spec(tmp_path / folder), repeats=2)
        fits = tuning.load_results("s", storage=str(tmp_path / folder / "study.db")).fits
        scores.append(sorted(zip(fits["config_key"], fits["seed"], fits["val_loss"], strict=True)))
    assert scores[0] == scores[1]


@pytest.mark.slow
def test_parallel_batches_finish_even_when_the_sampler_repeats_a_running_config(tmp_path):
    one_config = spec(tmp_path, sampler={"name": "random", "seed": 0}, n_trials=3, space={"units": [2]})
    outcome = tuning.run_study(one_config, jobs=2)
    # three trials of the one config: the first fits it, the others reuse its stored fit
    assert (outcome.complete, outcome.fits_run, outcome.fits_reused) == (3, 1, 2)


# -- the default runner, auto: every config fused, dropout included --------------------------------

@pytest.fixture(scope="module")
def auto_study(tmp_path_factory):
    """A spec without `runner` (so `auto`): a grid of dropout 0 / 0.3 x learning rate 0.01 / 0.003,
    two seeds each: (store, stderr). The two configs without dropout differ only in learning rate,
    so the grid's trials in flight put their four fits into one graph."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("auto")
    study = spec(folder, name="auto", fit={"epochs": 2, "batch_size": 5}, space={"dropout": [0.0, 0.3], "learning_rate": [0.01, 0.003]}, repeats=2)
    assert "runner" not in study
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        outcome = tuning.run_study(study)
    assert (outcome.complete, outcome.failed, outcome.fits_run) == (4, 0, 8)
    return folder / "study.db", stderr.getvalue()


def _stored_and_standalone(db, dropout: float, learning_rates=(0.01,), seeds=(0, 1)) -> list[tuple]:
    """(stored fit row, fit_one of the same task) for each seed of the configs with ``dropout``; the
    fit_one only for ``seeds``, else None (a standalone fit is about 2.5 s, most of it tracing)."""
    from tuning.fit import FitTask, fit_one
    from tuning.spec import load_spec
    from tuning.store import Store

    store = Store(f"sqlite:///{db}", create=False)
    stored = load_spec(store.study_record("auto")["spec"])
    rows = [r for r in store.fit_rows("auto")
            if r["config"]["dropout"] == dropout and r["config"]["learning_rate"] in learning_rates]
    assert len(rows) == 2 * len(learning_rates) and {r["seed"] for r in rows} == {0, 1}
    return [(row, fit_one(FitTask.from_spec(stored, row["config"], row["seed"], row["config_key"]))
             if row["seed"] in seeds else None) for row in rows]


def test_a_spec_without_runner_is_stored_with_auto(auto_study):
    from tuning.store import Store

    db, _ = auto_study
    assert Store(f"sqlite:///{db}", create=False).study_record("auto")["spec"]["runner"] == "auto"


def test_auto_fuses_a_config_without_dropout_and_its_scores_are_fit_ones(auto_study):
    db, _ = auto_study
    pairs = _stored_and_standalone(db, 0.0, learning_rates=(0.01, 0.003))
    # Fused: the seeds of both learning rates were replicas of one graph (per-replica learning
    # rates), each stored with an equal share of its time.
    assert len({row["fit_seconds"] for row, _ in pairs}) == 1 and len({row["config_key"] for row, _ in pairs}) == 2
    for row, standalone in pairs:
        assert row["status"] == "ok" and set(row["scores"]) == set(standalone.scores)
        for name, value in standalone.scores.items():
            assert row["scores"][name] == pytest.approx(value, rel=1e-4), name
        assert row["curves"]["loss"] == pytest.approx(standalone.curves["loss"], rel=1e-4)


def test_auto_fuses_a_dropout_config_too_without_a_word(auto_study):
    db, stderr = auto_study
    assert "fused" not in stderr
    pairs = _stored_and_standalone(db, 0.3, seeds=(1,))  # one seed's fit_one shows whose masks they had
    assert len({row["fit_seconds"] for row, _ in pairs}) == 1  # the seeds shared one graph: fused
    for row, standalone in pairs:  # with the replicas' own masks: not fit_one's values
        assert row["status"] == "ok" and (standalone is None or row["scores"] != standalone.scores)
    from tuning.store import Store

    assert Store(f"sqlite:///{db}", create=False).study_record("auto")["dropout_masks"] == "seeded"


@pytest.mark.slow
def test_a_study_stored_as_sequential_keeps_it_on_resume_and_may_switch_to_auto(tmp_path):
    """A study stored before `auto` was the default has `runner: sequential` in its stored spec."""
    from tuning.search.loop import resolve_resume_spec
    from tuning.store import Store

    url = f"sqlite:///{tmp_path / 'study.db'}"
    old = spec(tmp_path, runner="sequential")
    assert tuning.run_study(old).complete == 2
    resumed = resolve_resume_spec("s", url)  # what `tuning resume s` continues
    assert resumed.runner == "sequential"
    more = tuning.run_study(resumed, repeats=2)
    assert (more.fits_run, more.fits_reused) == (2, 2)
    assert Store(url, create=False).study_record("s")["spec"]["runner"] == "sequential"
    # The same spec without a runner (the new default): the runner may change between runs.
    new = {k: v for k, v in old.items() if k != "runner"}
    again = tuning.run_study(new, repeats=3)
    assert (again.complete, again.fits_run, again.fits_reused) == (2, 2, 4)
    assert Store(url, create=False).study_record("s")["spec"]["runner"] == "auto"


def test_a_ctrl_c_while_a_trial_is_told_leaves_no_trial_running(tmp_path, monkeypatch):
    """The fused runner delivers a config's seeds together, so a Ctrl-C just after a fit often lands
    while its trial is being told: the tell must finish (or the trial be marked interrupted)."""
    import os
    import signal

    import optuna
    from helpers.fake_runner import FakeRunner

    from tuning.backends.optuna import OptunaBackend

    original = OptunaBackend.tell

    def tell_during_ctrl_c(self, trial, result):
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C as the outcome is written
        original(self, trial, result)

    monkeypatch.setattr(OptunaBackend, "tell", tell_during_ctrl_c)
    with pytest.raises(KeyboardInterrupt):  # a runner that keeps the fused runner's 8 grid trials in flight
        run_fake(spec(tmp_path), runner=FakeRunner(trials_in_flight=8))
    trials = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}").trials
    # The told trial is complete; the grid's other point, in flight with it (a fused runner keeps
    # several grid trials in flight), is marked interrupted rather than left RUNNING.
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL"]
    assert trials[1].user_attrs["tuning_status"] == "interrupted", trials[1].user_attrs


@pytest.mark.slow
def test_a_fused_grid_asks_points_that_can_share_a_graph_together(tmp_path):
    """10 grid points, 8 trials in flight: in the grid's own order (units varying fastest) the two
    learning rates of units 4 and 5 would be in different batches; reordered, every units value's
    two learning rates are asked together and trained as one graph."""
    import json

    from tuning.store import Store

    study = spec(tmp_path, space={"units": [1, 2, 3, 4, 5], "learning_rate": [0.01, 0.003]})
    outcome = tuning.run_study(study)
    assert (outcome.complete, outcome.fits_run) == (10, 10)
    rows = Store(f"sqlite:///{tmp_path / 'study.db'}", create=False).fit_rows("s")
    seconds: dict[int, set[float]] = {}
    for row in rows:
        seconds.setdefault(row["config"]["units"], set()).add(row["fit_seconds"])
    assert all(len(shared) == 1 for shared in seconds.values()), seconds  # both rates in one graph
    assert len({next(iter(s)) for s in seconds.values()}) == 5  # and one graph per units value
    import optuna

    trials = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}").trials
    first_two = [json.loads(json.dumps(t.params)) for t in trials[:2]]
    assert {p["units"] for p in first_two} == {1} and {p["learning_rate"] for p in first_two} == {0.01, 0.003}


# -- the loop itself, its fits from a runner without Keras (milliseconds; real SQLite and Optuna) ------


def run_fake(data: dict, runner=None, **overrides):
    from helpers.fake_runner import FakeRunner

    from tuning.search.loop import run_search
    from tuning.spec import apply_overrides, load_spec

    runner = runner or FakeRunner()
    return run_search(apply_overrides(load_spec(data), **overrides), runner=runner), runner


def test_a_grid_study_fits_every_point_once_per_seed_and_tops_up_without_refitting(tmp_path):
    from tuning.store import Store

    first, runner = run_fake(spec(tmp_path, space={"units": [1, 2, 3]}, repeats=2))
    assert (first.planned, first.complete, first.fits_run, first.fits_reused) == (3, 3, 6, 0)
    assert sorted(runner.seeds_seen) == [0, 0, 0, 1, 1, 1]
    again, runner = run_fake(spec(tmp_path, space={"units": [1, 2, 3]}, repeats=2))
    assert (again.complete, again.fits_run) == (3, 0) and runner.tasks == []  # nothing is fitted twice
    more, runner = run_fake(spec(tmp_path, space={"units": [1, 2, 3]}, repeats=3))
    assert (more.complete, more.fits_run, more.fits_reused) == (3, 3, 6) and runner.seeds_seen == [2, 2, 2]
    store = Store(f"sqlite:///{tmp_path / 'study.db'}", create=False)
    assert store.count_fits("s") == 9 and store.study_record("s")["dropout_masks"] == "seeded"
    status = tuning.study_status("s", storage=store)
    assert (status["complete"], status["remaining"]) == (3, 0)
    assert status["best"][0]["config"]["units"] == 3  # the fake scores fall with units
    assert (status["dropout_masks"], status["procedure"]) == ("seeded", "fused")  # and the key's old name


def test_a_grid_larger_than_n_trials_is_sampled_at_random_the_same_way_every_time(tmp_path):
    """8 trials of a 16-point grid used to be its first 8 in product order: every one with the first
    value of the first axis (a user's LSTM-vs-GRU question never asked)."""
    import tuning.store
    from tuning.api import status_lines
    from tuning.trials import read_trials

    grid = {"cell": ["lstm", "gru"], "units": [1, 2], "dropout": [0.0, 0.1], "learning_rate": [0.01, 0.003]}

    def configs(folder):
        store = tuning.store.open_store(f"sqlite:///{folder / 'study.db'}")
        return {json.dumps({k: t["params"][k] for k in grid}, sort_keys=True) for t in read_trials(store, "s")}

    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, _ = run_fake(spec(tmp_path / "a", space=grid, n_trials=8))
    assert (first.planned, first.complete) == (8, 8)
    chosen = configs(tmp_path / "a")
    assert {json.loads(c)["cell"] for c in chosen} == {"lstm", "gru"}  # both values of the first axis
    run_fake(spec(tmp_path / "b", space=grid, n_trials=8))
    assert configs(tmp_path / "b") == chosen  # the same seed, the same points
    status = tuning.study_status("s", storage=f"sqlite:///{tmp_path / 'a' / 'study.db'}")
    assert "8 of the grid's 16 points (drawn at random with the sampler's seed (0)" in status_lines(status)[1]
    whole, _ = run_fake(spec(tmp_path / "a", space=grid, n_trials=8), n_trials=16)  # the rest, the 8 kept
    assert (whole.complete, whole.fits_run, whole.fits_reused) == (16, 8, 0) and len(configs(tmp_path / "a")) == 16
    assert "grid" not in status_lines(tuning.study_status("s", storage=f"sqlite:///{tmp_path / 'a' / 'study.db'}"))[1]


def test_an_objective_on_the_test_split_is_noted_and_not_offered(tmp_path):
    from helpers.fake_runner import FakeRunner
    from helpers.reporters import Notes

    from tuning.search.loop import run_search
    from tuning.spec import load_spec

    problem = {"name": "damped_sine", "params": {"length": 10, "n_train": 32, "n_val": 16, "n_test": 16}}
    notes = Notes()
    run_search(load_spec(spec(tmp_path, problem=problem, objective={"metric": "test_mae"})), runner=FakeRunner(),
               reporter=notes)
    assert any(n.startswith("objective.metric test_mae: the configs are chosen on the test split") for n in notes.notes)
    with pytest.raises(SpecError, match="unknown metric 'val_mea'") as refused:
        run_search(load_spec(spec(tmp_path, name="t", problem=problem, objective={"metric": "val_mea"})),
                   runner=FakeRunner())
    assert "val_mae" in str(refused.value) and "test_" not in str(refused.value)  # the leak is not suggested
    assert "'val_mea' for problem 'damped_sine'; did you mean 'val_mae'? the metrics are val_loss" in str(refused.value)


def test_python_callers_are_told_the_keyword_they_gave_not_the_cli_flag(tmp_path):
    run_fake(spec(tmp_path, repeats=2))
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(SpecError) as typo:
        tuning.run_study(spec(tmp_path), n_trial=3)
    assert typo.value.field == "n_trial" and str(typo.value).startswith("n_trial: unknown field; did you mean 'n_trials'")
    with pytest.raises(SpecError) as margin:
        tuning.study_status("s", storage=url, margin=-1)
    assert margin.value.field == "margin" and "--" not in str(margin.value)
    results = tuning.load_results("s", storage=url)
    for kwargs, field in (({"config": "bestest"}, "config"), ({"seed": 99}, "seed")):
        with pytest.raises(SpecError) as refused:
            results.best_model(**kwargs)
        assert refused.value.field == field and "--" not in str(refused.value), str(refused.value)


def test_the_fits_whole_number_columns_have_one_dtype_with_or_without_values(tmp_path):
    """best_epoch was object (all None) without early stopping and float64 with it."""
    run_fake(spec(tmp_path, repeats=2))
    fits = tuning.load_results("s", storage=f"sqlite:///{tmp_path / 'study.db'}").fits
    assert {c: str(fits[c].dtype) for c in ("epochs_run", "best_epoch")} == {"epochs_run": "Int64", "best_epoch": "Int64"}
    assert fits["epochs_run"].tolist() == [1] * 4


def test_a_deleted_study_leaves_nothing_behind_and_its_name_starts_afresh(tmp_path):
    """optuna.delete_study left this package's tables behind (tuning list still showed the fits), and
    a refusal could only say 'give the study a new name'."""
    import optuna
    from helpers.cli import run_tuning

    from tuning.store import Store

    db = tmp_path / "study.db"
    run_fake(spec(tmp_path, repeats=2))
    run_fake(spec(tmp_path, name="other", repeats=1))
    asked = run_tuning("delete", "s", "--storage", str(db), cwd=tmp_path)  # no terminal to confirm on
    assert asked.returncode == 2 and "pass --yes to confirm" in asked.stderr and asked.stderr.count("\n") == 1
    assert Store(f"sqlite:///{db}", create=False).count_fits("s") == 4  # nothing deleted
    other = Store(f"sqlite:///{db}", create=False).leases("s", "elsewhere:1:a", lease=30)
    other.register("elsewhere", 1)
    with pytest.raises(SpecError, match="has 1 live worker"):
        tuning.delete_study("s", storage=f"sqlite:///{db}")
    other.stop()  # the worker ends: now it may go
    done = run_tuning("delete", "s", "--storage", str(db), "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("deleted study 's' (4 fits)")
    assert run_tuning("list", "--storage", str(db), cwd=tmp_path).stdout.splitlines() == ["other\t2 complete trials\t2 fits\ttensorflow"]
    store = Store(f"sqlite:///{db}", create=False)
    assert store.study_names() == ["other"] and store.count_fits("s") == 0 and store.workers("s") == []
    assert [s.study_name for s in optuna.get_all_study_summaries(f"sqlite:///{db}")] == ["other"]
    again, _ = run_fake(spec(tmp_path, repeats=2))
    assert (again.fits_run, again.fits_reused) == (4, 0)  # a new study of that name, nothing of the old one
    with pytest.raises(SpecError) as refused:  # another study under that name: both ways out are named
        run_fake(spec(tmp_path, problem={"name": "damped_sine"}))
    assert str(refused.value).endswith(f"to start afresh, give the study a new name, or delete the stored one "
                                       f"(`tuning delete s --storage sqlite:///{db}`)"), str(refused.value)


def test_a_worker_on_a_jax_study_given_its_spec_file_can_follow_the_refusals_advice(tmp_path):
    """The refusal says 'continue it with --keras-backend jax': tuning worker had no such flag."""
    import yaml
    from helpers.cli import run_tuning

    run_fake(spec(tmp_path, keras_backend="jax"))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec(tmp_path)))  # the file does not name the backend
    refused = run_tuning("worker", str(path), "--quiet", cwd=tmp_path)
    assert refused.returncode == 2 and "continue it with --keras-backend jax" in refused.stderr, refused.stderr
    joined = run_tuning("worker", str(path), "--keras-backend", "jax", "--quiet", cwd=tmp_path)
    assert joined.returncode == 0, joined.stderr  # the study is done: the worker finds nothing left
    listed = run_tuning("list", "--storage", str(tmp_path / "study.db"), cwd=tmp_path).stdout
    assert listed.splitlines() == ["s\t2 complete trials\t2 fits\tjax"]  # list says which backend fitted it


def test_status_ranks_the_configs_on_every_stored_seed_after_other_seeds_are_added(tmp_path):
    """A study run with seeds [3, 7] and then with 3 seeds (0, 1, 2) holds five seeds a config; the
    trial that ran last was scored on its own three, while status, like the report, uses all five."""
    from helpers.fake_runner import fake_scores

    run_fake(spec(tmp_path, space={"units": [1, 2]}, repeats=[3, 7]))
    run_fake(spec(tmp_path, space={"units": [1, 2]}), repeats=3)
    status = tuning.study_status("s", storage=f"sqlite:///{tmp_path / 'study.db'}")
    for row in status["best"]:
        every = [fake_scores({"units": row["config"]["units"]}, seed)["val_loss"] for seed in (0, 1, 2, 3, 7)]
        assert row["n_seeds"] == 5 and row["mean"] == pytest.approx(np.mean(every))
    assert [row["config"]["units"] for row in status["best"]] == [2, 1]  # the fake scores fall with units


def test_a_diverging_config_fails_its_trial_and_the_study_goes_on(tmp_path):
    from tuning.trials import read_trials

    outcome, _ = run_fake(spec(tmp_path, space={"learning_rate": [0.01, 2.0]}))
    assert (outcome.complete, outcome.failed) == (1, 1)
    failed = [t for t in read_trials(tuning.store.open_store(f"sqlite:///{tmp_path / 'study.db'}"), "s")
              if t["status"] == "failed"]
    assert len(failed) == 1 and "diverged" in failed[0]["fail_reason"]


def test_a_runner_error_marks_the_trials_in_flight_interrupted(tmp_path):
    import optuna
    from helpers.fake_runner import FakeRunner

    with pytest.raises(RuntimeError, match="no result"):
        run_fake(spec(tmp_path), runner=FakeRunner(drop=(0,)))
    states = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}").trials
    assert [t.user_attrs["tuning_status"] for t in states] == ["interrupted"]
    assert [t.state.name for t in states] == ["FAIL"]  # none left RUNNING
    outcome, _ = run_fake(spec(tmp_path))  # and the next run finishes the grid
    assert outcome.complete == 2


def test_a_trial_left_running_by_a_dead_process_is_recovered(tmp_path):
    import os
    import subprocess
    import sys

    import optuna

    from tuning.trials import start_attrs

    run_fake(spec(tmp_path, space={"units": [1]}))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}")
    orphan = study.ask()
    for name, value in start_attrs(f"{os.uname().nodename}:{int(dead.stdout)}", {"units": 1}, "x").items():
        orphan.set_user_attr(name, value)
    outcome, _ = run_fake(spec(tmp_path, space={"units": [1]}))
    assert outcome.recovered == [orphan.number]


def test_a_study_whose_every_fit_failed_reads_back_with_its_objective_column_and_a_verdict(tmp_path):
    """Fake fits that all diverge (learning rate >= 1): the objective's column is there (NaN), the
    tables and the verdict read it without error, and nothing is said to be waiting for a seed."""
    run_fake(spec(tmp_path, model={"units": 2, "learning_rate": 2.0}, repeats=2))
    results = tuning.load_results("s", storage=str(tmp_path / "study.db"))
    assert len(results.fits) == 4 and (results.fits["status"] == "failed").all()
    assert results.fits["val_loss"].isna().all()
    assert results.summary["n_failed"].tolist() == [2, 2] and results.summary["rank"].isna().all()
    assert results.verdict.lines == ["no config has a finished seed: every stored fit failed (see the failed "
                                     "trials' errors)"]
    status = tuning.study_status("s", storage=str(tmp_path / "study.db"))
    assert status["failed"] == 2 and status["best"] == []


def test_each_fit_says_when_it_was_stored_in_utc(tmp_path):
    """``fits.stored_at`` is the moment each fit was written: inside the run, in UTC, and a fit
    stored by a later run is later than every fit of the first."""
    import pandas as pd

    before = pd.Timestamp.now(tz="UTC")
    run_fake(spec(tmp_path, repeats=1))
    between = pd.Timestamp.now(tz="UTC")
    run_fake(spec(tmp_path, repeats=2))
    fits = tuning.load_results("s", storage=str(tmp_path / "study.db")).fits
    assert str(fits["stored_at"].dt.tz) == "UTC" and len(fits) == 4
    first, second = fits[fits["seed"] == 0]["stored_at"], fits[fits["seed"] == 1]["stored_at"]
    assert (first >= before).all() and (first <= between).all() and (second > between).all()


def test_status_ranks_by_the_aggregate_and_says_it_beside_the_mean(tmp_path):
    """With aggregate mean_plus_std a config may rank above one with a lower mean: the line shows
    the number it is ranked by, then the mean and its spread."""
    from tuning.api import status_lines

    run_fake(spec(tmp_path, space={"units": [1, 2, 3]}, repeats=3, objective={"aggregate": "mean_plus_std"}))
    info = tuning.study_status("s", storage=str(tmp_path / "study.db"))
    ranked = [line for line in status_lines(info) if line.startswith("  1. ") or line.startswith("  2. ")]
    results = tuning.load_results("s", storage=str(tmp_path / "study.db"))
    top = results.summary.iloc[0]
    assert ranked[0].startswith(f"  1. trial {info['best'][0]['number']}: "
                                f"mean_plus_std {top['aggregate']:.4g}; mean {top['mean']:.4g} ± ")
    assert top["aggregate"] == pytest.approx(top["mean"] + top["std"])
    lines = status_lines(info)  # the ± is named once, above the list (a reader took it for an interval)
    assert lines[lines.index(ranked[0]) - 1] == "  best configs by mean_plus_std val_loss: mean ± std over seeds (n seeds)"


def test_status_counts_add_up_after_a_ctrl_c(tmp_path):
    """A Ctrl-C mid-trial: the interrupted trial's config is among the remaining, and the line says so
    (1 complete + 3 remaining of 4 read beside '1 interrupted' as five)."""
    from helpers.fake_runner import FakeRunner

    from tuning.api import status_lines

    with pytest.raises(KeyboardInterrupt):
        run_fake(spec(tmp_path, space={"units": [1, 2, 3, 4]}, repeats=2), runner=FakeRunner(stop_after=3))
    info = tuning.study_status("s", storage=str(tmp_path / "study.db"))
    assert (info["complete"], info["interrupted"], info["running"], info["remaining"]) == (1, 1, 0, 3)
    assert ("1 complete, 0 running, 0 failed, 1 interrupted, 3 remaining of 4 (the interrupted among them: their "
            "configs run again)") in status_lines(info)[1]


def test_tuning_resume_of_an_edited_spec_file_refuses_or_names_what_it_does_not_apply(tmp_path):
    """resume SPEC.yaml continues the stored study; an edit the study cannot take (fit.epochs) is
    refused in one line as `tuning run` refuses it, and an edit it would take only through a flag
    (n_trials) is named with that flag (a new user's edited file was silently ignored)."""
    import yaml
    from helpers.cli import run_tuning

    data = spec(tmp_path, space={"units": [1, 2]}, repeats=2)
    run_fake(data)  # the study is complete: a resume below fits nothing
    edited = {**data, "fit": {"epochs": 2, "batch_size": 5}}
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(edited))
    refused = run_tuning("resume", str(path), cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"error: {path}: fit: study 's' was run with a different fit; resume continues it as stored: give the study "
        "a new name to run the edited spec"], refused.stderr
    path.write_text(yaml.safe_dump({**data, "sampler": {"name": "random", "seed": 1}, "n_trials": 9}))
    noted = run_tuning("resume", str(path), "--quiet", cwd=tmp_path)
    assert noted.returncode == 0, noted.stderr
    assert (f"note: {path}: resume continues the stored settings; to apply the file's, pass --n-trials 9"
            in noted.stderr), noted.stderr
    flagged = run_tuning("resume", str(path), "--n-trials", "9", "--quiet", cwd=tmp_path)  # what the note asks
    assert flagged.returncode == 0 and "note:" not in flagged.stderr, flagged.stderr


def test_status_says_how_many_ranked_configs_its_top_list_leaves_out(tmp_path):
    # It listed the best five of six configs and said nothing of the sixth.
    from tuning.api import status_lines, study_status

    run_fake(spec(tmp_path, space={"units": [1, 2, 3]}, repeats=2))
    url = f"sqlite:///{tmp_path / 'study.db'}"
    cut = status_lines(study_status("s", url, top=2))
    assert "  ... and 1 more ranked config(s): --top 3 lists them all, `tuning report` tabulates them" in cut, cut
    assert not any("more ranked" in line for line in status_lines(study_status("s", url, top=3)))
    # one run that ended cleanly: no lines about its one stopped worker ("worker ...: stopped; holds
    # 0 config(s) ...", "workers: 0 alive of 1; 6 fits started, 6 stored")
    from tuning.store import Store

    assert len(Store(url, create=False).workers("s")) == 1 and study_status("s", url)["workers"] == []


def test_the_outcome_counts_the_fits_run_that_failed(tmp_path):
    # "2 complete, 2 failed of 4 planned; 12 fits run": six of the twelve had failed, unsaid.
    from helpers.fake_runner import FakeRunner

    outcome, _ = run_fake(spec(tmp_path, space={"units": [1, 2], "learning_rate": [0.01, 5.0]}, repeats=3),
                          FakeRunner(fail_seeds=(2,)))
    # lr 5 fails every seed (it diverges), seed 2 fails at lr 0.01 too: 6 + 2 of 12, and every config has a failed seed
    assert (outcome.fits_run, outcome.fits_failed, outcome.complete, outcome.failed) == (12, 8, 0, 4)
    again, _ = run_fake(spec(tmp_path, space={"units": [1, 2], "learning_rate": [0.01, 5.0]}, repeats=3))
    assert (again.fits_run, again.fits_failed) == (0, 0)  # reused fits are not counted again
    # nothing trialled, nothing reused: the stored count says what the study holds
    assert (again.fits_reused, again.fits_stored, outcome.fits_stored) == (0, 12, 12)


def test_a_python_run_whose_every_fit_failed_warns_instead_of_returning_quietly(tmp_path):
    # run_study is quiet by default: a study of diverging fits returned its counts and nothing else.
    data = spec(tmp_path, model={"units": 2, "optimizer": "sgd", "learning_rate": 1e30}, space={"units": [2]},
                repeats=2, fit={"epochs": 2, "batch_size": 5})  # the loss overflows: every fit fails
    with pytest.warns(UserWarning, match=r"study 's': all 2 fits this run ran failed; tuning.load_results\('s', "):
        outcome = tuning.run_study(data)
    assert (outcome.complete, outcome.fits_failed) == (0, 2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to run: nothing failed now, no warning
        assert tuning.run_study(data).fits_run == 0


def test_best_model_warns_when_its_refit_is_not_the_stored_score(tmp_path):
    # The fake fits stored made-up scores: the real refit cannot reproduce them, and the model in
    # hand is then not the one the table describes. `tuning export` said so; best_model() was silent.
    run_fake(spec(tmp_path, repeats=1))
    results = tuning.load_results("s", storage=str(tmp_path / "study.db"))
    with pytest.warns(UserWarning, match=r"study s: trial \d+, config \w+, seed 0 .*stored [\d.e-]+: the refit differs"):
        model = results.best_model()
    assert model.count_params() > 0
