"""The import rules of docs/architecture.md, read from the source with `ast`.

Every import counts, also one inside a function: a lazy import still ties the two
modules together, it only hides the tie from the interpreter until it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "models", "streams", "review_ui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield name
            # `from pipeline.evidence import package` imports a module, not a name
            yield from (f"{name}.{alias.name}" for alias in node.names)


@cache
def project_imports() -> dict[str, frozenset[str]]:
    """Each project module and the project modules it imports."""
    sources = {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, frozenset[str]] = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(), str(path))
        names = _imported(tree, module, path.name == "__init__.py")
        graph[module] = frozenset(n for n in names if n in sources and n != module)
    return graph


def _violations(owner: str, allowed: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in project_imports().items()
        if module == owner or module.startswith(owner + ".")
        for target in targets
        if not any(target == a or target.startswith(a + ".") for a in allowed)
    )


def test_the_scan_sees_the_project() -> None:
    graph = project_imports()
    assert "pipeline.runtime.worker" in graph and "review_ui.app" in graph
    assert "pipeline.config" in graph["pipeline.runtime.worker"]


@pytest.mark.parametrize(
    ("owner", "allowed"),
    [
        ("streams", ("streams",)),
        ("models", ("models",)),
        ("review_ui", ("review_ui", "pipeline.config", "pipeline.store")),
        ("pipeline.store", ("pipeline.store", "pipeline.config")),
        ("pipeline.config", ("pipeline.config", "pipeline.geometry", "models")),
        ("pipeline.geometry", ()),
    ],
)
def test_a_room_imports_only_what_it_may(owner: str, allowed: tuple[str, ...]) -> None:
    assert _violations(owner, allowed) == []


def test_only_the_cli_imports_the_review_ui() -> None:
    importers = sorted(
        module
        for module, targets in project_imports().items()
        if not module.startswith(("review_ui", "pipeline.cli"))
        and any(t.startswith("review_ui") for t in targets)
    )
    assert importers == []


def _cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    # A package's __init__ re-exporting its modules is not a cycle of concerns.
    graph = {
        module: frozenset(t for t in targets if not module.startswith(t + "."))
        for module, targets in project_imports().items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"})}) == [
        ["a", "b", "c"]
    ]
