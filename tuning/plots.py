"""The plots of a study report: data first (DataFrames), drawing second (PNG bytes).

Computing what a plot shows apart from drawing it keeps the numbers testable without looking
at pixels, and lets a notebook restyle a figure from the same frame. Every figure is drawn on
matplotlib's Agg canvas through ``matplotlib.figure.Figure`` (never ``pyplot``): no display is
needed, and the report server may draw in several threads without sharing pyplot's global
state. Nothing here imports TensorFlow: plotting a study must work where no backend is installed.

Example:
    >>> results = tuning.load_results("quickstart")                       # doctest: +SKIP
    >>> png = draw_seed_boxes(seed_scores_data(results), results.metric)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: headless, no display needed

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tuning.analysis.diagnose import mean_curve  # noqa: E402
from tuning.analysis.inputs import varying_params  # noqa: E402
from tuning.analysis.seeds import good_scores  # noqa: E402
from tuning.results import TrialStatus  # noqa: E402

if TYPE_CHECKING:
    from tuning.analysis.frames import Results
    from tuning.store import Store

TOP = 6
CURVE_COLUMNS = ["config_key", "label", "epoch", "split", "mean", "std", "n"]


@dataclass
class Plot:
    """One figure of the report: a title, a caption or note, and the PNG (None when skipped)."""

    title: str
    caption: str
    png: bytes | None = None


# -- data ------------------------------------------------------------------------------------------


def config_labels(results: Results) -> dict[str, str]:
    """config_key -> "units=3, dropout=0.2" (its varying settings), else the key itself."""
    params = varying_params(results.fits)
    firsts = results.fits.drop_duplicates("config_key")
    columns = [firsts[p].tolist() for p in params]
    names = [p.removeprefix("param_") for p in params]
    return {key: ", ".join(f"{n}={values[i]}" for n, values in zip(names, columns, strict=True)) or str(key)[:8]
            for i, key in enumerate(firsts["config_key"])}


def top_configs(summary: pd.DataFrame, top: int = TOP) -> list[str]:
    """The ``top`` best-ranked configs of a :func:`tuning.analysis.summary_table` (best first)."""
    ranked = summary[summary["rank"].notna()] if "rank" in summary.columns else summary
    return ranked["config_key"].head(top).tolist()


def seed_scores_data(results: Results, configs: list[str] | None = None) -> pd.DataFrame:
    """One row per finished seed of the given configs: ``config_key``, ``label``, ``seed``, ``score``.

    Rows keep the order of ``configs`` (best first), so the boxes read left to right by rank.
    """
    good = good_scores(results.fits, results.metric)
    if configs is None:
        configs = list(dict.fromkeys(good["config_key"]))
    labels = config_labels(results)
    frame = good[good["config_key"].isin(configs)]
    order = {k: i for i, k in enumerate(configs)}
    frame = frame.assign(label=frame["config_key"].map(labels), score=frame[results.metric].astype(float),
                         _order=frame["config_key"].map(order))
    frame = frame.sort_values(["_order", "seed"], kind="stable")
    return frame[["config_key", "label", "seed", "score"]].reset_index(drop=True)


def interval_data(results: Results, summary: pd.DataFrame, configs: list[str]) -> pd.DataFrame:
    """Per config (in ``configs`` order): ``config_key``, ``label``, the study's ``aggregate`` and its
    95 % interval (``low``, ``high``) from a :func:`tuning.analysis.summary_table`."""
    labels = config_labels(results)
    rows = summary.set_index("config_key").reindex(configs)
    return pd.DataFrame({"config_key": configs, "label": [labels.get(k, k) for k in configs],
                         "aggregate": rows["aggregate"].to_numpy(dtype=float),
                         "low": rows["aggregate_low"].to_numpy(dtype=float),
                         "high": rows["aggregate_high"].to_numpy(dtype=float)})


MAX_BOXES = 12  # more boxes than this per parameter are unreadable, and slow to draw


def param_scores_data(results: Results) -> pd.DataFrame:
    """Long form, one row per (varying parameter, finished seed): ``param``, ``value``, ``score``."""
    good = good_scores(results.fits, results.metric)
    parts = [pd.DataFrame({"param": p.removeprefix("param_"), "value": _value_labels(good[p]),
                           "config_key": good["config_key"], "score": good[results.metric].astype(float)})
             for p in varying_params(results.fits)]
    if not parts:
        return pd.DataFrame(columns=["param", "value", "config_key", "score"])
    return pd.concat(parts, ignore_index=True)


def _value_labels(values: pd.Series, max_boxes: int = MAX_BOXES) -> pd.Series:
    """Values as box labels; a continuous axis (e.g. a log-uniform learning rate, where every
    trial has its own value) is cut into ``max_boxes`` quantile bins, so each box holds many seeds.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    if values.nunique() <= max_boxes or numeric.isna().any():
        return values.astype(str)
    bins = pd.qcut(numeric, max_boxes, duplicates="drop")
    return bins.map(lambda b: f"{b.left:.3g}–{b.right:.3g}").astype(str)


