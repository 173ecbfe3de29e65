"""No import cycle between the server's subpackages, read from the source (ast, every import).

Each direct child of ``server`` (package or module) is one node; an edge ``a -> b`` is any
import, at module level or inside a function, from a module of ``a`` of a module of ``b``. The
cycle check runs on the subpackages, following the edges through the shared top-level modules
(``server/deps.py``, ``server/authz.py``, ...: ``a -> authz -> b`` counts as ``a -> b``); a second
check runs on the direct edges, so a subpackage and a top-level module importing each other
(``auth -> deps -> auth``, invisible once ``deps`` is walked through) fail too. The composition
roots (:data:`ROOTS`) may import anything and nothing may import them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"
ROOTS = frozenset({"app", "cli", "demo"})
"""Wiring the domains together: they import everything, nothing imports them."""

Graph = dict[str, dict[str, list[str]]]
"""``graph[a][b]``: where (file:line) ``a`` imports ``b``."""


def _node(module: str) -> str | None:
    """The server subpackage (or top-level module) holding the dotted ``module``."""
    parts = module.split(".")
    if parts[0] != "server" or len(parts) < 2:
        return None
    return parts[1]


def _imported(tree: ast.AST, package: str) -> Iterator[tuple[str, int]]:
    """Dotted names imported anywhere in ``tree`` (``package``: the importing module's)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno  # `from server import authz`


def build_graph(root: Path = SERVER) -> Graph:
    graph: Graph = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        parts = list(relative.with_suffix("").parts)
        source = parts[1] if len(parts) > 1 else None
        if source is None or source == "__init__":
            continue
        package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph.setdefault(source, {})
        for name, line in _imported(tree, package):
            target = _node(name)
            if target is None or target == source or target == "__init__":
                continue
            lines = graph[source].setdefault(target, [])
            if f"{relative}:{line}" not in lines:
                lines.append(f"{relative}:{line}")
    return graph


def subpackage_graph(graph: Graph, root: Path = SERVER) -> Graph:
    """The edges between subpackages, through top-level modules; composition roots left out."""
    packages = {name for name in graph if (root / name).is_dir() and name not in ROOTS}
    result: Graph = {}
    for package in sorted(packages):
        edges: dict[str, list[str]] = {}
        todo = [(target, where) for target, where in graph[package].items()]
        seen: set[str] = set()
        while todo:
            target, where = todo.pop()
            if target in seen or target in ROOTS:
                continue
            seen.add(target)
            if target in packages:
                if target != package:
                    edges.setdefault(target, where)
                continue
            for further, _lines in graph.get(target, {}).items():  # a module: go through it
                todo.append((further, [*where, f"via {target}"]))
        result[package] = edges
    return result


def direct_graph(graph: Graph) -> Graph:
    """The direct edges between subpackages and top-level modules; composition roots left out."""
    return {
        source: {target: where for target, where in targets.items() if target not in ROOTS}
        for source, targets in graph.items()
        if source not in ROOTS
    }


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _describe(graph: Graph, component: list[str]) -> str:
    edges = [
        f"  {a} -> {b} ({', '.join(graph[a][b])})"
        for a in component
        for b in sorted(graph.get(a, {}))
        if b in component
    ]
    return " <-> ".join(component) + "\n" + "\n".join(edges)


def test_no_cycle_between_server_subpackages() -> None:
    graph = subpackage_graph(build_graph())
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_describe(graph, c) for c in found)


def test_no_cycle_between_a_subpackage_and_a_top_level_module() -> None:
    graph = direct_graph(build_graph())
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_describe(graph, c) for c in found)


def test_nothing_imports_the_composition_roots() -> None:
    graph = build_graph()
    wrong = [
        f"{source} -> {target} ({where[0]})"
        for source, targets in sorted(graph.items())
        if source not in ROOTS
        for target, where in sorted(targets.items())
        if target in ROOTS
    ]
    assert not wrong, "composition roots imported by a domain:\n" + "\n".join(wrong)


def test_the_graph_sees_function_level_imports() -> None:
    # The check itself can fail: a function-level import closing a cycle is found.
    tree = {"a": {"b": ["a.py:1"]}, "b": {"a": ["b.py:9"]}}
    assert cycles(tree) == [["a", "b"]]
    # A subpackage and a top-level module importing each other: the walk through the module
    # hides it (``pkg -> mod -> pkg`` is ``pkg -> pkg``), the direct graph does not.
    tree = {"pkg": {"mod": ["pkg/a.py:3"]}, "mod": {"pkg": ["mod.py:5"]}}
    assert cycles(direct_graph(tree)) == [["mod", "pkg"]]
    graph = build_graph()
    assert "demo" in graph["cli"], "cli imports the demo inside a command"
    assert "collab" in graph.get("people", {}), "people imports collab.fanout in a function"
