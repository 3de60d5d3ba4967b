"""Relay connections over keyset pages, with `totalCount` computed only when selected."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Self, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.paging import PageArgs
from app.db.pagination import KeysetList, Page
from app.graphql.context import Context

NodeType = TypeVar("NodeType")
R = TypeVar("R")
# The Relay arguments, in the order of PageArgs' fields.
RELAY_ARGUMENTS = {
    "first": int | None,
    "after": str | None,
    "last": int | None,
    "before": str | None,
}


@strawberry.type(description="Where a page sits in its list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="When paginating forwards, are there more items?"
    )
    has_previous_page: bool = strawberry.field(
        description="When paginating backwards, are there more items?"
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of the page (for `before`)."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of the page (for `after`)."
    )


@strawberry.type(description="An item of a page, with its cursor.")
class Edge(Generic[NodeType]):
    cursor: str = strawberry.field(description="Position of this item, for `after`/`before`.")
    node: NodeType = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, with cursors to fetch the pages around it.")
class Connection(Generic[NodeType]):
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    edges: list[Edge[NodeType]] = strawberry.field(description="The items of this page.")
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
        return cls(
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            edges=[
                Edge(cursor=cursor, node=node)
                for cursor, node in zip(page.cursors, nodes, strict=True)
            ],
            count_loader=count,
        )


async def keyset_connection(
    context: Context,
    *,
    fetch: Callable[[AsyncSession], Awaitable[Page[R]]],
    count: Callable[[AsyncSession], Awaitable[int]],
    node: Callable[[R], NodeType],
) -> Connection[NodeType]:
    """The Relay connection of every list field: `fetch` reads one keyset page, `node`
    turns its items into GraphQL objects, and `count` counts the whole list, only when
    `totalCount` is selected. Each runs on the request's session, taking its turn."""
    async with context.session() as session:
        page = await fetch(session)

    async def total() -> int:
        async with context.session() as session:
            return await count(session)

    return Connection.from_page(page, [node(item) for item in page.items], total)


async def listing_connection(
    context: Context,
    args: PageArgs,
    *,
    listing: Callable[[AsyncSession], KeysetList[R]],
    node: Callable[[R], NodeType],
) -> Connection[NodeType]:
    """`keyset_connection` of a repository's `KeysetList`: the page `args` ask for, and its
    count."""

    async def fetch(session: AsyncSession) -> Page[R]:
        rows = listing(session)
        return await rows.page(args.request(rows.ordering))

    return await keyset_connection(
        context, fetch=fetch, count=lambda session: listing(session).count(), node=node
    )


def paginated(resolver: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """The Relay arguments of a list field, declared once: the resolver takes `page:
    PageArgs`, and the schema shows `first`/`after`/`last`/`before` in its place."""
    signature = inspect.signature(resolver)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name != "page":
            parameters.append(parameter)
            continue
        for name, annotation in RELAY_ARGUMENTS.items():
            parameters.append(parameter.replace(name=name, default=None, annotation=annotation))

    @functools.wraps(resolver)
    async def with_page(*args: Any, **kwargs: Any) -> R:
        values = [kwargs.pop(name, None) for name in RELAY_ARGUMENTS]
        return await resolver(*args, page=PageArgs(*values), **kwargs)

    del with_page.__wrapped__  # Strawberry reads the signature below, not the resolver's
    with_page.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_page.__annotations__ = {
        parameter.name: parameter.annotation for parameter in parameters
    } | {"return": signature.return_annotation}
    return with_page