def curve_band_data(results: Results, configs: list[str], curve: str = "loss") -> pd.DataFrame:
    """Mean ± std over seeds per epoch of the train (``curve``) and validation (``val_curve``) curves.

    Columns :data:`CURVE_COLUMNS`; ``n`` is how many seeds reached the epoch (early stopping ends
    runs unequally, so the mean is over the runs still going, as in :func:`tuning.diagnose.mean_curve`).
    """
    labels = config_labels(results)
    seeds_of: dict[str, list[int]] = {}
    for key, seed in results.fit_curves:
        seeds_of.setdefault(key, []).append(seed)
    rows = []
    for key in configs:
        for split, name in (("train", curve), ("validation", f"val_{curve}")):
            runs = [np.asarray(results.fit_curves[(key, s)][name], dtype=float) for s in sorted(seeds_of.get(key, []))
                    if results.fit_curves[(key, s)].get(name)]
            if not runs:
                continue
            mean = mean_curve(runs)
            for e, m in enumerate(mean):
                reached = [r[e] for r in runs if len(r) > e]
                std = float(np.std(reached, ddof=1)) if len(reached) > 1 else 0.0
                rows.append({"config_key": key, "label": labels.get(key, key), "epoch": e + 1, "split": split,
                             "mean": float(m), "std": std, "n": len(reached)})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def diagnosis_examples(summary: pd.DataFrame) -> dict[str, str]:
    """One config per diagnosis label (the best-ranked one with it): label -> config_key."""
    examples: dict[str, str] = {}
    if "diagnosis" not in summary.columns:
        return examples
    for key, label in zip(summary["config_key"], summary["diagnosis"], strict=True):
        if isinstance(label, str) and label not in examples:
            examples[label] = key
    return examples


def history_data(trials: list[dict], direction: str) -> pd.DataFrame:
    """Complete trials in order: ``number``, ``value`` and ``best`` (the best value so far)."""
    done = sorted((t for t in trials if t.get("status") in (TrialStatus.COMPLETE, TrialStatus.SUPERSEDED)
                   and t.get("value") is not None
                   and math.isfinite(t["value"])), key=lambda t: t["number"])
    frame = pd.DataFrame({"number": [t["number"] for t in done], "value": [float(t["value"]) for t in done]})
    frame["best"] = frame["value"].cummax() if direction == "maximize" else frame["value"].cummin()
    return frame


