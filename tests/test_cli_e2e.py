"""End-to-end: the real ``tuning`` command in a subprocess on a finished study: status, list, report, errors.

Killing and resuming a running study is tests/test_cli_resume.py."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest
from helpers.cli import TINY_SPEC, run_tuning, stored_fits

from tuning import load_results

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # real CLI runs: the fast tier leaves them out

GRID_POINTS, SEEDS = 3, 2


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    """One tiny grid study run to the end with ``--jobs 2``, shared by the read-only tests.

    Its spec names no runner, so it ran with the default ``auto``; its stderr is kept in
    ``run.stderr`` next to the store.
    """
    folder = tmp_path_factory.mktemp("finished")
    db = folder / "store.db"
    spec = folder / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=1, db=db))
    assert "runner" not in spec.read_text()
    done = run_tuning("run", str(spec), "--quiet", "--jobs", "2", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "6 fits run, 0 reused" in done.stdout
    (folder / "run.stderr").write_text(done.stderr)
    return folder, db


def test_a_spec_without_runner_runs_auto_fused_and_says_nothing_of_it(finished_study):
    folder, db = finished_study
    assert "fused" not in (folder / "run.stderr").read_text()
    with sqlite3.connect(db) as conn:
        (spec_json,) = conn.execute("SELECT spec_json FROM tuning_studies WHERE name = 'tiny'").fetchone()
    assert json.loads(spec_json)["runner"] == "auto"
    # No dropout, so every config was fused: its two seeds share one graph and its time equally.
    fits = load_results("tiny", storage=str(db)).fits
    assert (fits["status"] == "ok").all()
    seconds = fits.groupby("config_key")["fit_seconds"].nunique()
    assert len(seconds) == GRID_POINTS and (seconds == 1).all(), fits[["config_key", "seed", "fit_seconds"]]


def test_status_list_and_load_results_after_a_parallel_run(finished_study):
    folder, db = finished_study
    status = run_tuning("status", "--storage", str(db), cwd=folder)
    assert status.returncode == 0
    assert "3 complete, 0 running, 0 failed" in status.stdout and "0 remaining of 3" in status.stdout
    assert "± " in status.stdout and "(n=2)" in status.stdout
    listing = run_tuning("list", "--storage", str(db), cwd=folder)
    assert listing.stdout.startswith("tiny\t3 complete trials\t6 fits")

    results = load_results("tiny", storage=str(db))
    assert len(results.fits) == 6 and set(results.fits["seed"]) == {0, 1}
    assert sorted(results.trials["param_units"]) == [1, 2, 3]
    assert (results.trials["n_seeds"] == 2).all() and (results.trials["status"] == "complete").all()
    row = results.trials.iloc[0]
    assert row["mean"] == pytest.approx((row["seed0_val_loss"] + row["seed1_val_loss"]) / 2)
    assert set(results.curves["curve"]) >= {"loss", "val_loss"} and results.curves["epoch"].max() == 1
    assert results.baseline["val_loss"] == pytest.approx(0.01)
    summary = results.summary
    assert len(summary) == 3 and list(summary["rank"]) == [1, 2, 3]
    assert summary["could_be_best"].iloc[0] and summary["mean"].is_monotonic_increasing
    assert summary["paired"].all() and summary["prob_best"].sum() == pytest.approx(1.0)
    # the fused runner recorded each model's size: LSTM(u) on one feature plus a linear head
    weights = dict(zip(summary["param_units"], summary["trainable_weights"], strict=True))
    assert weights == {u: 4 * (u * (1 + u) + u) + u + 1 for u in (1, 2, 3)}
    assert set(summary["diagnosis"]) <= {"underfit", "overfit", "good fit", "unstable"}
    assert set(results.marginals["param"]) == {"units"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: x\nproblem: {name: tenths}\nspace: {units: {low: 10, high: 1}}\nsampler: grid\n", "space.units"),
        ("name: x\nproblem: {name: tenths}\nfit: {epoch: 3}\n", "fit.epoch"),
        ("name: x\nproblem: {name: nope}\nsampler: grid\n", "problem.name"),
        # found only when the first model is built, after TensorFlow has started
        ("name: seq\nproblem: {name: addition, params: {n_train: 20, n_val: 10, n_test: 0}}\nsampler: grid\n",
         "model.family"),
        ("name: tiny\nproblem: {name: tenths}\nmodel: {units: 2}\nfit: {epochs: 1, batch_size: 5}\n"
         "space: {units: [7]}\nsampler: grid\n", "space"),  # an existing study with another space
    ],
)
def test_bad_spec_is_one_line_exit_2_and_store_untouched(finished_study, tmp_path, text, field):
    _, db = finished_study
    before = stored_fits(db)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text + f"storage: sqlite:///{db}\n")
    result = run_tuning("run", str(bad), "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and f"{field}:" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert stored_fits(db) == before


def test_missing_study_and_missing_store(finished_study, tmp_path):
    result = run_tuning("resume", "ghost", "--storage", str(tmp_path / "none.db"), cwd=tmp_path)
    assert result.returncode == 2 and "no such store" in result.stderr
    assert not (tmp_path / "none.db").exists()
    _, db = finished_study
    result = run_tuning("resume", "ghost", "--storage", str(db), cwd=tmp_path)
    assert result.returncode == 2 and "no study named 'ghost'" in result.stderr and "tiny" in result.stderr
    for storage in (str(db), str(tmp_path / "none.db")):  # a report of nothing writes no folder either
        result = run_tuning("report", "ghost", "--storage", storage, cwd=tmp_path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_n_trials_below_the_finished_trials_is_refused_with_the_number_that_runs_more(finished_study, tmp_path):
    db = tmp_path / "store.db"
    shutil.copy(finished_study[1], db)  # 3 finished trials
    before = db.read_bytes()
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=1, db=db))
    for args in (("resume", "tiny", "--storage", str(db)), ("run", str(spec))):
        refused = run_tuning(*args, "--n-trials", "2", cwd=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.strip() == ("error: --n-trials 2: study 'tiny' has 3 finished trials already, and "
                                          "--n-trials counts trials in all; --n-trials 4 runs one more")
    assert db.read_bytes() == before  # refused before anything was written
    same = run_tuning("resume", "tiny", "--storage", str(db), "--n-trials", "3", "--quiet", cwd=tmp_path)
    assert same.returncode == 0 and "3 complete, 0 failed of 3 planned; 0 fits run" in same.stdout, same.stderr
    assert "0 fits run, 0 reused, 6 stored in all" in same.stdout  # nothing to do says what the study holds


def test_a_report_out_that_cannot_be_a_folder_is_one_line(finished_study, tmp_path):
    _, db = finished_study
    (tmp_path / "notes.txt").write_text("mine")
    for out, said in (("notes.txt", "error: --out: notes.txt is a file; the report is a folder"),
                      ("notes.txt/sub", "error: --out: cannot make the folder notes.txt/sub: Not a directory")):
        result = run_tuning("report", "tiny", "--storage", str(db), "--out", out, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.strip().startswith(said), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "notes.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_read_only_commands_do_not_import_tensorflow_or_jax(finished_study):
    _, db = finished_study
    probe = (
        "import sys\nfrom tuning.cli import app\n"
        "for args in (['status', '--storage', sys.argv[1]], ['list', '--storage', sys.argv[1]], ['--help']):\n"
        "    try:\n        app(args)\n    except SystemExit:\n        pass\n"
        "print('HEAVY', sorted(m for m in ('tensorflow', 'jax', 'keras', 'dask', 'distributed') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(db)], capture_output=True, text=True, timeout=60)
    assert "3 complete" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr


# -- reading the results: could be best, equivalence, seeds needed ---------------------------------


def test_status_names_the_simplest_equivalent_and_the_seeds_needed_command(finished_study):
    folder, db = finished_study
    status = run_tuning("status", "tiny", "--storage", str(db), cwd=folder)
    assert status.returncode == 0, status.stderr
    out = status.stdout
    assert re.search(r"could be the best: \d of 3 configs .*paired by seed", out), out
    assert "margin: " in out and "5 % of the best's aggregate, the default" in out
    assert "simplest config equivalent to the best" in out
    assert "seeds needed: to separate trial" in out
    # 2 seeds of a 1-epoch fit are noisy: at half the best's loss the line names the command
    wide = run_tuning("status", "tiny", "--storage", str(db), "--margin", "50%", cwd=folder)
    assert "50 % of the best's aggregate" in wide.stdout
    needed = re.search(r"seeds needed: to separate trial \d+ from trial \d+ at [0-9.e-]+ with 80 % power: "
                       r"about (\d+) seeds per config \(now 2\); `tuning resume tiny --repeats (\d+) "
                       rf"--storage sqlite:///{re.escape(str(db))}` adds them", wide.stdout)
    assert needed and needed.group(1) == needed.group(2), wide.stdout
    wider = run_tuning("status", "tiny", "--storage", str(db), "--margin", "200%", cwd=folder)
    fewer = re.search(r"about (\d+) seeds per config", wider.stdout)  # a wider margin needs fewer seeds (or none more)
    assert fewer and int(fewer.group(1)) < int(needed.group(1)), wider.stdout


@pytest.mark.parametrize(("args", "line"), [
    (("run", "x.yaml", "--jobs", "0"), "error: Invalid value for '--jobs': Input should be greater than or equal to 1"),
    (("worker", "x", "--lease", "0"), "error: Invalid value for '--lease': Input should be greater than or equal to 1"),
    (("run", "x.yaml", "--jbs", "2"), "error: No such option: --jbs (Possible options: --jobs)"),
    (("run",), "error: Missing argument 'SPEC'."),
    (("nosuch",), "error: No such command 'nosuch'."),
    # the argument, not a spec field; a relative path says where it was read from
    (("init", "nofile.csv"), "error: nofile.csv: file not found (a relative path is read from {cwd})"),
])
def test_a_command_line_mistake_is_one_line_exit_2(tmp_path, args, line):
    result = run_tuning(*args, cwd=tmp_path)
    assert (result.returncode, result.stderr, result.stdout) == (2, line.format(cwd=tmp_path) + "\n", "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["status", "report"])
def test_a_bad_margin_is_one_line_exit_2(finished_study, tmp_path, command):
    folder, db = finished_study
    before = stored_fits(db)
    result = run_tuning(command, *(["tiny"] if command == "report" else []), "--storage", str(db),
                        "--margin", "lots", "--out" if command == "report" else "--top",
                        str(tmp_path) if command == "report" else "3", cwd=folder)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --margin: must be a positive number"), result.stderr
    assert stored_fits(db) == before


def test_margin_is_not_the_study_identity_and_resume_tops_up_seeds(finished_study, tmp_path):
    _, finished_db = finished_study
    db = tmp_path / "store.db"
    shutil.copy(finished_db, db)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC.format(name="tiny", epochs=1, db=db) + "objective: {margin: 0.5}\n")
    again = run_tuning("run", str(spec), "--quiet", cwd=tmp_path)  # another margin: the same study
    assert again.returncode == 0, again.stderr
    assert "0 fits run" in again.stdout
    status = run_tuning("status", "tiny", "--storage", str(db), cwd=tmp_path)
    assert "margin: 0.5 (in the metric's units)" in status.stdout, status.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY_SPEC.format(name="tiny", epochs=1, db=db) + "objective: {margin: '-2%'}\n")
    refused = run_tuning("run", str(bad), "--quiet", cwd=tmp_path)
    assert refused.returncode == 2 and f"{bad}: objective.margin: must be" in refused.stderr

    more = run_tuning("resume", "tiny", "--repeats", "3", "--storage", str(db), "--quiet", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "3 fits run, 6 reused" in more.stdout  # every finished config got its third seed
    assert len(stored_fits(db)) == 9
    after = run_tuning("status", "tiny", "--storage", str(db), cwd=tmp_path)
    assert "(n=3)" in after.stdout and re.search(r"\(now 3\)|the 3 run", after.stdout), after.stdout


def test_the_quickstart_shows_what_the_tool_is_for(tmp_path):
    """The README's first command, as a new user runs it: the study's best config beats the naive
    baseline, some config is shown worse than the best, and the seeds-needed line asks for at most
    20 seeds or says the seeds run are enough to settle it (the old quickstart's first words were that every
    config was worse than doing nothing, then 'about 836 seeds per config')."""
    from pathlib import Path

    spec = Path(__file__).resolve().parents[1] / "studies" / "quickstart.yaml"
    db = tmp_path / "quick.db"
    done = run_tuning("run", str(spec), "--quiet", "--storage", str(db), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    status = run_tuning("status", "quickstart", "--storage", str(db), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "warning" not in status.stdout, status.stdout
    summary = load_results("quickstart", storage=str(db)).summary
    assert summary.at[0, "skill_vs_baseline"] > 0, summary
    assert (~summary["could_be_best"].astype(bool)).sum() >= 1, summary
    (seeds_line,) = [line for line in status.stdout.splitlines() if "seeds needed" in line]
    asked = re.search(r"about (\d+) seeds per config \(now", seeds_line)
    assert "none more" in seeds_line or "and did not" in seeds_line or (asked and int(asked.group(1)) <= 20), seeds_line
