"""Where a builder comes from: its import path, the module or file it names, and its fingerprint.

Builders are named by a path string, not passed as objects, because the path is what the store
keeps and what worker processes import: each worker resolves it again itself. A callable that
lives only in this process (a function typed into a notebook) is named through
:func:`register_builder`, which the resolver consults first.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuning.errors import SpecError, not_found, one_line

FIELD = "model.builder"
_REGISTRY: dict[str, Callable] = {}


def register_builder(function: Callable, name: str | None = None) -> str:
    """Make ``function`` (a callable of this process) nameable as ``model.builder``; returns the name.

    The name is ``module:qualname`` (or ``name``); the resolver looks it up here before importing,
    so a function defined in a notebook works with the sequential runner. Worker processes have
    their own registry: with ``runner: processes`` the function must be importable by that name.
    """
    if not callable(function):
        raise SpecError(f"{function!r} is not callable", field=FIELD)
    qualname = getattr(function, "__qualname__", "build").replace("<locals>.", "").replace("<lambda>", "lambda_")
    path = name or f"{getattr(function, '__module__', None) or '__main__'}:{qualname}"
    parse_path(path)
    _REGISTRY[path] = function
    return path


def importable_by_workers(path: str) -> bool:
    """False for a registered function that a worker process could not import by its name
    (one of ``__main__``, a notebook's, or one defined inside another function)."""
    if path not in _REGISTRY:
        return True
    module_part, attribute = parse_path(path)
    function = _REGISTRY[path]
    return module_part != "__main__" and "<locals>" not in getattr(function, "__qualname__", "") \
        and f"{getattr(function, '__module__', '')}:{getattr(function, '__qualname__', '')}" == path


def load_builder(path: str, style: str = "config") -> Callable:
    """The callable ``path`` names (``module:function``, ``file.py:function``, or a registered name).

    A KerasTuner ``HyperModel`` (class or instance) stands for its ``build`` method.

    Raises:
        SpecError: the module or file does not import, has no such attribute, or it is not callable;
            one line, ``field="model.builder"``.
    """
    if path in _REGISTRY:
        return _REGISTRY[path]
    module_part, attribute = parse_path(path)
    module = _import(module_part, path)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            where = module_part if target is module else f"{module_part}:{attribute}"
            raise SpecError(f"{path}: {where} has no attribute {part!r}", field=FIELD)
        target = getattr(target, part)
    if style == "kerastuner" and isinstance(target, type) and callable(getattr(target, "build", None)):
        target = target()  # a HyperModel subclass: its build(hp)
    if style == "kerastuner" and not inspect.isroutine(target) and callable(getattr(target, "build", None)):
        target = target.build
    if not callable(target):
        raise SpecError(f"{path}: {type(target).__name__} is not callable; name a function build(...)", field=FIELD)
    _check_style(target, path, style)
    return target


def _check_style(target: Callable, path: str, style: str) -> None:
    """Refuse a builder whose arguments are the other style's, saying which: a KerasTuner
    ``build(hp)`` named without ``style: kerastuner`` failed on its first config with Python's
    "takes 1 positional argument but 2 were given"."""
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # a builtin or an object without a signature: its call says
        return
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if style == "config" and len(positional) == 1:
        raise SpecError(f"{path}: takes one argument ({positional[0].name}), as KerasTuner's build(hp): set "
                        "model.style: kerastuner (a builder of the default style takes config, problem)", field=FIELD)
    if style == "kerastuner" and len(required) >= 2:
        raise SpecError(f"{path}: takes {len(required)} arguments ({', '.join(p.name for p in required)}), as a "
                        "build(config, problem): remove model.style: kerastuner (KerasTuner's build takes hp alone)",
                        field=FIELD)


def fingerprint(path: str) -> str:
    """A digest of the builder's code: its path, the function and everything of its file it uses.

    The study stores it, so that a study is not continued with a builder whose code changed (its
    fits would mix two models). What counts is the code that can change the model: the builder,
    the functions and classes it names in its file (and the ones they name), and every other
    top-level statement (imports, constants, settings such as ``keras.config.set_floatx``), each as
    its syntax tree, so a comment, a blank line or another builder added to the same file changes
    nothing. A module that is not a source file counts by its path only.
    """
    return fingerprints(path)[0]


def fingerprints(path: str) -> tuple[str, ...]:
    """:func:`fingerprint`, then the digests earlier versions stored for the same code (the whole
    file's bytes): a study stored with one of them continues."""
    source = _source_file(path)
    if source is None:
        digest = hashlib.sha256(path.encode())
        if path in _REGISTRY:
            try:
                digest.update(inspect.getsource(_REGISTRY[path]).encode())
            except (OSError, TypeError):
                pass
        return (digest.hexdigest()[:16],)
    text = source.read_bytes()
    whole_file = hashlib.sha256(path.encode() + text).hexdigest()[:16]
    try:
        used = _code_used(ast.parse(text), parse_path(path)[1].split(".")[0])
    except (SyntaxError, ValueError):  # not Python this version parses: the file as it is
        return (whole_file,)
    return hashlib.sha256(path.encode() + used.encode()).hexdigest()[:16], whole_file


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _code_used(tree: ast.Module, name: str) -> str:
    """The syntax trees of the top-level definition ``name``, of the definitions it names (again
    and again), and of every top-level statement that is not a definition, in file order."""
    definitions = {node.name: node for node in tree.body if isinstance(node, DEFINITIONS)}
    kept, todo = set(), [name]
    while todo:
        node = definitions.get(todo.pop())
        if node is None or id(node) in kept:
            continue
        kept.add(id(node))
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in definitions]
    used = [ast.dump(node) for node in tree.body if id(node) in kept]
    others = [ast.dump(node) for node in tree.body if not isinstance(node, DEFINITIONS)]
    return "\n".join([*used, "--", *others])


