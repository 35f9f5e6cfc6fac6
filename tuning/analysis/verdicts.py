"""What a study concludes, in the sentences ``tuning status`` and the report print: which configs
could be the best, which were left out of the comparison, the simplest config equivalent to the
best at the margin, and the seeds it would take to tell the top two apart, with the command that
runs them. Read from :func:`tuning.analysis.tables.select`'s comparison; no numbers are made here
that the tables do not hold, only said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tuning import statistics
from tuning.analysis.inputs import config_numbers, varying_params
from tuning.analysis.tables import Selection, best_row, data_warnings
from tuning.progress import short_value
from tuning.vocabulary import FIRST_FEW, first_few, races

if TYPE_CHECKING:
    from tuning.analysis.inputs import StudyFrames

__all__ = ["Verdict", "config_names", "verdict"]


@dataclass
class Verdict:
    """What a study says about its best configs, as plain data and as the lines ``tuning status``
    and the report print (the same sentences in both)."""

    best: str | None = None
    could_be_best: list[str] = field(default_factory=list)
    margin: float = math.nan
    margin_source: str = ""
    simplest: str | None = None
    simplest_key: str | None = None
    seeds_needed: int | None = None
    current_seeds: int = 0
    command: str | None = None
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def config_names(results: StudyFrames) -> dict[str, str]:
    """config_key -> "trial 3 (units=5)": its trial number and the settings that vary in the study.

    The number is :func:`~tuning.analysis.inputs.config_numbers`'.
    """
    fits = results.fits
    if fits.empty:
        return {}
    numbers = config_numbers(fits)
    params = varying_params(fits)
    firsts = fits.drop_duplicates("config_key").set_index("config_key")
    names = {}
    for key in firsts.index:
        settings = ", ".join(f"{p.removeprefix('param_')}={short_value(firsts.at[key, p])}" for p in params)
        number = numbers.get(key)
        head = f"trial {number}" if number is not None else f"config {key[:8]}"
        names[key] = f"{head} ({settings})" if settings else head
    return names


def verdict(results: StudyFrames, selected: Selection, *, storage: str | None = None) -> Verdict:
    """Which configs could be the best, the simplest equivalent to it, and the seeds it would take
    to tell the top two apart at the margin, with the command that runs them."""
    table, comparison = selected.table, selected.comparison
    out = Verdict(margin=selected.margin, margin_source=selected.margin_source,
                  warnings=data_warnings(results, table))
    names = config_names(results)
    comparable = table[table["n_seeds"] >= 2]
    if table.empty or table["rank"].isna().all():
        failed = len(results.fits) and (results.fits["status"] != "ok").all()
        out.lines.append("no config has a finished seed: every stored fit failed (see the failed trials' errors)"
                         if failed else "no config has a finished seed yet")
        return out
    best = best_row(table)
    out.best = names.get(table.at[best, "config_key"])
    out.lines.extend(_left_out(results, table, best, names, storage))
    if comparison is None or comparison.configs < 2:
        ranked = int(table["rank"].notna().sum())
        out.lines.append("could be the best: one config, nothing to compare it with" if ranked == 1 else
                         "could be the best: needs two configs with 2 or more seeds each (one seed cannot "
                         "separate a config from seed noise)")
        return out
    could = comparable[comparable["could_be_best"].fillna(False).astype(bool)]
    out.could_be_best = [names[k] for k in could["config_key"]]
    pairing = ("paired by seed" if comparison.paired[comparison.best] and comparable["paired"].fillna(False).all()
               else "paired by seed where seeds are shared" if comparable["paired"].fillna(False).any()
               else "unpaired (configs share fewer than 2 seeds)")
    corr = f", seed correlation {comparison.study_corr:.2f}" if math.isfinite(comparison.study_corr) else ""
    worse = [names[k] for k in comparable["config_key"] if k not in set(could["config_key"])]
    if len(could) > FIRST_FEW and not worse:
        shown = "all of them: none is shown worse"
    elif len(could) > FIRST_FEW and len(worse) <= FIRST_FEW:  # the shorter list, so that no member hides behind "and 1 more"
        shown = "every one but " + ", ".join(worse) + ", shown worse"
    else:
        shown = first_few(out.could_be_best)
    how = ((results.spec or {}).get("objective") or {}).get("aggregate") or "mean"
    means = "" if how == "mean" else f"; tested on the seeds' means (the ranking is by the {how})"
    out.lines.append(f"could be the best: {len(could)} of {len(comparable)} configs ({shown}); {pairing}{corr}; "
                     f"level {selected.level:g} over all {comparison.configs} compared{means}")
    raced = _race_eliminated(results) & set(could["config_key"])
    if raced:  # the race's test promises only not to drop the true best: a tied config may go
        out.lines.append("of them the race eliminated " + ", ".join(names[k] for k in could["config_key"] if k in raced)
                         + " on the seeds they had then; on every stored seed they are not shown worse")
    if not math.isfinite(selected.margin):
        out.lines.append(f"margin: cannot be resolved ({selected.margin_source}: the best's aggregate is 0); "
                         "set objective.margin in the metric's units or pass --margin")
        return out
    out.lines.append(f"margin: {selected.margin:.4g} ({selected.margin_source})")
    equivalent = comparable[comparable["equivalent_to_best"].fillna(False).astype(bool)]
    head = f"simplest config equivalent to the best (within {selected.margin:.4g})"
    if len(equivalent):
        weights = pd.to_numeric(equivalent["trainable_weights"], errors="coerce").astype(float)
        ordered = equivalent.assign(_w=weights.fillna(np.inf)).sort_values(["_w", "fit_seconds"], kind="stable")
        pick = ordered.iloc[0]
        out.simplest_key = pick["config_key"]
        out.simplest = names.get(pick["config_key"])
        size = (f"{int(pick['trainable_weights']):,} trainable weights" if not pd.isna(pick["trainable_weights"])
                else "trainable weights not recorded; the fastest")
        others = len(equivalent) - 1
        itself = " (the best itself)" if pick["config_key"] == table.at[best, "config_key"] else ""
        out.lines.append(f"{head}: {out.simplest}{itself}, {size}" + (f"; {others} other config(s) equivalent" if others else
                                                                "; no other config is shown equivalent"))
    elif comparison.upper_vs_best is not None:
        bound = comparison.upper_vs_best[comparison.best] if comparison.best is not None else math.nan
        out.lines.append(f"{head}: none shown, not even {out.best or 'the best'}: "
                         f"its lead is known only to within {bound:.4g} of the others (95 % upper bound, "
                         "Hsu's comparisons with the best); more seeds or a wider margin")
    if len(comparable) < 2:
        return out
    first, second = comparable.index[0], comparable.index[1]  # the top two by rank
    needed = statistics.plan_seeds(comparison, selected.scores, int(first), int(second), selected.margin)
    a, b = _short_name(names, table, first), _short_name(names, table, second)
    out.current_seeds = int(min(table.at[first, "n_seeds"], table.at[second, "n_seeds"]))
    head = f"seeds needed: to separate {a} from {b} at {selected.margin:.4g} with 80 % power"
    count = f"more than {statistics.MAX_SEEDS}" if needed is None else f"about {needed}"
    shown_worse = table.at[second, "could_be_best"]
    if pd.notna(shown_worse) and not shown_worse:  # the seeds run already tell the top two apart
        out.seeds_needed = out.current_seeds
        out.lines.append(f"seeds needed: none more; the {out.current_seeds} run already show {b} worse than {a} "
                         f"(a gap as small as the margin, {selected.margin:.4g}, would take {count} per config)")
        return out
    within = table.at[second, "equivalent_to_best"]
    if pd.notna(within) and within:  # the margin question is settled the other way: within it, not to be separated
        out.seeds_needed = out.current_seeds
        out.lines.append(f"seeds needed: none more; the {out.current_seeds} run show {b} within the margin "
                         f"({selected.margin:.4g}) of {a}, equivalent (separating a gap as small as the margin would "
                         f"take {count} seeds per config)")
        return out
    if needed is None or needed > statistics.SEEDS_SAID:
        # a number nobody will run says less than what it means (issue 21)
        resolved = statistics.resolvable_margin(comparison, selected.scores, int(first), int(second), 20)
        out.seeds_needed = needed
        gap = abs(float(table.at[second, "aggregate"]) - float(table.at[first, "aggregate"]))
        if gap > resolved:  # not a plan (that stays on the margin): what to do with a gap this wide
            out.command = _resume_command(results, 20, storage)
            out.lines.append(f"{head}: {count} seeds per config, more than anyone runs, at their seed noise; but "
                             f"their gap so far, {gap:.4g}, is wider than the {resolved:.3g} that 20 seeds per config "
                             f"resolve, so 20 seeds would show whether a gap that wide is real "
                             f"({_how_to_add(out.command)}); a gap seen on few seeds is often wider than the true one")
        else:
            out.lines.append(f"{head}: {count} seeds per config, more than anyone runs: at their seed noise a gap "
                             f"the size of the margin cannot be resolved (20 seeds per config resolve a gap of about "
                             f"{resolved:.3g}, and theirs so far is {gap:.4g}); call them equivalent, or widen the "
                             "margin")
        return out
    out.seeds_needed = needed
    if needed <= out.current_seeds:  # enough power at the margin, yet no separation: the gap is probably below it
        out.lines.append(f"{head}: about {needed} seeds per config; the {out.current_seeds} run would separate a "
                         "gap of the margin 4 times in 5 and did not, so their gap is probably smaller")
        return out
    out.command = _resume_command(results, needed, storage)
    out.lines.append(f"{head}: about {needed} seeds per config (now {out.current_seeds}); {_how_to_add(out.command)}")
    return out


#: What the seeds-needed line says for a raced study, whose seeds the race decided (``Verdict.command`` None).
RACED = ("a race decides its configs' seeds and a finished race is not reopened by --repeats: compare these two "
         "in a study of their own with fixed repeats")


def _how_to_add(command: str | None) -> str:
    return f"`{command}` adds them" if command else RACED


def _race_eliminated(results: StudyFrames) -> set[str]:
    """The configs the study's race eliminated (``results.trials.race_eliminated``)."""
    trials = getattr(results, "trials", None)
    if trials is None or "race_eliminated" not in getattr(trials, "columns", ()):
        return set()
    return set(trials.loc[trials["race_eliminated"].notna(), "config_key"])


