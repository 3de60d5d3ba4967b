"""Which fields a query selects below the current one, to fetch them in the same go."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField


def selected_paths(info: Info[Any, Any], *, max_depth: int = 4) -> frozenset[str]:
    """Dotted paths of the fields selected under this one, fragments flattened, e.g.
    {"edges", "edges.node", "edges.node.authors", "totalCount"}."""
    paths: set[str] = set()

    def walk(selections: list[Any], prefix: str, depth: int) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                path = prefix + selection.name
                paths.add(path)
                if depth < max_depth:
                    walk(selection.selections, path + ".", depth + 1)
            elif isinstance(selection, (FragmentSpread, InlineFragment)):
                walk(selection.selections, prefix, depth)

    for field in info.selected_fields:
        walk(field.selections, "", 0)
    return frozenset(paths)
