"""Series transforms (difference, seasonal difference, log, Box-Cox), the named naive baselines,
and the data warnings: each checked against values computed by hand from the CSV's own rows."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from tuning.analysis.tables import baseline_name, data_warnings
from tuning.errors import DataError, SpecError
from tuning.problems import load_problem, starter_spec

N_ROWS = 240
SEASON = 12


def _series(trend: float = 0.5, amplitude: float = 10.0, noise: float = 1.0, level: float = 100.0) -> np.ndarray:
    """A positive monthly series: level + trend * t + a yearly sine + noise (fixed seed)."""
    t = np.arange(N_ROWS)
    rng = np.random.default_rng(0)
    return level + trend * t + amplitude * np.sin(2 * np.pi * t / SEASON) + noise * rng.standard_normal(N_ROWS)


def _write(path, values: np.ndarray, extra: dict | None = None) -> str:
    frame = pd.DataFrame({"month": pd.date_range("2000-01-01", periods=len(values), freq="MS").strftime("%Y-%m"),
                          "value": values, **(extra or {})})
    frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def trending_csv(tmp_path_factory) -> tuple[str, np.ndarray]:
    values = _series()
    return _write(tmp_path_factory.mktemp("series") / "trend.csv", values), values


def _split_targets(values: np.ndarray, problem, split: str) -> np.ndarray:
    """The original values each window of ``split`` forecasts, from the rows by hand."""
    p = problem.params
    n = len(values)
    train_end = int(round(n * p["train_fraction"]))
    val_end = int(round(n * (p["train_fraction"] + p["val_fraction"])))
    memory = p["difference"] + p["seasonal_difference"]
    start, end = {"train": (memory, train_end), "val": (train_end, val_end), "test": (val_end, n)}[split]
    window = p["look_back"] + p["horizon"]
    firsts = np.arange(start, end - window + 1) + p["look_back"]
    return values[firsts[:, None] + np.arange(p["horizon"])[None, :]]


TRANSFORMS = [
    {},
    {"difference": 1},
    {"difference": 2},
    {"seasonal_difference": SEASON},
    {"transform": "log"},
    {"transform": "boxcox"},
    {"transform": "log", "difference": 1, "seasonal_difference": SEASON},
    {"transform": "boxcox", "difference": 1, "horizon": 3},
    {"seasonal_difference": SEASON, "horizon": 14, "look_back": 5, "scaling": "standard"},
]


@pytest.mark.parametrize("transforms", TRANSFORMS, ids=lambda t: ",".join(f"{k}={v}" for k, v in t.items()) or "none")
def test_every_transform_round_trips_on_every_split(trending_csv, transforms):
    path, values = trending_csv
    problem = load_problem("csv", {"path": path, "look_back": 12, **transforms})
    for split in ("train", "val", "test"):
        y = getattr(problem, f"y_{split}")
        restored = problem.inverse(y, problem.history[split]) if problem.history else problem.inverse(y)
        np.testing.assert_allclose(restored, _split_targets(values, problem, split), rtol=2e-5, err_msg=split)
    # A perfect forecast scores 0 in original units on every split, a Problem sent to a worker too.
    restored = pickle.loads(pickle.dumps(problem))
    for split in ("val", "test"):
        y = getattr(restored, f"y_{split}")
        assert restored.score(y, y.copy())["mae"] == pytest.approx(0, abs=1e-9)


def test_scores_are_in_original_units_through_the_transforms(trending_csv):
    path, values = trending_csv
    problem = load_problem("csv", {"path": path, "look_back": 12, "horizon": 2, "transform": "log",
                                   "difference": 1, "seasonal_difference": SEASON})
    truth = _split_targets(values, problem, "val")
    for error in (0.5, -3.0):  # a forecast off by `error` of the series' own units, at every step
        off = problem.inverse.to_model(truth + error, problem.history["val"])
        scores = problem.score(problem.y_val, off)
        assert scores["mae"] == pytest.approx(abs(error), rel=1e-4)
        assert scores["rmse"] == pytest.approx(abs(error), rel=1e-4)


def test_the_validation_tail_of_the_training_split_is_scored_with_its_own_history(trending_csv):
    # fit.validation.source: split scores y_train[cut:]: its windows' history, not the val split's.
    path, values = trending_csv
    problem = load_problem("csv", {"path": path, "look_back": 12, "difference": 1})
    truth = _split_targets(values, problem, "train")
    cut = len(problem.y_train) - 20
    tail = problem.y_train[cut:]
    off = problem.inverse.to_model(truth[cut:] + 2.0, problem.history["train"][cut:])
    assert problem.score(tail, off)["mae"] == pytest.approx(2.0, rel=1e-4)
    assert problem.score(tail.copy(), off)["mae"] == pytest.approx(2.0, rel=1e-4)  # a copy, found by its values
    with pytest.raises(DataError, match="not rows of its train, val or test split"):
        problem.score(tail[::2], off[::2])


def test_windows_stay_inside_their_split_and_differencing_consumes_training_rows(trending_csv):
    path, values = trending_csv
    plain = load_problem("csv", {"path": path, "look_back": 12, "scaling": "none"})
    once = load_problem("csv", {"path": path, "look_back": 12, "scaling": "none", "difference": 1})
    # 168 train rows, 36 val, 36 test; only the training split gives up its first row.
    assert len(once.x_train) == len(plain.x_train) - 1
    assert (len(once.x_val), len(once.x_test)) == (len(plain.x_val), len(plain.x_test)) == (24, 24)
    changes = np.diff(values)
    assert once.x_val[0, 0, 0] == pytest.approx(changes[168 - 1])  # value[168] - value[167]: val's first row
    assert once.y_train[-1, 0] == pytest.approx(changes[168 - 2])  # the last training target is row 167
    assert once.y_val[-1, 0] == pytest.approx(changes[204 - 2])    # ... and the last val target row 203


def test_the_fingerprint_sees_a_level_shift_that_differences_hide(tmp_path):
    values = np.round(_series(), 2)
    first = load_problem("csv", {"path": _write(tmp_path / "a.csv", values), "difference": 1})
    shifted = load_problem("csv", {"path": _write(tmp_path / "b.csv", values + 1000), "difference": 1})
    for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, key), getattr(shifted, key))  # the same changes ...
    assert first.fingerprint() != shifted.fingerprint()  # ... of another series: its fits are not these


def test_transforms_are_fitted_on_the_training_rows_only(tmp_path):
    values = _series()
    first = load_problem("csv", {"path": _write(tmp_path / "a.csv", values), "transform": "boxcox"})
    later = values.copy()
    later[200:] *= 3  # only validation and test rows change
    second = load_problem("csv", {"path": _write(tmp_path / "b.csv", later), "transform": "boxcox"})
    assert first.inverse.transform.lambdas == second.inverse.transform.lambdas
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert "boxcox (lambda" in first.transforms and "training rows" in first.transforms


@pytest.mark.parametrize("transform", ["log", "boxcox"])
def test_power_transforms_refuse_non_positive_values_naming_the_row(tmp_path, transform):
    values = _series()
    values[30] = 0.0
    with pytest.raises(DataError, match=rf"column 'value' has the value 0 in data row 31 \(line 32 of the file\): transform: {transform} "
                                        "needs values > 0"):
        load_problem("csv", {"path": _write(tmp_path / "zero.csv", values), "transform": transform})


@pytest.mark.parametrize(("params", "field"), [({"difference": 3}, "difference"),
                                               ({"seasonal_difference": 1}, "seasonal_difference"),
                                               ({"transform": "sqrt"}, "transform"),
                                               ({"season": 1}, "season")])
def test_transform_settings_are_checked_with_the_field_named(trending_csv, params, field):
    with pytest.raises(SpecError) as caught:
        load_problem("csv", {"path": trending_csv[0], **params})
    assert caught.value.field == f"problem.params.{field}"


def test_transforms_do_not_change_the_baselines(trending_csv):
    path, _ = trending_csv
    scores = [load_problem("csv", {"path": path, "look_back": 12, "season": SEASON, **t}).baseline_scores()
              for t in TRANSFORMS[:7]]
    for other in scores[1:]:
        assert other.keys() == scores[0].keys()
        for name in scores[0]:
            for key in ("val_mae", "val_mse", "test_mae", "test_rmse"):
                assert other[name][key] == pytest.approx(scores[0][name][key], rel=1e-5), (name, key)


def test_seasonal_naive_on_a_seasonal_series_is_the_strongest(tmp_path):
    values = _series(trend=0.0, amplitude=10.0, noise=0.1)  # a season of 12 and a little noise
    problem = load_problem("csv", {"path": _write(tmp_path / "season.csv", values), "look_back": 6,
                                   "horizon": 2, "seasonal_difference": SEASON})
    every = problem.baseline_scores()
    assert list(every) == ["persistence", "seasonal naive (12)", "training mean"]
    # by hand: the value 12 rows before each target
    truth = _split_targets(values, problem, "val")
    starts = np.arange(int(round(N_ROWS * 0.7)), int(round(N_ROWS * 0.85)) - 8 + 1) + 6
    by_hand = values[starts[:, None] + np.arange(2)[None, :] - SEASON]
    assert every["seasonal naive (12)"]["val_mae"] == pytest.approx(np.mean(np.abs(by_hand - truth)), rel=1e-5)
    strongest = problem.baseline("val_mae")
    assert strongest["name"] == "seasonal naive (12)"
    assert strongest["val_mae"] == every["seasonal naive (12)"]["val_mae"]
    assert strongest["val_mae"] < 0.2 * every["persistence"]["val_mae"]
    # the strongest follows the objective: the same baselines, ranked on the test split's MSE
    assert problem.baseline("test_mse")["name"] == "seasonal naive (12)"


def test_the_training_mean_wins_on_white_noise(tmp_path):
    values = 50 + np.random.default_rng(1).standard_normal(N_ROWS)
    problem = load_problem("csv", {"path": _write(tmp_path / "noise.csv", values), "look_back": 4})
    strongest = problem.baseline("val_mse")
    assert strongest["name"] == "training mean"
    assert strongest["val_mse"] == pytest.approx(strongest["baselines"]["training mean"]["val_mse"])
    assert strongest["val_mse"] < strongest["baselines"]["persistence"]["val_mse"]


def _results(problem, metric: str = "val_mae", mean: float | None = None) -> SimpleNamespace:
    """What data_warnings reads of a study: the stored baseline record, the spec, the summary."""
    stored = {**problem.baseline(metric), "data": problem.facts()}
    spec = {"problem": {"name": problem.name, "params": problem.params}}
    table = pd.DataFrame({"mean": [mean if mean is not None else 0.5 * stored[metric]]})
    return SimpleNamespace(baseline=stored, spec=spec, metric=metric, direction="minimize"), table


def test_extrapolation_warning_on_a_trend_and_none_after_differencing(trending_csv):
    path, _ = trending_csv
    trending = load_problem("csv", {"path": path, "look_back": 12})
    results, table = _results(trending)
    lines = data_warnings(results, table)
    assert trending.facts()["reach"]["val"][1] > 1.2
    assert any(line.startswith("val targets reach ") and "the model must extrapolate; try `difference: 1`" in line
               for line in lines), lines
    differenced = load_problem("csv", {"path": path, "look_back": 12, "difference": 1})
    results, table = _results(differenced)
    assert data_warnings(results, table) == []
    assert results.baseline["data"]["transforms"] == "difference 1 (fitted on the training rows)"


def test_warning_when_every_config_loses_to_the_baseline(trending_csv):
    problem = load_problem("csv", {"path": trending_csv[0], "look_back": 12, "difference": 1})
    results, _ = _results(problem)
    worse = pd.DataFrame({"mean": [1.5 * results.baseline["val_mae"], 2 * results.baseline["val_mae"]]})
    (line,) = data_warnings(results, worse)
    assert line.startswith("every config is worse than the naive baseline (persistence, val_mae ")
    assert "skill -0.50" in line
    better = pd.DataFrame({"mean": [0.9 * results.baseline["val_mae"], 2 * results.baseline["val_mae"]]})
    assert data_warnings(results, better) == []


def test_synthetic_problems_that_extrapolate_by_design_do_not_warn():
    tenths = load_problem("tenths")
    assert tenths.facts() == {}
    assert tenths.baseline()["name"] == "persistence"
    assert load_problem("echo", {"n_train": 20, "n_val": 10, "n_test": 0}).baseline()["name"] == "class frequencies"


def test_a_study_stored_before_baselines_had_names_shows_naive():
    assert baseline_name(SimpleNamespace(baseline={"val_loss": 0.01, "val_mse": 0.01})) == "naive"
    assert baseline_name(SimpleNamespace(baseline={"val_loss": 0.01, "name": "persistence"})) == "persistence"


def test_arrays_use_the_same_baselines(tmp_path):
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.standard_normal(200)).astype(np.float32)
    x = np.stack([walk[i:i + 5] for i in range(190)])[..., None]
    y = walk[5:195][:, None]
    path = tmp_path / "walk.npz"
    np.savez(path, x_train=x[:150], y_train=y[:150], x_val=x[150:], y_val=y[150:])
    problem = load_problem("arrays", {"path": str(path), "persistence_feature": 0})
    strongest = problem.baseline("val_mse")
    assert set(strongest["baselines"]) == {"persistence of feature 0", "training mean"}
    assert strongest["name"] == "persistence of feature 0"  # a random walk: yesterday beats the mean
    assert "reach" in problem.facts()


def test_init_suggests_the_season_and_differencing_for_a_trending_series(trending_csv):
    text = starter_spec(trending_csv[0])
    assert "look_back: 12" in text and "season: 12" in text
    assert "\n    difference: 1 " in text and "time_column: month" in text
    flat = starter_spec(_write(trending_csv[0].replace("trend.csv", "flat.csv"), _series(trend=0.0)))
    assert "    # difference: 1" in flat  # no trend: left as a comment


def test_init_takes_an_increasing_first_column_for_time(tmp_path):
    path = tmp_path / "sunspots.csv"
    spots = 80 + 60 * np.sin(2 * np.pi * np.arange(150) / 11)
    path.write_text("year,spots\n" + "".join(f"{1800 + i},{v:.1f}\n" for i, v in enumerate(spots)))
    text = starter_spec(str(path))
    assert "target: spots" in text and "time_column: year" in text and "look_back: 11" in text
    assert "name: sunspots" in text and "storage: sqlite:///sunspots.db" in text


def test_init_quotes_names_yaml_would_misread(tmp_path):
    """A column ``temp #1`` in ``my data.csv``: unquoted, YAML would read the target as ``temp``."""
    import yaml

    from tuning.spec import load_spec

    path = tmp_path / "my data.csv"
    frame = pd.DataFrame({"month": pd.date_range("2000-01-01", periods=N_ROWS, freq="MS").strftime("%Y-%m"),
                          "temp #1": _series(trend=0.0)})
    frame.to_csv(path, index=False)
    text = starter_spec(str(path))
    data = yaml.safe_load(text)
    assert data["problem"]["params"]["target"] == "temp #1"
    assert data["problem"]["params"]["path"] == str(path) and data["name"] == "my data"
    assert load_spec(data).problem.params["target"] == "temp #1"


