"""Racing over seeds in a study: the loop, the store, resume and replay (fits from a runner
without Keras, on real SQLite and Optuna; the CLI in a subprocess)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.fake_runner import FakeRunner
from helpers.race_study import race_spec, run_race

import tuning
from tuning.errors import SpecError
from tuning.results import OK, FitResult


class NoisyRunner(FakeRunner):
    """Fits whose val_loss is 1 / (1 + units) plus seed noise of its own per config (sd 0.05), so
    that a race has close and far configs; ``stop_after``: raise KeyboardInterrupt (a Ctrl-C) when
    that many fits have been handed over."""

    def __init__(self, stop_after: int | None = None):
        super().__init__(trials_in_flight=1, stop_after=stop_after)

    def fit(self, task):
        units = task.config["units"]
        val = 1.0 / (1.0 + units) + np.random.default_rng([units, task.seed]).normal(0.0, 0.05)
        return FitResult(task.config_key, task.seed, OK, {"val_loss": val, "loss": val},
                         {"loss": [val] * 3, "val_loss": [val] * 3}, 3, 3, 0.001, None, 10)


def run(data: dict, runner=None):
    return run_race(data, runner or NoisyRunner())


def final_table(tmp_path, name: str = "race") -> list[tuple]:
    """Per config: its units, seeds, value and what the race decided (times left out)."""
    from tuning.store import open_store
    from tuning.trials import read_trials

    trials = read_trials(open_store(f"sqlite:///{tmp_path / 'study.db'}"), name)
    return sorted((t["params"]["units"], tuple(t["seeds"]), round(t["value"], 12), t["race"]["outcome"])
                  for t in trials if t["status"] == "complete")


def test_a_raced_grid_gives_worse_configs_fewer_seeds_and_records_why(tmp_path):
    outcome, runner = run(race_spec(tmp_path))
    assert (outcome.planned, outcome.complete) == (5, 5)
    store = tuning.store.open_store(f"sqlite:///{tmp_path / 'study.db'}")
    fits = {}
    for fit in store.fits("race"):
        units = next(f for f in runner.tasks if f.config_key == fit.config_key).config["units"]
        fits[units] = fits.get(units, 0) + 1
    assert fits[1] == 3 and fits[1] < fits[8]  # far behind: out at the first look
    assert sum(fits.values()) == len(runner.tasks) < 5 * 12  # no fit twice, fewer than 12 each
    table = {units: outcome for units, _, _, outcome in final_table(tmp_path)}
    assert table[1].startswith("eliminated after 3 seeds: worse than trial")
    assert table[8].startswith("left when the race ended")
    status = tuning.study_status("race", storage=store)
    assert status["remaining"] == 0 and status["race"][0].startswith("race: 3 to 12 seeds a config, alpha 0.05")
    assert any("eliminated after 3 seeds" in line for line in status["race"][1:])
    from tuning.report import render_report

    page = render_report("race", store)
    assert 'id="race"' in page and "eliminated after 3 seeds: worse than trial" in page
    assert "seeds each config got; the race drops a config" in page  # the plot's caption
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', page, re.S).group(1))  # what the plots draw
    raced = {c["params"][0]: c for c in data["configs"]}
    assert raced[1]["dropped"] and raced[1]["race_seeds"] == 3 and raced[1]["race"].startswith("eliminated after 3")
    assert not raced[8]["dropped"] and raced[8]["race"].startswith("left when the race ended")


def test_a_race_replay_of_a_study_that_raced_itself_is_refused(tmp_path):
    """Its eliminated configs have only the seeds the race gave them: replayed, the race would call
    its own cut data 'every seed' (a user read '100 % of the study's fits')."""
    from tuning.racing import Race
    from tuning.replay import replay_study

    run(race_spec(tmp_path))
    results = tuning.load_results("race", storage=str(tmp_path / "study.db"))
    with pytest.raises(ValueError, match="it raced itself: the configs it eliminated have only the seeds the race "
                                         "gave them"):
        replay_study(results, Race(3, 12, 0.05))


def test_a_config_the_race_eliminated_keeps_the_comparisons_verdict_and_its_page_says_both(tmp_path):
    """The race's sequential test dropped it, the comparison on every stored seed (3 seeds for it, 12
    for the survivors) decides could_be_best: the race promises only not to drop the true best, the
    table's flag holds its level over all configs. The verdict and its page say what the race did."""
    from tuning.trials import read_trials

    run(race_spec(tmp_path))
    results = tuning.load_results("race", storage=str(tmp_path / "study.db"))
    trials = results.trials.set_index("config_key")
    store = tuning.store.open_store(f"sqlite:///{tmp_path / 'study.db'}")
    said = {t["config_key"]: t["race"]["outcome"] for t in read_trials(store, "race")
            if t.get("race") and t["race"].get("beaten_by") is not None}
    assert said and trials["race_eliminated"].dropna().to_dict() == said
    summary = results.summary.set_index("config_key")
    comparison = results.selection.comparison
    for row, key in enumerate(results.selection.table["config_key"]):
        if comparison.comparable[row]:
            assert bool(summary.loc[key, "could_be_best"]) == bool(comparison.could_be_best[row])
    from tuning.analysis import config_names

    names = config_names(results)
    still = [key for key in said if summary.loc[key, "could_be_best"] == True]  # noqa: E712 - nullable booleans
    raced_line = [line for line in results.verdict.lines if line.startswith("of them the race eliminated")]
    assert bool(still) == bool(raced_line) and all(names[key] in raced_line[0] for key in still)
    from tuning.report import build_report
    from tuning.report._data import page_name

    build_report("race", f"sqlite:///{tmp_path / 'study.db'}", tmp_path / "report")
    for key, outcome in said.items():  # its page says what the race decided, then what the comparison says
        page = (tmp_path / "report" / "configs" / page_name(key)).read_text()
        assert f"eliminated by the study's race</strong> ({outcome.removeprefix('eliminated ')}" in page
        words = "could be the best</strong>" if key in still else "is <strong>worse</strong>"
        assert words in page.split("eliminated by the study's race")[1].split("Compare seed by seed")[0]


def test_the_configs_left_are_confirmed_on_seeds_that_took_no_part_in_the_race(tmp_path):
    outcome, runner = run(race_spec(tmp_path, repeats={"strategy": "race", "min": 3, "max": 12, "confirm": 4}))
    assert outcome.complete == 5
    seeds = {}
    for task in runner.tasks:
        seeds.setdefault(task.config["units"], set()).add(task.seed)
    confirmation = {12, 13, 14, 15}
    left = {units for units, got in seeds.items() if got & confirmation}
    assert 8 in left and 1 not in left  # the best was confirmed, the worst was dropped before
    assert all(got >= confirmation for units, got in seeds.items() if units in left)
    assert all(max(got - confirmation) < 12 for got in seeds.values())  # the race itself stops at max
    status = tuning.study_status("race", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert any("on 4 fresh seeds" in line and "winner's curse" in line for line in status["race"])


@pytest.mark.slow  # three runs of a study (a fit a transaction): ~6 s
def test_a_race_cut_short_resumes_to_the_same_decisions_without_refitting(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    run(race_spec(tmp_path / "a"))
    whole = final_table(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):  # a Ctrl-C in the second round
        run(race_spec(tmp_path / "b"), runner=NoisyRunner(stop_after=19))
    _, resumed = run(race_spec(tmp_path / "b"))
    assert final_table(tmp_path / "b") == whole
    store = tuning.store.open_store(f"sqlite:///{tmp_path / 'b' / 'study.db'}")
    assert store.count_fits("race") == len({(f.config_key, f.seed) for f in store.fits("race")})
    assert len(resumed.tasks) == store.count_fits("race") - 19  # nothing fitted before the cut is fitted again


@pytest.mark.slow  # three runs of a study (a fit a transaction): ~6 s
def test_replaying_an_exhaustive_study_gives_the_live_race(tmp_path):
    from tuning.racing import Race
    from tuning.replay import replay_study

    run(race_spec(tmp_path))
    run(race_spec(tmp_path, name="every seed", repeats=12))
    replayed = replay_study(tuning.load_results("every seed", storage=str(tmp_path / "study.db")),
                            Race(min_seeds=3, max_seeds=12))
    live = tuning.load_results("race", storage=str(tmp_path / "study.db"))
    every = tuning.load_results("every seed", storage=str(tmp_path / "study.db"))

    def by_units(results, counts):
        return counts.rename(index=results.fits.groupby("config_key")["param_units"].first()).sort_index().to_dict()

    live_seeds = by_units(live, live.fits.groupby("config_key")["seed"].nunique())
    assert live_seeds == by_units(every, replayed.table.set_index("config_key")["seeds_given"])
    assert min(live_seeds.values()) == 3 and max(live_seeds.values()) > 5  # dropped early, raced on
    assert every.fits.groupby("config_key")["param_units"].first()[replayed.picked] == 8
    assert 0.2 < replayed.fit_share < 1.0


def test_tuning_replay_prints_the_race_on_every_stored_seed(tmp_path):
    run(race_spec(tmp_path, name="every seed", repeats=12))
    done = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every seed", "--storage",
                           str(tmp_path / "study.db")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "race: 3 to 12 seeds, alpha 0.05"  # no --max-seeds: every stored seed
    assert lines[1].startswith("picked trial ") and "of the study's fits" in lines[2]
    assert len([line for line in lines if line.startswith("  trial ")]) == 5
    assert "eliminated after" in done.stdout  # its p is the race's, not the table's: said so
    assert lines[-1].startswith("p: the race's comparison at that look, among the configs still racing")
    short = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every seed", "--storage",
                            str(tmp_path / "study.db"), "--max-seeds", "5"], capture_output=True, text=True, timeout=120)
    assert short.returncode == 0 and short.stdout.startswith("race: 3 to 5 seeds")


def test_tuning_replay_with_a_pruner_prunes_on_the_stored_curves(tmp_path):
    """Ten configs with flat curves, each seed's level 1 / (1 + units), the most units first:
    after five configs have completed, the median pruner stops the later ones, all worse."""
    from tuning.replay import replay_pruner_on_study

    run(race_spec(tmp_path, name="every epoch", repeats=3, space={"units": list(range(10, 0, -1))}))
    results = tuning.load_results("every epoch", storage=str(tmp_path / "study.db"))
    replayed = replay_pruner_on_study(results, "median")
    table = replayed.table
    units = results.fits.groupby("config_key")["param_units"].first()
    pruned = table[table["outcome"].str.startswith("pruned")]
    assert len(pruned) >= 1 and (pruned["epochs_given"] < pruned["epochs_stored"]).all()
    assert (table.iloc[:5]["outcome"] != "pruned").all()  # the pruner's first five configs complete
    first_five = units[table["config_key"].iloc[:5]]
    assert all(units[key] < first_five.median() for key in pruned["config_key"])  # fewer units: worse
    assert replayed.picked == replayed.exhaustive_best and units[replayed.picked] > 5
    assert replayed.epoch_share < 1.0
    assert replay_pruner_on_study(results, "none").epoch_share == 1.0
    done = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every epoch", "--storage",
                           str(tmp_path / "study.db"), "--pruner", "median"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pruner: median on the seed mean of val_loss") and ", the study's best with every epoch too" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every epoch", "--storage",
                          str(tmp_path / "study.db"), "--pruner", "mediun"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip() == ("error: --pruner: unknown pruner 'mediun'; choose one of "
                                                          "median, percentile, successive_halving, hyperband, none")
    alone = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every epoch", "--storage",
                            str(tmp_path / "study.db"), "--pruner-settings", '{"n_startup_trials": 2}'],
                           capture_output=True, text=True, timeout=120)  # not a race with the settings unread
    assert alone.returncode == 2 and alone.stderr.strip() == ("error: --pruner-settings: settings of a pruner; name it "
                                                              "with --pruner")
    both = subprocess.run([sys.executable, "-m", "tuning.cli", "replay", "every epoch", "--storage",
                           str(tmp_path / "study.db"), "--pruner", "median", "--min-seeds", "2"],
                          capture_output=True, text=True, timeout=120)  # not a pruner with the race's settings unread
    assert both.returncode == 2 and both.stderr.strip() == (
        "error: --min-seeds: a race's setting, and --pruner replays an epoch pruner instead; replay one, then the other")


