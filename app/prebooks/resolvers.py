"""Prebook queries and mutations; restocking (admins)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.books.resolvers import book_by_id
from app.core.paging import PageArgs
from app.graphql.connection import Connection, listing_connection, paginated
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import parse_input
from app.graphql.permissions import IsAdmin, IsAuthenticated
from app.prebooks import schemas
from app.prebooks import service as prebooks_service
from app.prebooks.models import Prebook as PrebookModel
from app.prebooks.models import PrebookStatus
from app.prebooks.schemas import PrebookInput
from app.prebooks.types import Prebook, RestockResult


async def _result(
    info: Info[Context, None], book_id: int, served: list[PrebookModel]
) -> RestockResult:
    book = await book_by_id(info.context, book_id, include_archived=True)
    return RestockResult(book=book, fulfilled_prebooks=[Prebook.from_row(p) for p in served])


@strawberry.type
class PrebooksQuery:
    @strawberry.field(
        description="Your prebooks, newest first.", permission_classes=[IsAuthenticated]
    )
    @paginated
    async def my_prebooks(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        status: PrebookStatus | None = None,
    ) -> Connection[Prebook] | None:
        return await listing_connection(
            info.context,
            page,
            listing=lambda session: prebooks_service.prebooks(
                session, user_id=info.context.viewer.id, book_id=None, status=status
            ),
            node=Prebook.from_row,
        )

    @strawberry.field(
        description="Everyone's prebooks, newest first (admins).", permission_classes=[IsAdmin]
    )
    @paginated
    async def prebooks(
        self,
        info: Info[Context, None],
        book_id: strawberry.ID | None = None,
        status: PrebookStatus | None = None,
        page: PageArgs = PageArgs(),
    ) -> Connection[Prebook] | None:
        book = decode_id(book_id, "Book", field="bookId") if book_id is not None else None
        return await listing_connection(
            info.context,
            page,
            listing=lambda session: prebooks_service.prebooks(
                session, user_id=None, book_id=book, status=status
            ),
            node=Prebook.from_row,
        )


@strawberry.type
class PrebooksMutation:
    @strawberry.mutation(
        description="Pre-order a book that is not released or not in stock. One waiting "
        "prebook per book (PREBOOK_ALREADY_EXISTS).",
        permission_classes=[IsAuthenticated],
    )
    async def prebook(self, info: Info[Context, None], input: PrebookInput) -> Prebook | None:
        context = info.context
        data = parse_input(schemas.PrebookData, input)
        async with context.transaction() as session:
            prebook = await prebooks_service.create(
                session, context.settings, viewer=context.viewer, data=data, stock=context.stock
            )
            return Prebook.from_row(prebook)

    @strawberry.mutation(
        description="Cancel your waiting prebook (PREBOOK_NOT_CANCELLABLE once served). "
        "Copies it held go to the prebooks behind it that now fit.",
        permission_classes=[IsAuthenticated],
    )
    async def cancel_prebook(self, info: Info[Context, None], id: strawberry.ID) -> Prebook | None:
        context = info.context
        viewer = context.viewer
        prebook_id = decode_id(id, "Prebook", field="id")
        async with context.transaction() as session:
            await prebooks_service.cancel(
                session, context.settings, prebook_id=prebook_id, viewer=viewer, stock=context.stock
            )
        async with context.session() as session:
            rows = await prebooks_service.get_prebooks(session, [prebook_id], viewer)
        return Prebook.from_row(rows[prebook_id])

    @strawberry.mutation(
        description="Add copies of a book (admins). Waiting prebooks are served first, in "
        "order, before any copy can be bought; the copies become buyable once no prebook "
        "waits (those that don't fit yet keep them held).",
        permission_classes=[IsAdmin],
    )
    async def restock_book(
        self, info: Info[Context, None], book_id: strawberry.ID, quantity: int
    ) -> RestockResult | None:
        context = info.context
        book = decode_id(book_id, "Book", field="bookId")
        async with context.transaction() as session:
            served = await prebooks_service.restock(
                session, context.settings, book_id=book, quantity=quantity, stock=context.stock
            )
        return await _result(info, book, served)

    @strawberry.mutation(
        description="Serve the prebooks of a book whose release date has come, from its "
        "stock (admins; `poetry run fulfil-prebooks` does it for every book).",
        permission_classes=[IsAdmin],
    )
    async def fulfil_prebooks(
        self, info: Info[Context, None], book_id: strawberry.ID
    ) -> RestockResult | None:
        context = info.context
        book = decode_id(book_id, "Book", field="bookId")
        async with context.transaction() as session:
            served = await prebooks_service.fulfil(
                session, context.settings, book_id=book, stock=context.stock
            )
        return await _result(info, book, served)
