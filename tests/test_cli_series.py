"""End-to-end: your own series through the real ``tuning`` command: bad data refused in one line,
``tuning init`` then ``tuning run``, the extrapolation warning, a spec file for ``status``/``report``/
``resume``, and a CSV edited after the study started."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import run_tuning, tuning_command

pytestmark = pytest.mark.e2e

BAD_SPEC = """\
name: bad
problem: {{name: csv, params: {{path: {csv}, time_column: t, look_back: 2{extra}}}}}
model: {{units: 2}}
fit: {{epochs: 1}}
space: {{units: [1]}}
sampler: grid
repeats: 1
storage: sqlite:///store.db
"""

_ROWS = "".join(f"{i},{10 + i}\n" for i in range(3, 20))
#: name -> (CSV text, extra problem params, what the one line must say)
BAD_DATA = {
    "inf": (f"t,value\n1,1\n2,inf\n{_ROWS}", "", "column 'value' has 1 infinite value(s), the first inf in data row 2"),
    "minus_inf": (f"t,value\n1,1\n2,2\n3,-inf\n{_ROWS[5:]}", "", "the first -inf in data row 3"),
    "empty": ("", "", "file is empty"),
    "header_only": ("t,value\n", "", "file has a header but no rows"),
    "missing_time": (f"t,value\n1,1\n,2\n{_ROWS}", "", "column 't' (time_column) has no value in data row 2"),
    "unparseable_time": ("t,value\n2000-01,1\n2000-02,2\nlast March,3\n" + "".join(
        f"2001-{m:02d},{m}\n" for m in range(1, 13)), "",
        "column 't' (time_column) has 'last March' in data row 3, which is neither a number nor a date"),
    "duplicate_time": ("t,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 13)) + "2000-05,99\n", "",
                       "column 't' (time_column) has '2000-05' twice, in data rows 5 and 13; one row per time step"),
    "unknown_target": (f"t,value\n{_ROWS}", ", target: price", "column 'price' not found; columns are 't', 'value'"),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """``tuning run`` on every bad CSV at once (each fails before TensorFlow loads)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = {}
    for name, (text, extra, _) in BAD_DATA.items():
        folder = tmp_path_factory.mktemp(name)
        (folder / f"{name}.csv").write_text(text)
        (folder / "spec.yaml").write_text(BAD_SPEC.format(csv=f"{name}.csv", extra=extra))
        started[name] = folder, subprocess.Popen([*tuning_command(), "run", "spec.yaml", "--quiet"], cwd=folder,
                                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for name, (folder, proc) in started.items():
        out, err = proc.communicate(timeout=120)
        done[name] = folder, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_is_one_line_and_exit_2(bad_runs, case):
    folder, run = bad_runs[case]
    expected = BAD_DATA[case][2]
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert lines[0].startswith(f"error: {case}.csv: ") and expected in lines[0], lines[0]
    assert not (folder / "store.db").exists()  # refused before the study was created: the store is untouched


# --- studies on a trending series ------------------------------------------------------------
STUDY = """\
name: {name}
problem:
  name: csv
  params: {{path: trend.csv, time_column: month, look_back: 6{extra}}}
model: {{units: 2}}
space: {{units: [2]}}
sampler: grid
repeats: 2
objective: {{metric: val_mae}}
fit: {{epochs: 1, batch_size: 32}}
storage: sqlite:///series.db
"""


def _trend_csv(path: Path, bump: float = 0.0) -> None:
    t = np.arange(120)
    values = 50 + 0.8 * t + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).standard_normal(120)
    values[-1] += bump
    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in t]
    path.write_text("month,value\n" + "".join(f"{m},{v:.4f}\n" for m, v in zip(months, values, strict=True)))


