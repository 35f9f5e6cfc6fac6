"""The numbers the interactive plots draw, as plain JSON-ready data (no figures are built in Python).

The pages draw with Plotly in the browser from this data: the index gets every seed score of
every config (10,000 numbers at 1,000 trials x 10 seeds), a config's page gets its own curves
(the index never carries curves, so it stays small). Building figure objects in Python would
cost seconds per thousand traces and write the same arrays twice; a dict per config does not.

Curves are written with 4 significant digits, enough for a plot's hover, and the JSON text is
made safe to sit inside a ``<script>`` element (``<``, ``>``, ``&`` escaped as ``\\u003c`` ...),
so a study or error text holding ``</script>`` stays data.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from typing import Any

import numpy as np
import pandas as pd

from tuning.analysis.inputs import param_order
from tuning.analysis.verdicts import python_only, run_study_call
from tuning.results import PRUNED

__all__ = ["config_page", "importance", "index_data", "page_name", "script_json"]


def page_name(key: str) -> str:
    """The file name of a config's page inside ``configs/`` (keys are hashes; anything else is replaced)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(key))[:80] + ".html"


def number(value: Any) -> float | int | None:
    """A JSON number (None for missing, NaN or infinite), Python's own type."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def flag(value: Any) -> bool | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else bool(value)


def script_json(data: Any, raw: dict[str, str] | None = None) -> str:
    """``data`` as JSON text safe inside ``<script type="application/json">`` (nothing can close it).

    ``raw``: keys whose value is already JSON text (the curves, formatted once), added as is.
    """
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if raw:
        text = text[:-1] + "".join(f",{json.dumps(k)}:{v}" for k, v in raw.items()) + "}"
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def short_numbers(values) -> str:
    """A JSON array of ``values`` at 4 significant digits (missing and non-finite as null)."""
    return "[" + ",".join(f"{v:.4g}" if v is not None and math.isfinite(v) else "null" for v in values) + "]"


def _param_kinds(results, params: list[str]) -> list[dict[str, Any]]:
    """Each searched parameter: its name, whether its axis is logarithmic, whether it is categorical
    (and then its ``levels`` in order)."""
    space = (results.spec or {}).get("space") or {}
    kinds = []
    for column in params:
        name = column.removeprefix("param_")
        values = results.fits[column].dropna()
        numeric = len(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        setting = space.get(name)
        log = bool(isinstance(setting, dict) and setting.get("log"))
        kind = {"name": name, "log": log and bool(numeric), "categorical": not numeric}
        if not numeric:  # the order the plots draw its values in: [8, 8] before [16], not as text
            kind["levels"] = list(dict.fromkeys(str(v) for v in sorted(set(values), key=param_order)))
        kinds.append(kind)
    return kinds


def importance(rows: list[dict[str, Any]], kinds: list[dict[str, Any]], direction: str) -> tuple[dict[str, float], str]:
    """Optuna's fANOVA importances of the searched parameters for the configs' seed aggregate.

    The trials are rebuilt in memory from ``rows`` (one per ranked config: its params and its
    aggregate), so the importance is of the aggregate over seeds, not of the one value Optuna's
    trial recorded. Returns ({} , why) when there is nothing to say.

    The forest is smaller than Optuna's default (32 trees of depth 8, not 64 of depth 64): on the
    benchmark's 1,000 configs the default took 9 s on a quiet machine and this 1.7 s, and both gave
    the same shares to the percent (learning_rate 95 %, the other three 0-1 %).
    """
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    usable = [r for r in rows if r["aggregate"] is not None and None not in r["params"]]  # fANOVA needs every axis
    if len(usable) < 2 or not kinds:
        return {}, f"importance skipped: {len(usable)} config(s) with an aggregate, need at least 2"
    if len(kinds) == 1:
        return {kinds[0]["name"]: 1.0}, f"only one searched parameter ({kinds[0]['name']}): it explains all the " \
                                         "between-config variance by definition"
    distributions = {}
    for i, kind in enumerate(kinds):
        values = [r["params"][i] for r in usable]
        if kind["categorical"]:
            distributions[kind["name"]] = CategoricalDistribution(sorted({str(v) for v in values}))
        elif all(isinstance(v, int) for v in values) and not kind["log"]:
            distributions[kind["name"]] = IntDistribution(min(values), max(values))
        else:
            distributions[kind["name"]] = FloatDistribution(float(min(values)), float(max(values)), log=kind["log"])
    trials = []
    for r in usable:
        params = {k["name"]: (str(v) if k["categorical"] else v) for k, v in zip(kinds, r["params"], strict=True)}
        params = {n: v for n, v in params.items() if not _single(distributions[n])}
        dists = {n: d for n, d in distributions.items() if n in params}
        trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=r["aggregate"]))
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(direction=direction)
        study.add_trials(trials)
        found = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(n_trees=32, max_depth=8, seed=0))
    except (ValueError, RuntimeError, ZeroDivisionError) as error:  # a report is not lost to its importance plot
        return {}, f"importance skipped: fANOVA could not run on these configs ({error})"
    finally:
        optuna.logging.set_verbosity(level)
    return {k: float(v) for k, v in found.items()}, f"fANOVA (Optuna's) on the seed aggregate of {len(usable)} configs"


def _setting(value: Any, kind: dict[str, Any]) -> Any:
    """A config's value of a searched parameter for the plots: a number on a numeric axis (None
    where the config has none, as in a conditional space), text on a categorical one."""
    if kind["categorical"]:
        return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else str(value)
    return number(value)


def _single(distribution) -> bool:
    return distribution.single()


def index_data(results, selected, trials: list[dict], names: dict[str, str], params: list[str]) -> dict[str, Any]:
    """What the index page's plots and compare view draw: every config's seed scores, the
    searched axes, the variance split and importances, the t quantiles of the paired intervals."""
    from scipy import stats

    from tuning.analysis.variance import split_variance

    fits, metric = results.fits, results.metric
    kinds = _param_kinds(results, params)
    table = selected.table
    race = {t["config_key"]: t["race"] for t in trials if t.get("race") and t.get("config_key")}
    pruned_keys = set(fits.loc[fits["status"] == PRUNED, "config_key"]) if len(fits) else set()
    by_key = {k: g for k, g in fits.groupby("config_key", sort=False)} if len(fits) else {}
    configs = []
    for rec in table.to_dict("records"):
        key = rec["config_key"]
        group = by_key[key]
        first = group.iloc[0]
        score = pd.to_numeric(group[metric], errors="coerce") if metric in group else pd.Series(np.nan, group.index)
        ok = group[(group["status"] == "ok") & np.isfinite(score)]
        cut = group[(group["status"] == PRUNED)]
        decided = race.get(key) or {}
        configs.append({
            "key": key, "name": names.get(key, key), "trial": number(first["trial"]), "page": page_name(key),
            "params": [_setting(first[p], kind) for p, kind in zip(params, kinds, strict=True)],
            "rank": number(rec["rank"]), "aggregate": number(rec["aggregate"]), "low": number(rec["aggregate_low"]),
            "high": number(rec["aggregate_high"]), "could_be_best": flag(rec["could_be_best"]),
            "pruned": key in pruned_keys,
            "race": decided.get("outcome"), "dropped": decided.get("beaten_by") is not None,
            "race_seeds": number(decided.get("seeds")) if decided else None,
            "seeds": [int(s) for s in ok["seed"]], "scores": [number(v) for v in score[ok.index]],
            "seconds": [number(v) for v in ok["fit_seconds"]],
            "cut": [[int(s), number(v), number(e)] for s, v, e in
                    zip(cut["seed"], score[cut.index], cut["epochs_run"], strict=True)],
        })
    split = split_variance(seed_scores(configs))
    found, note = importance([c for c in configs if c["rank"] is not None and not c["pruned"]], kinds,
                             results.direction)
    most = max((len(c["seeds"]) for c in configs), default=0)
    return {
        "study": results.name, "metric": metric, "direction": results.direction,
        "aggregate": selected.aggregate, "margin": number(selected.margin), "params": kinds, "configs": configs,
        "variance": variance_text(split, found, note, metric),
        "tcrit": [None, *[float(stats.t.ppf(0.975, df)) for df in range(1, max(most, 2))]],
    }


def seed_scores(configs: list[dict[str, Any]]) -> np.ndarray:
    """(configs, seeds) matrix of the finished seed scores of configs the pruner did not stop."""
    kept = [c for c in configs if not c["pruned"] and c["seeds"]]
    seeds = sorted({s for c in kept for s in c["seeds"]})
    column = {s: i for i, s in enumerate(seeds)}
    matrix = np.full((len(kept), len(seeds)), np.nan)
    for row, c in enumerate(kept):
        for s, v in zip(c["seeds"], c["scores"], strict=True):
            matrix[row, column[s]] = np.nan if v is None else v
    return matrix


def variance_text(split, found: dict[str, float], note: str, metric: str) -> dict[str, Any]:
    """The seed-noise share beside each parameter's share of the variance, and the sentence saying it.

    A parameter's share is the between-config share times its fANOVA importance (fANOVA
    normalises the importances of the aggregate to sum to 1).
    """
    seed = split.seed_share
    if not math.isfinite(seed):
        return {"seed": None, "params": [], "sentence": "the seed-noise share needs two configs and one with 2 or "
                "more seeds", "note": note, "method": "not estimated"}
    shares = [[name, (1 - seed) * value] for name, value in found.items()]
    parts = ", ".join(f"{name} {100 * share:.0f} %" for name, share in shares)
    shared = split.shared_share
    common = (f" ({100 * shared:.0f} % the seeds' luck shared by every config, which moves them together and "
              f"leaves their order; {100 * (seed - shared):.0f} % each config's own)" if math.isfinite(shared) else "")
    sentence = (f"seed noise explains {100 * seed:.0f} % of the variance in {metric}{common}"
                + (f"; {parts}" if parts else ""))
    method = ("two-way random-effects ANOVA of the configs by the seeds they share" if math.isfinite(shared)
              else "one-way random-effects ANOVA on the stored seed scores")  # split_variance's two cases
    return {"seed": seed, "shared": shared if math.isfinite(shared) else None, "params": shares,
            "sentence": sentence, "note": note, "method": method, "within": split.within, "between": split.between,
            "configs": split.configs, "scores": split.scores}


#: Columns of ``results.fits`` that are not a score (besides the ``param_`` ones).
NOT_SCORES = {"trial", "config_key", "seed", "status", "epochs_run", "best_epoch", "fit_seconds", "error",
              "trainable_weights"}


def other_scores(results) -> list[str]:
    """The final scores a study stored besides its objective (val_mae, train_loss ...), in store order."""
    return [c for c in results.fits.columns
            if c not in NOT_SCORES and not c.startswith("param_") and c != results.metric]


def config_page(results, summary_row: dict[str, Any], best_row: dict[str, Any] | None, margin: float,
                diagnosis: dict[str, Any], gain: str | None, names: dict[str, str], storage: str,
                fit_rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """(what a config's page shows, its curves as JSON text): seeds, diagnosis, comparison, errors, command.

    ``fit_rows``: the config's rows of ``results.fits`` as records."""
    key, metric = summary_row["config_key"], results.metric
    others = other_scores(results)
    fits = []
    for rec in sorted(fit_rows, key=lambda r: int(r["seed"])):
        fits.append({"seed": int(rec["seed"]), "status": rec["status"], "score": number(rec.get(metric)),
                     "others": [number(rec.get(name)) for name in others],
                     "epochs": number(rec.get("epochs_run")), "best_epoch": number(rec.get("best_epoch")),
                     "seconds": number(rec.get("fit_seconds")),
                     "error": rec["error"] if isinstance(rec.get("error"), str) and rec["error"] else None})
    curves = []
    for fit in fits:
        named = results.fit_curves.get((key, fit["seed"])) or {}
        named_json = ",".join(f"{json.dumps(name)}:{short_numbers(values)}"
                              for name, values in sorted(named.items()) if values)
        curves.append(f'{{"seed":{int(fit["seed"])},"curves":{{{named_json}}}}}')
    comparison = None
    if best_row is not None:
        mine = {f["seed"]: f["score"] for f in fits if f["status"] == "ok" and f["score"] is not None}
        theirs = best_row["scores"]
        shared = sorted(set(mine) & set(theirs))
        comparison = {"best": best_row["name"], "best_page": best_row["page"], "best_key": best_row["key"], "is_best": best_row["key"] == key,
                      "pairs": [[s, mine[s], theirs[s], mine[s] - theirs[s]] for s in shared],
                      "p": number(summary_row.get("p_vs_best")), "margin": number(margin),
                      "could_be_best": flag(summary_row.get("could_be_best")),
                      "equivalent": flag(summary_row.get("equivalent_to_best")),
                      "diff": number(summary_row.get("diff_vs_best"))}
    needs = python_only(results.spec)
    if needs:  # the `tuning` command cannot reload in-memory arrays or a __main__ builder: Python can
        export = (f"tuning.load_results({results.name!r}, storage={storage!r}).best_model(config={str(key)!r})"
                  f".save({key + '.keras'!r})")
        export_note = (f"in the Python process that ran the study, or after {run_study_call(needs)} has given it "
                       f"the same {' and '.join({'data': 'arrays', 'build': 'builder'}[k] for k in needs)} again")
    else:
        export = shlex.join(["tuning", "export", results.name, "--config", str(key), "--out", f"{key}.keras",
                             "--storage", storage])
        export_note = None
    finished = [f for f in fits if f["status"] == "ok" and f["score"] is not None]
    # Why a config with no finished seed is not compared or exported: said instead of "fewer than 2 seeds"
    unfinished = None if finished else ("pruned" if any(f["status"] == "pruned" for f in fits) else "failed")
    trials = results.trials
    raced = trials.loc[trials["config_key"] == key, "race_eliminated"].dropna() \
        if "race_eliminated" in getattr(trials, "columns", ()) else ()
    data = {"key": key, "name": names.get(key, key), "metric": metric, "direction": results.direction,
            "other_scores": others, "unfinished": unfinished, "race": raced.iloc[0].removeprefix("eliminated ") if len(raced) else None,
            "fits": fits, "comparison": comparison, "export": export if finished else None, "export_note": export_note,
            "diagnosis": diagnosis, "gain": gain,
            "stats": {k: number(summary_row.get(k)) for k in ("mean", "std", "aggregate", "aggregate_low",
                                                               "aggregate_high", "rank", "n_seeds", "n_failed")}}
    return data, "[" + ",".join(curves) + "]"
