"""The package's structure: no import cycles, no reaching into another module's private names.

The static import graph is read from the source with :mod:`ast`: module-level and function-level
imports alike (a function-level import hides a cycle from ``import tuning`` but not from a reader),
leaving out only imports under ``if TYPE_CHECKING:``, which never run. Importing a submodule runs
its package's ``__init__`` too; that implicit edge is not counted (every package that re-exports
its modules would otherwise be a cycle with them), an explicit ``from tuning.pkg import name`` is.
That read-only commands load no TensorFlow (or Dask) is checked on a real study in test_cli_e2e.py.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "tuning"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(module imported, name imported from it or None, line) for every import that can run."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
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


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, imported, _ in _imports(path):
            target = f"{module}.{imported}" if imported and f"{module}.{imported}" in MODULES else module
            if target in MODULES and target != name:
                graph[name].add(target)
    return graph


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


def test_no_import_cycles_in_the_package():
    assert _cycles(_graph()) == []


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
