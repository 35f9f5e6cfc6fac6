"""Epoch pruning on real Keras fits: fused groups, the replay against a live run, kill -9 and resume."""

from __future__ import annotations

import sqlite3

import pytest
import yaml

pytestmark = pytest.mark.slow

SPEC = {
    "problem": {"name": "damped_sine", "params": {"length": 12, "horizon": 1, "n_train": 160, "n_val": 80,
                                                  "n_test": 40, "seed": 3}},
    "model": {"family": "vanilla", "units": 4, "learning_rate": 0.01},
    "fit": {"epochs": 8, "batch_size": 32},
    "sampler": "grid",
    "repeats": 2,
    "runner": "auto",
}


def write_spec(path, name: str, space: dict, pruner, **more) -> dict:
    spec = {"name": name, **SPEC, "space": space, "pruner": pruner, "storage": f"sqlite:///{path / 'study.db'}", **more}
    (path / "spec.yaml").write_text(yaml.safe_dump(spec))
    return spec


def run_in_process(spec: dict):
    from tuning.search.loop import run_search
    from tuning.spec import apply_overrides, load_spec

    return run_search(apply_overrides(load_spec(spec)))


def fits(path, name: str) -> dict[tuple[str, int], tuple[str, int, list[float], dict[str, float]]]:
    """(config_key, seed) -> (status, epochs run, val_loss curve, scores)."""
    from tuning.store import open_store

    return {(f.config_key, f.seed): (f.status, f.epochs_run, f.curves.get("val_loss", []), f.scores)
            for f in open_store(f"sqlite:///{path / 'study.db'}").fits(name)}


def test_a_pruned_fused_group_stops_only_its_pruned_replicas(tmp_path):
    # configs that differ only in learning rate share one fused graph; successive halving judges
    # them at epochs 2 and 4 on their seed means while they train together; the replicas it does
    # not stop train exactly as in the unpruned study's graph
    space = {"learning_rate": [0.01, 0.0001, 0.02, 0.00005]}
    halving = {"name": "successive_halving", "settings": {"min_resource": 2, "reduction_factor": 2}}
    for name, pruner in (("full", "none"), ("pruned", halving)):
        (tmp_path / name).mkdir()
        run_in_process(write_spec(tmp_path / name, name, space, pruner))
    full, pruned = fits(tmp_path / "full", "full"), fits(tmp_path / "pruned", "pruned")
    assert full.keys() == pruned.keys()
    stopped = {key for key, (status, *_) in pruned.items() if status == "pruned"}
    assert stopped and stopped != set(pruned)
    for key, (status, epochs, curve, scores) in pruned.items():
        if status == "pruned":  # the same fit cut short: its curve is the unpruned fit's first epochs
            assert epochs < 8 and curve == pytest.approx(full[key][2][:epochs], rel=1e-5)
        else:  # trained on as if its graph mates had not stopped
            assert (status, epochs) == ("ok", 8) and curve == pytest.approx(full[key][2], rel=1e-5)
            assert scores == pytest.approx(full[key][3], rel=1e-5)
    assert {k for k, _ in stopped} and all((k, s) in stopped for k, _ in stopped for s in (0, 1))  # seeds together


def test_the_replay_of_a_pruner_on_an_exhaustive_study_matches_a_live_run(tmp_path):
    from tuning.analysis import load_results
    from tuning.replay import replay_pruner_on_study
    from tuning.store import open_store
    from tuning.trials import read_trials

    # configs of other sizes: a graph each, one after another, each finished before the next is judged
    space = {"units": [8, 2, 4, 1, 6]}
    median = {"name": "median", "settings": {"n_startup_trials": 1, "n_warmup_steps": 1}}
    for name, pruner in (("full", "none"), ("pruned", median)):
        (tmp_path / name).mkdir()
        run_in_process(write_spec(tmp_path / name, name, space, pruner))
    store = open_store(f"sqlite:///{tmp_path / 'full' / 'study.db'}")
    replay = replay_pruner_on_study(load_results("full", store), "median", median["settings"])
    replayed = dict(zip(replay.table["config_key"], replay.table["outcome"], strict=True))
    live = {t["config_key"]: t for t in read_trials(open_store(f"sqlite:///{tmp_path / 'pruned' / 'study.db'}"), "pruned")
            if t["status"] in ("complete", "pruned")}
    assert live.keys() == replayed.keys()
    for key, trial in live.items():
        said = replayed[key]
        if trial["status"] == "pruned":
            assert said == f"pruned after {trial['pruned_at']} epochs"
        else:
            assert not said.startswith("pruned")
    assert any(t["status"] == "pruned" for t in live.values())


def test_kill_9_mid_pruned_study_then_resume_reaches_the_same_decisions(tmp_path):
    # On JAX: the pruner's decisions after a resume are the loop's and the store's, and JAX fits these
    # models one at a time in under half TensorFlow's time (38 s against 102 s for the test).
    from helpers.cli import run_tuning, start_tuning_and_wait_for_fits, stored_fits

    space = {"units": [8, 1, 4, 2, 6, 3]}
    median = {"name": "median", "settings": {"n_startup_trials": 2, "n_warmup_steps": 1}}
    for name in ("whole", "killed"):
        (tmp_path / name).mkdir()
        write_spec(tmp_path / name, "study", space, median, runner="sequential", keras_backend="jax")
    done = run_tuning("run", str(tmp_path / "whole" / "spec.yaml"), "--quiet", cwd=tmp_path / "whole")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "killed" / "study.db"
    proc = start_tuning_and_wait_for_fits(tmp_path / "killed" / "spec.yaml", db, tmp_path / "killed", 7)
    proc.kill()  # SIGKILL after the pruner has started deciding (2 configs finished, then one seed at a time)
    proc.wait()
    before = {(key, seed) for _, key, seed, _ in stored_fits(db)}
    resumed = run_tuning("resume", "study", "--storage", str(db), "--quiet", cwd=tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    after = stored_fits(db)
    assert len(after) == len({(key, seed) for _, key, seed, _ in after}) and before <= {(k, s) for _, k, s, _ in after}

    def decisions(path):
        with sqlite3.connect(path / "study.db") as conn:
            return sorted(conn.execute("SELECT config_key, seed, status, epochs_run FROM tuning_fits").fetchall())

    assert decisions(tmp_path / "killed") == decisions(tmp_path / "whole")
    assert any(status == "pruned" for _, _, status, _ in decisions(tmp_path / "whole"))