def _left_out(results: StudyFrames, table: pd.DataFrame, best, names: dict[str, str],
              storage: str | None) -> list[str]:
    """The line naming configs with a score but fewer than 2 seeds, which no comparison covers,
    with the command that gives them the others' seeds when one of them scored better than the best."""
    alone = table[table["rank"].notna() & (table["n_seeds"] < 2)]
    if alone.empty or table.at[best, "n_seeds"] < 2:  # nothing compared: the could-be-best line says so
        return []
    shown = first_few(names.get(k, k) for k in alone["config_key"])
    line = f"not compared, with 1 seed (one cannot separate a config from seed noise): {shown}"
    # a config still running (a race giving it seeds, a trial mid-way) gets its seeds without a command
    trials = getattr(results, "trials", None)
    running = (set(trials.loc[trials["status"] == "running", "config_key"])
               if trials is not None and "status" in getattr(trials, "columns", ()) else set())
    ahead = alone[(alone["rank"] < table.at[best, "rank"]) & ~alone["config_key"].isin(running)]
    if len(ahead) and not races(results.spec):  # a race's seeds are the race's: --repeats gives none
        seeds = int(table["n_seeds"].max())
        short = names.get(ahead["config_key"].iloc[0], "").split(" (")[0]
        line += (f"; {short} scored better on its one seed than {_short_name(names, table, best)}, the best compared: "
                 f"`{_resume_command(results, seeds, storage)}` gives it {seeds}")
    return [line]


