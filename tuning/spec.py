"""The study spec: one YAML file that says what to search, on which problem, how to score it.

A spec is validated in full before anything runs, and every mistake is reported as one line
naming the file and the dotted path of the field (``studies/x.yaml: space.units: low must
be <= high (got low=10, high=1)``), so a typo never costs a half-finished study. See ``docs/spec.md`` for the reference.

Example:
    >>> spec = load_spec("studies/quickstart.yaml")          # doctest: +SKIP
    >>> spec = apply_overrides(spec, n_trials=4, jobs=2)     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from tuning.errors import SpecError
from tuning.objective import AGGREGATES, parse_margin
from tuning.vocabulary import (
    ACTIVATIONS,
    BACKEND_SAMPLERS,
    BACKENDS,
    CELLS,
    DEFAULT_BACKEND,
    DEFAULT_PATIENCE,
    DEFAULT_RUNNER,
    DEFAULT_SAMPLER,
    DEFAULT_STORAGE,
    FAMILIES,
    INITIALIZERS,
    OPTIMIZERS,
    RUNNERS,
    SAMPLERS,
    SPEC_LOSSES,
    default_storage,
    direction_of,
)

#: Names a searched parameter may have, with the accepted values of the categorical ones.
MODEL_KEYS: dict[str, tuple | None] = {
    "family": FAMILIES, "cell": CELLS, "layers": None, "units": None, "dropout": None,
    "recurrent_dropout": None, "activation": ACTIVATIONS, "initializer": INITIALIZERS,
    "optimizer": OPTIMIZERS, "learning_rate": None, "momentum": None, "filters": None,
    "kernel_size": None, "pool_size": None, "decoder_layers": None, "decoder_units": None, "loss": SPEC_LOSSES,
    "mask_value": None,
}
FIT_KEYS = ("epochs", "batch_size", "patience")
SEARCHABLE = tuple(MODEL_KEYS) + FIT_KEYS
#: The model keys ``tuning`` itself reads when a builder makes the model: it compiles with them.
COMPILE_KEYS = ("optimizer", "learning_rate", "momentum", "loss")
#: How a builder is called: ``build(config, problem)``, or KerasTuner's ``build(hp)`` (tuning.builders).
STYLES = ("config", "kerastuner")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamSpec(_Strict):
    """One axis of the search space.

    Written in YAML either in full (``{type: int, low: 1, high: 64, log: true}``), as an
    explicit grid (``{grid: [1, 5, 10]}`` or just ``[1, 5, 10]``), or as categorical choices
    (``{type: categorical, choices: [adam, sgd]}``). ``per_layer: true`` on ``units`` draws one
    value per recurrent layer (conditional on ``layers``).
    """

    type: Literal["int", "float", "categorical"] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: list[Any] | None = None
    grid: list[Any] | None = None
    per_layer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"grid": value}
        if isinstance(value, dict) and "type" not in value and "low" in value and "high" in value:
            # Read the type as written: `low: 1, high: 64` is an int axis (also on a log scale),
            # `low: 0.0, high: 0.5` or `low: 1.0e-4` a float one.
            bounds = [value.get(k) for k in ("low", "high", "step") if value.get(k) is not None]
            whole = all(isinstance(v, int) and not isinstance(v, bool) for v in bounds)
            return {**value, "type": "int" if whole else "float"}
        if isinstance(value, dict) or isinstance(value, ParamSpec):
            return value
        raise ValueError("must be a list of values or a mapping such as {type: int, low: 1, high: 10}")

    @model_validator(mode="after")
    def _check(self) -> ParamSpec:
        values = self.grid if self.grid is not None else self.choices
        if self.grid is not None and self.choices is not None:
            raise ValueError("give either grid or choices, not both")
        if values is not None:
            if len(values) == 0:
                raise ValueError("needs at least one value")
            if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
                raise ValueError(f"has repeated values: {values}")
            if self.type in ("int", "float") or self.low is not None or self.high is not None:
                raise ValueError("a list of values takes no type/low/high")
            return self
        if self.type == "categorical":
            raise ValueError("categorical needs choices")
        if self.low is None or self.high is None:
            raise ValueError("needs low and high (or a list of values)")
        if self.low > self.high:
            raise ValueError(f"low must be <= high (got low={self.low:g}, high={self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got low={self.low:g})")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be > 0 (got {self.step:g})")
        if self.log and self.step is not None:
            raise ValueError("step and log cannot be combined")
        whole = (v for v in (self.low, self.high, self.step) if v is not None)
        if self.type == "int" and not all(float(v).is_integer() for v in whole):
            raise ValueError("an int range needs integer low, high and step")
        return self

    @property
    def values(self) -> list[Any] | None:
        """The explicit values (grid or choices), or ``None`` for a range."""
        return self.grid if self.grid is not None else self.choices

    def grid_values(self) -> list[Any]:
        """The points a grid search visits on this axis.

        Raises:
            ValueError: a continuous range without ``step`` has no finite grid.
        """
        if self.values is not None:
            return list(self.values)
        low, high = self.low, self.high
        if self.type == "int":
            step = int(self.step or 1)
            return list(range(int(low), int(high) + 1, step))
        if self.step is None:
            raise ValueError("a float range needs a step (or a list of values) for the grid sampler")
        count = int(math.floor((high - low) / self.step + 1e-9)) + 1
        return [round(low + i * self.step, 12) for i in range(count)]


class ProblemSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_problem(self) -> ProblemSpec:
        from tuning.problems import check_problem  # NumPy only: no data is generated here

        check_problem(self.name, self.params)
        return self


class ModelSpec(_Strict):
    """Fixed model settings; any of them can also be searched in ``space``.

    With ``builder`` (``"module:function"`` or ``"path/file.py:function"``) your function makes the
    model (see :mod:`tuning.builders`); the built-in families' keys are then refused (they would be
    silently ignored), ``params`` holds your builder's fixed settings, and only ``optimizer``,
    ``learning_rate``, ``momentum`` and ``loss`` are read by ``tuning``, to compile a model your
    builder did not compile. ``mask_value`` adds a ``Masking`` layer to the built-in families.
    """

    family: Literal[FAMILIES] = "vanilla"  # type: ignore[valid-type]
    cell: Literal[CELLS] = "lstm"  # type: ignore[valid-type]
    layers: int | None = Field(default=None, ge=1)
    units: int | list[int] = 32
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    recurrent_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    activation: Literal[ACTIVATIONS] = "tanh"  # type: ignore[valid-type]
    initializer: Literal[INITIALIZERS] = "glorot_uniform"  # type: ignore[valid-type]
    optimizer: Literal[OPTIMIZERS] = "adam"  # type: ignore[valid-type]
    learning_rate: float = Field(default=0.001, gt=0.0)
    momentum: float | None = Field(default=None, ge=0.0, lt=1.0)
    filters: int | None = Field(default=None, ge=1)
    kernel_size: int | None = Field(default=None, ge=1)
    pool_size: int | None = Field(default=None, ge=1)
    decoder_layers: int | None = Field(default=None, ge=1)
    decoder_units: int | list[int] | None = None
    loss: Literal[SPEC_LOSSES] | None = None  # type: ignore[valid-type]
    mask_value: float | None = None
    builder: str | None = None
    style: Literal[STYLES] = "config"  # type: ignore[valid-type]
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("units")
    @classmethod
    def _positive_units(cls, value: int | list[int]) -> int | list[int]:
        if any(u < 1 for u in (value if isinstance(value, list) else [value])):
            raise ValueError("units must be >= 1")
        return value

    @field_validator("builder")
    @classmethod
    def _builder_path(cls, value: str | None) -> str | None:
        if value is not None:
            from tuning.builders import parse_path  # no import of the builder here: that is at run time

            parse_path(value)
        return value

    @model_validator(mode="after")
    def _builder_settings(self) -> ModelSpec:
        if self.builder is None:
            if self.style != "config" or self.params:
                wrong = "style" if self.style != "config" else "params"
                raise ValueError(f"model.{wrong}: applies to a model.builder only")
            return self
        for name in self._builtin_keys():
            if getattr(self, name) != _default(ModelSpec, name):
                raise ValueError(f"model.{name}: a setting of the built-in families, which a builder replaces; "
                                 "put your builder's settings in model.params (they reach it in the config)")
        for name in self.params:
            if name in COMPILE_KEYS or name in FIT_KEYS or name in ("builder", "style", "params"):
                where = f"fit.{name}" if name in FIT_KEYS else f"model.{name}"
                raise ValueError(f"model.params.{name}: tuning reads this one itself; set it as {where}")
        return self

    @classmethod
    def _builtin_keys(cls) -> list[str]:
        return [k for k in MODEL_KEYS if k not in COMPILE_KEYS]

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        # Settings left at their defaults are not written: a spec without a builder dumps as it did
        # before builders existed (so its stored spec and its config keys stay the same), and a
        # spec with one holds no built-in family settings that its builder would never read.
        data = handler(self)
        dropped = [k for k in ModelSpec.model_fields if k != "builder"] if self.builder else \
            ["builder", "style", "params", "mask_value"]
        for name in dropped:
            if name in data and data[name] == _default(ModelSpec, name):
                del data[name]
        return data


def _default(model: type[BaseModel], name: str) -> Any:
    return model.model_fields[name].get_default(call_default_factory=True)


class EarlyStoppingSpec(_Strict):
    monitor: str = "val_loss"
    patience: int = Field(default=DEFAULT_PATIENCE, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    restore_best_weights: bool = True


class ValidationSpec(_Strict):
    """Where validation scores come from: the problem's own split, or the last part of train."""

    source: Literal["problem", "split"] = "problem"
    fraction: float = Field(default=0.2, gt=0.0, lt=1.0)


