"""Stock movement, beneath orders and prebooks: lock, adjust, hold copies for a book's
queue, serve the queue, and record the orders that copies leave in.

Orders and prebooks both stand on this module and on neither of each other: a cancelled
order's copies go back through `put_back`, which serves the waiting prebooks; a prebook
served here becomes a CONFIRMED order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses.models import PostalAddress
from app.books import service as books_service
from app.books.repository import Stock
from app.books.schemas import MAX_STOCK
from app.core.config import Settings
from app.core.errors import ValidationFailed
from app.graphql.ids import encode_id
from app.inventory.repository import EMAIL_INPUTS, InventoryRepository
from app.inventory.schemas import Basket, OrderLine, StockRow
from app.mail import links
from app.mail import service as mail
from app.mail.schemas import Link, Personal, Template, page
from app.orders.models import Order, OrderStatus
from app.orders.repository import row_of
from app.orders.schemas import OrderRow
from app.prebooks.models import Prebook, PrebookStatus
from app.wishlist import service as wishlist_service


async def lock(session: AsyncSession, book_ids: Sequence[int]) -> dict[int, StockRow]:
    """Lock the books (ascending id order, deadlock-free) and return their sale data."""
    return await InventoryRepository(session).lock(book_ids) if book_ids else {}


async def adjust(session: AsyncSession, deltas: dict[int, int]) -> None:
    """Add (positive) or take (negative) copies; call with the books locked."""
    await InventoryRepository(session).adjust_stock(deltas)


async def hold(session: AsyncSession, book_id: int, copies: int) -> None:
    """Hold (positive) or release (negative) copies for the book's queue; call with the
    book locked. Held copies are not for sale."""
    await InventoryRepository(session).adjust_holds(book_id, copies)


def _new_order(
    *,
    user_id: int,
    lines: Sequence[OrderLine],
    address: PostalAddress,
    status: OrderStatus,
    currency: str,
) -> Order:
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    # No shipping fees, taxes or payments yet: the total is the subtotal.
    order = Order(user_id=user_id, status=status, subtotal=subtotal, total=subtotal)
    order.currency, order.shipping_address = currency, address
    if status is OrderStatus.CONFIRMED:
        order.confirmed_at = datetime.now(UTC)
    return order


async def place_order(
    session: AsyncSession,
    *,
    user_id: int,
    lines: Sequence[OrderLine],
    address: PostalAddress,
    status: OrderStatus,
    currency: str,
) -> Order:
    """Record an order (stock already taken by the caller): a served prebook's."""
    order = _new_order(
        user_id=user_id, lines=lines, address=address, status=status, currency=currency
    )
    return await InventoryRepository(session).add_order(order, [line.as_row() for line in lines])


async def basket(
    session: AsyncSession, *, cart_id: int, user_id: int, idempotency_key: str
) -> Basket:
    """What a checkout of the locked cart finds (see `Basket`); the books are locked in
    ascending id order, deadlock-free."""
    return await InventoryRepository(session).basket(cart_id, user_id, idempotency_key)


# The email a checkout queues in its own statement, as `mail.to_user` would queue it from
# `order_email` once the order is there (tests/orders/test_order_emails.py compares them).
_ORDER_PLACED_EMAIL = mail.order_placed_in(**EMAIL_INPUTS)


async def sell(
    session: AsyncSession,
    *,
    cart_id: int,
    user_id: int,
    lines: Sequence[OrderLine],
    address: PostalAddress,
    currency: str,
    idempotency_key: str,
) -> OrderRow:
    """A checkout's PENDING order: its copies taken (the books locked by `basket`, and
    checked sellable), its lines recorded, the cart emptied and the order's email
    (ORDER_PLACED) queued, in one statement."""
    order = _new_order(
        user_id=user_id, lines=lines, address=address, status=OrderStatus.PENDING, currency=currency
    )
    order.idempotency_key, order.request_fingerprint = idempotency_key, address.fingerprint()
    # The email's values but the order's number, which the statement adds with the link.
    values = orjson.dumps(_order_values(order.total, currency, address, lines)).decode()
    placed = await InventoryRepository(session).take_and_place(
        cart_id=cart_id, order=order, lines=lines, email=_ORDER_PLACED_EMAIL, values=values
    )
    if placed is None:  # the CHECK-like guard of the statement: never with the books locked
        raise RuntimeError("a checkout's copies were not in stock with its books locked")
    order.id, order.created_at, order.updated_at = placed.id, placed.created_at, placed.updated_at
    return row_of(order)


