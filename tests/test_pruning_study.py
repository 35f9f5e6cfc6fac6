"""Epoch pruning inside a study (``pruner:`` in the spec): the loop, the store, resume and the analysis,
on real SQLite and Optuna with a fit double that tells the pruner its curves as ``fit_one`` does."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from helpers.cli import tuning_command
from helpers.fake_runner import FakeRunner

from tuning.results import OK, FitResult

EPOCHS = 10


class CurveRunner(FakeRunner):
    """One seed at a time: each (units, seed) has a falling val_loss curve whose end is
    1 / (1 + units) plus seed noise (sd 0.05), so that configs are close or far and one seed can
    mislead; ``stop_after``: a Ctrl-C once that many fits were handed over."""

    def __init__(self, stop_after: int | None = None):
        super().__init__(trials_in_flight=1, stop_after=stop_after)

    def fit(self, task):
        units = task.config["units"]
        final = 1.0 / (1.0 + units) + np.random.default_rng([units, task.seed]).normal(0.0, 0.05)
        curve = [float(final * (1.0 + 2.0 * np.exp(-e / 3.0))) for e in range(EPOCHS)]
        return FitResult(task.config_key, task.seed, OK, {"val_loss": curve[-1], "loss": curve[-1]},
                         {"loss": curve, "val_loss": curve}, EPOCHS, EPOCHS, 0.001, None, 10)


def spec(tmp_path, name: str = "pruned", pruner: str | dict = "none") -> dict:
    return {"name": name, "problem": {"name": "tenths"}, "model": {"units": 2},
            "fit": {"epochs": EPOCHS, "batch_size": 5}, "space": {"units": [2, 16, 1, 8, 4, 3, 32, 6]},
            "sampler": "grid", "repeats": 3, "pruner": pruner, "storage": f"sqlite:///{tmp_path / 'study.db'}"}


MEDIAN = {"name": "median", "settings": {"n_startup_trials": 2, "n_warmup_steps": 2}}


def run(data: dict, runner=None):
    from tuning.search.loop import run_search
    from tuning.spec import apply_overrides, load_spec

    runner = runner or CurveRunner()
    return run_search(apply_overrides(load_spec(data)), runner=runner), runner


def stored(tmp_path, name: str = "pruned") -> dict[tuple[int, int], tuple[str, int, int]]:
    """(units, seed) -> (status, epochs run, curve length) of every stored fit."""
    from tuning.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'study.db'}")
    units = {t["config_key"]: t["params"]["units"] for t in _trials(tmp_path, name)}
    return {(units[f.config_key], f.seed): (f.status, f.epochs_run, len(f.curves.get("val_loss", [])))
            for f in store.fits(name)}


def _trials(tmp_path, name: str) -> list[dict]:
    from tuning.store import open_store
    from tuning.trials import read_trials

    return read_trials(open_store(f"sqlite:///{tmp_path / 'study.db'}"), name)


@pytest.fixture(scope="module")
def pruned_study(tmp_path_factory):
    """The grid run twice: exhaustively, and with the median pruner (2 startup configs, 2 warm-up epochs)."""
    root = tmp_path_factory.mktemp("pruning")
    full, _ = run(spec(root / "full", "full"))
    outcome, runner = run(spec(root / "pruned", pruner=MEDIAN))
    return root, full, outcome, runner


def test_a_pruned_config_keeps_its_partial_curves_and_is_told_pruned(pruned_study):
    root, full, outcome, runner = pruned_study
    fits = stored(root / "pruned")
    pruned = {units for (units, _), (status, _, _) in fits.items() if status == "pruned"}
    assert pruned and outcome.pruned == len(pruned) and outcome.complete == 8 - len(pruned)
    for (units, _seed), (status, epochs_run, length) in fits.items():
        assert length == epochs_run  # the curves of the epochs it trained, no more
        if units in pruned and status == "pruned":
            assert epochs_run < EPOCHS
        elif units not in pruned:
            assert (status, epochs_run) == ("ok", EPOCHS)
    # one seed at a time: the seed the pruner stopped is stored pruned, the config's later seeds are never started
    for units in pruned:
        seeds = sorted((s, fits[(units, s)]) for (u, s) in fits if u == units)
        first = next(i for i, (_, (status, _, _)) in enumerate(seeds) if status == "pruned")
        assert all(epochs == 0 for _, (status, epochs, _) in seeds[first + 1:])
    statuses = {t["params"]["units"]: t["status"] for t in _trials(root / "pruned", "pruned")}
    assert {u for u, s in statuses.items() if s == "pruned"} == pruned
    spent = sum(epochs for _, epochs, _ in fits.values())
    assert spent < 8 * 3 * EPOCHS and len(runner.tasks) == 8 * 3  # every seed accounted for, fewer epochs


def test_the_pruner_keeps_the_best_config_on_its_seed_aggregate(pruned_study):
    root, *_ = pruned_study
    full = _trials(root / "full", "full")
    best = min((t for t in full if t["status"] == "complete"), key=lambda t: t["value"])["params"]["units"]
    statuses = {t["params"]["units"]: t["status"] for t in _trials(root / "pruned", "pruned")}
    assert statuses[best] == "complete"
    kept = [t for t in _trials(root / "pruned", "pruned") if t["status"] == "complete"]
    assert min(kept, key=lambda t: t["value"])["params"]["units"] == best


def test_a_resumed_pruned_study_refits_nothing(pruned_study):
    root, *_ = pruned_study
    before = stored(root / "pruned")
    outcome, runner = run(spec(root / "pruned", pruner=MEDIAN))
    assert runner.tasks == [] and outcome.fits_run == 0
    assert stored(root / "pruned") == before


def test_interrupted_then_resumed_the_pruner_reaches_the_same_decisions(pruned_study, tmp_path):
    root, *_ = pruned_study
    with pytest.raises(KeyboardInterrupt):
        run(spec(tmp_path, pruner=MEDIAN), runner=CurveRunner(stop_after=13))
    assert 0 < len(stored(tmp_path)) < 24
    run(spec(tmp_path, pruner=MEDIAN))
    assert stored(tmp_path) == stored(root / "pruned")


def test_the_analysis_compares_no_pruned_config_and_diagnoses_none(pruned_study):
    from tuning.analysis import load_results
    from tuning.store import open_store

    root, *_ = pruned_study
    results = load_results("pruned", open_store(f"sqlite:///{root / 'pruned' / 'study.db'}"))
    pruned_keys = set(results.fits.loc[results.fits["status"] == "pruned", "config_key"])
    table = results.trials.set_index("config_key")
    assert (table.loc[list(pruned_keys), "status"] == "pruned").all()
    assert (table.loc[list(pruned_keys), "n_seeds"] == 0).all()  # its seeds fitted in full are not a finished config
    assert (table.loc[list(pruned_keys), "n_failed"] == 0).all()
    compared = set(results.summary.dropna(subset=["mean"])["config_key"]) if "config_key" in results.summary else \
        set(results.summary.dropna(subset=["mean"]).index)
    assert compared and not compared & pruned_keys
    diagnosis = results.diagnosis
    numbers = results.fits.groupby("config_key")["trial"].min()  # each row names its config as the tables do
    assert diagnosis["trial"].notna().all() and (diagnosis["trial"] == diagnosis["config_key"].map(numbers)).all()
    rows = diagnosis[diagnosis["config_key"].isin(pruned_keys) & (diagnosis["status"] == "pruned")]
    assert len(rows) and rows["label"].isna().all()
    epochs = results.fits.set_index(["config_key", "seed"])["epochs_run"]
    for row in rows.itertuples():  # how far each seed got: a seed stopped before training says so
        run_for = int(epochs[(row.config_key, row.seed)])
        said = "stopped before its first epoch" if run_for == 0 else \
            f"stopped after {run_for} epoch{'s' if run_for != 1 else ''}"
        assert row.evidence == f"{said} by the study's pruner, not diagnosed"


@pytest.mark.e2e
def test_a_pruner_with_kerastuner_or_an_unknown_name_is_refused_in_one_line(tmp_path):
    import yaml

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in spec(tmp_path).items() if k != "storage"}))
    for args, words in ((["--backend", "kerastuner", "--pruner", "median"], "pruner: pruner median runs with backend optuna"),
                        (["--pruner", "sometimes"], "error: --pruner: Input should be 'median'")):
        done = subprocess.run([*tuning_command(), "run", str(path), "--storage",
                               f"sqlite:///{tmp_path / 'refused.db'}", *args], capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr
    assert not (tmp_path / "refused.db").exists()  # refused before the store is touched


def test_a_race_over_seeds_and_a_pruner_over_epochs_run_in_one_study(tmp_path):
    from tuning.trials import read_trials

    data = spec(tmp_path, "both", pruner=MEDIAN)
    data["repeats"] = {"strategy": "race", "min": 3, "max": 8}
    outcome, runner = run(data)
    from tuning.store import open_store

    trials = [t for t in read_trials(open_store(data["storage"]), "both") if t["config_key"]]
    by_status = {}
    for t in trials:
        by_status.setdefault(t["status"], []).append(t)
    assert by_status.get("pruned") and by_status.get("complete")
    outcomes = [t["race"]["outcome"] for t in by_status["complete"]]
    assert any(o.startswith("eliminated") for o in outcomes)  # the race dropped a config at a look
    assert all(len(t["seeds"]) == 8 for t in by_status["complete"] if t["race"]["outcome"].startswith("left"))
    assert all(t["pruned_at"] < EPOCHS and not t.get("race") for t in by_status["pruned"])  # pruned, not raced out
    fits = stored(tmp_path, "both")
    assert all(status == "pruned" for (units, _), (status, _, _) in fits.items()
               if units in {t["params"]["units"] for t in by_status["pruned"]} and status != "ok")
    assert len(runner.tasks) == len(fits) < 8 * 8  # nothing fitted twice; fewer fits than every config x every seed
    assert outcome.pruned == len(by_status["pruned"])


def test_status_and_the_report_count_pruned_trials_apart_from_failed(pruned_study, tmp_path):
    from tuning.api import study_status
    from tuning.report import render_report

    root, _, outcome, _ = pruned_study
    storage = f"sqlite:///{root / 'pruned' / 'study.db'}"
    info = study_status("pruned", storage)
    assert (info["pruned"], info["failed"], info["remaining"]) == (outcome.pruned, 0, 0)
    page = render_report("pruned", storage, tmp_path / "report")
    assert f"{outcome.pruned} pruned (stopped early, not compared)" in page and ", 0 failed" in page
    assert 'id="failed-fits"' not in page and "No failed trials or fits." in page  # pruned fits are not failures
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', page, re.S).group(1))  # what the plots draw
    cut = [c for c in data["configs"] if c["pruned"]]
    assert len(cut) == outcome.pruned and all(c["cut"] for c in cut)  # the history marks each pruned fit
    # a pruned config's page says it was pruned, not "fewer than 2 seeds", and offers no export that fails
    from tuning.analysis import load_results
    from tuning.errors import SpecError
    from tuning.refit import choose
    from tuning.report._data import page_name

    results = load_results("pruned", storage)
    pruned_keys = set(results.fits.loc[results.fits["status"] == "pruned", "config_key"]) - set(
        results.fits.loc[results.fits["status"] == "ok", "config_key"])
    assert pruned_keys
    for key in pruned_keys:
        config_page = (tmp_path / "report" / "configs" / page_name(key)).read_text()
        assert "Pruned: the study's pruner stopped its seeds early" in config_page
        assert "fewer than 2 seeds" not in config_page and "No seed shared" not in config_page
        assert 'id="export-command"' not in config_page and "No finished fit to refit and export (pruned)" in config_page
        with pytest.raises(SpecError, match=f"config {key} has no finished fit to export \\(its fits: pruned\\)"):
            choose(results, key)


def test_a_replay_refuses_a_study_that_its_own_pruner_cut_short(pruned_study):
    """Its pruned configs' curves stop where the pruner stopped them; read as complete they would say
    a config trained 1/1 epochs and the study picked a config it had pruned (a user saw both)."""
    root, *_ = pruned_study
    for race_or_pruner in ([], ["--pruner", "median"]):  # a race replay too: its stopped scores are not final
        done = subprocess.run([*tuning_command(), "replay", "pruned", "--storage", str(root / "pruned" / "study.db"),
                               *race_or_pruner], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stdout
        assert re.fullmatch(r"error: study 'pruned': it was pruned itself \(\d+ config\(s\) stopped early\): a replay "
                            r"needs every config trained to its end; replay a study run without a pruner\n", done.stderr)
    full = subprocess.run([*tuning_command(), "replay", "full", "--storage", str(root / "full" / "study.db"),
                           "--pruner", "median"], capture_output=True, text=True, timeout=120)
    assert full.returncode == 0 and full.stdout.startswith("pruner: median"), full.stderr


def test_with_min_seeds_2_the_first_seed_trains_to_its_end_and_is_judged_with_the_second(pruned_study, tmp_path):
    """The default judges a config's first seed on its own curve, and this grid loses configs on
    it; ``min_seeds: 2`` never does: every config's first seed is fitted whole, a config is stopped
    on its second seed at the earliest."""
    root, *_ = pruned_study
    alone = stored(root / "pruned")
    assert any(status == "pruned" for (_, seed), (status, _, _) in alone.items() if seed == 0)
    run(spec(tmp_path, "two", pruner={**MEDIAN, "min_seeds": 2}))
    fits = stored(tmp_path, "two")
    assert {fits[(units, 0)][:2] for units in {u for u, _ in fits}} == {("ok", EPOCHS)}
    assert any(status == "pruned" for status, _, _ in fits.values())  # it still prunes, from the second seed