def tpe_race(tmp_path, name="tpe race", **changes):
    return race_spec(tmp_path, name=name, sampler={"name": "tpe", "seed": 3}, n_trials=10,
                     space={"units": {"low": 1, "high": 30}}, **changes)


def test_under_tpe_each_config_races_as_it_arrives_against_those_before_it(tmp_path):
    """TPE proposes from the values told so far, so configs join the race one at a time: a
    newcomer is compared at each of its looks with every config that has those seeds; it leaves
    when beaten (its trial told the aggregate of its few seeds) or with all of ``max``."""
    from tuning.store import open_store
    from tuning.trials import read_trials

    outcome, runner = run(tpe_race(tmp_path))
    assert (outcome.planned, outcome.complete) == (10, 10)
    trials = sorted((t for t in read_trials(open_store(f"sqlite:///{tmp_path / 'study.db'}"), "tpe race")
                     if t["status"] == "complete"), key=lambda t: t["number"])
    assert all(t["value"] is not None and t["race"] for t in trials)  # the sampler got a value for every trial
    assert len(trials[0]["seeds"]) == 12  # the first config has no rival: it gets every seed
    dropped = [t for t in trials if t["race"]["beaten_by"] is not None]
    survived = [t for t in trials if t["race"]["beaten_by"] is None]
    assert dropped and all(len(t["seeds"]) == t["race"]["seeds"] < 12 for t in dropped)
    assert all(len(t["seeds"]) == 12 and t["race"]["outcome"].startswith("survived the race") for t in survived)
    first = {}
    for t in trials:  # a config is named by the first trial that ran it (TPE may propose one twice)
        first.setdefault(t["config_key"], t["number"])
    # one trial at a time (jobs 1): a config can only be beaten by one that raced before it
    assert all(first[t["race"]["beaten_by"]] < first[t["config_key"]] for t in dropped)
    assert len(runner.tasks) == sum(len(t["seeds"]) for t in trials) < 10 * 12
    best = max(t["params"]["units"] for t in survived)
    assert all(t["params"]["units"] < best for t in dropped)  # the noise is small next to these gaps


