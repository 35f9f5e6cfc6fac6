"""Per-config tables on synthetic studies whose truth is known: could-be-best, ranks, intervals, exports."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from helpers.results import CURVE_COLUMNS, make_results
from scipy import stats

from tuning import statistics
from tuning.analysis import (
    DESCRIBE,
    STATS,
    Results,
    analysis_tables,
    export_tables,
    marginals,
    select,
    skill_score,
    summary_table,
    verdict,
)

# -- could be the best (the statistics themselves: tests/test_statistics.py) -------------------------


def test_clearly_separated_configs_cannot_be_best():
    rng = np.random.default_rng(0)
    results = make_results({k: (m + rng.normal(0, 0.05, 5)).tolist() for k, m in (("a", 1.0), ("b", 2.0), ("c", 3.0))})
    table = summary_table(results, n_boot=500)
    assert table["config_key"].tolist() == ["a", "b", "c"]
    assert table["could_be_best"].tolist() == [True, False, False]
    assert table["tied_with_best"].tolist() == table["could_be_best"].tolist()  # the deprecated alias
    assert table.loc[0, "p_vs_best"] == 1.0 and (table.loc[1:, "p_vs_best"] < 0.01).all()
    assert table["prob_best"].tolist() == pytest.approx([1.0, 0.0, 0.0])
    assert table["paired"].all() and (table.loc[1:, "diff_vs_best"] > 0.9).all()


def test_one_seed_cannot_be_tested():
    table = summary_table(make_results({"a": [1.0, 1.1, 0.9], "b": [1.05]}))
    single = table.set_index("config_key").loc["b"]
    assert single["n_seeds"] == 1 and pd.isna(single["could_be_best"]) and math.isnan(single["p_vs_best"])
    assert math.isnan(single["std"]) and math.isnan(single["ci95_low"]) and single["mean"] == 1.05


def test_a_one_seed_config_that_ranks_first_is_named_left_out_not_made_the_best():
    """The best the margin, the verdict and the report's box measure against is the best compared
    (2 or more seeds); a one-seed config ranked first is named, with the command that gives it seeds."""
    from tuning.analysis.tables import best_row

    results = make_results({"a": [1.0, 1.1, 0.9], "b": [1.5, 1.6, 1.4], "lucky": [0.5], "other": [2.5]})
    selected = select(results)
    table = selected.table.set_index("config_key")
    assert table.loc["lucky", "rank"] == 1 and table.loc["a", "rank"] == 2
    assert selected.table.at[best_row(selected.table), "config_key"] == "a"
    assert selected.margin == pytest.approx(0.05 * 1.0)  # 5 % of the best compared, not of the lucky seed
    # P(best) among the compared only: with one seed, a config would win every resample drawing that seed
    assert math.isnan(table.loc["lucky", "prob_best"]) and math.isnan(table.loc["other", "prob_best"])
    assert table.loc["a", "prob_best"] + table.loc["b", "prob_best"] == pytest.approx(1.0)
    said = verdict(results, selected, storage="sqlite:///s.db")
    assert said.best == "trial 0 (units=0)"
    left = [line for line in said.lines if line.startswith("not compared")]
    assert left == ["not compared, with 1 seed (one cannot separate a config from seed noise): trial 2 (units=2), "
                    "trial 3 (units=3); trial 2 scored better on its one seed than trial 0, the best compared: "
                    "`tuning resume synthetic --repeats 3 --storage sqlite:///s.db` gives it 3"]
    # ... unless it is still running (a race giving it seeds): it gets them without a command
    import pandas as pd

    trials = pd.DataFrame({"config_key": ["a", "b", "lucky", "other"],
                           "status": ["complete", "complete", "running", "complete"]})
    racing = Results(results.name, results.fits, trials, results.fit_curves, results.baseline, results.metric,
                     results.direction, results.spec)
    assert [line for line in verdict(racing, select(racing)).lines if line.startswith("not compared")] == [
        "not compared, with 1 seed (one cannot separate a config from seed noise): trial 2 (units=2), trial 3 (units=3)"]
    # a one-seed config behind the best is named, with no command
    behind = verdict(results := make_results({"a": [1.0, 1.1, 0.9], "b": [1.5, 1.6, 1.4], "late": [3.0]}),
                     select(results))
    assert [line for line in behind.lines if line.startswith("not compared")] == [
        "not compared, with 1 seed (one cannot separate a config from seed noise): trial 2 (units=2)"]
    # every config on one seed: nothing compared, the best is rank 1, and P(best) is not made up
    alone = make_results({"x": [1.0], "y": [2.0]})
    table = select(alone).table
    assert table["prob_best"].isna().all() and verdict(alone, select(alone)).best == "trial 0 (units=0)"


def test_configs_sharing_fewer_than_two_seeds_are_compared_unpaired():
    # b was fitted with other seeds (a topped-up or failed run): one seed in common with a
    results = make_results({"a": [1.0, 1.2, 0.9, 1.1], "b": [1.5, 1.4, 1.6], "c": [1.1, 1.3, 1.0, 1.2]},
                           seeds={"b": [3, 7, 8]})
    table = summary_table(results).set_index("config_key")
    assert table.loc["c", "paired"] and not table.loc["b", "paired"]
    assert table.loc["c", "seed_corr"] == pytest.approx(1.0)  # c is a shifted by 0.1 on every seed
    assert math.isnan(table.loc["b", "seed_corr"])  # fewer than 3 shared seeds


def test_rank_and_interval_follow_the_aggregate():
    # a diverging-ish seed: the mean prefers b, the interquartile mean a
    scores = {"a": [1.0, 1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 5.0], "b": [1.3, 1.3, 1.31, 1.29, 1.3, 1.32, 1.28, 1.3]}
    by_mean = summary_table(make_results(scores), n_boot=300)
    by_iqm = summary_table(make_results(scores, objective={"aggregate": "iqm"}), n_boot=300)
    assert by_mean["config_key"].tolist() == ["b", "a"] and by_iqm["config_key"].tolist() == ["a", "b"]
    row = by_iqm.set_index("config_key").loc["a"]
    assert row["aggregate"] == pytest.approx(stats.trim_mean(scores["a"], 0.25))
    assert row["aggregate_low"] <= row["aggregate"] <= row["aggregate_high"]
    first = by_mean.iloc[0]
    assert (first["aggregate_low"], first["aggregate_high"]) == pytest.approx((first["ci95_low"], first["ci95_high"]))


def test_divergence_rate_counts_diverged_fits():
    table = summary_table(make_results({"a": [1.0, 1.1], "b": [1.2, 1.3]}, failed={"a": 2})).set_index("config_key")
    assert table.loc["a", "divergence_rate"] == pytest.approx(0.5) and table.loc["b", "divergence_rate"] == 0.0


def test_equivalence_and_the_simplest_equivalent_config():
    rng = np.random.default_rng(5)
    base = rng.normal(0, 0.01, 10)  # the seed effect every config shares
    scores = {"big": (1.00 + base).tolist(), "small": (1.002 + base + rng.normal(0, 0.001, 10)).tolist(),
              "tiny": (1.3 + base).tolist()}
    params = {"big": {"units": 50}, "small": {"units": 5}, "tiny": {"units": 1}}
    results = make_results(scores, params=params, objective={"margin": "2%"})
    results.fits["trainable_weights"] = results.fits["param_units"] * 10
    selected = select(results)
    table = selected.table.set_index("config_key")
    assert selected.margin == pytest.approx(0.02 * table.loc["big", "aggregate"])
    assert table["equivalent_to_best"].tolist() == [True, True, False]
    reading = verdict(results, selected, storage="sqlite:///x.db")
    assert reading.simplest_key == "small" and "units=5" in reading.simplest
    assert any(line.startswith("simplest config equivalent to the best") and "50 trainable weights" in line
               and "(the best itself)" not in line for line in reading.lines)
    best_only = verdict(results, select(results, margin=0.0001), storage="sqlite:///x.db")
    assert any(line.startswith("simplest config equivalent to the best (within 0.0001): trial ")
               and "(the best itself)" in line for line in best_only.lines), best_only.lines
    narrow = select(results, margin=0.0001).table.set_index("config_key")  # --margin overrides the spec
    assert narrow["equivalent_to_best"].tolist() == [True, False, False]


def test_a_study_only_python_can_continue_is_told_the_python_call_not_a_command_that_refuses_it():
    """In-memory arrays and a builder of __main__ are not in the store: `tuning resume` refuses such a
    study, so its advice is the run_study call (and the report's export is best_model)."""
    rng = np.random.default_rng(6)
    noise = {k: rng.normal(0, 0.1, 5) for k in "ab"}
    scores = {"a": (1.0 + noise["a"]).tolist(), "b": (1.001 + noise["b"]).tolist()}
    for spec, call in (({"problem": {"name": "in_memory"}}, "data=..."),
                       ({"problem": {"name": "tenths"}, "model": {"builder": "__main__:build"}}, "build=..."),
                       ({"problem": {"name": "in_memory"}, "model": {"builder": "__main__:build"}}, "data=..., build=...")):
        results = make_results(scores, spec=spec)
        told = verdict(results, select(results, margin=0.1), storage="sqlite:///s.db")
        assert told.command == f"tuning.run_study(spec, {call}, repeats={told.seeds_needed})"
        assert any(f"`{told.command}` adds them" in line for line in told.lines)
    plain = make_results(scores, spec={"problem": {"name": "tenths"}, "model": {"builder": "mymodels:build"}})
    assert verdict(plain, select(plain, margin=0.1), storage="sqlite:///s.db").command.startswith("tuning resume")


def test_seeds_needed_line_names_the_command_and_never_uses_the_observed_gap():
    rng = np.random.default_rng(6)
    noise = {k: rng.normal(0, 0.1, 5) for k in "ab"}
    close = make_results({"a": (1.0 + noise["a"]).tolist(), "b": (1.001 + noise["b"]).tolist()})
    apart = make_results({"a": (1.0 + noise["a"]).tolist(), "b": (1.09 + noise["b"]).tolist()})
    lines = [verdict(r, select(r, margin=0.1), storage="sqlite:///s.db") for r in (close, apart)]
    assert lines[0].seeds_needed == lines[1].seeds_needed > 5  # same spread, same margin: same answer
    assert lines[0].command == f"tuning resume synthetic --repeats {lines[0].seeds_needed} --storage sqlite:///s.db"
    assert any(line.startswith("seeds needed: to separate trial 0 from trial 1 at 0.1") for line in lines[0].lines)
    # a number in the hundreds is said in words, with the gap 20 seeds resolve (issue 21)
    narrow = verdict(close, select(close, margin=0.01), storage="sqlite:///s.db")
    assert narrow.command is None and (narrow.seeds_needed is None or narrow.seeds_needed > 100)
    assert any("more than anyone runs: at their seed noise a gap the size of the margin cannot be resolved (20 seeds "
               "per config resolve a gap of about" in line and line.endswith("call them equivalent, or widen the margin")
               for line in narrow.lines), narrow.lines
    # the same margin out of reach, but a gap far wider than 20 seeds resolve: no advice to call them
    # equivalent, 20 seeds to see whether the gap holds (a user saw the advice beside a gap 70x the margin)
    wide = make_results({"a": [0.09615, 0.09633], "b": [0.3958, 0.4678]})  # the user's study: two seeds each
    told = verdict(wide, select(wide, margin=0.0048), storage="sqlite:///s.db")
    assert told.seeds_needed is None or told.seeds_needed > 100  # the plan itself stays on the margin
    line = next(line for line in told.lines if line.startswith("seeds needed"))
    assert "call them equivalent" not in line and "is wider than the" in line, line
    assert told.command == "tuning resume synthetic --repeats 20 --storage sqlite:///s.db"
    default = verdict(close, select(close))
    assert any("5 % of the best's aggregate, the default" in line for line in default.lines)


def test_seeds_needed_when_the_runner_up_is_already_shown_worse():
    # The seeds run already separate the top two: no command asks for more (the quickstart's case).
    rng = np.random.default_rng(7)
    shared = rng.normal(0, 0.02, 5)
    results = make_results({"a": (1.0 + shared + rng.normal(0, 0.01, 5)).tolist(),
                            "b": (1.5 + shared + rng.normal(0, 0.01, 5)).tolist()})
    reading = verdict(results, select(results, margin=0.001), storage="sqlite:///s.db")
    assert reading.command is None and reading.seeds_needed == reading.current_seeds == 5
    assert any(line.startswith("seeds needed: none more; the 5 run already show trial 1 worse than trial 0")
               for line in reading.lines), reading.lines



@pytest.mark.parametrize("runner_up", [0.0, 0.05], ids=["identical scores", "a constant gap"])
def test_seeds_needed_when_the_top_two_differ_by_the_same_amount_on_every_seed(runner_up):
    # Two configs whose per-seed differences have no spread at all (identical models, or a metric
    # saturated at 1.0 on every seed): the pair's own noise is known to be nil, so the fewest seeds a
    # comparison takes resolve any gap. It said "more than 1000 seeds" and "a gap of about nan".
    seeds = [0.91, 0.93, 0.90, 0.95, 0.92, 0.94]
    results = make_results({"a": seeds, "b": [v + runner_up for v in seeds], "c": [v + 0.3 for v in seeds[::-1]]})
    reading = verdict(results, select(results, margin=0.01), storage="sqlite:///s.db")
    line = next(line for line in reading.lines if line.startswith("seeds needed"))
    assert "nan" not in line and "1000" not in line, line
    assert reading.command is None, line
    assert line.startswith("seeds needed: none more") or "about 2 seeds per config; the 6 run would separate" in line, line
    assert statistics.plan_seeds(select(results, margin=0.01).comparison, np.array([seeds, seeds]), 0, 1, 0.01) == 2



def test_a_raced_study_is_not_told_to_add_seeds_with_repeats():
    # `--repeats` raises a race's max, which a finished race does not act on: the command the line
    # used to give ran nothing ("0 fits run") and the next status asked for it again.
    rng = np.random.default_rng(2)
    scores = {"a": (1.0 + rng.normal(0, 0.02, 6)).tolist(), "b": (1.015 + rng.normal(0, 0.02, 6)).tolist()}
    fixed = verdict(make_results(scores), select(make_results(scores), margin=0.03), storage="sqlite:///s.db")
    assert fixed.command == "tuning resume synthetic --repeats 12 --storage sqlite:///s.db"
    raced = make_results(scores, spec={"repeats": {"strategy": "race", "min": 3, "max": 6}})
    reading = verdict(raced, select(raced, margin=0.03), storage="sqlite:///s.db")
    line = next(line for line in reading.lines if line.startswith("seeds needed"))
    assert reading.command is None and "--repeats N" not in line and "tuning resume" not in line, line
    assert line.endswith("a race decides its configs' seeds and a finished race is not reopened by --repeats: "
                         "compare these two in a study of their own with fixed repeats"), line


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
    assert table.columns.tolist() == ["config_key", "trial", "param_units", *STATS]  # trial: as the sentences name it
    row = table.iloc[0]
    assert (row["trial"], row["n_seeds"], row["n_failed"], row["status"]) == (0, 4, 1, "failed")
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
    assert "mean of 2 seeds: val loss still falling" in table.loc["a", "diagnosis_evidence"]
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
    assert table.columns.tolist() == ["param", "value", "n_configs", "config_mean", *DESCRIBE]
    assert set(table["param"]) == {"units", "dropout"}  # cell never varies
    for _, row in table.iterrows():
        seeds = results.fits.loc[results.fits[f"param_{row['param']}"] == row["value"], "val_loss"]
        expected = seeds.describe()
        assert row[DESCRIBE].astype(float).tolist() == pytest.approx(expected[DESCRIBE].tolist())
    assert table.loc[table["param"] == "units", "n_configs"].tolist() == [2, 2, 2]
    assert "cell" in set(marginals(results, varying_only=False)["param"])


def test_marginals_weigh_each_config_once_in_config_mean_whatever_its_seeds():
    # A race gives its survivors more seeds: pooled, units=12's mean leans towards its survivor.
    params = {"a": {"units": 4}, "b": {"units": 4}, "c": {"units": 12}, "d": {"units": 12}}
    results = make_results({"a": [0.20] * 3, "b": [0.30] * 3, "c": [0.10] * 8, "d": [0.50] * 3}, params=params)
    table = marginals(results).set_index("value")
    assert table.loc[12, "mean"] == pytest.approx((0.1 * 8 + 0.5 * 3) / 11)  # pooled: 0.209
    assert table.loc[12, "config_mean"] == pytest.approx(0.3) and table.loc[4, "config_mean"] == pytest.approx(0.25)


def test_marginals_order_list_valued_units_by_their_numbers_not_their_text():
    params = {f"c{i}": {"units": units} for i, units in enumerate(([32, 32], [8, 8], [16], [8]))}
    results = make_results({k: [0.1, 0.2] for k in params}, params=params)
    assert marginals(results)["value"].tolist() == ["[8]", "[8, 8]", "[16]", "[32, 32]"]  # text order: [16] first


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
    assert summary["could_be_best"].tolist() == tables["summary"]["could_be_best"].tolist()
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
    ids = ["trial", "config_key", "seed", "curve", "epochs"]
    wide = pd.read_csv(tmp_path / "curves.csv")
    assert wide.columns.tolist() == [*ids, "1", "2", "3"] and len(wide) == 6
    # each row carries the trial number the summary names its config by
    assert dict(zip(wide["config_key"], wide["trial"], strict=True)) == {"a": 0, "b": 1}
    long = wide.melt(id_vars=ids, var_name="epoch").dropna(subset=["value"])
    long["epoch"] = long["epoch"].astype(int)
    expected = results.curves.dropna(subset=["value"])
    merged = expected.merge(long, on=["config_key", "seed", "curve", "epoch"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == len(expected) == 13
    assert merged["value_x"].tolist() == pytest.approx(merged["value_y"].tolist(), rel=1e-14)
    records = json.loads((tmp_path / "curves.json").read_text())
    as_dict = {(r["config_key"], r["seed"], r["curve"]): r["values"] for r in records}
    assert {r["config_key"]: r["trial"] for r in records} == {"a": 0, "b": 1}
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
    code = ("import sys, tuning.analysis, tuning.diagnose, tuning.statistics, tuning.trials; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_trials_table_has_seed_columns_and_statistics_per_config():
    from tuning.analysis import trials_table

    results = make_results({"a": [0.1, 0.3], "b": [0.5]}, failed={"a": 1})
    trials = trials_table(results.fits, "val_loss", {"a": "failed"}).set_index("config_key")
    assert trials.loc["a", ["seed0_val_loss", "seed1_val_loss"]].tolist() == [0.1, 0.3]
    assert "seed2_val_loss" not in trials.columns  # the failed seed has no score
    assert pd.isna(trials.loc["b", "seed1_val_loss"])  # b has one seed only
    assert trials.loc["a", ["n_seeds", "n_failed", "status"]].tolist() == [2, 1, "failed"]
    assert trials.loc["a", "mean"] == pytest.approx(0.2) and trials.loc["a", "std"] == pytest.approx(0.1414213562)
    assert trials.loc["a", "fit_seconds"] == pytest.approx((1.0 + 2.0 + 0.5) / 3)
    # One table, one rule: a single seed has a mean and no spread (NaN, as in the summary), not 0.
    assert trials.loc["b", ["n_seeds", "min", "max", "status"]].tolist() == [1, 0.5, 0.5, "running"]
    assert pd.isna(trials.loc["b", "std"])
    summary = summary_table(results).set_index("config_key")
    for column in ("n_seeds", "n_failed", "mean", "std", "min", "median", "max", "fit_seconds"):
        assert trials[column].equals(summary.loc[trials.index, column]), column
    assert trials.loc["b", "param_units"] == 1


def test_trials_table_names_the_settings_the_configs_differ_in_and_fits_keep_every_setting():
    from tuning.analysis import trials_table

    params = {"a": {"units": 8, "dropout": 0.0, "optimizer": "adam"}, "b": {"units": 16, "dropout": 0.0, "optimizer": "adam"}}
    results = make_results({"a": [0.1, 0.3], "b": [0.5, 0.4]}, params=params)
    trials = trials_table(results.fits, "val_loss", {})
    assert [c for c in trials.columns if c.startswith("param_")] == ["param_units"]  # as cv_results_: the searched one
    assert {"param_units", "param_dropout", "param_optimizer"} <= set(results.fits.columns)


def test_analysis_package_has_no_import_cycle_type_hints_included_and_short_modules():
    """Issue 23: one concept per module (<= 450 lines) and imports that run one way, even the ones
    under ``if TYPE_CHECKING:`` (``Results`` is the facade above the tables; they hint StudyFrames)."""
    import ast
    from pathlib import Path

    import tuning.analysis

    folder = Path(tuning.analysis.__file__).parent
    modules = {f"tuning.analysis.{p.stem}": p for p in folder.glob("*.py") if p.stem != "__init__"}
    graph = {}
    for name, path in modules.items():
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 450, name
        found = set()
        for node in ast.walk(ast.parse(text)):  # every import, type-hint and function-level ones too
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        assert "tuning.analysis" not in found, f"{name} imports the package's __init__ (a cycle)"
        graph[name] = found & set(modules) - {name}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    assert [m for m in graph if reaches(m, m, set())] == []
    assert "tuning.analysis.frames" not in set().union(*graph.values())  # nothing below imports the facade


def test_public_names_kept_by_the_split_of_the_diagnosis():
    import tuning
    import tuning.diagnose
    from tuning.analysis import curves, diagnose, extrapolation, labels

    assert tuning.extrapolated_gain is diagnose.extrapolated_gain is extrapolation.extrapolated_gain
    assert tuning.diagnose_curve is tuning.diagnose.diagnose_curve is curves.diagnose_curve
    assert tuning.Thresholds is diagnose.Thresholds is labels.Thresholds
    for name in diagnose.__all__:
        assert getattr(tuning.diagnose, name) is getattr(diagnose, name), name


def test_a_study_whose_every_fit_failed_is_not_said_to_be_waiting_for_one():
    failed = make_results({"a": [], "b": []}, failed={"a": 2, "b": 2})
    assert verdict(failed, select(failed)).lines == [
        "no config has a finished seed: every stored fit failed (see the failed trials' errors)"]
    empty = make_results({})
    assert verdict(empty, select(empty)).lines == ["no config has a finished seed yet"]


def test_a_study_of_one_config_is_not_told_it_lacks_seeds():
    single = make_results({"a": [1.0, 1.1, 0.9]})
    assert verdict(single, select(single)).lines == ["could be the best: one config, nothing to compare it with"]
    two = make_results({"a": [1.0, 1.1, 0.9], "b": [2.0]})
    assert "needs two configs with 2 or more seeds each" in verdict(two, select(two)).lines[-1]


def test_a_config_its_race_eliminated_keeps_what_the_comparison_on_every_seed_says():
    """Two configs the comparison on every seed cannot tell apart; the study's race eliminated b on
    the seeds it had then. The race promises only not to drop the true best (tied configs may lose
    either), so its elimination is not the table's "worse": b stays 'could be best', and the
    verdict says the race eliminated it."""
    import pandas as pd

    tied = make_results({"a": [1.0, 1.1, 0.9], "b": [1.05, 1.0, 1.1]})
    assert select(tied).table["could_be_best"].tolist() == [True, True]
    raced = Results(tied.name, tied.fits, pd.DataFrame({
        "config_key": ["a", "b"], "race_eliminated": [None, "eliminated after 3 seeds: worse than trial 0, p = 0.01"]}),
        tied.fit_curves, tied.baseline, tied.metric, tied.direction, tied.spec)
    table = select(raced).table.set_index("config_key")
    assert table["could_be_best"].tolist() == [True, True]
    lines = verdict(raced, select(raced)).lines
    assert lines[0].startswith("could be the best: 2 of 2 configs")
    assert lines[1] == ("of them the race eliminated trial 1 (units=1) on the seeds they had then; on every stored "
                        "seed they are not shown worse")


def test_config_names_write_sampled_floats_short():
    from tuning.analysis import config_names

    results = make_results({"a": [1.0, 1.1], "b": [2.0, 2.1]},
                           params={"a": {"lr": 0.19376823391999684, "units": 2}, "b": {"lr": 0.001, "units": 3}})
    assert config_names(results) == {"a": "trial 0 (lr=0.1938, units=2)", "b": "trial 1 (lr=0.001, units=3)"}


def test_seeds_needed_says_what_the_runs_settled_when_they_did_not_separate_the_top_two():
    """Paired seed differences built with a known mean and sd (10 seeds, sd 0.01): a runner-up shown
    within the margin gets 'none more' even where the plan at the margin asks for more seeds (a new
    user read 'equivalent' and then 'about 12 seeds per config (now 10)'); seeds enough for the margin
    that did not separate the two say their gap is probably smaller, not that they are 'enough'."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=10)
    z = (z - z.mean()) / z.std(ddof=1)  # exactly mean 0, sd 1
    base = 1.0 + rng.normal(0, 0.05, 10)
    se = 0.01 / np.sqrt(10)

    def reading(gap: float, margin: float):
        results = make_results({"a": base.tolist(), "b": (base + gap * se + 0.01 * z).tolist()})
        selected = select(results, margin=margin)
        told = verdict(results, selected, storage="sqlite:///s.db")
        return selected.table, told, next(line for line in told.lines if line.startswith("seeds needed"))

    table, told, line = reading(1.4, 0.0103)  # the plan at this margin: 12 seeds
    assert table["equivalent_to_best"].tolist() == [True, True] and table["could_be_best"].tolist() == [True, True]
    assert line.startswith("seeds needed: none more; the 10 run show trial 1 within the margin (0.0103) of trial 0, "
                           "equivalent (separating a gap as small as the margin would take about 12 seeds per config)")
    assert told.command is None
    table, told, line = reading(2.2, 0.01265)  # the plan: 9 seeds; 10 run, neither worse nor within the margin
    assert table["equivalent_to_best"].tolist() == [True, False] and table["could_be_best"].tolist() == [True, True]
    assert told.seeds_needed == 9 and told.command is None
    assert line.endswith("about 9 seeds per config; the 10 run would separate a gap of the margin 4 times in 5 and "
                         "did not, so their gap is probably smaller")


def test_best_params_and_score_are_the_compared_best_like_scikit_learns():
    """best_params / best_score (scikit-learn's best_params_ / best_score_) name the config the
    verdict calls the best: a lucky config fitted on one seed ranks first but is not it."""
    params = {"lucky": {"units": [4, 4], "dropout": 0.0}, "good": {"units": [8], "dropout": 0.1},
              "worse": {"units": [2], "dropout": 0.1}}
    results = make_results({"lucky": [0.1], "good": [0.5, 0.52, 0.51], "worse": [0.9, 0.92, 0.91]}, params=params,
                           spec={"space": {"units": [[4, 4], [8], [2]]}})
    assert results.summary["config_key"].tolist()[0] == "lucky"
    assert results.best_config_key == "good" and results.verdict.best.startswith("trial 1")
    assert results.best_params == {"units": [8]}  # the searched settings, as the spec gives them
    assert results.best_score == pytest.approx(np.mean([0.5, 0.52, 0.51]))
    assert results.summary.set_index("config_key")["trial"].to_dict() == {"lucky": 0, "good": 1, "worse": 2}
    empty = make_results({})
    assert (empty.best_config_key, empty.best_params, empty.best_score) == (None, None, None)


def test_a_long_could_be_best_list_names_the_configs_shown_worse_instead_of_hiding_members():
    """8 configs, 7 of them close and one far worse: "7 of 8 configs (a, b, c, d, e and 2 more)" hid
    which two; the shorter list, the one shown worse, says it all."""
    rng = np.random.default_rng(3)
    scores = {f"c{i}": (1.0 + 0.01 * i + rng.normal(0, 0.05, 4)).tolist() for i in range(7)}
    scores["far"] = (5.0 + rng.normal(0, 0.05, 4)).tolist()
    results = make_results(scores)
    line = next(x for x in results.verdict.lines if x.startswith("could be the best"))
    assert line.startswith("could be the best: 7 of 8 configs (every one but trial 7 (units=7), shown worse)"), line
    close = make_results({k: v for k, v in scores.items() if k != "far"})  # none worse: no empty list
    line = next(x for x in close.verdict.lines if x.startswith("could be the best"))
    assert line.startswith("could be the best: 7 of 7 configs (all of them: none is shown worse)"), line
    few = make_results({k: scores[k] for k in ("c0", "c1", "far")})
    assert "2 of 3 configs (trial " in next(x for x in few.verdict.lines if x.startswith("could be"))  # short: named
