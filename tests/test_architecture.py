"""The package's structure: no import cycle, imports only down the documented order, no module over
450 lines, no reaching into another module's private names.

The static import graph is read from the source with :mod:`ast`: module-level and function-level
imports alike (a function-level import hides a cycle from ``import tuning`` but not from a reader),
and imports under ``if TYPE_CHECKING:`` too (a type hint that points back up is a dependency a
reader follows). Importing a submodule runs its package's ``__init__`` too; that implicit edge is
not counted (every package that re-exports its modules would otherwise be a cycle with them), an
explicit ``from tuning.pkg import name`` is. :data:`LAYERS` is the order docs/architecture.md
draws: a module imports only from its own layer or the layers below it. That read-only commands
load no TensorFlow (or Dask) is checked on a real study in test_cli_e2e.py.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "tuning"

#: The documented order (docs/architecture.md, "Layers"), bottom first: a module may import from
#: its own layer and the layers below, never from a layer above. Each entry names a top-level
#: module or package of ``tuning`` (a package stands for all its modules).
LAYERS = (
    ("leaves", ("tuning.errors", "tuning.vocabulary", "tuning.objective", "tuning.quiet", "tuning.urls")),
    ("numerics", ("tuning.statistics", "tuning.racing", "tuning.pruning")),
    ("plain results", ("tuning.results", "tuning.progress")),
    ("your model and data", ("tuning.builders", "tuning.problems")),
    ("spec", ("tuning.spec",)),
    ("space", ("tuning.space",)),
    ("models", ("tuning.models",)),
    ("fit", ("tuning.fit",)),
    ("runners", ("tuning.runners",)),
    ("store and trial records", ("tuning.store", "tuning.trials")),
    ("backends", ("tuning.backends",)),
    ("search", ("tuning.search",)),
    ("refit", ("tuning.refit",)),
    ("analysis", ("tuning.analysis", "tuning.diagnose", "tuning.replay")),
    ("report", ("tuning.plots", "tuning.report")),
    ("interfaces", ("tuning.api", "tuning.cli", "tuning")),
)
MAX_LINES = 450

def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path, *, type_checking: bool = True) -> list[tuple[str, str | None, int]]:
    """(module imported, name imported from it or None, line) for every import in ``path``, those
    under ``if TYPE_CHECKING:`` included unless ``type_checking`` is False."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if not type_checking and isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, None, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.extend((base, alias.name, child.lineno) for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return [(module, imported, line) for module, imported, line in found if module.split(".")[0] == "tuning"]


def _edges(modules: dict[str, Path] = MODULES) -> list[tuple[str, str, int]]:
    """(importer, imported module, line) for every import of one module of ``tuning`` by another."""
    found = []
    for name, path in modules.items():
        for module, imported, line in _imports(path):
            target = f"{module}.{imported}" if imported and f"{module}.{imported}" in modules else module
            if target in modules and target != name:
                found.append((name, target, line))
    return found


def _graph(modules: dict[str, Path] = MODULES) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, target, _ in _edges(modules):
        graph[name].add(target)
    return graph


def _layer(module: str) -> int | None:
    """The index in :data:`LAYERS` of the entry ``module`` belongs to (the longest that names it)."""
    best: tuple[int, int] | None = None
    for index, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and (best is None or len(entry) > best[1]):
                best = (index, len(entry))
    return None if best is None else best[0]


def _against_the_order(edges: list[tuple[str, str, int]]) -> list[str]:
    wrong = []
    for module, target, line in edges:
        mine, theirs = _layer(module), _layer(target)
        if mine is not None and theirs is not None and theirs > mine:
            wrong.append(f"{module}:{line} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]}), a layer above")
    return wrong


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_graph_is_read_from_the_real_package():
    graph = _graph()
    assert {"tuning.cli", "tuning.store", "tuning.analysis.frames", "tuning.backends.optuna"} <= set(graph)
    assert "tuning.store" in graph["tuning.analysis.frames"]  # a function-level import counts too


def test_no_import_cycles_in_the_package_type_hints_included():
    cycles = _cycles(_graph())
    assert cycles == []


def test_a_cycle_through_a_type_hint_is_found(tmp_path):
    package = tmp_path / "tuning"
    package.mkdir()
    (package / "a.py").write_text("from tuning.b import B\n")
    (package / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tuning.a import A\n")
    modules = {"tuning.a": package / "a.py", "tuning.b": package / "b.py"}
    global ROOT
    saved, ROOT = ROOT, package
    try:
        assert _cycles(_graph(modules)) == [["tuning.a", "tuning.b"]]
    finally:
        ROOT = saved


def test_every_module_has_a_place_in_the_documented_order():
    assert [m for m in MODULES if _layer(m) is None] == []


def test_imports_run_down_the_documented_order():
    wrong = _against_the_order(_edges())
    assert wrong == []


def test_an_import_against_the_order_is_found():
    assert _against_the_order([("tuning.spec", "tuning.store._store", 12)]) == [
        "tuning.spec:12 (spec) imports tuning.store._store (store and trial records), a layer above"]
    assert _against_the_order([("tuning.store._store", "tuning.results", 3)]) == []


def _too_long(modules: dict[str, Path]) -> list[str]:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()}
    return [f"{name}: {count} lines" for name, count in sorted(lengths.items()) if count > MAX_LINES]


def test_no_module_is_over_450_lines():
    assert _too_long(MODULES) == []


def test_a_long_module_is_found(tmp_path):
    long = tmp_path / "long.py"
    long.write_text("x = 1\n" * (MAX_LINES + 1))
    assert _too_long({"tuning.long": long}) == [f"tuning.long: {MAX_LINES + 1} lines"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_modules_private_names():
    """``from tuning.x import _y`` or a private module (``tuning.fit._keras``) from outside its package."""
    reaching = []
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for module, imported, line in _imports(path):
            target = f"{module}.{imported}" if imported and f"{module}.{imported}" in MODULES else module
            parts = target.split(".")
            private_module = next((".".join(parts[: i + 1]) for i, p in enumerate(parts) if p.startswith("_")), None)
            if private_module and not (package + ".").startswith(private_module.rpartition(".")[0] + "."):
                reaching.append(f"{path.relative_to(ROOT.parent)}:{line}: imports private module {target}")
            elif (imported and imported.startswith("_") and not imported.startswith("__") and target == module
                  and module != name):
                reaching.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {module}.{imported}")
    assert reaching == []
