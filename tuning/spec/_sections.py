"""The sections of a spec: problem, model, fit (early stopping, validation), repeats, objective, sampler."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_serializer, model_validator

from tuning.objective import AGGREGATES, parse_margin
from tuning.spec._axes import StrictModel
from tuning.spec._names import COMPILE_KEYS, FIT_KEYS, MODEL_KEYS, STYLES
from tuning.vocabulary import (
    ACTIVATIONS,
    CELLS,
    DEFAULT_MONITOR,
    DEFAULT_PATIENCE,
    FAMILIES,
    INITIALIZERS,
    OPTIMIZERS,
    PRUNERS,
    RECYCLE_GROWTH_MB,
    RECYCLE_TASKS,
    SAMPLERS,
    SPEC_LOSSES,
    direction_of,
)

#: a race's defaults: seeds per config at the first look and at most, and its error rate
RACE_MIN_SEEDS, RACE_MAX_SEEDS, RACE_ALPHA = 3, 20, 0.05


class ProblemSpec(StrictModel):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_problem(self) -> ProblemSpec:
        from tuning.problems import check_problem  # NumPy only: no data is generated here

        check_problem(self.name, self.params)
        return self


class ModelSpec(StrictModel):
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
        for name in self._builtin_keys():  # written, even at its default value: the builder never reads it
            if name in self.model_fields_set or getattr(self, name) != _default(ModelSpec, name):
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


class EarlyStoppingSpec(StrictModel):
    monitor: str = DEFAULT_MONITOR
    patience: int = Field(default=DEFAULT_PATIENCE, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    restore_best_weights: bool = True


class ValidationSpec(StrictModel):
    """Where validation scores come from: the problem's own split, or the last part of train."""

    source: Literal["problem", "split"] = "problem"
    fraction: float = Field(default=0.2, gt=0.0, lt=1.0)


class FitSpec(StrictModel):
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=32, ge=1)
    early_stopping: EarlyStoppingSpec | None = None
    validation: ValidationSpec = ValidationSpec()
    shuffle: bool = True
    deterministic: bool = Field(default=False, description="enable TensorFlow op determinism")

    @field_validator("epochs", "batch_size", mode="before")
    @classmethod
    def _not_text(cls, value: Any) -> Any:
        """A quoted number is text, as everywhere in a spec (a searched axis refuses '4' too)."""
        if isinstance(value, str):
            raise ValueError(f"{value!r} is not a number (it is quoted: write it without quotes)")
        return value

    @model_validator(mode="before")
    @classmethod
    def _early_stopping_flag(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("early_stopping") is True:
            return {**value, "early_stopping": {}}
        if isinstance(value, dict) and value.get("early_stopping") is False:
            return {**value, "early_stopping": None}
        return value


class RepeatsSpec(StrictModel):
    """How many seeds each config is fitted with: ``count`` seeds from ``base_seed``, or ``seeds``.

    ``strategy: race`` gives a config more seeds only while it could still be the best
    (:mod:`tuning.racing`): every config starts with ``min`` seeds and the survivors get more, up
    to ``max`` (default: ``count`` when given, else 20; or the length of ``seeds`` less
    ``confirm``), with the race's error rate ``alpha``. The seeds are drawn in one sequence,
    ``base_seed`` up (or ``seeds`` in their order), so configs are compared seed by seed; the
    ``confirm`` seeds after the race's ``max`` took no part in it, and the configs left when it
    ends are fitted on them too: scores free of the winner's curse.
    """

    count: int = Field(default=5, ge=1)
    base_seed: int = Field(default=0, ge=0)
    seeds: list[int] | None = None
    strategy: Literal["fixed", "race"] = "fixed"
    min: int | None = Field(default=None, ge=2)
    max: int | None = Field(default=None, ge=2)
    alpha: float | None = Field(default=None, gt=0, lt=1)
    confirm: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"count": value}
        if isinstance(value, list):
            return {"seeds": value}
        if isinstance(value, dict) and value.get("strategy") == "race":
            # a race's bounds are settled here, once, so that the stored spec says them
            value = dict(value)
            count, top = value.get("count"), value.get("max")
            if value.get("max") is None:
                seeds = value.get("seeds")
                confirm = value.get("confirm", 0) if isinstance(value.get("confirm", 0), int) else 0
                value["max"] = len(seeds) - confirm if isinstance(seeds, list) else value.get("count", RACE_MAX_SEEDS)
            smallest = value.get("min")
            if top is None and isinstance(smallest, int) and isinstance(value["max"], int) and smallest > value["max"]:
                source = "the length of seeds less confirm" if isinstance(value.get("seeds"), list) else (
                    "count" if count is not None else "the default")
                raise ValueError(f"min ({smallest}) is more than max ({value['max']}, {source}) seeds: raise max")
            if value.get("min") is None:
                value["min"] = min(RACE_MIN_SEEDS, value["max"]) if isinstance(value["max"], int) else RACE_MIN_SEEDS
            if value.get("alpha") is None:
                value["alpha"] = RACE_ALPHA
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
        if self.strategy == "fixed":
            given = [name for name in ("min", "max", "alpha") if getattr(self, name) is not None]
            given += ["confirm"] if self.confirm else []
            if given:
                raise ValueError(f"only strategy race uses {', '.join(given)} (set strategy: race, or remove it)")
            return self
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is more than max ({self.max}) seeds")
        if self.seeds is not None and len(self.seeds) < self.max + self.confirm:
            raise ValueError(f"a race up to {self.max} seeds and {self.confirm} to confirm needs "
                             f"{self.max + self.confirm} seeds in the list (got {len(self.seeds)})")
        return self

    @property
    def seed_list(self) -> list[int]:
        """The study's seeds in the order they are drawn (a race: its ``max``, then ``confirm`` more)."""
        count = self.max + self.confirm if self.strategy == "race" and self.max is not None else self.count
        if self.seeds is not None:
            return list(self.seeds[:count] if self.strategy == "race" else self.seeds)
        return list(range(self.base_seed, self.base_seed + count))


