"""Turn a study's tables and plots into the template's context, and render it.

The context holds only strings and numbers already formatted for reading, each table cell with
an optional ``sort`` key (the raw number) so the page's sorting script orders 10 after 9, not
after 1. Escaping is left to jinja2 (autoescape on for every template), never done by hand here,
so no value can be escaped twice or forgotten.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from tuning.report._pages import ENVIRONMENT
from tuning.vocabulary import stored_keras_backend

TEMPLATE = "report.html.j2"


def fmt(value: Any) -> str:
    """Numbers to 4 significant digits, missing values as an en dash, anything else as text."""
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "–"
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return str(value)


def cell(value: Any, *, badge: str | None = None, title: str | None = None, text: str | None = None) -> dict:
    """A table cell: shown text, numeric sort key (numbers only), optional badge class and tooltip."""
    sort = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        sort = repr(float(value)) if math.isfinite(value) else ""
    return {"text": fmt(value) if text is None else text, "sort": sort, "badge": badge, "title": title}


def _plain(value: Any) -> Any:
    """numpy / pandas scalars to Python ones (NA to None), so ``cell`` knows what is a number."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None if value is None or value is pd.NA else value
    return value.item() if hasattr(value, "item") else value


def _flag(value: Any, yes: tuple[str, str, str], no: tuple[str, str, str], missing: str) -> dict:
    """A yes/no/NA column as a badge: (text, badge class, tooltip) for each case."""
    if value is True:
        return cell(None, text=yes[0], badge=yes[1], title=yes[2])
    if value is False:
        return cell(None, text=no[0], badge=no[1], title=no[2])
    return cell(None, text="n/a", badge="na", title=missing)


def gain_texts(diagnosis: pd.DataFrame | None) -> dict[str, str]:
    """config_key -> "about 12 % lower after another 100 epochs (80 % interval 5-20 %)", from the
    extrapolation of each config's seed-mean curve (:func:`tuning.extrapolated_gain`)."""
    from tuning.analysis.diagnose import Gain

    if diagnosis is None or diagnosis.empty or "gain_2x" not in diagnosis.columns:
        return {}
    texts = {}
    for rec in diagnosis[diagnosis["scope"] == "config"].to_dict("records"):
        gain, epochs = _plain(rec.get("gain_2x")), _plain(rec.get("gain_epochs"))  # the forecast's own
        if isinstance(gain, float) and epochs:
            found = Gain(gain, float(rec["gain_low"]), float(rec["gain_high"]), int(epochs))
            texts[str(rec["config_key"])] = found.text().replace("would lower it by", "would lower the loss by") \
                .replace("would raise it by", "would raise the loss by")
    return texts


#: What P(best) is not, next to every value (issue 21; measured in docs/statistics.md, "Reliability").
PROB_BEST_NOTE = ("share of joint seed resamples in which this config is best: not a calibrated probability "
                  "(with 3 seeds, configs given 0.95 or more were the true best 73 % of the time)")


