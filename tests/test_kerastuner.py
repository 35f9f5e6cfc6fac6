"""The KerasTuner backend: same spec, same store, same resume and the same reports as Optuna.

Real Keras fits on the tiny ``tenths`` problem, a real SQLite store, the real ``tuning`` command
for the kill-and-resume and error tests.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest
from helpers.cli import TINY_SPEC, run_tuning, stored_fits, tuning_command

import tuning

pytestmark = pytest.mark.slow


def _spec(tmp_path, name: str, **changes) -> dict:
    spec = {
        "name": name, "problem": {"name": "tenths"}, "model": {"units": 2}, "fit": {"epochs": 1, "batch_size": 5},
        "space": {"units": [1, 2]}, "sampler": "grid", "repeats": 2, "backend": "kerastuner",
        "storage": f"sqlite:///{tmp_path / (name + '.db')}",
    }
    spec.update(changes)
    return spec


@pytest.fixture(scope="module")
def both_backends(tmp_path_factory):
    """The same 2-point grid × 2 seeds, run once with each backend into its own store."""
    folder = tmp_path_factory.mktemp("both")
    outcomes = {b: tuning.run_study(_spec(folder, b, backend=b)) for b in ("optuna", "kerastuner")}
    return folder, outcomes


def test_grid_gives_the_same_configs_and_per_seed_scores_on_both_backends(both_backends):
    folder, outcomes = both_backends
    assert all((o.complete, o.failed, o.fits_run) == (2, 0, 4) for o in outcomes.values())
    scores = {}
    for backend in outcomes:
        fits = tuning.load_results(backend, storage=str(folder / f"{backend}.db")).fits
        scores[backend] = sorted(zip(fits["config_key"], fits["seed"], fits["val_loss"], strict=True))
    assert len(scores["kerastuner"]) == 4 and {s for _, s, _ in scores["kerastuner"]} == {0, 1}
    assert scores["kerastuner"] == scores["optuna"]  # same config keys, seeds and scores, bit for bit


def test_status_and_load_results_read_a_kerastuner_study(both_backends):
    folder, _ = both_backends
    db = folder / "kerastuner.db"
    status = run_tuning("status", "kerastuner", "--storage", str(db), cwd=folder)
    assert status.returncode == 0, status.stderr
    assert "2 complete, 0 running, 0 failed, 0 interrupted, 0 remaining of 2; 4 fits stored" in status.stdout
    assert "(n=2)  units=" in status.stdout
    results = tuning.load_results("kerastuner", storage=str(db))
    assert sorted(results.trials["param_units"]) == [1, 2]
    assert (results.trials["status"] == "complete").all() and (results.trials["n_seeds"] == 2).all()
    assert len(results.summary) == 2
    with sqlite3.connect(db) as conn:
        paths = {p for (p,) in conn.execute("SELECT path FROM tuning_backend_state WHERE study = 'kerastuner'")}
    assert {"oracle.json", "tuner0.json"} <= paths and sum(p.endswith("/trial.json") for p in paths) == 2


@pytest.mark.e2e
def test_sigkill_then_resume_recomputes_nothing(tmp_path):
    db = tmp_path / "store.db"
    spec = tmp_path / "tiny.yaml"
    # runner sequential: the kill must land in a half-done trial, so fits must arrive one seed at a time.
    # On JAX: KerasTuner's state is restored from the store by the same code on every Keras backend,
    # and JAX starts and fits these in about half TensorFlow's time (TensorFlow's resume after kill -9
    # is test_cli_resume's; KerasTuner on TensorFlow is this file's other tests').
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=1, db=db)
                    + "backend: kerastuner\nrunner: sequential\nkeras_backend: jax\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([*tuning_command(), "run", str(spec), "--quiet"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(stored_fits(db)) < 3:  # trial 0 (two seeds) done, trial 1 half done
        assert proc.poll() is None, f"study ended before 3 fits: {proc.communicate()}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.1)
    proc.kill()  # SIGKILL: the KerasTuner trial and its Optuna mirror stay RUNNING in the store
    proc.wait()
    before = stored_fits(db)
    assert 3 <= len(before) < 6

    status = run_tuning("status", "tiny", "--storage", str(db), cwd=tmp_path)
    assert status.returncode == 0 and "1 running" in status.stdout, status.stdout + status.stderr

    # the stored backend must be kept: switching it is refused, one line, nothing run
    switched = run_tuning("resume", "tiny", "--storage", str(db), "--backend", "optuna", cwd=tmp_path)
    assert switched.returncode == 2 and len(switched.stderr.strip().splitlines()) == 1
    assert "backend: study 'tiny' already exists" in switched.stderr and "'kerastuner'" in switched.stderr

    # resume from the store alone: no KerasTuner project folder survives the killed process
    resumed = run_tuning("resume", "tiny", "--storage", str(db), "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - len(before)} fits run" in resumed.stdout  # only the missing ones
    assert "3 complete, 0 failed of 3 planned" in resumed.stdout
    after = stored_fits(db)
    assert len(after) == 6 == len({(key, seed) for _, key, seed, _ in after})  # every grid point × seed once
    assert after[: len(before)] == before  # pre-kill rows untouched

    results = tuning.load_results("tiny", storage=str(db))
    assert sorted(results.trials["param_units"]) == [1, 2, 3] and (results.trials["status"] == "complete").all()
    with sqlite3.connect(db) as conn:
        attrs = dict(conn.execute(
            "SELECT a.key, a.value_json FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id "
            "WHERE t.state = 'FAIL'").fetchall())
    assert attrs["tuning_status"] == '"interrupted"' and "owner process gone" in attrs["fail_reason"]

    # the finished study resumes as finished (through the command: this test process may already
    # hold Keras on TensorFlow, and a process keeps the Keras backend it started with)
    def trial_states() -> list[tuple]:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT number, state FROM trials ORDER BY number").fetchall()

    states = trial_states()
    again = run_tuning("resume", "tiny", "--storage", str(db), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 fits run" in again.stdout and "3 complete, 0 failed of 3 planned" in again.stdout, again.stdout
    assert trial_states() == states and "RUNNING" not in {s for _, s in states}  # no trial recovered or added
    assert stored_fits(db) == after


def test_a_reloaded_tuner_proposes_the_interrupted_trial_again_with_the_same_config(tmp_path):
    """KerasTuner's state goes through the store; mixed int/float lists and per-layer units survive."""
    from tuning.backends.kerastuner import KerasTunerBackend
    from tuning.space import SearchSpace, base_config
    from tuning.spec import config_key, load_spec
    from tuning.store import Store

    # the grid's first point takes every axis's first value: dropout 0, an int among floats
    spec = load_spec(_spec(tmp_path, "reload", space={
        "dropout": [0, 0.25], "layers": [1, 2], "units": {"grid": [4, 8], "per_layer": True}}))
    store, space, base = Store(spec.storage), SearchSpace.from_spec(spec), base_config(spec)
    proposals = []
    for _ in range(2):  # the second backend starts from the store alone, like `tuning resume`
        backend = KerasTunerBackend(spec, store, space, base)
        trial, config, key = backend.ask()
        proposals.append((trial.user_attrs["kt_trial_id"], config, key))
        del backend
    (first_id, first, first_key), (again_id, again, again_key) = proposals
    assert again_id == first_id and again_key == first_key == config_key(first)
    assert (again["dropout"], type(again["dropout"]), again["layers"], again["units"]) == (0, int, 1, [4])
    assert first_key in {config_key(space.to_config(p, base)) for p in space.grid()}  # a point of Optuna's grid