class ObjectiveSpec(StrictModel):
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


class SamplerSpec(StrictModel):
    name: Literal[SAMPLERS] = "tpe"  # type: ignore[valid-type]
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class PrunerSpec(StrictModel):
    """``pruner``: stop a config's fits early when its seed aggregate is hopeless (:mod:`tuning.pruning`).

    ``pruner: median`` or ``pruner: {name: median, monitor: val_loss, settings: {n_warmup_steps: 10}}``;
    ``settings`` are the Optuna pruner's own keyword arguments, over :func:`tuning.pruning.default_settings`.
    ``monitor`` (default: the early stopping's monitor) is the per-epoch curve judged, in the
    direction its name says (``val_accuracy`` higher is better). ``min_seeds``: with seeds fitted
    one at a time (``sequential``, ``processes``), the seed from which on a config is judged: 1 (the
    default) judges the first seed on its own curve; 2 lets it train to its end and judges the
    second with it, so one seed's bad start cannot stop a config (docs/statistics.md measures
    both). Seeds trained together (the fused runner) are judged together either way.
    """

    name: Literal[PRUNERS] = "none"  # type: ignore[valid-type]
    monitor: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    min_seeds: int = Field(default=1, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _settings_known(self) -> PrunerSpec:
        if self.name == "none":
            if self.settings:
                raise ValueError("pruner.settings: pruner none takes no settings")
            return self
        from tuning.pruning import make_pruner  # Optuna only: checks the keyword arguments once, here

        try:
            make_pruner(self.name, 10, **self.settings)
        except ValueError as exc:
            raise ValueError(f"pruner.settings: {exc}") from None
        return self

    @property
    def active(self) -> bool:
        return self.name != "none"


class RecycleSpec(StrictModel):
    """``recycle``: when a worker process is replaced by a fresh one, so that a long study's memory
    stays bounded (Keras on TensorFlow keeps state for every model a process built).

    ``tasks``: after this many tasks (a fit, or a fused graph of a config's seeds); ``growth_mb``:
    once its resident memory grew this many MB since its first task. ``null`` turns a rule off.
    """

    tasks: int | None = Field(default=RECYCLE_TASKS, ge=1)
    growth_mb: float | None = Field(default=RECYCLE_GROWTH_MB, gt=0)
