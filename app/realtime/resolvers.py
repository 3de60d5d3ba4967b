"""The subscriptions (served over WebSocket only, `app.graphql.websocket`).

Each is a coroutine that checks who asks and the arguments, then returns the stream: a
refusal is the subscription's `error` message, before any event. Between two events the
context gives its connection back and forgets what it read (`Context.end_event`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from app.cart import service as cart_service
from app.cart.types import Cart
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.orders.types import Order
from app.prebooks.types import Prebook
from app.realtime import service as realtime_service
from app.realtime.hub import EventHub
from app.realtime.types import BookAvailabilityEvent

S = TypeVar("S")
T = TypeVar("T")


def _events(context: Context) -> EventHub:
    if context.events is None:
        raise RuntimeError("subscriptions need the worker's event hub")
    return context.events


def _reader(context: Context) -> realtime_service.Reader:
    return realtime_service.Reader(context.database, context.settings)


def _listening(context: Context) -> realtime_service.Listening:
    """The subscription's watching, which stops when its context closes."""
    listening = realtime_service.Listening(_events(context))
    context.on_close(listening.close)
    return listening


def _stream(
    context: Context, source: AsyncIterator[S], build: Callable[[S], T]
) -> AsyncIterator[T]:
    context.subscribed()
    return _each(context, source, build)


async def _each(
    context: Context, source: AsyncIterator[S], build: Callable[[S], T]
) -> AsyncIterator[T]:
    """`source`'s items as GraphQL objects; the context starts afresh after each event
    (and gives back what setting up the subscription used before the first)."""
    try:
        await context.end_event()
        async for item in source:
            yield build(item)
            await context.end_event()
    finally:
        await source.aclose()  # type: ignore[attr-defined]  # an async generator


@strawberry.type
class RealtimeSubscription:
    @strawberry.subscription(
        description="Changes of the availability of these books (at most 100 ids), for "
        "anyone; admins get every stock change, with `quantityAvailable`."
    )
    async def book_availability_changed(
        self, info: Info[Context, None], book_ids: list[strawberry.ID]
    ) -> AsyncIterator[BookAvailabilityEvent]:
        context = info.context
        ids = [decode_id(book_id, "Book", field="bookIds") for book_id in book_ids]
        source = await realtime_service.book_availability(
            _listening(context),
            _reader(context),
            context.stock,
            book_ids=ids,
            viewer=await context.optional_viewer(),
        )
        return _stream(context, source, BookAvailabilityEvent.from_event)

    @strawberry.subscription(
        description="Your orders as they change (placed, paid, shipped, cancelled). Admins "
        "get every order with `all: true`."
    )
    async def order_updated(
        self,
        info: Info[Context, None],
        all: Annotated[
            bool, strawberry.argument(description="Every order, not only yours (admins).")
        ] = False,
    ) -> AsyncIterator[Order]:
        context = info.context
        viewer = await context.require_viewer()
        source = realtime_service.order_updates(
            _listening(context), _reader(context), viewer=viewer, every_order=all
        )
        return _stream(context, source, Order.from_row)

    @strawberry.subscription(
        description="Your prebooks as they change: queue place, fulfilment, cancellation."
    )
    async def prebook_updated(self, info: Info[Context, None]) -> AsyncIterator[Prebook]:
        context = info.context
        viewer = await context.require_viewer()
        source = await realtime_service.prebook_updates(
            _listening(context), _reader(context), viewer=viewer
        )
        return _stream(context, source, Prebook.from_row)

    @strawberry.subscription(
        description="Your cart as it changes elsewhere (another device, a checkout): the "
        "signed-in user's, else the guest cart of `cartToken` in `connection_init`."
    )
    async def cart_updated(self, info: Info[Context, None]) -> AsyncIterator[Cart]:
        context = info.context
        owner = await context.cart_owner()
        if owner is None:
            raise cart_service.token_invalid()
        source = realtime_service.cart_updates(
            _listening(context), _reader(context), context.settings, context.stock, owner=owner
        )
        return _stream(context, source, Cart.from_view)