def _order_values(
    total: Decimal, currency: str, address: PostalAddress, lines: Sequence[OrderLine]
) -> dict[str, Any]:
    """What the emails about an order show, but its number."""
    return {
        "total": str(total),
        "currency": currency,
        "address": address.as_dict(),
        "lines": [
            {
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "line_total": str(line.line_total),
            }
            for line in lines
        ],
    }


def order_email(order: Order | OrderRow, lines: Sequence[OrderLine] = ()) -> dict[str, Any]:
    """What the emails about an order show (`context`) and link to (`links`). A checkout's
    statement builds the same in SQL (`InventoryRepository.take_and_place`)."""
    values = {
        "number": order.id,
        **_order_values(order.total, order.currency, order.shipping_address, lines),
    }
    order_link: Link = page(links.ORDER.format(id=encode_id("Order", order.id)))
    return {"context": {"order": values}, "links": {"order": order_link}}


def _purchasable(book: StockRow, stock: Stock) -> bool:
    return (
        not book.is_archived
        and book.release_date <= stock.today
        and books_service.sellable(book) > 0
    )


async def serve_queue(
    session: AsyncSession,
    settings: Settings,
    *,
    book_id: int,
    stock: Stock,
    added: int = 0,
    released: int = 0,
) -> list[Prebook]:
    """Add `added` copies to the book and stop holding `released` (a cancelled prebook's),
    then serve its queue from the stock, in one transaction: strictly by arrival, each
    prebook whole or not at all, stopping at the first that doesn't fit. Served prebooks
    become CONFIRMED orders priced at the lower of the price when prebooked and today's.
    Copies go to the queue before any checkout can see them: the book stays locked until
    the transaction ends. The emails go in the same transaction: to each served customer,
    and, if the book just became purchasable again, to those waiting for it."""
    inventory = InventoryRepository(session)
    book = (await lock(session, [book_id])).get(book_id)
    if book is None:
        raise books_service.book_not_found(field="bookId")
    was_purchasable = _purchasable(book, stock)
    available = book.stock_quantity + added
    if added and available > MAX_STOCK:
        raise ValidationFailed(
            f"A book holds at most {MAX_STOCK} copies ({book.stock_quantity} now)",
            field="quantity",
        )
    served: list[Prebook] = []
    notices: list[Personal] = []
    if not book.is_archived and book.release_date <= stock.today:
        now = datetime.now(UTC)
        for prebook in await inventory.lock_queue(book_id):
            if prebook.quantity > available:
                break  # no jumping the queue
            price = min(prebook.price_at_prebook, book.price)
            lines = [OrderLine(book_id, book.title, price, prebook.quantity)]
            order = await place_order(
                session,
                user_id=prebook.user_id,
                lines=lines,
                address=prebook.shipping_address,
                status=OrderStatus.CONFIRMED,
                currency=settings.currency,
            )
            email = order_email(order, lines)
            email["context"].update(book_title=book.title, quantity=prebook.quantity)
            notices.append(Personal(prebook.user_id, **email))
            prebook.status = PrebookStatus.FULFILLED
            prebook.fulfilled_at = prebook.updated_at = now
            prebook.order_id = order.id
            available -= prebook.quantity
            served.append(prebook)
    await adjust(session, {book_id: available - book.stock_quantity})
    held = book.prebook_demand - released - sum(prebook.quantity for prebook in served)
    if held != book.prebook_demand:
        await hold(session, book_id, held - book.prebook_demand)
    await session.flush()
    await mail.to_users(session, Template.PREBOOK_FULFILLED, notices)
    after = dataclasses.replace(book, stock_quantity=available, prebook_demand=held)
    if not was_purchasable and _purchasable(after, stock):
        await wishlist_service.book_available(session, book_id=book_id, title=book.title)
    return served


async def put_back(
    session: AsyncSession, settings: Settings, *, copies: dict[int, int], stock: Stock
) -> None:
    """Return copies (a cancelled order's), book by book in id order: waiting prebooks
    get them first, as on a restock."""
    for book_id, quantity in sorted(copies.items()):
        await serve_queue(session, settings, book_id=book_id, stock=stock, added=quantity)