def importance_data(study: str, storage: str | Store) -> tuple[pd.DataFrame, str]:
    """Optuna's parameter importances of ``study`` as (``param``, ``importance``) rows, and a note.

    An empty frame with the reason as note when the question has no answer: fewer than two
    complete trials, or a single searched parameter (its importance would be 1 by definition).
    fANOVA is Optuna's default; without scikit-learn, PED-ANOVA (which needs none) stands in.
    """
    import optuna

    from tuning.store import open_store

    empty = pd.DataFrame(columns=["param", "importance"])
    loaded = optuna.load_study(study_name=study, storage=open_store(storage).optuna_storage())
    complete = [t for t in loaded.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    params = {p for t in complete for p in t.params}
    if len(complete) < 2:
        return empty, f"parameter importance skipped: {len(complete)} complete trial(s), need at least 2"
    if len(params) < 2:
        return empty, f"parameter importance skipped: only one searched parameter ({', '.join(params) or 'none'})"
    note = "fANOVA (Optuna's default)"
    try:
        found = optuna.importance.get_param_importances(loaded)
    except ImportError:
        found = optuna.importance.get_param_importances(loaded, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
        note = "PED-ANOVA (scikit-learn is not installed, which fANOVA needs)"
    frame = pd.DataFrame({"param": list(found), "importance": [float(v) for v in found.values()]})
    return frame, f"importance by {note} over {len(complete)} complete trials"


# -- drawing ---------------------------------------------------------------------------------------


def _figure(width: float = 7.0, height: float = 4.0) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _wrap(label: object, width: int = 36) -> str:
    """A config label on several lines at ", " boundaries: "units=3, dropout=0.2, ..." of many
    searched parameters would otherwise push the plot off the figure."""
    return "\n".join(textwrap.wrap(str(label), width, break_long_words=False, break_on_hyphens=False)) or str(label)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_seed_boxes(data: pd.DataFrame, metric: str, intervals: pd.DataFrame | None = None,
                    aggregate: str = "mean") -> bytes:
    """Box and whisker of each config's seed scores, with every seed drawn as a dot on top and,
    given :func:`interval_data`, the aggregate with its 95 % interval as a red bar below the box."""
    data = data.assign(label=data["label"].map(_wrap))
    lines = max((label.count("\n") + 1 for label in data["label"].unique()), default=1)
    fig, ax = _figure(9.0, (0.3 + 0.25 * lines) * max(data["label"].nunique(), 1) + 1.6)
    if not data.empty:
        sns.boxplot(data=data, x="score", y="label", ax=ax, color="#cfe0f3", fliersize=0)
        sns.stripplot(data=data, x="score", y="label", ax=ax, color="#1f4e79", size=5, jitter=0.15)
        if intervals is not None and len(intervals):
            order = list(dict.fromkeys(data["label"]))
            shown = intervals.assign(label=intervals["label"].map(_wrap))
            shown = shown[shown["label"].isin(order) & np.isfinite(shown["aggregate"])]
            y = np.array([order.index(label) for label in shown["label"]], dtype=float) + 0.32
            low = (shown["aggregate"] - shown["low"]).fillna(0).clip(lower=0)
            high = (shown["high"] - shown["aggregate"]).fillna(0).clip(lower=0)
            ax.errorbar(shown["aggregate"], y, xerr=[low, high], fmt="D", color="#b03a2e", markersize=4,
                        capsize=3, linewidth=1.2, label=f"{aggregate}, 95 % interval")
            ax.legend(loc="best", fontsize=8, frameon=False)
    ax.set_xlabel(f"{metric} (one dot per seed)")
    ax.set_ylabel("")
    return _png(fig)


def draw_param_boxes(data: pd.DataFrame, metric: str) -> bytes:
    """One panel per varying parameter: seed scores by the parameter's value."""
    params = list(dict.fromkeys(data["param"])) or ["(none)"]
    fig = Figure(figsize=(4.0 * len(params), 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(params), squeeze=False)[0]
    for ax, param in zip(axes, params, strict=True):
        part = data[data["param"] == param]
        if not part.empty:
            sns.boxplot(data=part, x="value", y="score", ax=ax, color="#d9ead3", fliersize=0)
            sns.stripplot(data=part, x="value", y="score", ax=ax, color="#274e13", size=4, jitter=0.15)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
    return _png(fig)


def draw_curves(data: pd.DataFrame, curve: str = "loss") -> bytes:
    """Train (dashed) and validation (solid) mean curves per config, shaded ± one std over seeds."""
    labels = list(dict.fromkeys(data["label"]))
    legend_lines = sum(_wrap(label).count("\n") + 1 for label in labels)
    fig, ax = _figure(10.0, max(4.2, 0.2 * legend_lines + 1.5))
    palette = sns.color_palette("tab10", max(len(labels), 1))
    for colour, label in zip(palette, labels, strict=False):
        for split, style in (("train", "--"), ("validation", "-")):
            part = data[(data["label"] == label) & (data["split"] == split)]
            if part.empty:
                continue
            # one legend entry per config (its colour); the caption says dashed = train, solid = validation
            ax.plot(part["epoch"], part["mean"], style, color=colour,
                    label=_wrap(label) if split == "validation" else None)
            ax.fill_between(part["epoch"], part["mean"] - part["std"], part["mean"] + part["std"], color=colour,
                            alpha=0.15, linewidth=0)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"{curve} (mean ± std over seeds)")
    if labels:  # beside the axes, not over the curves
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _png(fig)


def draw_history(data: pd.DataFrame, metric: str) -> bytes:
    """Each trial's objective by trial number, and the best so far as a step line."""
    fig, ax = _figure(7.0, 3.6)
    ax.scatter(data["number"], data["value"], color="#1f4e79", label="trial objective", zorder=3)
    ax.step(data["number"], data["best"], where="post", color="#c00000", label="best so far")
    ax.set_xlabel("trial number")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"objective ({metric})")
    ax.legend(fontsize="small")
    return _png(fig)


def draw_importance(data: pd.DataFrame) -> bytes:
    """Horizontal bars of parameter importance, most important on top."""
    data = data.sort_values("importance", ascending=True)
    fig, ax = _figure(6.0, 0.5 * max(len(data), 1) + 1.4)
    ax.barh(data["param"], data["importance"], color="#7f6000")
    ax.set_xlabel("importance (sums to 1)")
    return _png(fig)


def race_data(trials: list[dict]) -> pd.DataFrame:
    """Per config a race decided for: its trial, the seeds it got in the race, and whether it was
    dropped (empty when the study did not race)."""
    from tuning.trials import trial_numbers

    numbers = trial_numbers(trials)
    rows = [{"trial": f"trial {numbers.get(t['config_key'], t['number'])}", "seeds": int(t["race"].get("seeds") or 0),
             "dropped": t["race"].get("beaten_by") is not None}
            for t in trials if t.get("race") and t["status"] in (TrialStatus.COMPLETE, TrialStatus.FAILED)]
    return pd.DataFrame(rows, columns=["trial", "seeds", "dropped"])


def draw_race(data: pd.DataFrame) -> bytes:
    """Seeds each config got in the race, most on top: grey = dropped, blue = left at the end."""
    data = data.sort_values(["seeds", "dropped"], ascending=[True, False])
    fig, ax = _figure(6.0, 0.32 * max(len(data), 1) + 1.4)
    ax.barh(data["trial"], data["seeds"], color=np.where(data["dropped"], "#a6a6a6", "#1f4e79"))
    ax.set_xlabel("seeds the config got before the race dropped it (grey) or ended (blue)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(fig)


def study_plots(results: Results, summary: pd.DataFrame | None = None, trials: list[dict] | None = None,
                storage: str | Store | None = None, top: int = TOP) -> list[Plot]:
    """Every plot of the report, in page order; a plot with nothing to show is kept with a note.

    ``study_plots(results)`` reads the rest from the study's store: ``results.summary``, its trials
    (the optimisation history, the race) and Optuna's study (parameter importance).
    """
    summary = results.summary if summary is None else summary
    storage = results.storage if storage is None else storage
    if trials is None:
        from tuning.store import open_store
        from tuning.trials import read_trials

        trials = read_trials(open_store(storage), results.name) if storage is not None else []
    plots = []
    best = top_configs(summary, top)
    seeds = seed_scores_data(results, best)
    aggregate = ((results.spec or {}).get("objective") or {}).get("aggregate") or "mean"
    intervals = interval_data(results, summary, best) if "aggregate" in summary.columns else None
    plots.append(Plot(f"Seed scores of the top {len(best)} configs",
                      f"{results.metric}, box = quartiles over seeds, dot = one seed, red = the {aggregate} "
                      "and its 95 % interval",
                      draw_seed_boxes(seeds, results.metric, intervals, aggregate) if not seeds.empty else None))
    by_param = param_scores_data(results)
    plots.append(Plot("Score by parameter value", "seed scores pooled over every config with the value",
                      draw_param_boxes(by_param, results.metric) if not by_param.empty else None))
    bands = curve_band_data(results, best[:4])
    plots.append(Plot("Learning curves of the best configs", "dashed = train, solid = validation; band = ± 1 std",
                      draw_curves(bands) if not bands.empty else None))
    for label, key in diagnosis_examples(summary).items():
        example = curve_band_data(results, [key])
        name = config_labels(results).get(key, key)
        plots.append(Plot(f"Learning curves: {label}", f"example config {name}; dashed = train, solid = validation",
                          draw_curves(example) if not example.empty else None))
    history = history_data(trials, results.direction)
    plots.append(Plot("Optimisation history", "trial objective and best so far",
                      draw_history(history, results.metric) if not history.empty else None))
    race = race_data(trials)
    if not race.empty:
        plots.append(Plot("Racing over seeds", "seeds each config got; the race drops a config once it cannot be "
                          "the best (tuning status lists who beat it, with p)", draw_race(race)))
    if storage is not None:
        importance, note = importance_data(results.name, storage)
        plots.append(Plot("Parameter importance", note, draw_importance(importance) if not importance.empty else None))
    return [p if p.png is not None or "skipped" in p.caption else Plot(p.title, f"{p.caption} (nothing to plot yet)")
            for p in plots]
