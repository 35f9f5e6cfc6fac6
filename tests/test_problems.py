"""Tests of the problem registry, the built-in problems and the CSV loader.

Sizes are kept tiny so the whole file runs in a few seconds; nothing here may import
TensorFlow (one test checks that importing the package does not either).
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from tuning.errors import DataError, SpecError
from tuning.problems import (
    Problem,
    check_rank,
    decode_addition,
    describe_problem,
    load_problem,
    problem_names,
)

SMALL = {
    "echo": {"n_train": 40, "n_val": 20, "n_test": 20},
    "damped_sine": {"n_train": 30, "n_val": 10, "n_test": 10},
    "addition": {"n_train": 50, "n_val": 20, "n_test": 20},
    "two_sine": {"n_series": 100},
    "cumsum": {"n_train": 40, "n_val": 20, "n_test": 20},
    "tenths": {},
}

# name -> (task, sequence_output, loss, input shape of one sample, target shape of one sample)
EXPECTED = {
    "echo": ("multiclass", False, "categorical_crossentropy", (5, 10), (10,)),
    "damped_sine": ("regression", False, "mae", (50, 1), (5,)),
    "addition": ("multiclass", True, "categorical_crossentropy", (8, 12), (2, 12)),
    "two_sine": ("regression", False, "mse", (50, 1), (1,)),
    "cumsum": ("binary", True, "binary_crossentropy", (10, 1), (10, 1)),
    "tenths": ("regression", False, "mse", (1, 1), (1,)),
}

RANDOM_PROBLEMS = [name for name in SMALL if name != "tenths"]


def _splits(problem: Problem) -> list[str]:
    return ["train", "val", "test"] if problem.has_test else ["train", "val"]


def _write_csv(path, header: str, rows) -> str:
    lines = [header, *(",".join(str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def counting_csv(tmp_path):
    """100 rows whose value is the row number, so any window crossing a split boundary shows."""
    return _write_csv(tmp_path / "count.csv", "step,value", [(i, i) for i in range(100)])


# --- registry ---------------------------------------------------------------------------------
def test_registry_lists_every_problem():
    assert problem_names() == sorted([*SMALL, "csv", "arrays", "in_memory"])


def test_describe_problem_gives_one_line_with_defaults():
    line = describe_problem("echo")
    assert "\n" not in line
    assert line.startswith("echo: ")
    assert "length=5" in line and "n_features=10" in line and "seed=0" in line
    assert "path (required)" in describe_problem("csv")


def test_unknown_problem_lists_known_names():
    with pytest.raises(SpecError) as caught:
        load_problem("ecco")
    assert caught.value.field == "problem.name"
    assert "'ecco'" in str(caught.value)
    assert all(name in str(caught.value) for name in problem_names())


def test_unknown_parameter_names_field_and_choices():
    with pytest.raises(SpecError) as caught:
        load_problem("echo", {"lenght": 5})
    assert caught.value.field == "problem.params.lenght"
    assert "unknown parameter 'lenght' for problem 'echo'; expected one of" in str(caught.value)
    assert "length" in caught.value.detail.split("expected one of")[1]
    with pytest.raises(SpecError) as caught:
        load_problem("echo", [("length", 5)])
    assert caught.value.field == "problem.params"


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("echo", {"length": "5"}, "length"),
        ("echo", {"n_train": 10.5}, "n_train"),
        ("echo", {"n_train": True}, "n_train"),
        ("csv", {"path": "example", "columns": "value"}, "columns"),
        ("csv", {"path": "example", "train_fraction": "0.7"}, "train_fraction"),
        ("csv", {"path": 3}, "path"),
    ],
)
def test_wrong_type_names_field(name, params, field):
    with pytest.raises(SpecError) as caught:
        load_problem(name, params)
    assert caught.value.field == f"problem.params.{field}"
    assert "expects" in str(caught.value)


def test_lossless_type_widening_is_accepted():
    problem = load_problem("two_sine", {"n_series": np.int64(20), "seed": np.int64(3)})
    assert problem.params["n_series"] == 20 and type(problem.params["n_series"]) is int
    csv_problem = load_problem("csv", {"path": "example", "columns": ("value",), "val_fraction": 0.15})
    assert csv_problem.params["columns"] == ["value"]


def test_out_of_range_value_names_field():
    with pytest.raises(SpecError) as caught:
        load_problem("echo", {"out_index": 5})
    assert caught.value.field == "problem.params.out_index"
    with pytest.raises(SpecError) as caught:
        load_problem("two_sine", {"n_series": 2})
    assert caught.value.field == "problem.params.n_series"


def test_package_does_not_import_tensorflow():
    code = ("import sys, tuning.problems as p; p.load_problem('echo', {'n_train': 2}); "
            "p.load_problem('csv', {'path': 'example'}); "
            "print(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- common contract of the built-in problems --------------------------------------------------
@pytest.mark.parametrize("name", list(SMALL))
def test_shapes_dtypes_and_flags(name):
    problem = load_problem(name, SMALL[name])
    task, sequence_output, loss, input_shape, output_shape = EXPECTED[name]
    assert problem.name == name
    assert (problem.task, problem.sequence_output, problem.loss) == (task, sequence_output, loss)
    assert problem.input_shape == input_shape and problem.output_shape == output_shape
    assert problem.description and "\n" not in problem.description
    assert problem.params["seed"] == 0
    for split in _splits(problem):
        x, y = getattr(problem, f"x_{split}"), getattr(problem, f"y_{split}")
        naive = getattr(problem, f"naive_{split}", None)
        assert x.ndim == 3 and x.shape[1:] == input_shape
        assert y.shape == (len(x), *output_shape)
        assert x.dtype == np.float32 and y.dtype == np.float32
        if naive is not None:
            assert naive.shape == y.shape and naive.dtype == np.float32


@pytest.mark.parametrize("name", RANDOM_PROBLEMS)
def test_seed_fixes_the_data(name):
    first = load_problem(name, {**SMALL[name], "seed": 1})
    again = load_problem(name, {**SMALL[name], "seed": 1})
    other = load_problem(name, {**SMALL[name], "seed": 2})
    for array in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, array), getattr(again, array))
    assert not np.array_equal(first.x_train, other.x_train)


def test_generation_leaves_global_rng_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    load_problem("two_sine", {"n_series": 20})
    assert np.random.random() == expected


@pytest.mark.parametrize("name", ["echo", "cumsum"])
def test_default_sizes_and_optional_test_split(name):
    problem = load_problem(name)
    assert (len(problem.x_train), len(problem.x_val), len(problem.x_test)) == (1000, 200, 200)
    without_test = load_problem(name, {"n_train": 10, "n_val": 5, "n_test": 0})
    assert not without_test.has_test and without_test.naive_test is None


# --- individual problems -----------------------------------------------------------------------
def test_echo_target_is_the_symbol_at_out_index():
    problem = load_problem("echo", {"out_index": 3, **SMALL["echo"]})
    np.testing.assert_array_equal(problem.y_train, problem.x_train[:, 3, :])
    assert np.all(problem.x_train.sum(axis=-1) == 1)


def test_echo_baseline_is_near_chance():
    problem = load_problem("echo")
    np.testing.assert_allclose(problem.naive_val[0], problem.y_train.mean(axis=0), rtol=1e-6)
    assert abs(problem.baseline()["val_accuracy"] - 0.1) < 0.06
    assert problem.baseline()["val_loss"] == pytest.approx(np.log(10), abs=0.05)


def test_damped_sine_stays_in_unit_interval_with_persistence_baseline():
    problem = load_problem("damped_sine", SMALL["damped_sine"])
    assert problem.x_train.min() >= 0 and problem.x_train.max() <= 1
    np.testing.assert_array_equal(problem.naive_val, np.repeat(problem.x_val[:, -1, :], 5, axis=1))


def test_addition_decodes_to_correct_sums():
    problem = load_problem("addition", {**SMALL["addition"], "largest": 10})
    questions, answers = decode_addition(problem.x_train), decode_addition(problem.y_train)
    assert all(len(q) == 8 for q in questions) and all(len(a) == 2 for a in answers)
    for question, answer in zip(questions, answers, strict=True):
        terms = [int(term) for term in question.split("+")]
        assert len(terms) == 3 and all(1 <= t <= 10 for t in terms)
        assert int(answer) == sum(terms)
    assert decode_addition(problem.y_train[0]) == [answers[0]]


def test_addition_widths_follow_terms_and_largest():
    problem = load_problem("addition", {"n_terms": 2, "largest": 99, "n_train": 5, "n_val": 2, "n_test": 0})
    assert problem.input_shape == (2 * 2 + 1, 12)
    assert problem.output_shape == (3, 12)  # ceil(log10(2 * 100)) = 3


def test_addition_baseline_is_per_step_class_frequency():
    problem = load_problem("addition", SMALL["addition"])
    np.testing.assert_allclose(problem.naive_val[0], problem.y_train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(problem.naive_val.sum(axis=-1), 1.0, rtol=1e-6)


def test_cumsum_labels_follow_the_running_sum():
    problem = load_problem("cumsum", SMALL["cumsum"])
    running = np.cumsum(problem.x_train[..., 0].astype(np.float64), axis=1)
    np.testing.assert_array_equal(problem.y_train[..., 0], (running > 10 / 4).astype(np.float32))
    assert np.all(np.diff(problem.y_train[..., 0], axis=1) >= 0)  # once 1, always 1
    assert problem.naive_val.shape == (20, 10, 1)


def test_two_sine_split_proportions():
    problem = load_problem("two_sine")
    assert (len(problem.x_train), len(problem.x_val), len(problem.x_test)) == (7000, 2000, 1000)
    small = load_problem("two_sine", {"n_series": 20})
    assert (len(small.x_train), len(small.x_val), len(small.x_test)) == (14, 4, 2)
    problem = load_problem("two_sine", {"n_series": 30, "horizon": 10})  # the ten-steps-ahead variant
    assert problem.output_shape == (10,) and problem.input_shape == (50, 1)
    np.testing.assert_array_equal(problem.naive_val, np.repeat(problem.x_val[:, -1, :], 10, axis=1))


def test_tenths_data_and_baseline():
    problem = load_problem("tenths", {"seed": 7})
    np.testing.assert_allclose(problem.x_train.ravel(), [0.0, 0.1, 0.2, 0.3, 0.4], atol=1e-7)
    np.testing.assert_allclose(problem.y_val.ravel(), [0.6, 0.7, 0.8, 0.9, 1.0], atol=1e-7)
    assert not problem.has_test
    assert problem.baseline()["val_mse"] == pytest.approx(0.01, rel=1e-4)


# --- the Problem contract ----------------------------------------------------------------------
def test_wrong_rank_inputs_are_refused_with_the_expected_layout():
    flat = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(DataError, match=r"\[samples, time steps, features\]") as caught:
        Problem(name="p", task="regression", x_train=flat, y_train=np.zeros((4, 1)), x_val=flat,
                y_val=np.zeros((4, 1)), naive_val=np.zeros((4, 1)))
    assert "x_train" in str(caught.value) and "(4, 3, 1)" in str(caught.value)
    with pytest.raises(DataError, match=r"\[samples, time steps, features\]"):
        check_rank("x", np.zeros(5))


# --- csv ---------------------------------------------------------------------------------------
def test_csv_example_file_is_shipped():
    problem = load_problem("csv", {"path": "example"})
    # 240 monthly rows: 168 train, 36 val, 36 test; 10 + 1 rows per window.
    assert (len(problem.x_train), len(problem.x_val), len(problem.x_test)) == (158, 26, 26)
    assert problem.input_shape == (10, 1) and problem.output_shape == (1,)
    assert problem.params["columns"] == ["value"] and problem.params["target"] == "value"


def test_csv_scaler_is_fitted_on_training_rows_only():
    problem = load_problem("csv", {"path": "example"})
    train_rows = np.concatenate([problem.x_train[:, :, 0].ravel(), problem.y_train.ravel()])
    assert train_rows.min() == pytest.approx(0.0, abs=1e-6)
    assert train_rows.max() == pytest.approx(1.0, abs=1e-6)
    assert problem.x_val.max() > 1.0  # the trend carries later months past the training range


def test_csv_standard_scaling_uses_training_statistics(counting_csv):
    problem = load_problem("csv", {"path": counting_csv, "scaling": "standard", "look_back": 3})
    train_values = np.arange(70, dtype=np.float64)
    expected_first = (train_values[:3] - train_values.mean()) / train_values.std()
    np.testing.assert_allclose(problem.x_train[0, :, 0], expected_first, rtol=1e-5)


def test_csv_windows_stay_inside_their_split(counting_csv):
    problem = load_problem("csv", {"path": counting_csv, "look_back": 5, "horizon": 2, "scaling": "none"})
    # rows 0-69 train, 70-84 val, 85-99 test; each split yields rows - 7 + 1 windows.
    assert (len(problem.x_train), len(problem.x_val), len(problem.x_test)) == (64, 9, 9)
    assert problem.y_train[-1, -1] == 69 and problem.x_val[0, 0, 0] == 70
    assert problem.y_val[-1, -1] == 84 and problem.x_test[0, 0, 0] == 85
    assert problem.x_train.shape == (64, 5, 2)  # step and value are both numeric columns
    no_test = load_problem("csv", {"path": counting_csv, "train_fraction": 0.8, "val_fraction": 0.2})
    assert not no_test.has_test and len(no_test.x_val) == 20 - 11 + 1


def test_csv_inverse_restores_original_units(counting_csv):
    problem = load_problem("csv", {"path": counting_csv, "columns": ["value"], "look_back": 4})
    assert problem.y_val.max() > 1.0  # scaled by the train range 0..69
    np.testing.assert_allclose(problem.inverse(problem.y_val).ravel(), np.arange(74, 85), atol=1e-4)
    restored = pickle.loads(pickle.dumps(problem))
    np.testing.assert_allclose(restored.inverse(problem.y_val), problem.inverse(problem.y_val))


def test_csv_persistence_baseline_by_hand(tmp_path):
    values = [3.0, 5.0, 4.0, 8.0, 6.0, 9.0, 7.0, 10.0, 12.0, 11.0, 14.0, 13.0, 2.0, 20.0, 15.0, 16.0,
              18.0, 17.0, 19.0, 21.0]
    path = _write_csv(tmp_path / "s.csv", "other,value", [(i * 10, v) for i, v in enumerate(values)])
    problem = load_problem("csv", {"path": path, "target": "value", "look_back": 2, "train_fraction": 0.5,
                                   "val_fraction": 0.25})
    # Validation rows are 10..14; with look_back 2 the targets are rows 12, 13, 14, each
    # predicted by the row before it.
    errors = [values[t] - values[t - 1] for t in (12, 13, 14)]
    baseline = problem.baseline_scores()["persistence"]
    assert baseline["val_mse"] == pytest.approx(np.mean(np.square(errors)), rel=1e-5)
    assert baseline["val_mae"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-5)
    np.testing.assert_array_equal(problem.naive_val[:, 0], problem.x_val[:, -1, 1])


def test_csv_time_column_orders_rows(tmp_path):
    rows = [(f"2021-{m:02d}-01", m * 1.5) for m in range(1, 13)]
    shuffled = [rows[i] for i in (5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6)]
    path = _write_csv(tmp_path / "dates.csv", "date,value", shuffled)
    problem = load_problem("csv", {"path": path, "time_column": "date", "look_back": 2, "scaling": "none",
                                   "train_fraction": 0.5, "val_fraction": 0.25})
    np.testing.assert_allclose(problem.x_train[:, 0, 0], [1.5, 3.0, 4.5, 6.0])
    assert problem.params["columns"] == ["value"]


def test_csv_missing_path_or_file(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_problem("csv")
    assert caught.value.field == "problem.params.path"
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(SpecError) as caught:
        load_problem("csv", {"path": missing})
    assert caught.value.field == "problem.params.path"
    assert caught.value.detail == f"{missing}: file not found"


def test_csv_missing_column(counting_csv):
    with pytest.raises(DataError) as caught:
        load_problem("csv", {"path": counting_csv, "columns": ["value", "price"]})
    assert str(caught.value).startswith(f"{counting_csv}: column 'price' (columns) not found; columns are")
    assert "'step'" in str(caught.value)
    with pytest.raises(DataError, match=r"column 'when' \(time_column\) not found; columns are"):
        load_problem("csv", {"path": counting_csv, "time_column": "when"})


def test_csv_non_numeric_value(tmp_path):
    rows = [(i, i * 2) for i in range(30)]
    rows[7] = (7, "n/a?")
    path = _write_csv(tmp_path / "bad.csv", "step,value", rows)
    with pytest.raises(DataError) as caught:
        load_problem("csv", {"path": path, "columns": ["value"]})
    message = str(caught.value)
    assert message.startswith(f"{path}: column 'value'") and "non-numeric" in message and "row 8" in message


def test_csv_missing_values(tmp_path):
    path = tmp_path / "gaps.csv"  # row 5 has an empty value
    path.write_text("step,value\n" + "".join(f"{i},{'' if i == 4 else i}\n" for i in range(30)))
    with pytest.raises(DataError) as caught:
        load_problem("csv", {"path": str(path), "columns": ["value"]})
    assert str(caught.value).startswith(f"{path}: column 'value' has 1 missing value")
    assert "data row 5" in str(caught.value)


def test_csv_too_few_rows_names_split_and_need(counting_csv):
    with pytest.raises(DataError) as caught:
        load_problem("csv", {"path": counting_csv, "look_back": 10, "horizon": 2, "val_fraction": 0.1})
    message = str(caught.value)
    assert message.startswith(f"{counting_csv}: the val split has 10 of 100 rows")
    assert "look_back + horizon = 12" in message


def test_csv_text_target_is_reported_as_non_numeric(tmp_path):
    path = _write_csv(tmp_path / "labels.csv", "value,label", [(i, "up") for i in range(30)])
    with pytest.raises(DataError, match=r"column 'label' holds text, not numbers \('up' in data row 1"):
        load_problem("csv", {"path": path, "target": "label"})
    mixed = _write_csv(tmp_path / "mixed.csv", "value,label", [(i, "up" if i == 3 else i) for i in range(30)])
    with pytest.raises(DataError, match="column 'label' has a non-numeric value 'up' in data row 4"):
        load_problem("csv", {"path": mixed, "target": "label"})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"scaling": "log"}, "scaling"),
        ({"look_back": 0}, "look_back"),
        ({"train_fraction": 1.2}, "train_fraction"),
        ({"train_fraction": 0.8, "val_fraction": 0.3}, "val_fraction"),
        ({"columns": ["value"], "target": "step"}, "target"),
        ({"columns": []}, "columns"),
    ],
)
def test_csv_bad_settings_name_field(counting_csv, params, field):
    with pytest.raises(SpecError) as caught:
        load_problem("csv", {"path": counting_csv, **params})
    assert caught.value.field == f"problem.params.{field}"


def test_a_target_column_of_dates_is_named_as_dates_not_as_a_typo_in_row_one(tmp_path):
    path = tmp_path / "monthly.csv"
    path.write_text("month,sales\n" + "".join(f"20{10 + i // 12}-{i % 12 + 1:02d},{i}.5\n" for i in range(40)))
    with pytest.raises(DataError) as caught:
        load_problem("csv", {"path": str(path), "target": "month", "columns": ["month"]})
    assert str(caught.value) == (f"{path}: column 'month' holds dates (the time column?), not numbers ('2010-01' in "
                                 "data row 1 (line 2 of the file)); only numbers can be forecast: name another column")
