"""Orders: race-safe, idempotent checkout; visibility; cancellation; the status workflow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses import service as addresses_service
from app.addresses.models import PostalAddress
from app.books import service as books_service
from app.books.repository import Stock
from app.cart import service as cart_service
from app.cart.schemas import CartOwner
from app.core.config import Settings
from app.core.errors import AppError, ConflictError, ErrorCode, GlobalRef, NotFoundError
from app.db.pagination import KeysetList
from app.inventory import service as inventory
from app.inventory.schemas import OrderLine, StockRow
from app.mail import service as mail
from app.mail.schemas import Template
from app.orders.models import Order, OrderStatus
from app.orders.repository import OrderRepository, row_of
from app.orders.schemas import CheckoutData, OrderFilterInput, OrderItemRow, OrderRow
from app.users import service as users_service
from app.users.schemas import Viewer

# Where each status may go next. CANCELLED and DELIVERED are final.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# The status changes the customer is emailed about (a placed order gets its own email).
_STATUS_EMAIL = {
    OrderStatus.SHIPPED: Template.ORDER_SHIPPED,
    OrderStatus.CANCELLED: Template.ORDER_CANCELLED,
}
_STATUS_TIMESTAMP = {
    OrderStatus.CONFIRMED: "confirmed_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


def order_not_found() -> NotFoundError:
    return NotFoundError("Order not found", code=ErrorCode.ORDER_NOT_FOUND, field="id")


async def checkout(
    session: AsyncSession, settings: Settings, *, viewer: Viewer, data: CheckoutData, stock: Stock
) -> OrderRow:
    """Turn the cart into a PENDING order in one transaction, its email (ORDER_PLACED)
    queued in the same one.

    The cart row is locked first, so a user's checkouts (and retries with the same key)
    take turns; the books are then locked in ascending id order, so checkouts sharing books
    wait for each other instead of deadlocking, and stock can't go negative.
    """
    users_service.ensure_may_order(settings, viewer)
    cart = await cart_service.lock(session, owner=CartOwner.of_user(viewer.id))
    address = await addresses_service.ship_to(session, user_id=viewer.id, given=data)
    basket = await inventory.basket(
        session, cart_id=cart, user_id=viewer.id, idempotency_key=data.idempotency_key
    )
    if basket.previous is not None:
        return await _replay(session, basket.previous, address, basket.wanted)
    wanted, locked = basket.wanted, basket.locked
    if not wanted:
        raise AppError("Your cart is empty", code=ErrorCode.CART_EMPTY)
    _refuse_unsellable(wanted, locked, stock)
    lines = [
        OrderLine(book_id, locked[book_id].title, locked[book_id].price, quantity)
        for book_id, quantity in sorted(wanted.items())
    ]
    return await inventory.sell(
        session,
        cart_id=cart,
        user_id=viewer.id,
        lines=lines,
        address=address,
        currency=settings.currency,
        idempotency_key=data.idempotency_key,
    )


async def _replay(
    session: AsyncSession, previous_id: int, address: PostalAddress, cart: dict[int, int]
) -> OrderRow:
    """A key seen before: the same checkout again (a retry, or a racing duplicate that
    waited for the first) gets the same order; anything else is a misuse of the key."""
    previous = await session.get(Order, previous_id)
    assert previous is not None  # orders are never deleted
    same_address = previous.request_fingerprint == address.fingerprint()
    ordered = await OrderRepository(session).quantities(previous.id)
    if same_address and (not cart or cart == ordered):
        return row_of(previous)
    raise ConflictError(
        "This idempotency key was already used for a different checkout",
        code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
        field="input.idempotencyKey",
    )


def _refuse_unsellable(wanted: dict[int, int], locked: dict[int, StockRow], stock: Stock) -> None:
    for book_id in sorted(wanted):
        book = locked.get(book_id)
        if book is None or book.is_archived:
            raise NotFoundError(
                "A book in your cart is no longer sold; remove it and try again",
                code=ErrorCode.BOOK_NOT_FOUND,
                extensions={"bookId": GlobalRef("Book", book_id)},
            )
        if book.release_date > stock.today:
            raise AppError(
                f"“{book.title}” is not released yet; prebook it instead",
                code=ErrorCode.BOOK_NOT_RELEASED,
                extensions={"bookId": GlobalRef("Book", book_id)},
            )
    short = [
        {
            "bookId": GlobalRef("Book", book_id),
            "requested": quantity,
            "available": books_service.sellable(locked[book_id]),
        }
        for book_id, quantity in sorted(wanted.items())
        if books_service.sellable(locked[book_id]) < quantity
    ]
    if short:
        raise AppError(
            "Not enough stock for some books in your cart",
            code=ErrorCode.CART_OUT_OF_STOCK,
            extensions={"lines": short},
        )


def _visible(order: OrderRow | Order, viewer: Viewer) -> bool:
    return viewer.is_admin or order.user_id == viewer.id


async def get_order(session: AsyncSession, order_id: int, viewer: Viewer) -> OrderRow:
    row = (await OrderRepository(session).get_rows([order_id])).get(order_id)
    if row is None or not _visible(row, viewer):
        raise order_not_found()  # never reveal that someone else's order exists
    return row


async def get_orders(
    session: AsyncSession, order_ids: Sequence[int], viewer: Viewer
) -> dict[int, OrderRow]:
    rows = await OrderRepository(session).get_rows(order_ids) if order_ids else {}
    return {order_id: row for order_id, row in rows.items() if _visible(row, viewer)}


async def items_of(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[OrderItemRow]]:
    return await OrderRepository(session).items_of(order_ids) if order_ids else {}


def orders(session: AsyncSession, *, filters: OrderFilterInput | None) -> KeysetList[OrderRow]:
    """Orders, newest first, as `filters` select them (None: every order)."""
    return OrderRepository(session).listing(filters or OrderFilterInput())


async def _change_status(
    session: AsyncSession, settings: Settings, order: Order, to: OrderStatus, stock: Stock
) -> None:
    if to not in TRANSITIONS[order.status]:
        raise AppError(
            f"An order cannot go from {order.status.value} to {to.value}",
            code=ErrorCode.ORDER_INVALID_STATUS_TRANSITION,
            field="status",
            extensions={"from": order.status.value, "to": to.value},
        )
    if to is OrderStatus.CANCELLED:
        # Exactly once: in the transaction of the status change. Waiting prebooks get the
        # copies first, as on a restock.
        returned = await OrderRepository(session).quantities(order.id)
        await inventory.put_back(session, settings, copies=returned, stock=stock)
    now = datetime.now(UTC)
    order.status = to
    setattr(order, _STATUS_TIMESTAMP[to], now)
    order.updated_at = now  # the same clock as the status timestamp
    await session.flush()
    if to in _STATUS_EMAIL:
        await mail.to_user(
            session, _STATUS_EMAIL[to], user_id=order.user_id, **inventory.order_email(order)
        )


async def cancel(
    session: AsyncSession, settings: Settings, *, order_id: int, viewer: Viewer, stock: Stock
) -> None:
    """Cancel your order (admins: any order) and put its copies back in stock. Cancelling
    a cancelled order changes nothing."""
    order = await OrderRepository(session).lock(order_id)
    if order is None or not _visible(order, viewer):
        raise order_not_found()
    if order.status is OrderStatus.CANCELLED:
        return
    if OrderStatus.CANCELLED not in TRANSITIONS[order.status]:
        raise AppError(
            f"A {order.status.value.lower()} order can no longer be cancelled",
            code=ErrorCode.ORDER_NOT_CANCELLABLE,
            field="id",
        )
    await _change_status(session, settings, order, OrderStatus.CANCELLED, stock)


async def update_status(
    session: AsyncSession, settings: Settings, *, order_id: int, status: OrderStatus, stock: Stock
) -> None:
    """Admins move an order along PENDING → CONFIRMED → SHIPPED → DELIVERED (or cancel)."""
    order = await OrderRepository(session).lock(order_id)
    if order is None:
        raise order_not_found()
    await _change_status(session, settings, order, status, stock)