def test_random_and_bayesian_run_their_trials_into_the_store(tmp_path):
    space = {"learning_rate": {"low": 1.0e-3, "high": 1.0e-1, "log": True}}
    for sampler, n_trials in (("random", 2), ("bayesian", 4)):  # bayesian: 3 random points, then its GP
        spec = _spec(tmp_path, sampler, sampler={"name": sampler, "seed": 1}, n_trials=n_trials, repeats=1,
                     space=space)
        outcome = tuning.run_study(spec)
        assert (outcome.complete, outcome.fits_run) == (n_trials, n_trials)
        results = tuning.load_results(sampler, storage=str(tmp_path / f"{sampler}.db"))
        rates = results.trials["param_learning_rate"]
        assert len(results.fits) == n_trials and rates.nunique() == n_trials
        assert rates.between(1.0e-3, 1.0e-1).all()
        trials = tuning.study_status(sampler, storage=str(tmp_path / f"{sampler}.db"))
        assert (trials["complete"], trials["remaining"]) == (n_trials, 0)


def test_hyperband_trains_each_trial_its_budget_of_epochs(tmp_path):
    # max_epochs = fit.epochs = 3: bracket 1 runs 3 configs × 1 epoch, then the best for 3 epochs;
    # bracket 0 runs 2 configs × 3 epochs: 6 trials
    spec = _spec(tmp_path, "hb", sampler="hyperband", repeats=1, fit={"epochs": 3, "batch_size": 5},
                 space={"learning_rate": {"low": 1.0e-3, "high": 1.0e-1, "log": True}})
    outcome = tuning.run_study(spec)
    assert (outcome.planned, outcome.complete, outcome.fits_run) == (6, 6, 6)
    results = tuning.load_results("hb", storage=str(tmp_path / "hb.db"))
    epochs = sorted(results.fits["param_epochs"])
    assert epochs == [1, 1, 1, 3, 3, 3]
    assert (results.fits["epochs_run"] == results.fits["param_epochs"]).all()  # trained from scratch
    assert results.curves.groupby(["config_key", "seed"])["epoch"].max().max() == 3
    promoted = results.fits[results.fits["param_epochs"] == 3]["param_learning_rate"]
    first_round = results.fits[results.fits["param_epochs"] == 1]["param_learning_rate"]
    assert set(promoted) & set(first_round)  # the best 1-epoch config was promoted to 3 epochs
    status = tuning.study_status("hb", storage=str(tmp_path / "hb.db"))
    assert (status["planned"], status["complete"], status["remaining"]) == (6, 6, 0)