@pytest.fixture(scope="module")
def trend_studies(tmp_path_factory) -> dict:
    """Two one-epoch studies on one trending series, levels and changes, and what status/report say."""
    folder = tmp_path_factory.mktemp("trend")
    _trend_csv(folder / "trend.csv")
    (folder / "levels.yaml").write_text(STUDY.format(name="levels", extra=""))
    (folder / "changes.yaml").write_text(STUDY.format(name="changes", extra=", difference: 1"))
    out = {"folder": folder}
    for name in ("levels", "changes"):
        out[f"run_{name}"] = run_tuning("run", f"{name}.yaml", "--quiet", cwd=folder)
        out[f"status_{name}"] = run_tuning("status", f"{name}.yaml", cwd=folder)
    out["report"] = run_tuning("report", "levels.yaml", cwd=folder)
    return out


@pytest.mark.slow
def test_run_prints_the_commands_that_find_the_study(trend_studies):
    run = trend_studies["run_levels"]
    assert run.returncode == 0, run.stderr
    commands = re.findall(r"`(tuning [a-z]+ [^`]+)`", run.stdout.splitlines()[-1])
    assert commands == ["tuning status levels --storage sqlite:///series.db",
                        "tuning report levels --storage sqlite:///series.db"]
    status = run_tuning(*shlex.split(commands[0])[1:], cwd=trend_studies["folder"])
    assert status.returncode == 0 and status.stdout == trend_studies["status_levels"].stdout


@pytest.mark.slow
def test_status_of_a_spec_file_warns_about_extrapolation_and_names_the_baseline(trend_studies):
    status = trend_studies["status_levels"]
    assert status.returncode == 0, status.stderr
    assert "study levels  (sqlite:///series.db)" in status.stdout  # the spec's store, no --storage needed
    assert re.search(r"naive baseline \((persistence|seasonal naive \(12\)|training mean)\) ", status.stdout)
    assert re.search(r"warning: val targets reach \d\.\d\d of the training range: the model must extrapolate; "
                     r"try `difference: 1`", status.stdout), status.stdout
    changes = trend_studies["status_changes"]
    assert changes.returncode == 0, changes.stderr
    assert "study changes" in changes.stdout and "must extrapolate" not in changes.stdout
    assert "data transforms: difference 1 (fitted on the training rows)" in changes.stdout


@pytest.mark.slow
def test_report_of_a_spec_file_names_the_baseline_and_warns(trend_studies):
    report = trend_studies["report"]
    assert report.returncode == 0, report.stderr
    html = (trend_studies["folder"] / "reports" / "levels" / "index.html").read_text()
    assert 'id="warnings"' in html and "the model must extrapolate" in html
    assert "Compared with <strong>" in html and "the strongest naive baseline on val_mae" in html
    assert "<th>baseline</th>" in html


@pytest.mark.slow
def test_an_edited_csv_is_refused_on_resume_in_one_line(trend_studies):
    folder = trend_studies["folder"]
    original = (folder / "trend.csv").read_text()
    _trend_csv(folder / "trend.csv", bump=7.0)  # one value of the test split changed
    try:
        for command in (("resume", "levels.yaml"), ("run", "levels.yaml")):
            refused = run_tuning(*command, "--quiet", cwd=folder)
            assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and "already exists in sqlite:///series.db with other data" in lines[0], lines
    finally:  # the module's other tests read the series as the studies saw it
        (folder / "trend.csv").write_text(original)


@pytest.mark.slow
def test_init_example_then_run_as_written(tmp_path):
    made = run_tuning("init", "example", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    spec = tmp_path / "example.yaml"
    assert "wrote example.yaml" in made.stdout
    text = spec.read_text()
    assert "path: example" in text and "\n    difference: 1 " in text and "repeats: 5" in text  # set, not a comment
    again = run_tuning("init", "example", cwd=tmp_path)
    assert again.returncode == 2 and "exists; pass --force" in again.stderr
    # The spec as written, but 1 epoch and 2 seeds instead of 50 and 5 so that the test is quick.
    spec.write_text(text.replace("epochs: 50", "epochs: 1"))
    run = run_tuning("run", "example.yaml", "--repeats", "2", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "4 complete, 0 failed of 4 planned" in run.stdout
    status = run_tuning("status", "example.yaml", cwd=tmp_path)
    assert status.returncode == 0 and "8 fits stored" in status.stdout, status.stderr