class FitSpec(_Strict):
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=32, ge=1)
    early_stopping: EarlyStoppingSpec | None = None
    validation: ValidationSpec = ValidationSpec()
    shuffle: bool = True
    deterministic: bool = Field(default=False, description="enable TensorFlow op determinism")

    @model_validator(mode="before")
    @classmethod
    def _early_stopping_flag(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("early_stopping") is True:
            return {**value, "early_stopping": {}}
        if isinstance(value, dict) and value.get("early_stopping") is False:
            return {**value, "early_stopping": None}
        return value


class RepeatsSpec(_Strict):
    """How many seeds each config is fitted with: ``count`` seeds from ``base_seed``, or ``seeds``."""

    count: int = Field(default=5, ge=1)
    base_seed: int = Field(default=0, ge=0)
    seeds: list[int] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"count": value}
        if isinstance(value, list):
            return {"seeds": value}
        return value

    @model_validator(mode="after")
    def _check(self) -> RepeatsSpec:
        if self.seeds is not None:
            if not self.seeds:
                raise ValueError("seeds needs at least one seed")
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError(f"seeds has repeats: {self.seeds}")
            if any(s < 0 for s in self.seeds):
                raise ValueError("seeds must be >= 0")
        return self

    @property
    def seed_list(self) -> list[int]:
        if self.seeds is not None:
            return list(self.seeds)
        return list(range(self.base_seed, self.base_seed + self.count))