def test_a_cmaes_race_tells_every_trial_a_decision(tmp_path):
    """CMA-ES (which needs the `cmaes` package the project installs) races as TPE does."""
    from tuning.store import open_store
    from tuning.trials import read_trials

    outcome, runner = run(race_spec(tmp_path, name="cma", sampler={"name": "cmaes", "seed": 1}, n_trials=5,
                                    space={"units": {"low": 1, "high": 30}}))
    trials = read_trials(open_store(f"sqlite:///{tmp_path / 'study.db'}"), "cma")
    assert outcome.complete == 5 and all(t["race"] and t["value"] is not None for t in trials)
    assert len(runner.tasks) == sum(len(t["seeds"]) for t in trials)


def test_a_tpe_race_cut_short_continues_the_interrupted_config_without_refitting(tmp_path):
    """After a Ctrl-C, the decided configs keep their decisions and the config cut short goes on
    racing from the seeds it has (TPE's later proposals differ from an uninterrupted run's, as
    in any resumed Optuna study: its sampler starts again from its seed)."""
    from tuning.store import open_store
    from tuning.trials import read_trials

    with pytest.raises(KeyboardInterrupt):
        run(tpe_race(tmp_path), runner=NoisyRunner(stop_after=30))
    store = open_store(f"sqlite:///{tmp_path / 'study.db'}")
    before = {t["config_key"]: t["race"]["outcome"] for t in read_trials(store, "tpe race") if t["status"] == "complete"}
    cut = [t["config_key"] for t in read_trials(store, "tpe race") if t["status"] == "interrupted"]
    fitted = store.count_fits("tpe race")
    assert len(cut) == 1 and fitted == 30
    _, resumed = run(tpe_race(tmp_path))
    after = {t["config_key"]: t for t in read_trials(store, "tpe race") if t["status"] == "complete"}
    assert {key: after[key]["race"]["outcome"] for key in before} == before
    assert after[cut[0]]["race"]  # the config cut short finished its race
    assert store.count_fits("tpe race") == len({(f.config_key, f.seed) for f in store.fits("tpe race")})
    assert len(resumed.tasks) == store.count_fits("tpe race") - fitted


