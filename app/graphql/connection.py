"""Relay connections over keyset pages: argument checks, cursors, `totalCount` on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Self, TypeVar

import strawberry
from strawberry import relay

from app.db.pagination import Page

NodeType = TypeVar("NodeType", bound=relay.Node)


@strawberry.type(description="A page of a list, with cursors to fetch the pages around it.")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    count_loader: strawberry.Private[Callable[[], Awaitable[int]] | None]

    @strawberry.field(
        description="Number of items in the whole list, across pages (costs an extra query; "
        "computed only when selected)."
    )
    async def total_count(self) -> int:
        if self.count_loader is None:
            return len(self.edges)
        return await self.count_loader()

    @classmethod
    def from_page(
        cls,
        page: Page[Any],
        nodes: Sequence[NodeType],
        count: Callable[[], Awaitable[int]] | None,
    ) -> Self:
        edges = [
            relay.Edge(cursor=cursor, node=node)
            for cursor, node in zip(page.cursors, nodes, strict=True)
        ]
        return cls(
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            edges=edges,
            count_loader=count,
        )
