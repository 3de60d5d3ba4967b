"""`node(id:)` and `nodes(ids:)`: any object by its global ID (the Relay convention).

Each type's `resolve_nodes` applies its own visibility rules (a user sees only their own
account, archived books only admins), so an ID from someone else resolves to null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.core.errors import ValidationFailed
from app.graphql.context import Context
from app.graphql.ids import encode_id, parse_global_id
from app.users.schemas import Viewer

MAX_NODES = 100
R = TypeVar("R")
N = TypeVar("N")


@strawberry.interface(description="An object with a globally unique ID (Relay).")
class Node:
    """Types implementing it set `id` when they are built: a plain attribute, encoded once,
    instead of a resolver per object (Strawberry's Node resolves `id` field by field,
    which was a third of the CPU time of a catalog page). `pk` keeps the database id."""

    id: strawberry.ID = strawberry.field(description="The globally unique ID of this object.")


def global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(encode_id(type_name, pk))


async def viewers_rows(
    context: Context,
    ids: list[int],
    fetch: Callable[[AsyncSession, list[int], Viewer], Awaitable[Mapping[int, R]]],
) -> list[R | None]:
    """Rows only signed-in users see, in the order of `ids`: None for an anonymous caller
    and for whatever `fetch` leaves out (someone else's)."""
    viewer = await context.optional_viewer()
    if viewer is None:
        return [None] * len(ids)
    async with context.session() as session:
        found = await fetch(session, ids, viewer)
    return [found.get(i) for i in ids]


async def viewers_nodes(
    info: Info[Context, None],
    node_ids: Iterable[str],
    fetch: Callable[[AsyncSession, list[int], Viewer], Awaitable[Mapping[int, R]]],
    build: Callable[[R], N],
) -> list[N | None]:
    """`resolve_nodes` of a type only signed-in users see (`viewers_rows`)."""
    rows = await viewers_rows(info.context, [int(node_id) for node_id in node_ids], fetch)
    return [None if row is None else build(row) for row in rows]


class ResolvableNode(Protocol):
    """What `node`/`nodes` need of a node type: its objects by database id, in order,
    None for those that don't exist or that the viewer may not see."""

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> Sequence[Node | None]: ...


def node_query(node_types: Sequence[type[ResolvableNode]]) -> type:
    """The root fields, resolving the given types."""
    by_name = {t.__strawberry_definition__.name: t for t in node_types}  # type: ignore[attr-defined]

    def parse(value: str, field: str) -> tuple[type[ResolvableNode], str]:
        parsed = parse_global_id(value)
        node_type = None if parsed is None else by_name.get(parsed[0])
        if parsed is None or node_type is None:
            raise ValidationFailed(f"`{field}` is not a valid ID", field=field)
        return node_type, str(parsed[1])

    async def resolve(
        info: Info[Context, None], wanted: list[tuple[type[ResolvableNode], str]]
    ) -> list[Node | None]:
        by_type: dict[type[ResolvableNode], list[str]] = defaultdict(list)
        for node_type, node_id in wanted:
            by_type[node_type].append(node_id)
        found: dict[tuple[type[ResolvableNode], str], Node | None] = {}
        for node_type, node_ids in by_type.items():
            unique = list(dict.fromkeys(node_ids))
            nodes = await node_type.resolve_nodes(info=info, node_ids=unique)
            found.update({(node_type, i): n for i, n in zip(unique, nodes, strict=True)})
        return [found[item] for item in wanted]

    @strawberry.type
    class NodeQuery:
        @strawberry.field(
            description="Any object by its ID; null when it doesn't exist or isn't yours."
        )
        async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
            return (await resolve(info, [parse(id, "id")]))[0]

        @strawberry.field(
            description=f"Objects by their IDs, in the same order (at most {MAX_NODES})."
        )
        async def nodes(
            self, info: Info[Context, None], ids: list[strawberry.ID]
        ) -> list[Node | None]:
            if len(ids) > MAX_NODES:
                raise ValidationFailed(f"`ids` takes at most {MAX_NODES} IDs", field="ids")
            return await resolve(info, [parse(value, f"ids.{i}") for i, value in enumerate(ids)])

    return NodeQuery
