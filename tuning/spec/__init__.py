"""The study spec: one YAML file that says what to search, on which problem, how to score it.

A spec is validated in full before anything runs, and every mistake is reported as one line
naming the file and the dotted path of the field (``studies/x.yaml: space.units: low must
be <= high (got low=10, high=1)``), so a typo never costs a half-finished study. See ``docs/spec.md`` for the reference.

Example:
    >>> spec = load_spec("studies/quickstart.yaml")          # doctest: +SKIP
    >>> spec = apply_overrides(spec, n_trials=4, jobs=2)     # doctest: +SKIP

The package, one concept a module: :mod:`._names` (the keys a section may use), :mod:`._axes` (one
search axis), :mod:`._sections` (problem, model, fit, repeats, objective, sampler), :mod:`._study`
(:class:`StudySpec` and its identity), :mod:`._loading` (files, errors, overrides),
:mod:`._config_key` (a config's digest). The accepted names live in :mod:`tuning.vocabulary` and
are re-exported here, where they were first read.
"""

from tuning.objective import AGGREGATES
from tuning.spec._axes import ParamSpec
from tuning.spec._config_key import config_key
from tuning.spec._loading import (
    apply_overrides,
    load_spec,
    read_spec_file,
    resolve_builder_space,
    with_source,
)
from tuning.spec._names import COMPILE_KEYS, FIT_KEYS, MODEL_KEYS, SEARCHABLE, STYLES, did_you_mean
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
    ValidationSpec,
)
from tuning.spec._study import StudySpec
from tuning.vocabulary import (
    ACTIVATIONS,
    BACKEND_SAMPLERS,
    BACKENDS,
    CELLS,
    DEFAULT_SAMPLER,
    FAMILIES,
    INITIALIZERS,
    MAXIMIZED,
    OPTIMIZERS,
    RUNNERS,
    SAMPLERS,
    SPEC_LOSSES,
)

__all__ = [
    "ACTIVATIONS", "AGGREGATES", "BACKENDS", "BACKEND_SAMPLERS", "CELLS", "COMPILE_KEYS", "DEFAULT_SAMPLER",
    "FAMILIES", "FIT_KEYS", "INITIALIZERS", "MAXIMIZED", "MODEL_KEYS", "OPTIMIZERS", "RUNNERS", "SAMPLERS",
    "SEARCHABLE", "SPEC_LOSSES", "STYLES", "EarlyStoppingSpec", "FitSpec", "ModelSpec", "ObjectiveSpec",
    "ParamSpec", "ProblemSpec", "PrunerSpec", "RecycleSpec", "RepeatsSpec", "SamplerSpec", "StudySpec", "ValidationSpec", "apply_overrides",
    "config_key", "did_you_mean", "load_spec", "read_spec_file", "resolve_builder_space", "with_source",
]
