"""Per-config tables on synthetic studies whose truth is known: ties, ranks, intervals, exports."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tuning.analysis import (
    DESCRIBE,
    STATS,
    analysis_tables,
    export_tables,
    holm,
    marginals,
    skill_score,
    summary_table,
    tie_test,
)
from tuning.api import Results

CURVE_COLUMNS = ["config_key", "seed", "epoch", "curve", "value"]


def make_results(scores: dict[str, list[float]], *, direction: str = "minimize", metric: str = "val_loss",
                 baseline: float = 1.0, params: dict[str, dict] | None = None, curves: pd.DataFrame | None = None,
                 failed: dict[str, int] | None = None) -> Results:
    """A study as load_results returns it, built by hand: one fit row per (config, seed)."""
    rows = []
    for c, (key, values) in enumerate(scores.items()):
        settings = (params or {}).get(key, {"units": c})
        for seed, value in enumerate(values):
            rows.append({"trial": c, "config_key": key, "seed": seed, "status": "ok",
                         **{f"param_{k}": v for k, v in settings.items()}, metric: value, "train_loss": value / 2,
                         "epochs_run": 10, "best_epoch": None, "fit_seconds": 1.0 + seed, "error": None})
        for seed in range(len(values), len(values) + (failed or {}).get(key, 0)):
            rows.append({"trial": c, "config_key": key, "seed": seed, "status": "failed",
                         **{f"param_{k}": v for k, v in settings.items()}, metric: math.nan, "train_loss": math.nan,
                         "epochs_run": 0, "best_epoch": None, "fit_seconds": 0.5, "error": "diverged at epoch 1"})
    return Results("synthetic", pd.DataFrame(rows), pd.DataFrame(),
                   curves if curves is not None else pd.DataFrame(columns=CURVE_COLUMNS),
                   {metric: baseline}, metric, direction, {})


# -- tied with the best -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["welch", "bootstrap"])
def test_clearly_separated_configs_are_not_tied(method):
    rng = np.random.default_rng(0)
    results = make_results({k: (m + rng.normal(0, 0.05, 5)).tolist() for k, m in (("a", 1.0), ("b", 2.0), ("c", 3.0))})
    table = summary_table(results, method=method, n_boot=2000)
    assert table["config_key"].tolist() == ["a", "b", "c"]
    assert table["tied_with_best"].tolist() == [True, False, False]
    assert math.isnan(table.loc[0, "p_vs_best"]) and (table.loc[1:, "p_vs_best"] < 0.01).all()


@pytest.mark.parametrize(("method", "draws"), [("welch", 200), ("bootstrap", 100)])
def test_identical_distributions_are_tied_in_most_draws(method, draws):
    rng = np.random.default_rng(1)
    all_tied = 0
    for _ in range(draws):
        results = make_results({f"c{i}": rng.normal(1.0, 0.1, 5).tolist() for i in range(5)})
        table = summary_table(results, level=0.05, method=method, n_boot=1000)
        all_tied += bool(table["tied_with_best"].all())
    # Holm keeps the chance of calling any of the 4 equal configs different near 5 %.
    assert all_tied / draws >= 0.9


def test_tie_test_edge_cases():
    assert tie_test([1.0, 1.0], [1.0, 1.0]) == 1.0  # deterministic and identical
    assert tie_test([1.0, 1.0], [2.0, 2.0]) == 0.0  # deterministic and different
    assert tie_test([1.0, 1.0], [2.0, 2.0], "bootstrap", n_boot=99) == pytest.approx(0.01)
    assert math.isnan(tie_test([1.0], [1.0, 2.0]))
    a, b = [1.0, 1.2, 0.9, 1.1], [1.3, 1.5, 1.2, 1.6]
    assert tie_test(a, b) == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert tie_test(a, b, "bootstrap", seed=3) == tie_test(a, b, "bootstrap", seed=3)  # seeded
    with pytest.raises(ValueError, match="unknown tie test"):
        tie_test(a, b, "mann-whitney")


def test_holm_adjusts_in_order_and_skips_nan():
    adjusted = holm([0.01, 0.04, math.nan, 0.03])
    assert adjusted[[0, 1, 3]].tolist() == pytest.approx([0.03, 0.06, 0.06]) and math.isnan(adjusted[2])


def test_one_seed_cannot_be_tested():
    table = summary_table(make_results({"a": [1.0, 1.1, 0.9], "b": [1.05]}))
    single = table.set_index("config_key").loc["b"]
    assert single["n_seeds"] == 1 and pd.isna(single["tied_with_best"]) and math.isnan(single["p_vs_best"])
    assert math.isnan(single["std"]) and math.isnan(single["ci95_low"]) and single["mean"] == 1.05


# -- ranks, intervals, skill ------------------------------------------------------------------------


def test_rank_follows_the_direction_and_equal_means_share_a_rank():
    scores = {"low": [0.5, 0.6], "high": [0.9, 0.8], "mid": [0.7, 0.7], "mid2": [0.75, 0.65]}
    up = summary_table(make_results(scores, direction="maximize", metric="val_accuracy", baseline=0.5))
    assert up["config_key"].tolist() == ["high", "mid", "mid2", "low"] and up["rank"].tolist() == [1, 2, 2, 4]
    down = summary_table(make_results(scores))
    assert down["config_key"].tolist() == ["low", "mid", "mid2", "high"] and down["rank"].tolist() == [1, 2, 2, 4]


def test_columns_and_seed_statistics():
    values = [0.3, 0.1, 0.2, 0.6]
    table = summary_table(make_results({"a": values}, failed={"a": 1}))
    assert table.columns.tolist() == ["config_key", "param_units", *STATS]
    row = table.iloc[0]
    assert (row["n_seeds"], row["n_failed"], row["status"]) == (4, 1, "failed")
    assert row["mean"] == pytest.approx(0.3) and row["median"] == pytest.approx(0.25)
    assert row["std"] == pytest.approx(np.std(values, ddof=1)) and row["sem"] == pytest.approx(row["std"] / 2)
    assert (row["min"], row["max"]) == (0.1, 0.6) and row["fit_seconds"] == pytest.approx((1 + 2 + 3 + 4 + 0.5) / 5)


def test_ci_is_the_student_t_interval_contains_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(2)
    few, many = rng.normal(1.0, 0.1, 4).tolist(), rng.normal(1.0, 0.1, 40).tolist()
    table = summary_table(make_results({"few": few, "many": many})).set_index("config_key")
    low, high = stats.t.interval(0.95, len(few) - 1, loc=np.mean(few), scale=stats.sem(few))
    assert table.loc["few", "ci95_low"] == pytest.approx(low) and table.loc["few", "ci95_high"] == pytest.approx(high)
    for key in ("few", "many"):
        assert table.loc[key, "ci95_low"] < table.loc[key, "mean"] < table.loc[key, "ci95_high"]
    width = table["ci95_high"] - table["ci95_low"]
    assert width["many"] < width["few"] / 3


def test_skill_vs_baseline_for_losses_and_accuracies():
    assert skill_score(0.25, 1.0, "minimize") == pytest.approx(0.75)  # three quarters of the naive error gone
    assert skill_score(0.8, 0.6, "maximize") == pytest.approx(0.5)  # half way from naive to perfect
    assert skill_score(1.2, 1.0, "minimize") < 0 and math.isnan(skill_score(0.5, None, "minimize"))
    loss = summary_table(make_results({"a": [0.2, 0.3]}, baseline=1.0))
    accuracy = summary_table(make_results({"a": [0.8, 0.9]}, direction="maximize", metric="val_accuracy", baseline=0.5))
    assert loss.loc[0, "skill_vs_baseline"] == pytest.approx(0.75)
    assert accuracy.loc[0, "skill_vs_baseline"] == pytest.approx(0.7)


def test_diagnosis_comes_from_the_seed_curves():
    epochs = np.arange(1, 21)
    curves = pd.DataFrame([
        {"config_key": "a", "seed": seed, "epoch": int(e), "curve": name, "value": 1.0 - 0.03 * e}
        for seed in (0, 1) for name in ("loss", "val_loss") for e in epochs
    ])
    table = summary_table(make_results({"a": [0.4, 0.41], "b": [0.5, 0.52]}, curves=curves)).set_index("config_key")
    assert table.loc["a", "diagnosis"] == "underfit"
    assert table.loc["a", "diagnosis_evidence"].startswith("mean of 2 seeds: val loss still falling")
    assert pd.isna(table.loc["b", "diagnosis"])  # no curves logged for b


def test_empty_study_gives_empty_tables():
    results = make_results({})
    assert summary_table(results).empty and marginals(results).empty


# -- marginals and exports --------------------------------------------------------------------------


def marginal_study() -> Results:
    rng = np.random.default_rng(3)
    grid = [(u, d) for u in (1, 5, 10) for d in (0.0, 0.2)]
    params = {f"u{u}d{d}": {"units": u, "dropout": d, "cell": "lstm"} for u, d in grid}
    return make_results({k: rng.normal(1 / p["units"], 0.05, 3).tolist() for k, p in params.items()}, params=params)


def test_marginals_match_describe_per_value():
    results = marginal_study()
    table = marginals(results)
    assert table.columns.tolist() == ["param", "value", "n_configs", *DESCRIBE]
    assert set(table["param"]) == {"units", "dropout"}  # cell never varies
    for _, row in table.iterrows():
        seeds = results.fits.loc[results.fits[f"param_{row['param']}"] == row["value"], "val_loss"]
        expected = seeds.describe()
        assert row[DESCRIBE].astype(float).tolist() == pytest.approx(expected[DESCRIBE].tolist())
    assert table.loc[table["param"] == "units", "n_configs"].tolist() == [2, 2, 2]
    assert "cell" in set(marginals(results, varying_only=False)["param"])


def test_exports_round_trip(tmp_path):
    results = marginal_study()
    paths = export_tables(results, tmp_path / "out")
    names = ["summary", "marginals", "diagnosis", "fits", "curves"]
    assert [p.name for p in paths] == [f"{n}.{ext}" for n in names for ext in ("csv", "json")]
    tables = analysis_tables(results)
    for name in ("summary", "marginals", "fits"):
        from_csv = pd.read_csv(tmp_path / "out" / f"{name}.csv")
        from_json = pd.DataFrame(json.loads((tmp_path / "out" / f"{name}.json").read_text()))
        for loaded in (from_csv, from_json):
            assert loaded.columns.tolist() == tables[name].columns.tolist() and len(loaded) == len(tables[name])
            assert loaded["mean" if name != "fits" else "val_loss"].tolist() == pytest.approx(
                tables[name]["mean" if name != "fits" else "val_loss"].tolist())
    summary = pd.DataFrame(json.loads((tmp_path / "out" / "summary.json").read_text()))
    assert summary["tied_with_best"].tolist() == tables["summary"]["tied_with_best"].tolist()
    assert tables["fits"] is results.fits  # the very DataFrame load_results gives


def test_curves_export_round_trips_to_the_long_table(tmp_path):
    # two seeds of unequal length (early stopping), a diverged run, and a value needing 15 digits
    fit_curves = {("a", 0): {"loss": [0.5, 0.25, 0.125], "val_loss": [0.6, 0.3, 0.2]},
                  ("a", 1): {"loss": [0.51, 0.26], "val_loss": [0.61, 0.31]},
                  ("b", 0): {"loss": [1.0, float("nan")], "val_loss": [0.123456789012345, 2.0]},
                  ("b", 1): {}}
    results = make_results({"a": [0.2, 0.31], "b": [2.0, 1.0]})
    results = Results("synthetic", results.fits, results.trials, fit_curves, results.baseline, results.metric,
                      results.direction, {})
    paths = export_tables(results, tmp_path)
    assert [p.name for p in paths[-2:]] == ["curves.csv", "curves.json"]
    ids = ["config_key", "seed", "curve", "epochs"]
    wide = pd.read_csv(tmp_path / "curves.csv")
    assert wide.columns.tolist() == [*ids, "1", "2", "3"] and len(wide) == 6
    long = wide.melt(id_vars=ids, var_name="epoch").dropna(subset=["value"])
    long["epoch"] = long["epoch"].astype(int)
    expected = results.curves.dropna(subset=["value"])
    merged = expected.merge(long, on=["config_key", "seed", "curve", "epoch"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == len(expected) == 13
    assert merged["value_x"].tolist() == pytest.approx(merged["value_y"].tolist(), rel=1e-14)
    records = json.loads((tmp_path / "curves.json").read_text())
    as_dict = {(r["config_key"], r["seed"], r["curve"]): r["values"] for r in records}
    assert as_dict[("a", 1, "val_loss")] == [0.61, 0.31] and as_dict[("b", 0, "loss")] == [1.0, None]
    assert as_dict[("b", 0, "val_loss")][0] == pytest.approx(0.123456789012345, rel=1e-14)


def test_long_curves_and_per_fit_curves_are_the_same_data():
    fit_curves = {("a", 0): {"loss": [3.0, 2.0], "val_loss": [4.0, 3.5]}, ("b", 2): {"loss": [1.0]}}
    results = make_results({"a": [0.1], "b": [0.2]})
    built = Results("s", results.fits, results.trials, fit_curves, {}, "val_loss", "minimize", {})
    long = built.curves
    assert long.columns.tolist() == CURVE_COLUMNS and len(long) == 5
    assert long[(long["config_key"] == "a") & (long["curve"] == "val_loss")]["epoch"].tolist() == [1, 2]
    assert long[long["config_key"] == "b"][["seed", "epoch", "value"]].values.tolist() == [[2, 1, 1.0]]
    again = Results("s", results.fits, results.trials, long, {}, "val_loss", "minimize", {})
    assert again.fit_curves == fit_curves


def test_analysis_modules_never_import_tensorflow():
    code = ("import sys, tuning.analysis, tuning.diagnose; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_trials_table_has_seed_columns_and_statistics_per_config():
    from tuning.api import _per_config

    results = make_results({"a": [0.1, 0.3], "b": [0.5]}, failed={"a": 1})
    trials = _per_config(results.fits, "val_loss", {"a": "failed"}).set_index("config_key")
    assert trials.loc["a", ["seed0_val_loss", "seed1_val_loss"]].tolist() == [0.1, 0.3]
    assert "seed2_val_loss" not in trials.columns  # the failed seed has no score
    assert pd.isna(trials.loc["b", "seed1_val_loss"])  # b has one seed only
    assert trials.loc["a", ["n_seeds", "n_failed", "status"]].tolist() == [2, 1, "failed"]
    assert trials.loc["a", "mean"] == pytest.approx(0.2) and trials.loc["a", "std"] == pytest.approx(0.1414213562)
    assert trials.loc["a", "mean_fit_seconds"] == pytest.approx((1.0 + 2.0 + 0.5) / 3)
    assert trials.loc["b", ["n_seeds", "std", "min", "max", "status"]].tolist() == [1, 0.0, 0.5, 0.5, "running"]
    assert trials.loc["b", "param_units"] == 1