def test_hyperband_that_runs_out_of_new_configs_shrinks_its_plan_and_says_why(tmp_path):
    """Four configs cannot fill Hyperband's six trials: the tuner stops after five, and status said
    '1 remaining of 6' forever (every resume did nothing)."""
    from tuning.api import status_lines

    spec = _spec(tmp_path, "hb4", sampler="hyperband", repeats=1, fit={"epochs": 3, "batch_size": 5},
                 space={"units": [1, 2, 3, 4]})
    outcome = tuning.run_study(spec)
    assert outcome.complete < 6 and outcome.planned == outcome.complete, outcome
    status = tuning.study_status("hb4", storage=str(tmp_path / "hb4.db"))
    assert (status["planned"], status["remaining"], status["tuner_ended"]) == (outcome.complete, 0, outcome.complete)
    assert f"(KerasTuner's hyperband ended after {outcome.complete}: it ran out of new configs)" in status_lines(status)[1]
    again = tuning.run_study(spec)  # a resume finds the study done
    assert (again.planned, again.complete, again.fits_run) == (outcome.complete, outcome.complete, 0)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "text", "message"),
    [
        (["--backend", "kerastuner"], "sampler: tpe\nn_trials: 3\n",
         "sampler: sampler 'tpe' is only available with backend 'optuna' (--backend optuna, or backend: optuna "
         "in the spec); backend 'kerastuner' offers grid, random, bayesian, hyperband"),
        ([], "backend: kerastuner\nsampler: cmaes\nn_trials: 3\n", "sampler 'cmaes' is only available with backend 'optuna'"),
        (["--sampler", "bayesian"], "sampler: grid\n",  # the flag's value at fault: the flag is named
         "--sampler: sampler 'bayesian' is only available with backend 'kerastuner' (--backend kerastuner, or "
         "backend: kerastuner in the spec); backend 'optuna' offers grid, random, tpe, cmaes"),
        ([], "sampler: hyperband\n", "sampler 'hyperband' is only available with backend 'kerastuner'"),
        ([], "backend: kerastuner\nsampler: hyperband\nspace: {epochs: [1, 2]}\n", "space.epochs: the hyperband sampler"),
        (["--backend", "keras"], "sampler: grid\n", "--backend: Input should be 'optuna' or 'kerastuner'"),
    ],
)
def test_unsupported_combinations_are_one_line_exit_2(tmp_path, args, text, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"name: bad\nproblem: {{name: tenths}}\n{text}storage: sqlite:///{tmp_path / 'bad.db'}\n")
    result = run_tuning("run", str(spec), "--quiet", *args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    head = "error: " if message.startswith("--") else f"error: {spec}: "
    assert len(lines) == 1 and lines[0].startswith(head) and message in lines[0], result.stderr
    assert not (tmp_path / "bad.db").exists()  # refused before anything is stored


def test_a_spec_without_sampler_gets_the_backends_default(tmp_path):
    from tuning.spec import apply_overrides, load_spec

    spec = tmp_path / "plain.yaml"
    spec.write_text("name: plain\nproblem: {name: tenths}\nn_trials: 2\n")
    assert load_spec(spec).sampler.name == "tpe"
    assert apply_overrides(load_spec(spec), backend="kerastuner").sampler.name == "bayesian"
    assert load_spec({"name": "p", "problem": {"name": "tenths"}, "n_trials": 2, "backend": "kerastuner"}).sampler.name \
        == "bayesian"


def test_importing_the_cli_loads_neither_keras_tuner_nor_tensorflow():
    probe = "import sys, tuning.cli; print(sorted(m for m in ('keras_tuner', 'tensorflow', 'keras') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_tuning_version_prints_the_packages_version_without_loading_keras(tmp_path):
    import tuning

    probe = ("import sys\nfrom tuning.cli import app\ntry:\n    app(['--version'])\nexcept SystemExit as exit:\n"
             "    print('EXIT', exit.code)\n"
             "print('HEAVY', sorted(m for m in ('keras_tuner', 'tensorflow', 'keras', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == [f"tuning {tuning.__version__}", "EXIT 0", "HEAVY []"], out.stdout + out.stderr


def test_a_true_false_axis_reaches_the_model_as_bools_on_kerastuner(tmp_path):
    """KerasTuner's Choice turns [False, True] into 0 and 1: a builder checking for a bool failed
    every trial, and the config (and its key) differed from the Optuna backend's."""
    from keras_tuner import HyperParameters

    from tuning.backends._kt_space import SpaceMapping
    from tuning.space import SearchSpace
    from tuning.spec import load_spec

    spec = load_spec(_spec(tmp_path, "flags", model={"builder": "demo_models:conv_lstm"},
                           space={"width": [1, 2], "use_bias": [False, True]}))
    for grid in (True, False):
        mapping = SpaceMapping(SearchSpace.from_spec(spec), grid=grid)
        hp = HyperParameters()
        mapping.declare(hp)
        (choice,) = [p for p in hp.space if p.name == "use_bias"]
        seen = []
        for proposed in choice.values:  # what KerasTuner's oracle proposes, as it stores them
            hp.values["use_bias"] = proposed
            point = mapping.to_point(hp.values)
            assert type(point["use_bias"]) is bool and type(point["width"]) is int, point
            seen.append(point["use_bias"])
        assert seen == [False, True]
