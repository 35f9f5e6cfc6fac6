"""The whole spec: :class:`StudySpec`, its cross-section checks, and what makes two specs one study."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from tuning.spec._axes import ParamSpec, StrictModel, as_numbers
from tuning.spec._names import COMPILE_KEYS, FIT_KEYS, MODEL_KEYS, SEARCHABLE, did_you_mean
from tuning.spec._sections import (
    EarlyStoppingSpec,
    FitSpec,
    ModelSpec,
    ObjectiveSpec,
    ProblemSpec,
    PrunerSpec,
    RecycleSpec,
    RepeatsSpec,
    SamplerSpec,
)
from tuning.urls import database_of, shown_url
from tuning.vocabulary import (
    BACKEND_SAMPLERS,
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_KERAS_BACKEND,
    DEFAULT_RUNNER,
    DEFAULT_SAMPLER,
    DEFAULT_STORAGE,
    DROPOUT_KEYS,
    IN_MEMORY_PROBLEM,
    KERAS_BACKENDS,
    RUNNERS,
)


def flag_for(field: str, flags_given) -> str | None:
    """The command-line flag that gave ``field`` its value (``--n-trials``), or None when none of
    ``flags_given`` (the spec's field names a flag set) did: ``--repeats-strategy`` sets ``repeats`` too."""
    top = (field or "").split(".")[0]
    for key in (top, "repeats_strategy") if top == "repeats" else (top,):
        if key in flags_given:
            return "--" + key.replace("_", "-")
    return None


class StudySpec(StrictModel):
    """A validated study spec. Fields mirror the YAML file; see ``docs/spec.md``."""

    name: str = Field(min_length=1, max_length=200)
    problem: ProblemSpec
    model: ModelSpec = ModelSpec()
    space: dict[str, ParamSpec] | Literal["from_builder"] = Field(default_factory=dict)
    sampler: SamplerSpec = SamplerSpec()
    n_trials: int | None = Field(default=None, ge=1)
    repeats: RepeatsSpec = RepeatsSpec()
    objective: ObjectiveSpec = ObjectiveSpec()
    fit: FitSpec = FitSpec()
    pruner: PrunerSpec = PrunerSpec()
    storage: str = DEFAULT_STORAGE
    backend: Literal[BACKENDS] = DEFAULT_BACKEND  # type: ignore[valid-type]
    _source: str = PrivateAttr(default="<spec>")  # the file it was read from, for error messages
    _flags: frozenset = PrivateAttr(default=frozenset())  # fields a command-line flag set: errors name the flag

    def named_field(self, field: str) -> tuple[str | None, str]:
        """(source, field) an error about ``field`` names: ``--flag`` when a flag gave it (no file),
        else this spec's file and the field."""
        flag = flag_for(field, self._flags)
        return (None, flag) if flag else (self._source, field)

    def identity_change(self, stored: StudySpec) -> str | None:
        """The first field of :meth:`identity` in which this spec differs from ``stored``, or None."""
        mine, theirs = self.identity(), stored.identity()
        return next((k for k in mine if mine[k] != theirs.get(k)), None)
    runner: Literal[RUNNERS] = DEFAULT_RUNNER  # type: ignore[valid-type]
    jobs: int = Field(default=1, ge=1)
    scheduler: str | None = None  # runner dask: the scheduler's address (else $DASK_SCHEDULER_ADDRESS / LocalCluster)
    recycle: RecycleSpec = RecycleSpec()
    keras_backend: Literal[KERAS_BACKENDS] = DEFAULT_KERAS_BACKEND  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _backend_default_sampler(cls, value: Any) -> Any:
        # A spec that names no sampler gets its backend's default (tpe, or bayesian for kerastuner);
        # one that searches nothing and names no n_trials is its one config: a grid of one point
        # (the default sampler would refuse it for want of n_trials).
        if isinstance(value, dict) and "sampler" not in value and not value.get("space") \
                and value.get("n_trials") is None and value.get("backend", "optuna") == "optuna":
            return {**value, "sampler": "grid"}
        if isinstance(value, dict) and "sampler" not in value and value.get("backend") in DEFAULT_SAMPLER:
            return {**value, "sampler": DEFAULT_SAMPLER[value["backend"]]}
        return value

    @field_validator("storage")
    @classmethod
    def _known_database(cls, storage: str) -> str:
        database_of(storage)  # a misspelt scheme named here, with the file and field, not at the first write
        return storage

    @field_validator("space", mode="before")
    @classmethod
    def _space_kind(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict) and value != "from_builder":
            raise ValueError(f"space: a mapping of parameter names to axes, or from_builder (got {value!r})")
        return value

    @field_validator("space")
    @classmethod
    def _known_axes(cls, space: dict[str, ParamSpec] | str, info: ValidationInfo) -> dict[str, ParamSpec] | str:
        model = info.data.get("model")
        if isinstance(space, str):  # from_builder: read at run time (resolve_builder_space)
            if model is not None and (model.builder is None or model.style != "kerastuner"):
                raise ValueError("space: from_builder reads the hp calls of a KerasTuner build(hp); "
                                 "it needs model.builder and model.style: kerastuner")
            return space
        builder = model is not None and model.builder is not None
        for name, param in list(space.items()):
            if builder:
                # Your builder reads the names it wants; only those tuning reads itself are checked.
                if name in ("builder", "style") or name in model.params:
                    raise ValueError(f"space.{name}: also fixed in model.params (or a builder key); "
                                     "give it in one place")
                if param.per_layer:
                    raise ValueError(f"space.{name}: per_layer applies to the built-in families' units")
                if name not in COMPILE_KEYS + FIT_KEYS:
                    continue
            elif name not in SEARCHABLE:
                raise ValueError(f"space.{name}: unknown parameter; searchable: {', '.join(SEARCHABLE)} "
                                 f"(a model.builder may read any){did_you_mean(name, SEARCHABLE, None)}")
            if MODEL_KEYS.get(name) is None:  # a numeric axis
                if param.values is not None:
                    space[name] = param.model_copy(update={"grid": as_numbers(name, param.values), "choices": None})
                if name in FIT_KEYS:
                    _check_fit_axis(name, space[name])
            elif param.values is None:
                raise ValueError(f"space.{name}: takes a list of values, not a range")
            allowed = MODEL_KEYS.get(name)
            if allowed and param.values is not None:
                wrong = [v for v in param.values if v not in allowed]
                if wrong:
                    raise ValueError(f"space.{name}: unknown value {wrong[0]!r}; expected one of {', '.join(allowed)}"
                                     f"{did_you_mean(wrong[0], allowed, None)}")
            if param.per_layer and name != "units":
                raise ValueError(f"space.{name}: per_layer applies to units only")
        return space

    @model_validator(mode="after")
    def _sampler_fits_space(self) -> StudySpec:
        if self.keras_backend == "torch":
            raise ValueError("keras_backend: torch is not supported yet; use jax or tensorflow")
        if self.runner == "fused" and self.keras_backend != "tensorflow":
            raise ValueError(f"runner: fused names TensorFlow's fused graph; on keras_backend {self.keras_backend} "
                             "runner auto fuses the seeds (sequential and processes fit one seed at a time)")
        if self.runner == "fused" and self.model.builder is not None:
            raise ValueError("runner: fused trains the built-in families only; a model.builder runs with "
                             "runner auto, sequential or processes")
        if self.scheduler is not None and self.runner != "dask":
            raise ValueError(f"scheduler: a Dask scheduler's address, for runner dask (runner is {self.runner})")
        if self.problem.name == IN_MEMORY_PROBLEM and (self.jobs > 1 or self.runner == "dask"):
            field = "jobs" if self.jobs > 1 else "runner"
            raise ValueError(f"{field}: in-memory arrays are fitted in this process (jobs 1, not runner dask); save "
                             "them with numpy.savez and use problem arrays for worker processes or a Dask cluster")
        if self.repeats.strategy == "race" and self.objective.aggregate != "mean":
            raise ValueError(f"objective.aggregate: a race drops configs on their mean seed scores (its test is on "
                             f"mean differences), so it runs with aggregate mean (got {self.objective.aggregate}); "
                             "use aggregate mean, or repeats strategy fixed")
        if self.objective.aggregate == "mean_plus_std" and len(self.repeats.seed_list) < 2:
            raise ValueError("objective.aggregate: mean_plus_std adds k times the seeds' std, which one seed does not "
                             "have (its std would count as 0, ranking a lucky seed as reliable); use repeats 2 or "
                             "more, or aggregate mean")
        if self.repeats.strategy == "race" and self.backend != "optuna":
            raise ValueError("repeats.strategy: a race runs with backend optuna (KerasTuner's oracle decides "
                             "itself when a trial ends, so it cannot stop a config's seeds early); use strategy fixed")
        if self.pruner.active and self.backend != "optuna":
            raise ValueError(f"pruner: pruner {self.pruner.name} runs with backend optuna (KerasTuner's oracle ends "
                             "its trials itself); use pruner none, or its hyperband sampler")
        if self.pruner.active and self.sampler.name == "hyperband":
            raise ValueError("pruner: the hyperband sampler already stops trials early; use pruner none with it")
        if isinstance(self.space, str):  # checked once resolve_builder_space has read it
            return self
        offered = BACKEND_SAMPLERS[self.backend]
        if self.sampler.name not in offered:
            owner = next(b for b, names in BACKEND_SAMPLERS.items() if self.sampler.name in names)
            raise ValueError(
                f"sampler: sampler {self.sampler.name!r} is only available with backend {owner!r} (--backend {owner}, "
                f"or backend: {owner} in the spec); backend {self.backend!r} offers {', '.join(offered)}"
            )
        if self.sampler.name == "hyperband" and "epochs" in self.space:
            raise ValueError("space.epochs: the hyperband sampler sets each trial's epochs itself (up to fit.epochs); "
                             "remove epochs from space")
        if self.sampler.name == "grid":
            for name, param in self.space.items():
                try:
                    param.grid_values()
                except ValueError as exc:
                    raise ValueError(f"space.{name}: {exc}") from None
        elif self.n_trials is None and self.sampler.name != "hyperband":  # hyperband's schedule has a size
            raise ValueError(f"n_trials: required with the {self.sampler.name} sampler (only grid knows its size)")
        if self.sampler.name == "cmaes":
            for name, param in self.space.items():
                if param.values is not None or param.per_layer:
                    raise ValueError(
                        f"space.{name}: the cmaes sampler takes int/float ranges only; "
                        "use sampler tpe or random for categorical or per-layer parameters"
                    )
        return self

    @property
    def seeds(self) -> list[int]:
        return self.repeats.seed_list

    def asks_for_dropout(self) -> bool:
        """Whether some config of the study may drop units, and so whether the way its dropout masks
        are drawn matters at all (a builder's model, or a space read from it: it may)."""
        if self.model.builder is not None or not isinstance(self.space, dict):
            return True
        for key in DROPOUT_KEYS:
            axis = self.space.get(key)
            values = [getattr(self.model, key)] if axis is None else (
                axis.values if axis.values is not None else [axis.high])
            if any(isinstance(v, (int, float)) and v > 0 for v in values):
                return True
        return False

    def to_json(self) -> str:
        """The spec as stored with the study: a password in ``storage`` is kept out (``***``), since
        everyone who reads the store reads the record; a run and a resume take the URL they are given.
        ``scheduler`` is this run's, not the study's (a cluster's address changes from one batch job
        to the next): a resume takes ``--scheduler``, ``$DASK_SCHEDULER_ADDRESS`` or a LocalCluster."""
        data = self.model_dump(mode="json")
        if data.get("storage"):
            data["storage"] = shown_url(data["storage"])
        data["scheduler"] = None
        return json.dumps(data, sort_keys=True)

    def identity(self) -> dict[str, Any]:
        """The fields that decide what a fit computes; a stored study must agree on all of them.

        Trials, seeds, storage, sampler and runner may change between runs of one study (more
        trials, more seeds, another machine); the problem, model, space, objective and fit
        settings may not, or old fits would be mixed with new ones. The objective's ``margin`` is
        left out: it changes how results are read, not what a fit computes.
        """
        data = self.model_dump(mode="json")
        data["objective"].pop("margin", None)
        return {k: data[k] for k in ("problem", "model", "space", "objective", "fit")}


def _check_fit_axis(name: str, axis: ParamSpec) -> None:
    """A searched fit setting takes the values the fit section takes: whole numbers from the
    field's own minimum up (``epochs`` and ``batch_size`` 1, ``patience`` 0)."""
    field = (EarlyStoppingSpec if name == "patience" else FitSpec).model_fields[name]
    least = next(rule.ge for rule in field.metadata if hasattr(rule, "ge"))
    values = axis.values if axis.values is not None else [axis.low, axis.high]
    for value in values:
        value = int(value) if axis.type == "int" else value
        if isinstance(value, bool) or not float(value).is_integer() or value < least:
            raise ValueError(f"space.{name}: {value!r} is not a whole number >= {least}")