def test_a_race_under_kerastuner_is_refused_in_one_line(tmp_path):
    with pytest.raises(SpecError, match="repeats.strategy: a race runs with backend optuna"):
        run(race_spec(tmp_path, backend="kerastuner"))


def test_a_race_on_an_aggregate_other_than_the_mean_is_refused_in_one_line(tmp_path):
    with pytest.raises(SpecError, match="objective.aggregate: a race drops configs on their mean seed scores"):
        run(race_spec(tmp_path, objective={"metric": "val_loss", "aggregate": "worst"}))


@pytest.mark.parametrize(("repeats", "expected"), [
    ({"strategy": "race", "min": 9, "max": 4}, "repeats: min (9) is more than max (4) seeds"),
    ({"strategy": "race", "min": 30}, "repeats: min (30) is more than max (20, the default) seeds: raise max"),
    ({"count": 3, "min": 2}, "repeats: only strategy race uses min"),
    ({"strategy": "race", "count": 10, "max": 6}, "repeats: count (10) and max (6) both given: a race gives a config "
                                                  "at most max seeds and reads no count; keep max"),
])
def test_a_bad_repeats_block_is_one_line_naming_the_field_with_exit_2(tmp_path, repeats, expected):
    import yaml

    path = tmp_path / "race.yaml"
    data = race_spec(tmp_path, repeats=repeats)
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run([sys.executable, "-m", "tuning.cli", "run", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and str(path) in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "study.db").exists()  # nothing was written


RACE_SPEC = """\
name: {name}
problem: {{name: tenths}}
model: {{units: 2}}
fit: {{epochs: 2, batch_size: 5}}
space:
  units: [1, 2, 4, 8]
sampler: grid
repeats: {{strategy: race, min: 3, max: 5}}
runner: sequential
keras_backend: jax
storage: sqlite:///{db}
"""


# On JAX: resuming a race is the loop's and the store's business, not the backend's, and JAX fits these
# one-seed-at-a-time models in under half TensorFlow's time (48 s against 108 s); TensorFlow's resume
# after kill -9 is tests/test_cli_resume.py's.
@pytest.mark.slow  # real Keras fits, three runs of the CLI
@pytest.mark.timeout(900)
def test_kill_9_mid_race_then_resume_reaches_the_uninterrupted_table(tmp_path):
    from helpers.cli import run_tuning, start_tuning_and_wait_for_fits, stored_fits

    for name in ("whole", "killed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "race.yaml").write_text(RACE_SPEC.format(name="race", db=tmp_path / name / "study.db"))
    done = run_tuning("run", str(tmp_path / "whole" / "race.yaml"), "--quiet", cwd=tmp_path / "whole")
    assert done.returncode == 0, done.stderr
    db = tmp_path / "killed" / "study.db"
    proc = start_tuning_and_wait_for_fits(tmp_path / "killed" / "race.yaml", db, tmp_path / "killed", 13)
    proc.kill()  # SIGKILL in the second round: its trials stay RUNNING in the store
    proc.wait()
    before = {(key, seed) for _, key, seed, _ in stored_fits(db)}
    resumed = run_tuning("resume", "race", "--storage", str(db), "--quiet", cwd=tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    after = stored_fits(db)
    assert len(after) == len({(key, seed) for _, key, seed, _ in after})  # no fit twice
    assert before <= {(key, seed) for _, key, seed, _ in after}
    assert final_table(tmp_path / "killed") == final_table(tmp_path / "whole")


# A study of fake fits in a process of its own; what it loaded of SciPy's statistics.
LOADS_SCIPY = """
import json, sys
sys.path.insert(0, sys.argv[2])
from helpers.fake_runner import FakeRunner
from tuning.search.loop import run_search
from tuning.spec import load_spec
run_search(load_spec(json.loads(sys.argv[1])), runner=FakeRunner())
print(json.dumps("scipy.stats" in sys.modules))
"""


@pytest.mark.parametrize(("repeats", "loads"), [(3, False), ({"strategy": "race", "min": 3, "max": 5}, True)])
def test_only_a_study_that_races_loads_scipy(tmp_path, repeats, loads):
    """SciPy's statistics take about a second to import in every worker process: a study whose
    seeds are fixed never needs them (its aggregate is tuning.objective's), a race does."""

    data = race_spec(tmp_path, repeats=repeats, space={"units": [1, 2]})
    done = subprocess.run([sys.executable, "-c", LOADS_SCIPY, json.dumps(data), str(Path(__file__).resolve().parent)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) is loads
