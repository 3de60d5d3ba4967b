"""Which top-level packages may import which: the application never depends on the
benchmark or the tests, and the benchmark never on the tests."""

from __future__ import annotations

import ast

import pytest

from app.db.migrations import PROJECT_ROOT

FORBIDDEN = {"app": {"bench", "tests"}, "bench": {"tests"}}


def imported_packages(source: str) -> set[str]:
    tree = ast.parse(source)
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package: str) -> None:
    offending = {
        str(path.relative_to(PROJECT_ROOT)): sorted(found)
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if (found := imported_packages(path.read_text()) & FORBIDDEN[package])
    }
    assert offending == {}