def test_rows_ending_with_a_separator_are_read_as_the_header_says(tmp_path):
    """Some spreadsheet exports end every row with a comma: one field more than the header. pandas
    then takes the first column for an index and shifts every name by one; the series is read as
    if the commas were not there (the starter spec targets 'spots' by 'year', not 'year' alone)."""
    spots = 80 + 60 * np.sin(2 * np.pi * np.arange(150) / 11)
    plain, trailing = tmp_path / "plain.csv", tmp_path / "trailing.csv"
    plain.write_text("year,spots\n" + "".join(f"{1800 + i},{v:.1f}\n" for i, v in enumerate(spots)))
    trailing.write_text("year,spots\n" + "".join(f"{1800 + i},{v:.1f},\n" for i, v in enumerate(spots)))
    text = starter_spec(str(trailing))
    assert "target: spots" in text and "time_column: year" in text
    a, b = (load_problem("csv", {"path": str(p), "target": "spots", "time_column": "year", "look_back": 11})
            for p in (plain, trailing))
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_val, b.y_val)


# -- dates the calendar misses --------------------------------------------------------------------


def _dated(path, dates: pd.DatetimeIndex, values: np.ndarray) -> str:
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "load": values}).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("dates", [pd.date_range("2022-01-03", periods=120, freq="D"),
                                   pd.bdate_range("2022-01-03", periods=120),
                                   pd.date_range("2015-01-01", periods=120, freq="MS"),
                                   pd.date_range("2015-01-01", periods=120, freq="MS") + pd.Timedelta(days=14),
                                   pd.date_range("2015-01-31", periods=120, freq="ME")],
                         ids=["daily", "business-daily", "month-start", "mid-month", "month-end"])