def parse_path(path: str) -> tuple[str, str]:
    """(module or file, attribute) of a builder path; ``SpecError`` if it is not one."""
    module_part, _, attribute = path.rpartition(":") if isinstance(path, str) else ("", "", "")
    if not module_part or not attribute or not all(p.isidentifier() for p in attribute.split(".")):
        raise SpecError(f"{path!r}: name the function as module:function or path/to/file.py:function", field=FIELD)
    return module_part, attribute


def _is_file(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or os.sep in module_part


def _cwd_importable() -> None:
    """The current directory first on the import path, like ``python -m`` (a console script's is not)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _source_file(path: str) -> Path | None:
    if path in _REGISTRY:
        return None
    module_part, _ = parse_path(path)
    if _is_file(module_part):
        return Path(module_part) if Path(module_part).is_file() else None
    module = sys.modules.get(module_part)
    origin = getattr(module, "__file__", None)
    if origin is None:
        _cwd_importable()  # found where _import finds it: a fingerprint before the first import is the same
        try:
            spec = importlib.util.find_spec(module_part)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") and Path(origin).is_file() else None


def _import(module_part: str, path: str):
    """Import a module by name (the current directory first on the path) or a file by its path."""
    if _is_file(module_part):
        file = Path(module_part)
        if not file.is_file():
            raise SpecError(f"{path}: {module_part}: {not_found(module_part)}",
                            field=FIELD)
        resolved = file.resolve()
        name = "tuning_builder_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
        cached = sys.modules.get(name)
        if cached is not None and getattr(cached, "__tuning_mtime__", None) == resolved.stat().st_mtime_ns:
            return cached
        spec = importlib.util.spec_from_file_location(name, resolved)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise SpecError(f"{path}: {module_part} does not import: {one_line(exc)}", field=FIELD) from None
        module.__tuning_mtime__ = resolved.stat().st_mtime_ns
        return module
    _cwd_importable()
    try:
        return importlib.import_module(module_part)
    except Exception as exc:
        raise SpecError(f"{path}: module {module_part} does not import: {one_line(exc)}", field=FIELD) from None

