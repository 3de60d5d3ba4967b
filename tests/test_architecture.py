"""The shape of `app/` itself: no import cycle among its modules.

A cycle among module-level imports makes the import order matter (one module sees the other
half-initialised) and couples layers that should stand on each other, not on each other's
back. Imports under `if TYPE_CHECKING:` and inside functions are left out: the first never
run, and the second hide a cycle rather than remove it, so keep them rare.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(statements: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements a module runs when it is imported."""
    found: list[ast.Import | ast.ImportFrom] = []
    for statement in statements:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
        elif isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                found += _module_level(statement.body)
            found += _module_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                found += _module_level(block)
            for handler in statement.handlers:
                found += _module_level(handler.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module name -> the `app` modules it imports at module level."""
    paths = {_module_name(path): path for path in APP.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _module_level(ast.parse(path.read_text(), str(path)).body):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from app.books import service` imports the module app.books.service.
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in paths else base)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected group of
    modules, found with Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [_cycle_through(graph, group) for group in groups]


def _cycle_through(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for target in sorted(graph[module] & group):
                if target == start:
                    return [*paths[module], start]
                if target not in paths:
                    paths[target] = [*paths[module], target]
                    following.append(target)
        frontier = following
    raise AssertionError("a strongly connected group always has a cycle")


def test_the_graph_sees_the_imports() -> None:
    graph = import_graph()
    assert "app.graphql.schema" in graph
    assert "app.core.errors" in graph["app.graphql.errors"]


def test_no_import_cycle_among_app_modules() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles in app/:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_orders_and_prebooks_move_stock_through_inventory_not_each_other() -> None:
    """Below the GraphQL layer (a prebook's `order` field may show an Order), neither
    domain imports the other: both stand on app.inventory."""
    graph = import_graph()
    layers = ("models", "schemas", "repository", "service")
    crossing = [
        f"{module} -> {target}"
        for one, other in (("orders", "prebooks"), ("prebooks", "orders"))
        for module in (f"app.{one}.{layer}" for layer in layers)
        for target in sorted(graph.get(module, ()))
        if target.startswith(f"app.{other}.")
    ]
    assert "app.inventory.service" in graph["app.orders.service"]
    assert "app.inventory.service" in graph["app.prebooks.service"]
    assert not crossing, crossing
