"""The plot data the report embeds: safe inside a <script> element, numbers JSON can hold, names of pages."""

from __future__ import annotations

import json
import math

import numpy as np

from tuning.analysis.variance import split_variance
from tuning.report._data import page_name, script_json, short_numbers, variance_text


def test_embedded_json_cannot_close_its_script_element():
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    text = script_json({"study": hostile, "n": [1, 2.5, None]}, raw={"curves": "[1,null]"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"study": hostile, "n": [1, 2.5, None], "curves": [1, None]}


def test_curves_are_written_short_and_missing_points_as_null():
    text = short_numbers([0.123456789, 4.2e-7, math.nan, math.inf, 12345678.0])
    assert text == "[0.1235,4.2e-07,null,null,1.235e+07]" and json.loads(text)[2] is None


def test_page_names_are_file_names():
    assert page_name("ab12cd") == "ab12cd.html"
    assert page_name("../a b/c") == "___a_b_c.html"


def test_the_sentence_gives_seed_noise_and_each_parameter_its_share():
    rng = np.random.default_rng(3)
    scores = rng.normal(0, 1.0, (300, 1)) + rng.normal(0, 1.0, (300, 6))  # half of the variance is seed noise
    split = split_variance(scores)
    told = variance_text(split, {"learning_rate": 0.75, "units": 0.25}, "fANOVA", "val_mae")
    seed = 100 * split.seed_share
    assert abs(seed - 50) < 8
    shared = 100 * split.shared_share  # no seed luck common to the configs was drawn
    assert shared < 2
    expected = (f"seed noise explains {seed:.0f} % of the variance in val_mae ({shared:.0f} % the seeds' luck shared "
                f"by every config, which moves them together and leaves their order; {seed - shared:.0f} % each "
                f"config's own); learning_rate {0.75 * (100 - seed):.0f} %, units {0.25 * (100 - seed):.0f} %")
    assert told["sentence"] == expected
    assert math.isclose(sum(share for _, share in told["params"]) + told["seed"], 1.0)
    assert variance_text(split_variance(np.ones((1, 3))), {}, "x", "m")["seed"] is None


def test_the_caption_names_the_variance_split_that_was_computed():
    crossed = split_variance(np.array([[1.0, 2.0, 1.5], [2.0, 3.5, 2.5], [0.5, 1.0, 0.2]]))  # configs share seeds
    scattered = split_variance(np.array([[1.0, 2.0, np.nan, np.nan], [np.nan, np.nan, 3.0, 5.0]]))  # no common seed
    assert math.isfinite(crossed.shared) and not math.isfinite(scattered.shared)
    assert variance_text(crossed, {}, "fANOVA", "m")["method"].startswith("two-way random-effects ANOVA")
    assert variance_text(scattered, {}, "fANOVA", "m")["method"].startswith("one-way random-effects ANOVA")


def test_importance_is_of_the_seed_aggregate_and_says_why_when_it_cannot():
    from tuning.report._data import importance

    kinds = [{"name": "lr", "log": True, "categorical": False}, {"name": "units", "log": False, "categorical": False},
             {"name": "act", "log": False, "categorical": True}]
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(60):
        lr, units, act = float(10 ** rng.uniform(-4, -1)), int(rng.choice([8, 16, 32])), str(rng.choice(["relu", "tanh"]))
        rows.append({"params": [lr, units, act], "aggregate": (np.log10(lr) + 2.5) ** 2 + 0.01 * rng.normal()})
    found, note = importance(rows, kinds, "minimize")
    assert max(found, key=found.get) == "lr" and found["lr"] > 0.8 and "fANOVA" in note  # only lr moves the score
    assert importance(rows[:1], kinds, "minimize") == ({}, "importance skipped: 1 config(s) with an aggregate, need at least 2")
    flat = [{**r, "aggregate": 1.0} for r in rows]  # nothing to explain: no crash, a reason or zeros
    shares, _ = importance(flat, kinds, "minimize")
    assert all(math.isfinite(v) for v in shares.values())


def test_the_best_config_box_is_the_best_compared_not_a_lucky_single_seed():
    from helpers.results import make_results

    from tuning.analysis import summary_table
    from tuning.report._html import best_config

    summary = summary_table(make_results({"a": [1.0, 1.1, 0.9], "b": [1.5, 1.6, 1.4], "lucky": [0.5]}))
    assert summary.iloc[0]["config_key"] == "lucky"  # ranked first on its one seed
    box = best_config(summary, ["param_units"])
    assert box["config_key"] == "a" and box["n_seeds"] == 3


def test_a_list_valued_axis_is_drawn_in_the_order_of_its_numbers():
    """``units: [[32, 32], [8, 8], [16]]`` is a categorical axis whose text order ([16] first) is wrong."""
    from helpers.results import make_results

    from tuning.report._data import _param_kinds

    params = {f"c{i}": {"units": units, "act": act}
              for i, (units, act) in enumerate((([32, 32], "tanh"), ([8, 8], "relu"), ([16], "tanh")))}
    results = make_results({k: [0.1, 0.2] for k in params}, params=params)
    units, act = _param_kinds(results, ["param_units", "param_act"])
    assert units["categorical"] and units["levels"] == ["[8, 8]", "[16]", "[32, 32]"]
    assert act["levels"] == ["relu", "tanh"]
