"""One store: outside pipeline/store/, no module under pipeline/ or scanner/ imports sqlite3, runs SQL (.execute,
.executescript, .executemany) or touches a workspace's connection (`.db`). Read from the source's syntax tree,
so a docstring that mentions them is no violation and an aliased import is one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "pipeline" / "store"
SQL_CALLS = frozenset({"execute", "executescript", "executemany"})
# Not yet switched to the store's functions, by their owners (each entry says what replaces it). Empty this list;
# never grow it.
PENDING: dict[str, str] = {}


def _modules() -> list[Path]:
    found = [*sorted((ROOT / "pipeline").rglob("*.py")), *sorted((ROOT / "scanner").rglob("*.py"))]
    return [path for path in found if STORE not in path.parents]


def violations(source: str) -> list[str]:
    """What in this source reaches past the store: each as 'line N: what', in line order."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"imports {a.name}") for a in node.names if a.name.split(".")[0] == "sqlite3"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            found.append((node.lineno, f"imports from {node.module}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            found.append((node.lineno, f"calls .{node.func.attr}"))
        elif isinstance(node, ast.Attribute) and node.attr == "db":
            found.append((node.lineno, "touches .db"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_outside_the_store_reaches_the_database(path):
    where = str(path.relative_to(ROOT))
    found = violations(path.read_text(encoding="utf-8"))
    if where in PENDING:
        pytest.skip(f"pending: {PENDING[where]}")
    assert not found, f"{where} reaches past pipeline/store: {'; '.join(found)}. Add a function to pipeline/store/."


def test_the_check_sees_each_way_past_the_store():
    source = """
import sqlite3 as lite
from sqlite3 import Row
def f(workspace, cursor):
    workspace.db.close()
    cursor.execute("SELECT 1")
    cursor.executemany("INSERT", [])
    cursor.executescript("BEGIN")
"""
    assert sorted(v.split(": ")[1] for v in violations(source)) == [
        "calls .execute", "calls .executemany", "calls .executescript", "imports from sqlite3", "imports sqlite3",
        "touches .db"]
    assert violations('"""sqlite3 connections belong to the thread that made them: workspace.db.execute"""') == []
