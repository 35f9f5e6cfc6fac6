"""Several workers share one study's work, in seconds: a grid, random and CMA-ES proposals, races
and pruners decided from the store, the seeds of one config, and four workers racing for every
claim with instant fits. Nothing is trialled or fitted twice.

Each worker is a real process running the study's loop on a real SQLite file with real Optuna;
only the fits are the fake runner's (tests/helpers/fake_worker.py).
"""

from __future__ import annotations

import pytest
from helpers.worker_study import (
    POINTS,
    RANDOM_SPEC,
    SEEDS,
    SPEC,
    check_done_once,
    finish,
    fitted_once,
    query,
    start_workers,
)

from tuning.store import Store


def test_three_workers_share_a_grid_without_trialling_or_fitting_anything_twice(tmp_path):
    procs = start_workers(tmp_path, 3, fit_seconds=0.15)
    results = finish(procs)
    assert [code for code, _, _ in results] == [0, 0, 0], results
    db = tmp_path / "w.db"
    check_done_once(db)
    assert len(fitted_once(db)) == POINTS * SEEDS  # none computed twice
    assert query(db, "SELECT COUNT(*) FROM trials WHERE state = 'FAIL'") == [(0,)]  # no duplicate trial either
    started = sorted(n for (n,) in query(db, "SELECT fits_started FROM tuning_workers"))
    assert len(started) == 3 and all(n > 0 for n in started), started  # the work was shared


@pytest.mark.slow  # real worker processes for several seconds: the fast tier keeps the grid and instant-fit cases
def test_three_workers_share_random_proposals_without_fitting_anything_twice(tmp_path):
    """Workers started together draw the same random proposals: each proposal another worker holds
    is dropped and the sampler reseeded past it, so the workers still split the study."""
    results = finish(start_workers(tmp_path, 3, fit_seconds=0.15, text=RANDOM_SPEC))
    assert [code for code, _, _ in results] == [0, 0, 0], results
    db = tmp_path / "w.db"
    fits = fitted_once(db)
    assert len(fits) % SEEDS == 0
    configs = query(db, "SELECT COUNT(DISTINCT value_json) FROM trial_user_attributes a JOIN trials t "
                        "ON a.trial_id = t.trial_id WHERE a.key = 'config_key' AND t.state = 'COMPLETE'")[0][0]
    assert 6 <= configs <= 6 + 2 and len(fits) == configs * SEEDS  # at most one extra config per other worker
    assert dict(query(db, "SELECT state, COUNT(*) FROM trials GROUP BY state")).get("RUNNING", 0) == 0
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]


@pytest.mark.slow  # real worker processes for several seconds: the fast tier keeps the grid and instant-fit cases
@pytest.mark.parametrize("extra", ["repeats: {{strategy: race, min: 2, max: 4}}\n",
                                   "pruner: {{name: median, settings: {{n_startup_trials: 1}}}}\n"])
def test_racing_and_pruning_decide_from_the_store_with_two_workers(tmp_path, extra):
    """A race's looks and a pruner's decisions are re-derived from the stored fits, so a second
    worker on the study continues them; nothing is fitted twice and every trial concludes."""
    text = SPEC.replace("repeats: 3\n", "") + extra if "race" in extra else SPEC + extra
    results = finish(start_workers(tmp_path, 2, fit_seconds=0.05, text=text))
    assert [code for code, _, _ in results] == [0, 0], results
    db = tmp_path / "w.db"
    assert fitted_once(db)
    states = dict(query(db, "SELECT state, COUNT(*) FROM trials GROUP BY state"))
    assert states.get("RUNNING", 0) == 0 and states.get("COMPLETE", 0) + states.get("PRUNED", 0) >= POINTS
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]


# The random study's, with two continuous parameters (CMA-ES samples those) and 8 trials.
CMAES_SPEC = (RANDOM_SPEC.replace("  units: [1, 2, 3]\n", "  dropout: {{low: 0.0, high: 0.5}}\n")
              .replace("{{name: random, seed: 3}}", "{{name: cmaes, seed: 3}}").replace("n_trials: 6", "n_trials: 8"))


