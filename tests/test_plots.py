"""Plot data has the rows the study implies, and every drawing is a PNG that decodes."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import matplotlib.image
import numpy as np
import optuna
import pandas as pd
import pytest
from helpers.stores import PNG, tiny_store

from tuning import load_results
from tuning.analysis import summary_table
from tuning.plots import (
    config_labels,
    curve_band_data,
    diagnosis_examples,
    draw_curves,
    draw_history,
    draw_importance,
    draw_param_boxes,
    draw_seed_boxes,
    history_data,
    importance_data,
    param_scores_data,
    seed_scores_data,
    study_plots,
    top_configs,
)
from tuning.store import Store
from tuning.trials import read_trials

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    copy = tmp_path_factory.mktemp("plots") / "store.db"
    shutil.copy(tiny_store(tmp_path_factory), copy)
    url = f"sqlite:///{copy}"
    results = load_results("tiny", url)
    return url, results, summary_table(results), read_trials(Store(url, create=False), "tiny")


def decodes(png: bytes) -> bool:
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    return png.startswith(PNG) and image.shape[0] > 50 and image.shape[1] > 50


def test_seed_scores_of_the_top_configs_best_first(study):
    _, results, summary, _ = study
    best = top_configs(summary, 2)
    assert best == summary["config_key"].head(2).tolist()
    data = seed_scores_data(results, best)
    assert len(data) == 4 and list(data.columns) == ["config_key", "label", "seed", "score"]
    assert data["config_key"].tolist() == [best[0], best[0], best[1], best[1]]
    assert set(data["label"]) <= {"units=1", "units=2", "units=3"}
    assert decodes(draw_seed_boxes(data, results.metric))


def test_param_scores_one_row_per_seed_and_varying_parameter(study):
    _, results, _, _ = study
    data = param_scores_data(results)
    assert len(data) == 6 and set(data["param"]) == {"units"}  # the fixed settings are left out
    assert sorted(data["value"].unique()) == ["1", "2", "3"]
    assert decodes(draw_param_boxes(data, results.metric))


def test_curve_bands_are_mean_and_std_over_seeds(study):
    _, results, summary, _ = study
    keys = summary["config_key"].tolist()
    data = curve_band_data(results, keys)
    assert len(data) == 3 * 2 * 3  # configs × (train, validation) × epochs
    assert (data["n"] == 2).all() and (data["std"] >= 0).all()
    curves = results.curves
    one = curves[(curves["config_key"] == keys[0]) & (curves["curve"] == "val_loss") & (curves["epoch"] == 2)]
    row = data[(data["config_key"] == keys[0]) & (data["split"] == "validation") & (data["epoch"] == 2)].iloc[0]
    assert row["mean"] == pytest.approx(one["value"].mean())
    assert row["std"] == pytest.approx(np.std(one["value"], ddof=1))
    assert decodes(draw_curves(data))


def test_one_example_config_per_diagnosis_label(study):
    _, _, summary, _ = study
    examples = diagnosis_examples(summary)
    assert set(examples) == set(summary["diagnosis"].dropna())
    for label, key in examples.items():
        assert summary.loc[summary["config_key"] == key, "diagnosis"].item() == label


def test_history_has_best_so_far(study):
    _, results, _, trials = study
    data = history_data(trials, results.direction)
    assert data["number"].tolist() == [0, 1, 2]
    assert (np.diff(data["best"]) <= 0).all() and data["best"].iloc[-1] == data["value"].min()
    assert decodes(draw_history(data, results.metric))


def test_importance_is_skipped_with_one_parameter(study):
    url, *_ = study
    data, note = importance_data("tiny", url)
    assert data.empty and "skipped" in note and "units" in note


def test_importance_of_two_parameters(tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    two = optuna.create_study(study_name="two", storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
    two.optimize(lambda t: 10 * t.suggest_float("x", 0, 1) + 0.1 * t.suggest_float("y", 0, 1), n_trials=12)
    data, note = importance_data("two", url)
    assert set(data["param"]) == {"x", "y"} and data["importance"].sum() == pytest.approx(1.0)
    assert data.set_index("param")["importance"]["x"] > data.set_index("param")["importance"]["y"]
    assert "12 complete trials" in note
    assert decodes(draw_importance(data))


def test_study_plots_all_drawn_or_explained(study):
    url, results, summary, trials = study
    plots = study_plots(results, summary, trials, url)
    titles = [p.title for p in plots]
    assert titles[:3] == ["Seed scores of the top 3 configs", "Score by parameter value",
                          "Learning curves of the best configs"]
    assert "Optimisation history" in titles and titles[-1] == "Parameter importance"
    assert sum(t.startswith("Learning curves: ") for t in titles) == len(diagnosis_examples(summary))
    for plot in plots:
        assert (plot.png is not None and decodes(plot.png)) or plot.caption
    assert config_labels(results)[summary["config_key"].iloc[0]].startswith("units=")
    # From a notebook: results alone; the rest is read from the study's store (it needed tuning's
    # internal read_trials to draw the history)
    alone = study_plots(results)
    assert [p.title for p in alone] == titles
    assert [p.caption for p in alone] == [p.caption for p in plots]


def test_plots_never_import_tensorflow():
    code = ("import sys, tuning.plots, tuning.report, tuning.report._html, tuning.report.serve;"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_long_config_labels_fit_the_figures():
    import warnings

    long = [f"units={u}, layers=2, dropout=0.2, learning_rate=0.001, batch_size=32, initializer=glorot_uniform"
            for u in range(8)]
    seeds = pd.DataFrame([{"config_key": str(i), "label": text, "seed": s, "score": 0.1 * i + 0.01 * s}
                          for i, text in enumerate(long) for s in range(3)])
    bands = pd.DataFrame([{"config_key": str(i), "label": text, "epoch": e, "split": split, "mean": 1 / e + i,
                           "std": 0.01, "n": 3} for i, text in enumerate(long) for split in ("train", "validation")
                          for e in range(1, 6)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert decodes(draw_seed_boxes(seeds, "val_loss")) and decodes(draw_curves(bands))
    layout = [str(w.message) for w in caught if "layout" in str(w.message).lower()]
    assert layout == []  # e.g. "constrained_layout not applied": labels pushed the axes off the figure