def summary_rows(summary: pd.DataFrame, params: list[str], aggregate: str = "mean",
                 gains: dict[str, str] | None = None,
                 names: dict[str, str] | None = None) -> tuple[list[str], list[list[dict]]]:
    """Headers and cells of the per-config table, best first (the order summary_table gives).

    ``gains``: config_key -> its extrapolation (:func:`gain_texts`), shown beside the diagnosis.
    ``names``: config_key -> "trial 3 (units=5)" (:func:`~tuning.analysis.config_names`): a config
    is shown as "trial 3", as ``tuning status`` and the verdict name it, its key in the tooltip.
    """
    headers = ["rank", "config", *[p.removeprefix("param_") for p in params], "seeds", "failed", "diverged",
               "mean", "std", "95 % CI", f"aggregate ({aggregate})", "its 95 % interval", "could be best", "P(best)",
               "p worse", "paired", "seed corr", "equivalent", "weights", "skill vs naive", "baseline", "diagnosis", "fit s",
               "status"]
    from tuning.analysis.tables import best_row

    few = "fewer than 2 seeds"
    best = best_row(summary)
    best_key = summary.at[best, "config_key"] if best is not None and summary.at[best, "n_seeds"] >= 2 else None
    rows = []
    for rec in summary.to_dict("records"):
        rec = {k: _plain(v) for k, v in rec.items()}
        could = _flag(rec["could_be_best"], ("could be best", "tie", "no config is better beyond seed noise "
                                             "(simultaneous, docs/statistics.md)"),
                      ("worse", "worse", "some config is better beyond seed noise"), few)
        paired = _flag(rec["paired"], ("paired", "na-off", "compared with the best on the seeds both have"),
                       ("unpaired", "na-off", "shares fewer than 2 seeds with the best"), few)
        if rec["config_key"] == best_key:  # not paired with itself: the one the others are compared with
            paired = cell(None, text="the best", title="the config every other is compared with")
        equivalent = _flag(rec["equivalent_to_best"], ("equivalent", "tie", "within the margin of the true best at level 0.05 (Hsu's comparisons with the best)"),
                           ("not shown", "na-off", "not shown to be within the margin of the best"), few)
        # A config whose fits all failed before training (its builder raised) has no diagnosis: NaN.
        label = rec.get("diagnosis") if isinstance(rec.get("diagnosis"), str) else None
        evidence = "; ".join(x for x in (rec.get("diagnosis_evidence"), rec.get("diagnosis_suggestion"))
                             if isinstance(x, str) and x)
        diagnosis = cell(None, text=label or "–", badge=("diag-" + label.replace(" ", "-")) if label else None,
                         title=evidence or None)
        diagnosis["note"] = (gains or {}).get(str(rec["config_key"])) if label else None
        ci = cell(rec["ci95_low"], text=f"[{fmt(rec['ci95_low'])}, {fmt(rec['ci95_high'])}]")
        interval = cell(rec["aggregate_low"], text=f"[{fmt(rec['aggregate_low'])}, {fmt(rec['aggregate_high'])}]")
        key = str(rec["config_key"])
        name = (names or {}).get(key, key).split(" (")[0]
        number = name.removeprefix("trial ")  # sorted as a number: trial 10 after trial 9
        shown = cell(int(number) if number.isdigit() else None, text=name, title=f"config {key}")
        rows.append([cell(rec["rank"]), shown, *[cell(rec[p]) for p in params],
                     cell(rec["n_seeds"]), cell(rec["n_failed"]), cell(rec["divergence_rate"]), cell(rec["mean"]),
                     cell(rec["std"]), ci, cell(rec["aggregate"]), interval, could,
                     cell(rec["prob_best"], title=PROB_BEST_NOTE),
                     cell(rec["p_vs_best"], title="the smallest level at which this config would be shown worse"),
                     paired, cell(rec["seed_corr"]), equivalent, cell(rec["trainable_weights"]),
                     cell(rec["skill_vs_baseline"]), cell(None, text=fmt(rec.get("baseline"))), diagnosis, cell(rec["fit_seconds"]),
                     cell(None, text=fmt(rec["status"]))])
    return headers, rows


def frame_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[dict]]]:
    """Any DataFrame as headers and cells (used for the marginals)."""
    return list(map(str, frame.columns)), [[cell(_plain(v)) for v in rec] for rec in frame.itertuples(index=False)]


def best_config(summary: pd.DataFrame, params: list[str], gains: dict[str, str] | None = None,
                page=None) -> dict | None:
    """The config the comparisons are against (rank 1 among those with 2 or more seeds,
    :func:`~tuning.analysis.tables.best_row`): its settings, mean ± std and 95 % interval over
    seeds (``page``: its config page's file name from its key)."""
    from tuning.analysis.tables import best_row

    best = best_row(summary)
    if best is None:
        return None
    rec = {k: _plain(v) for k, v in summary.loc[best].to_dict().items()}
    return {"config_key": rec["config_key"], "settings": [(p.removeprefix("param_"), fmt(rec[p])) for p in params],
            "mean": fmt(rec["mean"]), "std": fmt(rec["std"]), "ci_low": fmt(rec["ci95_low"]),
            "ci_high": fmt(rec["ci95_high"]), "n_seeds": rec["n_seeds"], "diagnosis": rec.get("diagnosis"),
            "evidence": rec.get("diagnosis_evidence"), "gain": (gains or {}).get(str(rec["config_key"])),
            "page": page(str(rec["config_key"])) if page else None}


def baseline_context(results) -> dict[str, Any]:
    """The strongest naive baseline's scores and name, every baseline on the metric, the transforms."""
    from tuning.analysis.tables import baseline_name, data_transforms

    stored = results.baseline
    every = stored.get("baselines") or {}
    return {"baseline": [(k, fmt(v)) for k, v in sorted(stored.items()) if isinstance(v, int | float)],
            "baseline_name": baseline_name(results),
            "baselines": [(name, fmt(scores.get(results.metric))) for name, scores in every.items()],
            "transforms": data_transforms(results)}


