"""`node(id:)` and `nodes(ids:)`: any object by its global ID (the Relay convention).

Each type's `resolve_nodes` applies its own visibility rules (a user sees only their own
account, archived books only admins), so an ID from someone else resolves to null.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import strawberry
from strawberry import relay
from strawberry.types import Info

from app.core.errors import ValidationFailed
from app.graphql.context import Context

MAX_NODES = 100


def node_query(node_types: Sequence[type[relay.Node]]) -> type:
    """The root fields, resolving the given types."""
    by_name = {t.__strawberry_definition__.name: t for t in node_types}  # type: ignore[attr-defined]

    def parse(value: str, field: str) -> tuple[type[relay.Node], str]:
        try:
            global_id = relay.GlobalID.from_id(value)
        except ValueError:
            raise ValidationFailed(f"`{field}` is not a valid ID", field=field) from None
        node_type = by_name.get(global_id.type_name)
        if node_type is None or not global_id.node_id.isdigit() or len(global_id.node_id) > 18:
            raise ValidationFailed(f"`{field}` is not a valid ID", field=field)
        return node_type, global_id.node_id

    async def resolve(
        info: Info[Context, None], wanted: list[tuple[type[relay.Node], str]]
    ) -> list[relay.Node | None]:
        by_type: dict[type[relay.Node], list[str]] = defaultdict(list)
        for node_type, node_id in wanted:
            by_type[node_type].append(node_id)
        found: dict[tuple[type[relay.Node], str], relay.Node | None] = {}
        for node_type, node_ids in by_type.items():
            unique = list(dict.fromkeys(node_ids))
            nodes = await node_type.resolve_nodes(info=info, node_ids=unique)  # type: ignore[misc]
            found.update({(node_type, i): n for i, n in zip(unique, nodes, strict=True)})
        return [found[item] for item in wanted]

    @strawberry.type
    class NodeQuery:
        @strawberry.field(
            description="Any object by its ID; null when it doesn't exist or isn't yours."
        )
        async def node(self, info: Info[Context, None], id: strawberry.ID) -> relay.Node | None:
            return (await resolve(info, [parse(id, "id")]))[0]

        @strawberry.field(
            description=f"Objects by their IDs, in the same order (at most {MAX_NODES})."
        )
        async def nodes(
            self, info: Info[Context, None], ids: list[strawberry.ID]
        ) -> list[relay.Node | None]:
            if len(ids) > MAX_NODES:
                raise ValidationFailed(f"`ids` takes at most {MAX_NODES} IDs", field="ids")
            return await resolve(info, [parse(value, f"ids.{i}") for i, value in enumerate(ids)])

    return NodeQuery