def _short_name(names: dict[str, str], table: pd.DataFrame, row) -> str:
    """ "trial 3": a config's short name, without its settings."""
    return names.get(table.at[row, "config_key"], "the best").split(" (")[0]


def python_only(spec: dict | None) -> list[str]:
    """What only the Python process that ran a study can give again, as ``run_study``'s keywords:
    ``data`` (in-memory arrays, which the store does not keep) and ``build`` (a builder defined in
    ``__main__``: a notebook's or a script's function, which no ``tuning`` command can import).
    Empty when the command line can continue the study."""
    from tuning.vocabulary import IN_MEMORY_PROBLEM

    spec = spec or {}
    needs = ["data"] if (spec.get("problem") or {}).get("name") == IN_MEMORY_PROBLEM else []
    builder = (spec.get("model") or {}).get("builder") or ""
    return needs + (["build"] if builder.startswith("__main__:") else [])


def run_study_call(needs: list[str], **given: object) -> str:
    """``tuning.run_study(spec, data=..., repeats=50)``: the Python call that continues a study only
    its own process can (``needs``: :func:`python_only`'s keywords; ``given``: values to show)."""
    arguments = [f"{k}=..." for k in needs] + [f"{k}={v}" for k, v in given.items()]
    return f"tuning.run_study(spec, {', '.join(arguments)})"


def _resume_command(results: StudyFrames, repeats: int, storage: str | None) -> str | None:
    """The command that gives every config of the study ``repeats`` seeds: ``tuning resume``, or the
    Python call for a study only its own process can continue (:func:`python_only`); None for a
    raced study, whose seeds its race decided."""
    import shlex

    if races(results.spec):
        return None  # --repeats raises the race's max, which a finished race does not act on
    needs = python_only(results.spec)
    if needs:  # in Python, with the same arrays and builder: the `tuning` command cannot reload them
        return run_study_call(needs, repeats=repeats)
    command = f"tuning resume {shlex.quote(results.name)} --repeats {repeats}"
    return command + (f" --storage {shlex.quote(storage)}" if storage else "")
