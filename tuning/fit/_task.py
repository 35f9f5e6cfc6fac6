"""What a worker is handed: a :class:`FitTask` carrying typed :class:`FitSettings`.

The settings of a fit come from two places: the spec's ``fit`` section (shuffle, validation,
early stopping, op determinism, and the default epochs and batch size) and the config, which
holds ``epochs``, ``batch_size`` and ``patience`` because they may be searched and are part of a
config's identity (its ``config_key``). :meth:`FitSettings.resolve` merges the two once, when the
task is made, so ``fit_one`` and the fused trainer read fields instead of each re-stating the
defaults: those live in one place, the spec's models (:class:`tuning.spec.FitSpec`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuning.spec import FitSpec, StudySpec, config_key
from tuning.vocabulary import DEFAULT_KERAS_BACKEND


@dataclass(frozen=True)
class EarlyStopping:
    """Keras's ``EarlyStopping`` arguments, with ``patience`` already the config's if it has one."""

    monitor: str
    patience: int
    min_delta: float
    restore_best_weights: bool


@dataclass(frozen=True)
class FitSettings:
    """How one config is fitted: plain, hashable, picklable (it travels to worker processes).

    Example:
        >>> s = FitSettings.resolve({"early_stopping": {"patience": 3}}, {"epochs": 5, "patience": 7})
        >>> (s.epochs, s.batch_size, s.early_stopping.patience, s.early_stopping.monitor)
        (5, 32, 7, 'val_loss')
    """

    epochs: int
    batch_size: int
    shuffle: bool
    deterministic: bool
    validation_source: str  # "problem" | "split"
    validation_fraction: float
    early_stopping: EarlyStopping | None

    @classmethod
    def resolve(cls, spec_fit: FitSpec | Mapping[str, Any] | None, config: Mapping[str, Any]) -> FitSettings:
        """The settings of ``config`` under the spec's ``fit`` section (a ``FitSpec`` or its dict).

        A dict is validated as a ``FitSpec``, so a partial one (``{"shuffle": True}``) gets the
        spec's defaults. The config's ``epochs``, ``batch_size`` and ``patience`` win over the
        section's: they are what the search varies.
        """
        fit = spec_fit if isinstance(spec_fit, FitSpec) else FitSpec.model_validate(dict(spec_fit or {}))
        early = None
        if fit.early_stopping is not None:
            es = fit.early_stopping
            early = EarlyStopping(es.monitor, int(config.get("patience", es.patience)), float(es.min_delta),
                                  bool(es.restore_best_weights))
        return cls(int(config.get("epochs", fit.epochs)), int(config.get("batch_size", fit.batch_size)),
                   bool(fit.shuffle), bool(fit.deterministic), fit.validation.source,
                   float(fit.validation.fraction), early)


@dataclass(frozen=True)
class FitTask:
    """Everything a worker needs to fit one config with one seed: plain, picklable data.

    ``keras_backend``: the study's Keras backend, which the fit sets in its process before Keras
    is imported (:func:`tuning.fit.use_keras_backend`).
    """

    problem_name: str
    problem_params_json: str
    config: dict[str, Any]
    config_key: str
    seed: int
    fit: FitSettings
    threads: int | None = None
    keras_backend: str = DEFAULT_KERAS_BACKEND

    @classmethod
    def make(cls, problem_name: str, problem_params: Mapping[str, Any] | str, fit_section: FitSpec | Mapping[str, Any],
             config: dict[str, Any], seed: int, key: str | None = None,
             keras_backend: str = DEFAULT_KERAS_BACKEND) -> FitTask:
        """The task of fitting ``config`` with ``seed`` on a problem (its params as a dict or their JSON)
        under a spec's ``fit`` section; ``key`` defaults to the config's :func:`~tuning.spec.config_key`."""
        params_json = problem_params if isinstance(problem_params, str) else json.dumps(problem_params, sort_keys=True)
        return cls(problem_name, params_json, config, key if key is not None else config_key(config), seed,
                   FitSettings.resolve(fit_section, config), keras_backend=keras_backend)

    @classmethod
    def from_spec(cls, spec: StudySpec, config: dict[str, Any], seed: int, key: str | None = None) -> FitTask:
        """The task of fitting ``config`` with ``seed`` in the study ``spec`` describes."""
        return cls.make(spec.problem.name, spec.problem.params, spec.fit, config, seed, key, spec.keras_backend)
