"""How a live race ends: a study of one config, and the margin that ends a race on equivalence
(fits from a runner without Keras, on real SQLite and Optuna; the replay through the CLI)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from helpers.fake_runner import FakeRunner
from helpers.race_study import race_spec, run_race

import tuning
from tuning.results import OK, FitResult


class TiedRunner(FakeRunner):
    """Every config scores 0.5 whatever its units, plus its own noise per seed (sd 0.01): a grid of ties."""

    def __init__(self):
        super().__init__(trials_in_flight=1)

    def fit(self, task):
        val = 0.5 + np.random.default_rng([task.config["units"], task.seed]).normal(0.0, 0.01)
        return FitResult(task.config_key, task.seed, OK, {"val_loss": val, "loss": val},
                         {"loss": [val] * 3, "val_loss": [val] * 3}, 3, 3, 0.001, None, 10)


def spec(tmp_path, name: str = "race", **changes) -> dict:
    return race_spec(tmp_path, name, **{"space": {"units": [1, 2, 3, 4]}, **changes})


def run(data: dict, runner=None):
    return run_race(data, runner or TiedRunner())


def fits_per_config(tmp_path, name: str = "race") -> list[int]:
    store = tuning.store.open_store(f"sqlite:///{tmp_path / 'study.db'}")
    counts: dict[str, int] = {}
    for fit in store.fits(name):
        counts[fit.config_key] = counts.get(fit.config_key, 0) + 1
    return sorted(counts.values())


def test_a_race_over_one_config_gives_it_its_seeds_and_resumes(tmp_path):
    # It used to end before any fit ("one config left") and then fail aggregating no scores.
    outcome, runner = run(spec(tmp_path, space={"units": [4]}))
    assert (outcome.planned, outcome.complete, outcome.failed) == (1, 1, 0)
    assert fits_per_config(tmp_path) == [3]
    status = tuning.study_status("race", storage=str(tmp_path / "study.db"))
    assert any("left when the race ended: one config left" in line for line in status["race"]), status["race"]
    again, runner = run(spec(tmp_path, space={"units": [4]}))
    assert again.complete == 1 and runner.tasks == []  # nothing fitted twice
    data = spec(tmp_path, name="alone")
    del data["space"]  # no space at all: one config too
    alone, _ = run(data)
    assert alone.complete == 1 and fits_per_config(tmp_path, "alone") == [3]


def test_a_margin_ends_a_race_of_ties_early_and_without_one_it_runs_on(tmp_path):
    run(spec(tmp_path, name="no margin"))
    assert sum(fits_per_config(tmp_path, "no margin")) > 4 * 8  # ties are rarely dropped: most reach max
    for name, margin in (("absolute", 0.05), ("relative", "10%")):
        run(spec(tmp_path, name=name, objective={"metric": "val_loss", "margin": margin}))
        # at the second look (5 seeds: at 3 the look's share of alpha leaves the bound wider than 0.05)
        assert fits_per_config(tmp_path, name) == [5] * 4, name
        status = tuning.study_status(name, storage=str(tmp_path / "study.db"))
        assert any("every config left is equivalent to the best" in line for line in status["race"]), status["race"]
    run(spec(tmp_path, name="tight", objective={"metric": "val_loss", "margin": 1e-6}))
    assert fits_per_config(tmp_path, "tight") == fits_per_config(tmp_path, "no margin")  # no bound gets under it


def test_tuning_replay_races_with_the_studys_own_margin(tmp_path):
    run(spec(tmp_path, name="every seed", repeats=12, objective={"metric": "val_loss", "margin": "10%"}))
    done = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every seed", "--storage",
                           str(tmp_path / "study.db")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "race: 3 to 12 seeds, alpha 0.05, margin 10 % of the best's aggregate"
    assert "every config left is equivalent to the best" in lines[1]
    assert all(line.startswith("  trial") and ": 5/12 seeds" in line for line in lines[3:7]), lines