def test_missing_dates_interpolated_give_the_problem_of_the_complete_calendar(tmp_path, dates):
    """Known truth: a straight line in time has its missing dates filled exactly by linear
    interpolation, so the gapped file must give the complete file's windows and baselines; kept as
    rows, it does not, and its data line says why."""
    values = 100.0 + 0.5 * np.arange(len(dates))
    params = {"time_column": "date", "look_back": 7, "season": 7}
    complete = load_problem("csv", {"path": _dated(tmp_path / "all.csv", dates, values), **params})
    kept = np.ones(len(dates), bool)
    kept[[9, 40, 41, 77, 100]] = False
    gapped = _dated(tmp_path / "gaps.csv", dates[kept], values[kept])
    filled = load_problem("csv", {"path": gapped, **params, "missing_dates": "interpolate"})
    for split in ("train", "val", "test"):
        for kind in ("x", "y"):
            np.testing.assert_allclose(getattr(filled, f"{kind}_{split}"), getattr(complete, f"{kind}_{split}"), rtol=1e-6)
    assert [b.val.tolist() for b in filled.baselines] == [b.val.tolist() for b in complete.baselines]
    assert filled.transforms.startswith("5 missing") and "filled in by linear interpolation" in filled.transforms
    rows = load_problem("csv", {"path": gapped, **params})
    assert len(rows.x_train) + len(rows.x_val) < len(complete.x_train) + len(complete.x_val)
    assert rows.transforms.startswith("5 ") and "count rows, not the calendar (missing_dates: interpolate" in rows.transforms
    assert load_problem("csv", {"path": _dated(tmp_path / "all.csv", dates, values), **params}).transforms == ""