class ObjectiveSpec(_Strict):
    """What a trial reports to the sampler: an aggregate over seeds of one validation score.

    ``mean_plus_std`` is the pessimistic score ``mean + k*std`` when minimising (``mean - k*std``
    when maximising): it prefers configs that are good *and* reliable. ``iqm`` is the
    interquartile mean, robust to a seed that trains badly.

    ``margin`` is how much worse than the best a config may be and still count as good as it (a
    number in the metric's units, or a string like ``"2%"`` of the best's aggregate). It is a
    reading of the results, not part of what a fit computes: changing it never refuses a stored
    study (see :meth:`StudySpec.identity`).
    """

    metric: str = "val_loss"
    direction: Literal["minimize", "maximize"] | None = None
    aggregate: Literal[AGGREGATES] = "mean"  # type: ignore[valid-type]
    k: float = Field(default=1.0, ge=0.0)
    margin: float | str | None = None

    @field_validator("margin", mode="before")
    @classmethod
    def _margin(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            parse_margin(value)
        except ValueError as exc:
            raise ValueError(f"objective.margin: {exc}") from None
        return value

    @model_validator(mode="after")
    def _direction(self) -> ObjectiveSpec:
        if self.direction is None:
            object.__setattr__(self, "direction", direction_of(self.metric))
        return self


class SamplerSpec(_Strict):
    name: Literal[SAMPLERS] = "tpe"  # type: ignore[valid-type]
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class StudySpec(_Strict):
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
    storage: str = DEFAULT_STORAGE
    backend: Literal[BACKENDS] = DEFAULT_BACKEND  # type: ignore[valid-type]
    _source: str = PrivateAttr(default="<spec>")  # the file it was read from, for error messages
    runner: Literal[RUNNERS] = DEFAULT_RUNNER  # type: ignore[valid-type]
    jobs: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _backend_default_sampler(cls, value: Any) -> Any:
        # A spec that names no sampler gets its backend's default (tpe, or bayesian for kerastuner).
        if isinstance(value, dict) and "sampler" not in value and value.get("backend") in DEFAULT_SAMPLER:
            return {**value, "sampler": DEFAULT_SAMPLER[value["backend"]]}
        return value

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
                    space[name] = param.model_copy(update={"grid": _numbers(name, param.values), "choices": None})
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
        if self.runner == "fused" and self.model.builder is not None:
            raise ValueError("runner: fused trains the built-in families only; a model.builder runs with "
                             "runner auto, sequential or processes")
        if isinstance(self.space, str):  # checked once resolve_builder_space has read it
            return self
        offered = BACKEND_SAMPLERS[self.backend]
        if self.sampler.name not in offered:
            owner = next(b for b, names in BACKEND_SAMPLERS.items() if self.sampler.name in names)
            raise ValueError(
                f"sampler: sampler {self.sampler.name!r} is only available with backend {owner!r}; "
                f"backend {self.backend!r} offers {', '.join(offered)}"
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

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

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


def resolve_builder_space(spec: StudySpec) -> StudySpec:
    """``spec`` with ``space: from_builder`` replaced by the space its KerasTuner ``build(hp)`` asks for.

    Resolved when a study runs, not when the spec is read: it imports the builder (hence Keras),
    which ``tuning status`` and ``tuning report`` never do. The stored spec holds the resolved
    space, so they read it as any other; a run from the YAML file reads it again, and a study
    continues only if the builder still asks for the same space. ``model.params`` win over what
    the calls ask for; ``hp.Fixed`` values join ``model.params``.

    Raises:
        SpecError: the builder does not import or raises on the dry run, or asks for nothing.
    """
    if spec.space != "from_builder":
        return spec
    from tuning.builders import space_from_builder

    data = spec.model_dump(mode="json")
    params = data["model"].get("params", {})
    try:
        space, fixed = space_from_builder(spec.model.builder, params)
    except SpecError as exc:
        raise with_source(exc, spec._source) from None
    if not space:
        raise SpecError(f"{spec.model.builder} asks for no hyperparameter on a dry run (hp.Int, hp.Choice ...)",
                        source=spec._source, field="space")
    data["space"] = space
    data["model"]["params"] = {**fixed, **params}
    return _validate(data, spec._source)


def load_spec(source: str | Path | dict, *, label: str | None = None) -> StudySpec:
    """Read and validate a study spec from a YAML file (or an already parsed mapping).

    Raises:
        SpecError: the file is missing or unreadable, the YAML is malformed, or a field is wrong;
            the message names the file and the field path.
    """
    if isinstance(source, dict):
        return _validate(source, label or "<spec>")
    label = label or str(source)
    return _validate(read_spec_file(source, label), label)


def read_spec_file(source: str | Path, label: str | None = None) -> dict:
    """The mapping a YAML spec file holds, not yet validated (``run_study(data=...)`` adds its
    problem to it first).

    Raises:
        SpecError: the file is missing or unreadable, the YAML is malformed, or it is no mapping.
    """
    path = Path(source)
    label = label or str(source)
    if not path.is_file():
        raise SpecError("file not found", source=label)
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise SpecError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=label, field=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", source=label) from None
    if not isinstance(data, dict):
        raise SpecError("must be a mapping with at least name and problem", source=label)
    return data


def with_source(error: SpecError, source: str) -> SpecError:
    """The same error, naming ``source`` (the spec file) if it named none."""
    if error.source is not None:
        return error
    return SpecError(error.detail, source=source, field=error.field)


def apply_overrides(spec: StudySpec, **overrides: Any) -> StudySpec:
    """Return ``spec`` with CLI flags applied (``None`` values are ignored), re-validated.

    ``repeats`` may be a count or a list of seeds; ``sampler`` a sampler name; ``backend``
    ``optuna`` or ``kerastuner`` (a spec that named no sampler then gets that backend's default).
    A spec that names no ``storage`` and gets none here takes ``$TUNING_STORAGE`` (the rule of
    :func:`tuning.vocabulary.default_storage`, for the CLI and the Python API alike).
    """
    data = spec.model_dump(mode="json")
    if overrides.get("storage") is None and "storage" not in spec.model_fields_set:
        data["storage"] = default_storage()
    backend = overrides.get("backend")
    if backend in DEFAULT_SAMPLER and overrides.get("sampler") is None and "sampler" not in spec.model_fields_set:
        data["sampler"] = {**data["sampler"], "name": DEFAULT_SAMPLER[backend]}
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "repeats" and isinstance(value, int):
            data["repeats"] = {**data["repeats"], "count": value, "seeds": None}
        elif key == "sampler" and isinstance(value, str):
            data["sampler"] = {**data["sampler"], "name": value}
        else:
            data[key] = value
    return _validate(data, spec._source)


def config_key(config: dict[str, Any]) -> str:
    """A short stable digest of a config: fits are keyed by (study, config_key, seed)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


def _numbers(name: str, values: list[Any]) -> list[int | float]:
    """Values of a numeric axis as numbers; YAML reads ``1e-4`` (no dot) as a string."""
    numbers = []
    for value in values:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"space.{name}: {value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"space.{name}: {value!r} is not a number")
        numbers.append(value)
    return numbers


def did_you_mean(word: str, allowed: list[str] | tuple[str, ...], listed: str | None = "fields") -> str:
    """``"; did you mean 'sampler'?"`` for the allowed name closest to a misspelt ``word``; without
    one, ``"; expected one of a, b, c"`` (the allowed ``listed``: ``"fields"``), or nothing when
    ``listed`` is ``None`` (the message lists them already)."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(a) for a in allowed], n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; the {listed} are {', '.join(str(a) for a in allowed)}" if listed and allowed else ""


def _fields_at(path: list) -> list[str]:
    """The field names the spec allows at ``path`` (``["fit", "early_stopping"]``), [] if unknown."""
    import types
    import typing

    node: Any = StudySpec
    for part in path:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            if field is None:
                return []
            node = field.annotation
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]  # ``part`` is a key of the mapping (a space axis)
        else:
            return []
        # Unwrap ``X | None`` and ``dict[...] | Literal[...]`` to the member that nests.
        while typing.get_origin(node) in (types.UnionType, typing.Union):
            node = next((a for a in typing.get_args(node) if typing.get_origin(a) is dict
                         or (isinstance(a, type) and issubclass(a, BaseModel))), None)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def _validate(data: dict, label: str) -> StudySpec:
    try:
        spec = StudySpec.model_validate(data)
        spec._source = label
        return spec
    except SpecError as exc:  # raised by a nested check (e.g. problem parameters): add the file
        raise with_source(exc, label) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        # A union (space: a mapping or from_builder) names its member in the path: not a field.
        field = ".".join(str(p) for p in first["loc"] if not (isinstance(p, str) and "[" in p)) or None
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            allowed = _fields_at([p for p in first["loc"] if not (isinstance(p, str) and "[" in p)][:-1])
            message = "unknown field" + (did_you_mean(str(first["loc"][-1]), allowed, "fields") if allowed else "")
        elif first["type"] == "missing":
            message = "required field is missing"
        if "input" in first and first["type"] not in ("missing", "extra_forbidden", "value_error"):
            message = f"{message} (got {first['input']!r})"
        if first["type"] == "literal_error" and isinstance(first.get("input"), str):
            expected = re.findall(r"'([^']*)'", first.get("ctx", {}).get("expected", ""))
            message += did_you_mean(first["input"], expected, None)
        # A value_error raised by a study-level validator carries its own field path in the message.
        head = message.split(": ", 1)[0]
        if first["type"] == "value_error" and ": " in message and " " not in head \
                and head.split(".")[0] in StudySpec.model_fields:
            field, message = message.split(": ", 1)
        raise SpecError(message, source=label, field=field) from None
