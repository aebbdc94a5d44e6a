"""Imports flow one way: no module of the product's packages imports (directly or through others) itself.

Read from the source with `ast`, function-level imports included: a circle hidden inside a function
still ties the modules together (and breaks as soon as someone moves the import up).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from warehouse.layout import REPO_ROOT

# transforms/ still has two circles of its own (issue 25 item 3: deid options <-> profile, synth
# generator <-> large), to be added here once they are broken.
PACKAGES = ("orchestration", "warehouse")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The package's own modules that `path` imports anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    files = {module_name(p): p for package in packages for p in (REPO_ROOT / package).rglob("*.py")}
    known = set(files)
    # A package's __init__ is imported on the way to any of its modules: not an edge of its own.
    return {name: {m for m in imported_modules(path, known) if m != name and not name.startswith(m + ".")}
            for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
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


def test_the_circle_finder_sees_a_circle_through_a_function_level_import(tmp_path):
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle(package):
    graph = import_graph(PACKAGES)
    mine = [c for c in circles(graph) if any(m.split(".")[0] == package for m in c)]
    assert mine == [], f"import circles: {mine}"