def test_missing_dates_off_any_calendar_or_a_wrong_setting_are_refused_in_one_line(tmp_path):
    dates = pd.date_range("2015-01-01", periods=60, freq="MS") + pd.to_timedelta(np.arange(60) % 3, unit="D")
    kept = np.ones(60, bool)
    kept[20] = False
    path = _dated(tmp_path / "ragged.csv", dates[kept], np.arange(60.0)[kept])
    with pytest.raises(DataError, match=r"ragged.csv: column 'date' \(time_column\): its monthly dates do not fall on one"):
        load_problem("csv", {"path": path, "time_column": "date", "missing_dates": "interpolate"})
    days = pd.date_range("2020-01-01", periods=600, freq="D")
    sparse = days[np.arange(600) % 15 < 5]  # runs of 5 days, 10 missing after each: daily, yet mostly missing
    sparse_path = _dated(tmp_path / "sparse.csv", sparse, np.arange(len(sparse), dtype=float))
    with pytest.raises(DataError, match=r"would be missing, more than the 200 present, so they are not filled in"):
        load_problem("csv", {"path": sparse_path, "time_column": "date", "missing_dates": "interpolate"})
    assert load_problem("csv", {"path": sparse_path, "time_column": "date", "look_back": 3}).transforms == ""
    with pytest.raises(SpecError, match="must be one of rows, interpolate") as refused:
        load_problem("csv", {"path": path, "time_column": "date", "missing_dates": "linear"})
    assert refused.value.field == "problem.params.missing_dates"