def context(study: str, storage, out_dir: str | Path | None = None, margin: object | None = None) -> dict[str, Any]:
    """Everything the index page shows, computed from the store (exports and config pages written
    when ``out_dir``)."""
    import yaml

    from tuning.analysis import analysis_tables, config_names, export_tables, load_results, select, verdict
    from tuning.analysis.inputs import varying_params
    from tuning.report._data import index_data, page_name, script_json
    from tuning.results import OK, PRUNED, TrialStatus
    from tuning.store import open_store
    from tuning.trials import race_lines, read_trials, trial_numbers

    store = open_store(storage)
    results = load_results(study, store)
    selected = select(results, margin=margin)
    tables = analysis_tables(results, selected=selected)
    summary = tables["summary"]
    gains = gain_texts(tables.get("diagnosis"))
    trials = read_trials(store, study)
    reading = verdict(results, selected, storage=store.shown)
    params = varying_params(results.fits)
    names = config_names(results)
    data = index_data(results, selected, trials, names, params)
    exports = []
    if out_dir is not None:
        from tuning.report._pages import write_config_pages

        exports = [p.name for p in export_tables(results, out_dir, tables=tables)]
        write_config_pages(results, selected, tables, data, gains, names, store.shown, out_dir)
    headers, rows = summary_rows(summary, params, objective_of_spec(results).get("aggregate") or "mean", gains, names)
    for row, key in zip(rows, summary["config_key"], strict=True):
        row[1]["href"] = "configs/" + page_name(key)
    objective = objective_of_spec(results)
    failed_fits = [] if results.fits.empty else [  # a pruned fit is not a failure: the pruner stopped it
        {"config_key": r["config_key"], "seed": r["seed"], "error": r["error"] or r["status"]}
        for r in results.fits[~results.fits["status"].isin([OK, PRUNED])].to_dict("records")]
    return {
        "study": study, "storage": store.shown, "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "metric": results.metric, "direction": results.direction, "aggregate": objective.get("aggregate"),
        "n_fits": len(results.fits), "n_configs": len(summary),
        "keras_backend": stored_keras_backend(results.spec),
        "counts": {s.value: sum(1 for t in trials if t["status"] == s)
                   for s in (TrialStatus.COMPLETE, TrialStatus.PRUNED, TrialStatus.RUNNING, TrialStatus.FAILED)},
        "spec_text": yaml.safe_dump(results.spec, sort_keys=True, allow_unicode=True),
        "best": best_config(summary, params, gains, page_name) if len(summary) else None,
        "summary": (headers, rows), "compact": compact_columns(headers),
        "marginals": frame_rows(tables["marginals"]), "verdict": reading.lines,
        "variance": data["variance"], "data_json": Markup(script_json(data)),
        "warnings": reading.warnings, **baseline_context(results),
        "failed_trials": [{"number": t["number"], "reason": t.get("fail_reason") or "(no reason recorded)",
                           "params": ", ".join(f"{k}={v}" for k, v in (t.get("params") or {}).items())}
                          for t in trials if t["status"] == TrialStatus.FAILED],
        "failed_fits": failed_fits, "exports": exports,
        "race": race_lines(results.spec.get("repeats") or {}, trials, trial_numbers(trials)),
    }


def objective_of_spec(results) -> dict[str, Any]:
    return results.spec.get("objective", {}) or {}


#: Columns hidden until "all columns" is ticked, so the configs table fits a 1,280 px window; each
#: stays in the CSV/JSON exports and one click away.
DETAIL_COLUMNS = ("failed", "diverged", "std", "95 % CI", "its 95 % interval", "p worse", "paired", "seed corr",
                  "weights", "skill vs naive", "baseline", "fit s")


def compact_columns(headers: list[str]) -> list[int]:
    """1-based positions of the detail columns (for the page's CSS ``nth-child`` rules)."""
    return [i + 1 for i, h in enumerate(headers) if h in DETAIL_COLUMNS]


def render(study: str, storage, out_dir: str | Path | None = None, margin: object | None = None) -> str:
    """The report page as HTML text."""
    return ENVIRONMENT.get_template(TEMPLATE).render(**context(study, storage, out_dir, margin))