@pytest.mark.slow  # real worker processes for several seconds: the fast tier keeps the grid and instant-fit cases
def test_three_workers_share_a_cmaes_study_without_fitting_anything_twice(tmp_path):
    """CMA-ES proposes from the trials finished so far, as Optuna's sampler does with many workers:
    three workers started together get n_trials between them, no config fitted twice, every fit
    started once, every trial concluded."""
    results = finish(start_workers(tmp_path, 3, fit_seconds=0.05, text=CMAES_SPEC))
    assert [code for code, _, _ in results] == [0, 0, 0], results
    db = tmp_path / "w.db"
    fits = fitted_once(db)
    assert len(fits) % SEEDS == 0
    states = dict(query(db, "SELECT state, COUNT(*) FROM trials GROUP BY state"))
    assert states.get("RUNNING", 0) == 0 and states.get("FAIL", 0) == 0, states
    assert 8 <= states["COMPLETE"] <= 8 + 2 and len(fits) == states["COMPLETE"] * SEEDS  # n_trials, as Optuna counts
    sampled = query(db, "SELECT COUNT(*) FROM trial_system_attributes WHERE key LIKE 'cma:%'")
    assert sampled[0][0] > 0, "CMA-ES itself proposed (not only its random start-up trials)"
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]


ONE_CONFIG_SPEC = SPEC.replace("units: [1, 2, 3, 4, 5, 6]", "units: [3]").replace("repeats: 3", "repeats: 12")


@pytest.mark.slow  # real worker processes for several seconds: the fast tier keeps the grid and instant-fit cases
def test_idle_workers_fit_the_seeds_of_a_config_another_worker_is_trialling(tmp_path):
    """One config, twelve seeds, three workers: the one trialling it hands its runner one seed at a
    time, each claimed just before it starts, and the others fit the seeds nobody has claimed, so
    all three work; the trial concludes once, with every seed stored once and none computed twice.

    A fourth live worker, registered first and holding nothing, makes the study shared from the
    start whatever order the three processes start in: a worker that is alone when its batch
    starts claims the batch whole (the others then help with the next config, of which there is
    none here)."""
    Store(f"sqlite:///{tmp_path / 'w.db'}").leases("w", "elsewhere:9:z", lease=600).register("elsewhere", 9)
    # a short lease: an idle worker looks for work every second (a sixth of it)
    results = finish(start_workers(tmp_path, 3, fit_seconds=0.5, lease=6, text=ONE_CONFIG_SPEC))
    assert [code for code, _, _ in results] == [0, 0, 0], results
    db = tmp_path / "w.db"
    assert len(fitted_once(db)) == 12
    started = sorted(n for (n,) in query(db, "SELECT fits_started FROM tuning_workers WHERE host != 'elsewhere'"))
    assert len(started) == 3 and all(n > 0 for n in started), started  # every worker fitted seeds
    assert query(db, "SELECT state, COUNT(*) FROM trials GROUP BY state") == [("COMPLETE", 1)]
    numbers = query(db, "SELECT DISTINCT trial_number FROM tuning_fits")
    assert len(numbers) == 1  # every seed stored under the one trial of the config
    assert query(db, "SELECT COUNT(*) FROM tuning_claims") == [(0,)]


def test_four_workers_with_instant_fits_race_for_every_claim_and_nothing_is_fitted_twice(tmp_path):
    """Fits that take no time put every claim, release and store of four workers within
    milliseconds of each other on one SQLite file: no worker crashes ("database is locked", a
    trial read half-written), and no fit is started twice, not even one another worker stored
    the instant before it was claimed."""
    text = SPEC.replace("units: [1, 2, 3, 4, 5, 6]", f"units: {list(range(1, 21))}")
    results = finish(start_workers(tmp_path, 4, fit_seconds=0.0, text=text))
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    db = tmp_path / "w.db"
    assert len(fitted_once(db)) == 20 * SEEDS
    assert query(db, "SELECT state, COUNT(*) FROM trials GROUP BY state") == [("COMPLETE", 20)]
