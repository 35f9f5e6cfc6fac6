"""Reading a spec: the YAML file, validation with errors in the user's words, CLI overrides, a builder's space."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tuning.errors import SpecError, not_found
from tuning.spec._names import did_you_mean
from tuning.spec._study import StudySpec, flag_for
from tuning.vocabulary import (
    CELLS,
    DEFAULT_SAMPLER,
    KERAS_BACKEND_VARIABLE,
    KERAS_BACKENDS,
    PRUNERS,
    SAMPLERS,
    STORAGE_VARIABLE,
    default_keras_backend,
    default_storage,
)


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
    try:
        return _validate(data, spec._source)
    except SpecError as exc:  # an axis the builder's hp call made: the fix is in the builder, not in a space
        if not (exc.field or "").startswith("space."):
            raise
        name = exc.field.removeprefix("space.").split(".")[0]
        raise SpecError(f"{exc.detail}; {name!r} comes from an hp call of {spec.model.builder} (space: from_builder): "
                        "change that call, or write the space in the spec", source=exc.source, field=exc.field) from None


def load_spec(source: str | Path | dict, *, label: str | None = None) -> StudySpec:
    """Read and validate a study spec from a YAML file (or an already parsed mapping).

    Raises:
        SpecError: the file is missing or unreadable, the YAML is malformed, or a field is wrong;
            the message names the file and the field path.
    """
    if isinstance(source, dict):
        return _validate(source, label or "<spec>")
    label = label or str(source)
    data = read_spec_file(source, label)
    _one_bound_for_a_race(data, label)
    return _validate(data, label)


def _one_bound_for_a_race(data: dict, label: str) -> None:
    """A file whose race names both ``count`` and ``max`` (two different numbers) is refused: a race
    reads ``max`` alone, and would run silently on another number of seeds than one of them. Only a
    file is checked: a stored spec carries ``count``'s default beside the race's ``max``."""
    repeats = data.get("repeats")
    if (isinstance(repeats, dict) and repeats.get("strategy") == "race" and "count" in repeats and "max" in repeats
            and repeats["count"] != repeats["max"]):
        raise SpecError(f"count ({repeats['count']}) and max ({repeats['max']}) both given: a race gives a config at "
                        "most max seeds and reads no count; keep max", source=label, field="repeats")


def read_spec_file(source: str | Path, label: str | None = None) -> dict:
    """The mapping a YAML spec file holds, not yet validated (``run_study(data=...)`` adds its
    problem to it first).

    Raises:
        SpecError: the file is missing or unreadable, the YAML is malformed, or it is no mapping.
    """
    path = Path(source)
    label = label or str(source)
    if not path.is_file():
        raise SpecError(not_found(str(source)), source=label)
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_unique_keys_loader(yaml))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise SpecError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", source=label, field=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", source=label) from None
    if not isinstance(data, dict):
        raise SpecError("must be a mapping with at least name and problem", source=label)
    return data


def _unique_keys_loader(yaml):
    """YAML's safe loader, refusing a key given twice in one mapping: PyYAML keeps the last, so
    ``fit: {epochs: 1}`` then another ``fit:`` further down would silently win over the first."""

    class UniqueKeys(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{key!r} is given twice in one mapping; keep one", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return UniqueKeys


def with_source(error: SpecError, source: str) -> SpecError:
    """The same error, naming ``source`` (the spec file) if it named none."""
    if error.source is not None:
        return error
    return SpecError(error.detail, source=source, field=error.field)


def apply_overrides(spec: StudySpec, **overrides: Any) -> StudySpec:
    """Return ``spec`` with CLI flags applied (``None`` values are ignored), re-validated.

    ``repeats`` may be a count (under a race: its ``max``) or a list of seeds;
    ``repeats_strategy`` ``fixed`` or ``race``; ``sampler`` and ``pruner`` a name; ``backend``
    ``optuna`` or ``kerastuner`` (a spec that named no sampler then gets that backend's default).
    A spec that names no ``storage`` and gets none here takes ``$TUNING_STORAGE`` (the rule of
    :func:`tuning.vocabulary.default_storage`, for the CLI and the Python API alike); one that
    names no ``keras_backend`` takes ``$KERAS_BACKEND``, as Keras does.
    """
    data = spec.model_dump(mode="json")
    from_variable = None  # a field an environment variable gave: its mistake is named by the variable
    if overrides.get("storage") is None and "storage" not in spec.model_fields_set:
        data["storage"] = default_storage()
        from_variable = f"${STORAGE_VARIABLE}" if os.environ.get(STORAGE_VARIABLE) else None
    if overrides.get("keras_backend") is None and "keras_backend" not in spec.model_fields_set:
        data["keras_backend"] = default_keras_backend()  # $KERAS_BACKEND, as Keras reads it
        if data["keras_backend"] not in KERAS_BACKENDS:
            raise SpecError(f"unknown Keras backend {data['keras_backend']!r}; expected jax or tensorflow",
                            field=f"${KERAS_BACKEND_VARIABLE}")
    backend = overrides.get("backend")
    if backend in DEFAULT_SAMPLER and overrides.get("sampler") is None and "sampler" not in spec.model_fields_set:
        data["sampler"] = {**data["sampler"], "name": DEFAULT_SAMPLER[backend]}
    given = {key for key, value in overrides.items() if value is not None}
    strategy = overrides.pop("repeats_strategy", None)
    if strategy is not None and strategy != data["repeats"].get("strategy"):
        # the new strategy's own defaults: a race's bounds, or none for fixed seeds
        data["repeats"] = {**data["repeats"], "strategy": strategy, "min": None, "max": None, "alpha": None}
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "repeats" and isinstance(value, int):  # under a race, the most seeds a config gets
            count = "max" if data["repeats"].get("strategy") == "race" else "count"
            data["repeats"] = {**data["repeats"], count: value, "seeds": None}
        elif key == "sampler" and isinstance(value, str):
            data["sampler"] = {**data["sampler"], "name": value}
        elif key == "pruner" and isinstance(value, str):  # another pruner's settings would not fit it
            same = value == data["pruner"]["name"]
            data["pruner"] = {**data["pruner"], "name": value, "settings": data["pruner"]["settings"] if same else {}}
        else:
            data[key] = value
    try:
        out = _validate(data, spec._source)
        out._flags = frozenset(spec._flags | given - {"storage"})
        return out
    except SpecError as exc:  # a value a flag (or a variable) gave is its mistake, not the file's
        flag = flag_for(exc.field, given) or (from_variable if exc.field == "storage" else None)
        if flag is None:
            raise
        raise SpecError(exc.detail, field=flag) from None


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


#: What a section written in a word may be instead, for the message that refuses the word.
SECTION_FORMS = {
    "repeats": "must be a number of seeds (5), a list of seeds ([0, 1, 2]) or a mapping such as {count: 5}",
    "sampler": f"must be a sampler's name ({', '.join(SAMPLERS)}) or a mapping such as {{name: tpe, seed: 0}}",
    "pruner": f"must be a pruner's name ({', '.join(PRUNERS)}) or a mapping such as {{name: median}}",
}


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
        if first["type"] == "model_type":  # a section given as a word: what it may be instead
            message = f"{SECTION_FORMS.get(field, 'must be a mapping of its fields')} (got {first.get('input')!r})"
        if first["type"] == "literal_error" and isinstance(first.get("input"), str):
            expected = re.findall(r"'([^']*)'", first.get("ctx", {}).get("expected", ""))
            if field == "model.family" and first["input"] in CELLS:
                message += f"; {first['input']} is a cell: family: vanilla (or stacked ...) with cell: {first['input']}"
            else:
                message += did_you_mean(first["input"], expected, None)
        # A value_error raised by a study-level validator carries its own field path in the message.
        head = message.split(": ", 1)[0]
        if first["type"] == "value_error" and ": " in message and " " not in head \
                and head.split(".")[0] in StudySpec.model_fields:
            field, message = message.split(": ", 1)
        raise SpecError(message, source=label, field=field) from None
