"""Studies through the Python API: resume with more seeds, spec changes, failures, determinism."""

from __future__ import annotations

import pytest

import tuning
from tuning.errors import SpecError


def spec(tmp_path, **changes) -> dict:
    base = {
        "name": "s", "problem": {"name": "tenths"}, "model": {"units": 2},
        "fit": {"epochs": 1, "batch_size": 5}, "space": {"units": [1, 2]}, "sampler": "grid",
        "repeats": 1, "storage": f"sqlite:///{tmp_path / 'study.db'}",
    }
    base.update(changes)
    return base


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


def test_random_sampler_tops_up_and_proposes_new_trials(tmp_path):
    random_spec = spec(tmp_path, sampler={"name": "random", "seed": 1}, n_trials=2,
                       space={"learning_rate": {"low": 1.0e-3, "high": 1.0e-2, "log": True}})
    first = tuning.run_study(random_spec)
    assert first.complete == 2
    more = tuning.run_study(random_spec, repeats=2, n_trials=3)
    # two configs topped up with seed 1 (their seed-0 fits reused) and one new config
    assert (more.complete, more.fits_reused, more.fits_run) == (3, 2, 4)


def test_a_changed_space_on_an_existing_study_is_refused(tmp_path):
    tuning.run_study(spec(tmp_path))
    with pytest.raises(SpecError) as info:
        tuning.run_study(spec(tmp_path, space={"units": [1, 3]}))
    assert info.value.field == "space" and "already exists" in str(info.value)


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


def test_same_spec_and_seeds_give_the_same_per_seed_scores(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    scores = []
    for folder in ("a", "b"):
        tuning.run_study(spec(tmp_path / folder), repeats=2)
        fits = tuning.load_results("s", storage=str(tmp_path / folder / "study.db")).fits
        scores.append(sorted(zip(fits["config_key"], fits["seed"], fits["val_loss"], strict=True)))
    assert scores[0] == scores[1]


def test_parallel_batches_finish_even_when_the_sampler_repeats_a_running_config(tmp_path):
    one_config = spec(tmp_path, sampler={"name": "random", "seed": 0}, n_trials=3, space={"units": [2]})
    outcome = tuning.run_study(one_config, jobs=2)
    # three trials of the one config: the first fits it, the others reuse its stored fit
    assert (outcome.complete, outcome.fits_run, outcome.fits_reused) == (3, 1, 2)
