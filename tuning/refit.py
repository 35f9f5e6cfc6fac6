"""Get a trained model out of a study: refit one stored config on one seed, as the study fitted it.

The store keeps scores and curves, never weights (a study of 1,000 fits would otherwise hold
1,000 models, and a fit is the unit of recovery, not a file). A fit is a pure function of its
task (config, seed, data, fit settings), so the model behind a stored score is one refit away:
:func:`refit` rebuilds that task from the stored spec and config and fits it again the same
way, which gives the same scores on the same machine; it says so, or says by how much it
differs. This is KerasTuner's ``get_best_models`` for a seed-repeated study:
``tuning export STUDY --out model.keras`` and :meth:`tuning.Results.best_model`.

Which config: ``best`` (rank 1 by the study's aggregate), ``simplest`` (the simplest config
equivalent to the best at the margin, as ``tuning status`` names it), a trial number, or a
config key. Which seed: by default the config's seed with the best stored score on the
objective; that model is the best of its seeds on validation, so its own validation score is an
optimistic estimate: the config's mean over seeds (the report) is the honest one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuning.errors import SpecError

#: Refit scores within this relative difference of the stored ones are "the same" (float32
#: rounding of one procedure on one machine; a fused fit refitted alone differs by about this).
SAME_SCORE = 1e-4


@dataclass
class Refit:
    """A stored fit refitted: its trained model, and the stored and refitted scores."""

    model: Any
    study: str
    config_key: str
    trial: int | None
    seed: int
    config: dict[str, Any]
    metric: str
    stored: float
    refitted: float
    fitted_as: str  # "fused replica" (seeded dropout masks) or "standalone fit" (Keras's own)
    #: When the seed was the config's best (no ``--seed``): how many seeds it was the best of, and the
    #: config's mean over them (the luckiest of N seeds scores better than the config: say so).
    best_of: int = 0
    config_mean: float = math.nan

    @property
    def procedure(self) -> str:
        """The old name of :attr:`fitted_as`."""
        return self.fitted_as

    @property
    def same(self) -> bool:
        """Whether the refit reproduced the stored objective score (to :data:`SAME_SCORE`)."""
        scale = max(abs(self.stored), abs(self.refitted), 1e-12)
        return abs(self.stored - self.refitted) <= SAME_SCORE * scale

    def line(self) -> str:
        """One sentence for the terminal: what was refitted and whether its score is the stored one."""
        trial = f"trial {self.trial}, " if self.trial is not None else ""
        picked = (f", the best of its {self.best_of} seeds on {self.metric} (their mean {self.config_mean:.6g}; "
                  "--seed picks another)" if self.best_of > 1 else "")
        head = (f"study {self.study}: {trial}config {self.config_key}, seed {self.seed}{picked} ({self.fitted_as}); "
                f"{self.metric} {self.refitted:.6g}")
        if self.same:
            return f"{head}, as stored"
        return (f"{head}, stored {self.stored:.6g}: the refit differs by {abs(self.refitted - self.stored):.3g} "
                "(another machine, library version or thread count changes the float rounding)")


def choose(results, config: str | int = "best", seed: int | None = None) -> tuple[str, int]:
    """(config_key, seed) of ``results`` that ``config`` and ``seed`` name, or a one-line SpecError."""
    fits = results.fits
    ok = fits[fits["status"] == "ok"] if len(fits) else fits
    if ok.empty:
        raise SpecError(f"study {results.name!r} has no finished fit to export", field="--config")
    chosen = str(config)
    if chosen == "best":
        key = results.selection.table.at[0, "config_key"]  # best first, by the study's aggregate
    elif chosen == "simplest":
        key = results.verdict.simplest_key
        if key is None:
            raise SpecError("no config is shown equivalent to the best yet (see `tuning status`); "
                            "export best or a trial number", field="--config")
    elif chosen.isdigit():
        rows = ok[ok["trial"] == int(chosen)]
        if rows.empty:
            known = ", ".join(str(int(t)) for t in sorted(ok["trial"].dropna().unique())[:20])
            raise SpecError(f"no finished fit of trial {chosen}; trials with finished fits: {known}", field="--config")
        key = rows["config_key"].iloc[0]
    elif chosen in set(ok["config_key"]):
        key = chosen
    elif chosen in set(fits["config_key"]):  # a config of the study, none of whose fits finished
        states = sorted(set(fits.loc[fits["config_key"] == chosen, "status"]))
        raise SpecError(f"config {chosen} has no finished fit to export (its fits: {', '.join(states)})",
                        field="--config")
    else:
        raise SpecError(f"{chosen!r} is not best, simplest, a trial number or a config key of this study",
                        field="--config")
    seeds = ok[ok["config_key"] == key]
    if results.metric in seeds.columns:
        seeds = seeds[seeds[results.metric].notna()]
    if seed is None:
        if seeds.empty:
            raise SpecError(f"config {key} has no finished seed with {results.metric}", field="--seed")
        ordered = seeds.sort_values(results.metric, ascending=results.direction == "minimize", kind="stable")
        return key, int(ordered["seed"].iloc[0])
    if int(seed) not in set(seeds["seed"].astype(int)):
        known = ", ".join(str(int(s)) for s in sorted(seeds["seed"].astype(int)))
        raise SpecError(f"config {key} has no finished fit with seed {seed}; its seeds: {known}", field="--seed")
    return key, int(seed)


def refit(results, *, config: str | int = "best", seed: int | None = None) -> Refit:
    """Refit ``config`` of a study's ``results`` (:class:`tuning.Results`, read from its store) on
    ``seed`` as its stored scores were fitted (the study's dropout masks).

    The results come in read (``tuning.load_results``) rather than being read here: the analysis
    offers this as ``Results.best_model``, and the dependency runs one way, from here to the store.

    Raises:
        SpecError: the study, config or seed does not exist, or its data is not here (a study
            made from in-memory arrays needs them registered again, see ``docs/own-data.md``).
    """
    from tuning.fit import FitTask
    from tuning.spec import load_spec
    from tuning.store import open_store

    if results.storage is None:
        raise SpecError("these results were not read from a store: nothing to refit", field="--config")
    store = open_store(results.storage)
    study = results.name
    asked_seed = seed
    key, seed = choose(results, config, seed)
    spec = load_spec(results.spec, label=f"study {study!r} in {store.shown}")
    row = results.fits[(results.fits["config_key"] == key) & (results.fits["seed"] == seed)].iloc[0]
    stored_config = store.fit_config(study, key)
    task = FitTask.from_spec(spec, stored_config, seed, key)
    record = store.require_study(study)
    _same_data_and_code(study, record, task, spec.model.builder)
    result, model, how = _fit_as(record["dropout_masks"], task)
    if model is None:
        raise SpecError(f"the refit of config {key}, seed {seed} failed: {result.error}", field="--config")
    metric = results.metric
    refitted = float(result.scores.get(metric, math.nan))
    trial = row.get("trial")
    stats = results.selection.table.set_index("config_key").loc[key]  # the seeds status counts, and their mean
    best_of = int(stats["n_seeds"]) if asked_seed is None else 0
    return Refit(model, study, key, None if trial is None or trial != trial else int(trial), seed, stored_config,
                 metric, float(row[metric]), refitted, how, best_of, float(stats["mean"]))


def _same_data_and_code(study: str, record: dict, task, builder: str | None) -> None:
    """Refuse a refit on data other than the study's (a CSV or ``.npz`` edited since) or with a
    builder whose code changed, as a run or resume does: the refit would not be the model the
    stored scores describe, whatever its own score says."""
    from tuning.builders import fingerprints
    from tuning.problems import cached_problem
    from tuning.search.study_record import what_changed

    data_now = None
    if record.get("data_fingerprint") is not None:  # else stored before fingerprints were kept: no check
        data_now = cached_problem(task.problem_name, task.problem_params_json).fingerprint()
    changed = what_changed(record, data_now, builder, None if builder is None else fingerprints(builder))
    if changed is None:
        return
    field, what = changed
    path = json.loads(task.problem_params_json).get("path") if field == "problem" else None  # the file that changed
    on, restore = ("on", "the data") if field == "problem" else ("with", "its code")
    raise SpecError(f"study {study!r} was fitted {on} {what}: a refit would not be the stored model; restore "
                    f"{restore}, or run the study again under a new name", source=None if path is None else str(path),
                    field=field)


def _fit_as(dropout_masks: str, task) -> tuple[Any, Any, str]:
    """(result, model, how) of ``task`` fitted as the study fitted it (its :data:`tuning.vocabulary.DROPOUT_MASKS`).

    Under ``seeded`` a config the fused graph takes was fitted as a replica, its dropout masks drawn
    from (seed, step): it is refitted so. Everything else was ``fit_one``'s fit (a config without
    dropout fused under ``keras`` reproduces it to float32 rounding).
    """
    from tuning.fit import fit_and_keep

    if dropout_masks == "seeded":
        from tuning.fit.fused import Unsupported, fit_replica_model

        try:
            result, model = fit_replica_model(task)
            if model is not None and getattr(model, "optimizer", None) is not None and not model.optimizer.built:
                # The replica's weights were copied in; its optimizer never stepped. Built (its state
                # zero), the saved model loads without Keras's "skipping optimizer variables" warning.
                model.optimizer.build(model.trainable_variables)
            return result, model, "fused replica"
        except Unsupported:
            pass
    result, model = fit_and_keep(task)
    return result, model, "standalone fit"


def export_model(results, out: str | Path, *, config: str | int = "best", seed: int | None = None) -> Refit:
    """Refit (see :func:`refit`) and save the model to ``out`` (``.keras``, Keras's own format)."""
    out = Path(out)
    if out.suffix not in (".keras", ".h5"):
        raise SpecError(f"{out}: Keras saves models as .keras (or legacy .h5) files", field="--out")
    if not out.parent.exists():
        raise SpecError(f"{out.parent}: no such directory", field="--out")
    done = refit(results, config=config, seed=seed)
    done.model.save(out)
    return done
