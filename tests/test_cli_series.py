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
from helpers.cli import run_tuning, tuning_command

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
    # a field more than the header, and not an empty one at the end of every row: refused, not shifted
    "extra_field": ("t,value\n" + "".join(f"{i},{i},x\n" for i in range(20)), "",
                    "data rows have up to 3 fields but the header names 2 ('t', 'value'): a column without a name, or the "
                    "separator inside a value"),
    "semicolons": ("t;value\n" + "".join(f"{i};{i},5\n" for i in range(20)), "",
                   "one column, 't;value': its fields seem separated by ';', and tuning reads comma-separated files"),
    "tabs": ("t\tvalue\n" + "".join(f"{i}\t{i}.5\n" for i in range(20)), "",
             "one column, 't\\tvalue': its fields seem separated by tabs"),
    "not_csv": ("name: bad\nmodel: {units: 2}\nspace:\n  units: [1, 2, 3, 4]\n", "",
                "not a readable CSV file (Error tokenizing data. C error: Expected 1 fields in line 4, saw 4)"),
    "header_only": ("t,value\n", "", "file has a header but no rows"),
    "missing_time": (f"t,value\n1,1\n,2\n{_ROWS}", "", "column 't' (time_column) has no value in data row 2"),
    "unparseable_time": ("t,value\n2000-01,1\n2000-02,2\nlast March,3\n" + "".join(
        f"2001-{m:02d},{m}\n" for m in range(1, 13)), "",
        "column 't' (time_column) has 'last March' in data row 3 (line 4 of the file), which is neither a number "
        "nor a date"),
    "duplicate_time": ("t,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 13)) + "2000-05,99\n", "",
                       "column 't' (time_column) has '2000-05' twice, in data rows 5 and 13 (lines 6 and 14 of the file); "
                       "one row per time step"),
    "unknown_target": (f"t,value\n{_ROWS}", ", target: price", "column 'price' (target) not found; columns are 't', 'value'"),
    # The only value column, numbers but for one text cell; a blank line makes data row and line differ.
    "text_value": (f"t,value\n1,1\n2,2\n\n3,n.a.\n{_ROWS[5:]}", "",
                   "column 'value' has a non-numeric value 'n.a.' in data row 3 (line 5 of the file); "
                   "only numbers can be forecast"),
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
def test_an_exported_csv_model_says_it_works_in_model_space_and_the_docs_recipe_gives_series_units(
        trend_studies, monkeypatch):
    """docs/series.md's recipe, as printed, on the differenced study's exported model: its forecasts
    in the series' units give the stored val_mae, and the truth it maps back is the CSV's own values."""
    import pandas as pd

    import tuning

    folder = trend_studies["folder"]
    done = run_tuning("export", "changes.yaml", "--out", "changes.keras", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "as stored" in done.stdout and done.stdout.strip().splitlines()[-1].startswith(
        "note: it reads windows of the series scaled (and transformed) as the study prepared them")
    docs = (Path(__file__).resolve().parents[1] / "docs" / "series.md").read_text()
    recipe = docs.split("## Using an exported model", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    recipe = recipe.replace('"levels"', '"changes"').replace("levels.keras", "changes.keras")
    monkeypatch.chdir(folder)
    scope: dict = {}
    exec(recipe, scope)  # noqa: S102 - the documented code, run as a user would
    stored = tuning.load_results("changes", "sqlite:///series.db").fits
    seed_scores = stored[stored["config_key"] == stored["config_key"].iloc[0]]["val_mae"].tolist()
    mae = float(np.mean(np.abs(scope["forecast"] - scope["truth"])))
    assert any(mae == pytest.approx(v, rel=1e-4) for v in seed_scores), (mae, seed_scores)
    values = pd.read_csv(folder / "trend.csv")["value"].to_numpy()
    assert (np.abs(scope["truth"][:, :1] - values[None, :]).min(axis=1) < 1e-3).all()  # float32 round trips


@pytest.mark.slow
def test_an_edited_csv_is_refused_on_resume_and_export_in_one_line(trend_studies):
    folder = trend_studies["folder"]
    original = (folder / "trend.csv").read_text()
    _trend_csv(folder / "trend.csv", bump=7.0)  # one value of the test split changed
    try:
        for command in (("resume", "levels.yaml"), ("run", "levels.yaml")):
            refused = run_tuning(*command, "--quiet", cwd=folder)
            assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and "already exists in sqlite:///series.db with other data" in lines[0], lines
        # a refit on the edited data would not be the stored model: export refuses too, writing nothing
        refused = run_tuning("export", "levels.yaml", "--out", "levels.keras", cwd=folder)
        assert refused.returncode == 2, (refused.stdout, refused.stderr)
        assert refused.stderr.strip().startswith("error: trend.csv: problem: study 'levels' was fitted on other data")
        assert "\n" not in refused.stderr.strip() and not (folder / "levels.keras").exists()
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


# --- tuning init on dated series ---------------------------------------------------------------
def _weekly_csv(path: Path, weeks: int = 420, missing: int = 0, amplitude: float = 5.0) -> np.ndarray:
    """Weekly CO2-like levels: an annual cycle (52.18 weeks) plus noise and a slight rise, dated
    Sundays; ``missing`` weeks dropped at random (first and last kept). Returns the values."""
    rng = np.random.default_rng(0)
    import pandas as pd

    dates = pd.date_range("2000-01-02", periods=weeks + missing, freq="W-SUN")
    if missing:
        kept = np.sort(rng.choice(np.arange(1, weeks + missing - 1), weeks - 2, replace=False))
        dates = dates[np.r_[0, kept, weeks + missing - 1]]
    days = (dates - dates[0]).days.to_numpy()
    values = 300 + 0.03 * days / 7 + amplitude * np.sin(2 * np.pi * days / 365.25) + 0.35 * rng.standard_normal(weeks)
    path.write_text("date,co2\n" + "".join(f"{d:%Y-%m-%d},{v:.3f}\n" for d, v in zip(dates, values, strict=True)))
    return values


def _init(folder: Path, csv: str) -> tuple[subprocess.CompletedProcess, dict, str]:
    """``tuning init CSV`` run for real: the process, the spec it wrote (parsed) and the comment on its season."""
    import yaml

    made = run_tuning("init", csv, cwd=folder)
    assert made.returncode == 0, made.stderr
    text = (folder / f"{Path(csv).stem}.yaml").read_text()
    comment = next(line for line in text.splitlines() if line.strip().startswith("# season:"))
    return made, yaml.safe_load(text), comment


@pytest.mark.parametrize("missing", [0, 20], ids=["every_week", "20_weeks_missing"])
def test_init_takes_the_calendar_season_of_weekly_dates(tmp_path, monkeypatch, missing):
    """The user's CO2 case: the changes' autocorrelation is within 90 % of the strongest at a lag of
    2 or 3 weeks too, so the autocorrelation rule alone picks a few weeks; the calendar picks a year."""
    from tuning.problems._starter import season_of
    from tuning.spec import load_spec

    values = _weekly_csv(tmp_path / "co2.csv", missing=missing)
    assert season_of(values) <= 3  # what `tuning init` chose before it read the dates
    _, spec, comment = _init(tmp_path, "co2.csv")
    params = spec["problem"]["params"]
    assert params["look_back"] == 52 and params["season"] == 52 and params["time_column"] == "date"
    dated = "weekly dates" + (f", {missing} missing" if missing else "")
    assert re.fullmatch(rf"    # season: 52: the calendar \({dated}\), autocorrelation of the changes 0\.\d\d "
                        r"at lag \d+", comment), comment
    lag = int(comment.rsplit(" ", 1)[1])
    assert (51 if not missing else 48) <= lag <= 53  # 20 of 440 weeks missing: a year is ~50 rows
    # What `tuning run` reads before TensorFlow: the spec and the problem's data, as written.
    from tuning.problems import load_problem

    loaded = load_spec(tmp_path / "co2.yaml")
    monkeypatch.chdir(tmp_path)  # the spec's path is relative to where tuning runs
    problem = load_problem(loaded.problem.name, loaded.problem.params)
    assert problem.x_train.shape[1] == 52 and "seasonal naive (52)" in {b.name for b in problem.baselines}


def test_init_says_when_the_calendar_season_is_not_confirmed(tmp_path):
    """Weekly dates without an annual cycle: the calendar's 52 is named and refused, with its number."""
    _weekly_csv(tmp_path / "flat.csv", amplitude=0.0)
    _, spec, comment = _init(tmp_path, "flat.csv")
    assert "season" not in spec["problem"]["params"]
    assert re.fullmatch(r"    # season: none: no clear season; the calendar's 52 \(weekly dates\) is not confirmed: "
                        r"autocorrelation of the changes -?0\.\d\d at lag 5[123], not above 0\.3", comment), comment


def test_init_monthly_dates_take_12_from_the_calendar(tmp_path):
    _, spec, comment = _init(tmp_path, "example")
    assert spec["problem"]["params"]["season"] == 12 and spec["problem"]["params"]["look_back"] == 12
    assert comment.startswith("    # season: 12: the calendar (monthly dates), autocorrelation of the changes"), comment


@pytest.mark.parametrize("written", ["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d"])
def test_init_reads_monthly_dates_day_first_month_first_or_iso_alike(tmp_path, written):
    """'01/02/2015' is the 1st of February day-first: read month-first (pandas' guess from the first
    cell) a monthly series became twelve January days a year and init chose a season of 7."""
    import pandas as pd

    dates = pd.date_range("2015-01-01", periods=96, freq="MS")
    months = np.arange(96)
    values = 10 + 3 * np.sin(2 * np.pi * months / 12) + 0.05 * months + 0.2 * np.random.default_rng(1).standard_normal(96)
    (tmp_path / "monthly.csv").write_text("month,sales\n" + "".join(
        f"{d.strftime(written)},{v:.3f}\n" for d, v in zip(dates, values, strict=True)))
    _, spec, comment = _init(tmp_path, "monthly.csv")
    assert spec["problem"]["params"]["season"] == 12, comment
    assert comment.startswith("    # season: 12: the calendar (monthly dates), autocorrelation"), comment


def test_day_first_daily_dates_are_read_not_refused(tmp_path):
    """'13/01/2020' is a date, day-first: it was refused as 'neither a number nor a date'."""
    import pandas as pd

    from tuning.problems._csv_read import read_series

    dates = pd.date_range("2020-01-01", periods=60)
    (tmp_path / "daily.csv").write_text("day,visits\n" + "".join(
        f"{d:%d/%m/%Y},{i % 7 + 0.5 * i}\n" for i, d in enumerate(dates)))
    read = read_series(str(tmp_path / "daily.csv"))
    assert list(read.dates) == list(dates) and read.values[13] == 13 % 7 + 6.5


@pytest.mark.slow
def test_init_weekly_then_run_as_written(tmp_path):
    _weekly_csv(tmp_path / "co2.csv")
    _init(tmp_path, "co2.csv")
    spec = tmp_path / "co2.yaml"
    spec.write_text(spec.read_text().replace("epochs: 50", "epochs: 1"))
    run = run_tuning("run", "co2.yaml", "--repeats", "1", "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "4 complete, 0 failed of 4 planned" in run.stdout


#: name -> (CSV text, what the one line of `tuning init` must say)
BAD_INIT = {
    # The only value column is numbers but for one text cell: name it (was "no numeric columns").
    "text_cell": ("date,sales\n" + "".join(f"2020-01-{d:02d},{10 + d}\n" for d in range(1, 8)) + "2020-01-08,twelve\n"
                  + "".join(f"2020-01-{d:02d},{10 + d}\n" for d in range(9, 20)),
                  "text_cell.csv: column 'sales' has a non-numeric value 'twelve' in data row 8 (line 9 of the file); "
                  "only numbers can be forecast"),
    # Rows out of time order: the row named is the file's, not the sorted position.
    "text_cell_unsorted": ("date,sales\n2020-01-03,3\n2020-01-01,1\n\n2020-01-02,oops\n2020-01-04,4\n",
                           "column 'sales' has a non-numeric value 'oops' in data row 3 (line 5 of the file)"),
    "all_text": ("date,sales\n2020-01-01,a\n2020-01-02,b\n2020-01-03,c\n",
                 "all_text.csv: no numeric columns to forecast; columns are 'date', 'sales'"),
    # A second column, an input by default, with one text cell: init wrote a spec that run refused.
    "input_text_cell": ("date,sales,promo\n" + "".join(f"2021-{m:02d}-{d:02d},{10 + d % 7},{d % 3}\n"
                                                         for m in range(1, 4) for d in range(1, 29)).replace(
                            "2021-02-05,15,2", "2021-02-05,15,high"),
                        "column 'promo' has a non-numeric value 'high' in data row 33 (line 34 of the file); only "
                        "numbers can be forecast: correct or remove that row (the starter spec reads every numeric "
                        "column as an input"),
}


@pytest.mark.parametrize("case", list(BAD_INIT))
def test_init_names_the_text_cell_of_the_value_column(tmp_path, case):
    text, expected = BAD_INIT[case]
    (tmp_path / f"{case}.csv").write_text(text)
    made = run_tuning("init", f"{case}.csv", cwd=tmp_path)
    assert made.returncode == 2, (made.stdout, made.stderr)
    lines = made.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in made.stderr, made.stderr
    assert lines[0].startswith(f"error: {case}.csv: ") and expected in lines[0], lines[0]
    assert not (tmp_path / f"{case}.yaml").exists()