def test_with_missing_dates_filled_a_bad_cell_is_named_by_its_line_and_an_empty_one_is_not_filled(tmp_path):
    # A new user: under interpolate, a text cell on line 102 was reported "line 104" (shifted by the
    # dates filled before it), and an empty cell was interpolated over silently.
    dates = pd.date_range("2022-01-01", periods=300, freq="D")
    kept = np.ones(300, bool)
    kept[[20, 60]] = False  # two dates missing before the bad row
    values = np.round(10 + np.sin(np.arange(300) / 3), 3)[kept].astype(object)
    params = {"time_column": "date", "look_back": 7, "missing_dates": "interpolate"}
    values[100] = "n.a."  # data row 101, line 102 of the file
    with pytest.raises(DataError, match=r"non-numeric value 'n.a.' in data row 101 \(line 102 of the file\)"):
        load_problem("csv", {"path": _dated(tmp_path / "text.csv", dates[kept], values), **params})
    values[100] = ""
    with pytest.raises(DataError, match=r"has 1 missing value\(s\), the first in data row 101 \(line 102 of the file\)"):
        load_problem("csv", {"path": _dated(tmp_path / "empty.csv", dates[kept], values), **params})


def test_init_fills_missing_dates_and_says_how_many(tmp_path):
    dates = pd.date_range("2022-01-01", periods=400, freq="D")
    values = 10 + np.sin(2 * np.pi * np.arange(400) / 7) + np.random.default_rng(0).normal(0, 0.1, 400)
    kept = np.ones(400, bool)
    kept[[50, 51, 300]] = False
    text = starter_spec(_dated(tmp_path / "gaps.csv", dates[kept], values[kept]))
    assert "missing_dates: interpolate   # 3 daily date(s) missing" in text
    assert "missing_dates:" not in starter_spec(_dated(tmp_path / "all.csv", dates, values))


def test_init_on_a_very_short_series_says_why_its_window_is_one_row(tmp_path):
    path = tmp_path / "short.csv"
    pd.DataFrame({"t": range(40), "v": np.sin(np.arange(40) / 3)}).to_csv(path, index=False)
    line = next(x for x in starter_spec(str(path)).splitlines() if x.strip().startswith("look_back:"))
    assert line.split("#")[0].strip() == "look_back: 1"
    assert "only 40 rows, 6 of them for validation: too few for a longer window or a score to trust" in line
    long = tmp_path / "long.csv"
    pd.DataFrame({"t": range(400), "v": np.sin(np.arange(400) / 3)}).to_csv(long, index=False)
    assert "too few" not in starter_spec(str(long))
