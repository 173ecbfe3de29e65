"""The generic engine (editor/collab/) imports nothing of the PPA model nor of the layers above."""

from __future__ import annotations

import ast
from pathlib import Path

import editor.collab

FORBIDDEN = (
    "editor.crdt",
    "editor.schema",
    "editor.layout_guard",
    "editor.terminology",
    "server",
    "versions",
    "exports",
)


def _imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_engine_imports_no_ppa_model() -> None:
    package = Path(editor.collab.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) > 5
    wrong = [
        f"{path.name}: {name}" for path in modules for name in _imported(path) if _forbidden(name)
    ]
    assert wrong == []
