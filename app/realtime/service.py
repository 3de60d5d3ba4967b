"""The event streams behind the subscriptions: which topics a subscriber watches, and what
of each notified object that subscriber may see (read when the notice arrives: the
notification carries ids only, each event the object's current state).

A stream waits on its `Inbox` without holding a database connection; each event is read
on a short session of its own, within the client-side deadline. An event that can't be
read (the database is unreachable) is skipped: delivery is at most once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import Stock
from app.books.schemas import BookRow
from app.cart import service as cart_service
from app.cart.schemas import CartOwner, CartView
from app.core.config import Settings
from app.core.errors import AppError, PermissionDenied
from app.db.session import Database, DeadlinePassed, client_timeout, is_database_unavailable, within
from app.orders import service as orders_service
from app.orders.schemas import OrderRow
from app.prebooks import service as prebooks_service
from app.prebooks.models import PrebookStatus
from app.prebooks.schemas import PrebookRow
from app.realtime.hub import EventHub, Inbox, Topic
from app.realtime.schemas import MAX_BOOK_IDS, BookIdsTooMany
from app.users.schemas import Viewer

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BookAvailability:
    """A book as a subscriber may see it after a change, with the copies for sale (admins)."""

    book: BookRow
    quantity_available: int | None
    # Shared by every anonymous subscriber of the notice (None: rendered for this one).
    renderings: dict[Hashable, asyncio.Future[str | None]] | None = None


class Listening:
    """The topics one subscription watches, and the inbox their notices go to. Watching
    starts when a topic is added, so a subscription listens as soon as its resolver
    returns; `close()` (when the subscription's context closes) stops it."""

    __slots__ = ("events", "inbox", "topics")

    def __init__(self, events: EventHub) -> None:
        self.events = events
        self.inbox = Inbox()
        self.topics: set[Topic] = set()

    def add(self, topic: Topic) -> None:
        if topic not in self.topics:
            self.topics.add(topic)
            self.events.watch(topic, self.inbox.put)

    def close(self) -> None:
        for topic in self.topics:
            self.events.unwatch(topic, self.inbox.put)
        self.topics.clear()


class Reader:
    """Reads of one subscriber, each on a session of its own within the deadline."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.deadline = client_timeout(settings)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
        """`work(session)`'s result; None when the database can't answer now."""

        async def run() -> T:
            async with self.database.sessionmaker() as session:
                return await work(session)

        try:
            return await within(self.deadline, run())
        except DeadlinePassed:
            logger.warning("skipped a subscription event: the database did not answer in time")
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            logger.warning("skipped a subscription event: the database is unreachable")
        return None

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
        """As `read`, in a unit of work (a user's cart opens on first read)."""

        async def unit(session: AsyncSession) -> T:
            async with session.begin():
                return await work(session)

        return await self.read(unit)


# -- bookAvailabilityChanged ------------------------------------------------------------------


async def book_availability(
    listening: Listening,
    reader: Reader,
    stock: Stock,
    *,
    book_ids: Sequence[int],
    viewer: Viewer | None,
) -> AsyncIterator[BookAvailability]:
    """Each change of the stock of one of `book_ids`. Everyone sees availability; admins
    also the copies for sale, and every stock change (others: only when the availability
    differs from what it was when they subscribed or last heard). Archived books are for
    admins only."""
    if len(book_ids) > MAX_BOOK_IDS:
        raise BookIdsTooMany()
    admin = viewer is not None and viewer.is_admin
    for book_id in book_ids:
        listening.add(("book", book_id))
    last: dict[int, str | None] = {}
    if not admin:  # what the subscriber would see now, to tell changes from it
        rows = await reader.read(
            partial(books_service.get_books, ids=book_ids, stock=stock, include_archived=True)
        )
        last = {book_id: _seen((rows or {}).get(book_id), admin) for book_id in book_ids}
    return _book_availability(listening.inbox, reader, stock, admin, last)


def _seen(row: BookRow | None, admin: bool) -> str | None:
    """The availability a subscriber sees (None: the book is not visible to it)."""
    return None if row is None or (row.is_archived and not admin) else row.availability


async def _book_availability(
    inbox: Inbox, reader: Reader, stock: Stock, admin: bool, last: dict[int, str | None]
) -> AsyncIterator[BookAvailability]:
    while True:
        notice = await inbox.get()
        book_id: int = notice.ids[0]
        # One read per notice for every subscriber of the worker: what it reads is the
        # same for all (archived books included; filtered below).
        reading = notice.shared("book", partial(_book, reader, stock, book_id))
        # Shielded: a subscriber that goes away must not cancel the others' read.
        row = reading.result() if reading.done() else await asyncio.shield(reading)
        seen = _seen(row, admin)
        if not admin:
            if book_id in last and last[book_id] == seen:
                continue  # a sale that left it as available as before
            last[book_id] = seen
        if row is None or seen is None:
            continue
        if admin:
            yield BookAvailability(book=row, quantity_available=books_service.sellable(row))
        else:
            yield BookAvailability(book=row, quantity_available=None, renderings=notice.renderings)


async def _book(reader: Reader, stock: Stock, book_id: int) -> BookRow | None:
    rows = await reader.read(
        partial(books_service.get_books, ids=[book_id], stock=stock, include_archived=True)
    )
    return rows.get(book_id) if rows else None


# -- orderUpdated ---------------------------------------------------------------------------


def order_updates(
    listening: Listening, reader: Reader, *, viewer: Viewer, every_order: bool
) -> AsyncIterator[OrderRow]:
    """Each change of the viewer's orders (admins: of every order with `every_order`)."""
    if every_order and not viewer.is_admin:
        raise PermissionDenied("Only admins may follow every order")
    listening.add(("orders", None) if every_order else ("orders_of", viewer.id))
    return _order_updates(listening.inbox, reader, viewer)


async def _order_updates(inbox: Inbox, reader: Reader, viewer: Viewer) -> AsyncIterator[OrderRow]:
    while True:
        notice = await inbox.get()
        order_id: int = notice.ids[0]
        rows = await reader.read(
            partial(orders_service.get_orders, order_ids=[order_id], viewer=viewer)
        )
        if rows and order_id in rows:  # visible to this viewer: checked on the row
            yield rows[order_id]


# -- prebookUpdated -------------------------------------------------------------------------


async def prebook_updates(
    listening: Listening, reader: Reader, *, viewer: Viewer
) -> AsyncIterator[PrebookRow]:
    """Each change of the viewer's prebooks, and of their places in their queues: when a
    prebook of someone else's changes on a book the viewer waits for, the viewer's waiting
    prebook there is sent again (with its place now)."""
    listening.add(("prebooks_of", viewer.id))
    waiting = await reader.read(partial(prebooks_service.waiting_books_of, user_id=viewer.id))
    for book_id in waiting or ():
        listening.add(("prebook_queue", book_id))
    return _prebook_updates(listening, reader, viewer)


async def _prebook_updates(
    listening: Listening, reader: Reader, viewer: Viewer
) -> AsyncIterator[PrebookRow]:
    while True:
        notice = await listening.inbox.get()
        prebook_id, user_id, book_id = notice.ids
        if user_id == viewer.id:
            rows = await reader.read(
                partial(prebooks_service.get_prebooks, ids=[prebook_id], viewer=viewer)
            )
            row = rows.get(prebook_id) if rows else None
            if row is None or row.user_id != viewer.id:
                continue
            if row.status is PrebookStatus.PENDING:
                listening.add(("prebook_queue", book_id))
            yield row
            continue
        # Someone else's prebook on a book the viewer waits for: the place may move.
        mine = await reader.read(
            partial(prebooks_service.waiting_of, viewer=viewer, book_id=book_id)
        )
        if mine is not None:
            yield mine


# -- cartUpdated ----------------------------------------------------------------------------


def cart_updates(
    listening: Listening, reader: Reader, settings: Settings, stock: Stock, *, owner: CartOwner
) -> AsyncIterator[CartView]:
    """Each change of the owner's cart (by another device, a checkout, a merge)."""
    if owner.user_id is not None:
        listening.add(("cart_of", owner.user_id))
    else:
        listening.add(("cart", owner.guest_cart_id))
    return _cart_updates(listening.inbox, reader, settings, stock, owner)


async def _cart_updates(
    inbox: Inbox, reader: Reader, settings: Settings, stock: Stock, owner: CartOwner
) -> AsyncIterator[CartView]:
    while True:
        await inbox.get()
        try:
            view = await reader.write(
                partial(cart_service.get_cart, settings=settings, owner=owner, stock=stock)
            )
        except AppError:
            return  # a guest cart merged or purged: nothing more will happen to it
        if view is not None:
            yield view
