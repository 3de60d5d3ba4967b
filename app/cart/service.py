"""Cart rules: quantities, stock, availability, the line limit; warnings on reading; guest
carts (tokens, expiry, the creation limit) and their merge into an account's cart.

Every change to a cart, a user's or a guest's, starts with `lock` (the one place where a
cart is marked changed), and every request's guest token goes through `use_guest_cart`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import Stock
from app.cart.models import MAX_LINE_QUANTITY, MAX_LINES
from app.cart.repository import CartRepository
from app.cart.schemas import (
    MAX_TOKEN_LENGTH,
    CartHead,
    CartLine,
    CartOwner,
    CartView,
    CartWarning,
    LineFacts,
    MergedLine,
    NewGuestCart,
)
from app.core.config import Settings
from app.core.errors import AppError, ErrorCode, ValidationFailed
from app.core.security import hash_opaque_token, new_opaque_token
from app.inventory.schemas import StockRow


def _check_quantity(quantity: int, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if not low <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationFailed(
            f"quantity must be between {low} and {MAX_LINE_QUANTITY}",
            code=ErrorCode.CART_QUANTITY_INVALID,
            field="quantity",
        )


def out_of_stock(book_id: int, available: int) -> AppError:
    return AppError(
        f"Only {available} available"
        if available
        else "No copy available (sold out, or held for pre-orders): prebook it instead",
        code=ErrorCode.CART_OUT_OF_STOCK,
        field="quantity",
        extensions={"availableQuantity": available},
    )


def token_invalid(field: str | None = None) -> AppError:
    """The one answer for a missing, unknown, expired or already merged guest token: which
    of them is not said, so a token reveals nothing about other carts."""
    return AppError(
        "No guest cart for this token: sign in, or create one with createGuestCart and send "
        "its cartToken as X-Cart-Token",
        code=ErrorCode.CART_TOKEN_INVALID,
        field=field,
    )


def _ttl(settings: Settings) -> timedelta:
    return timedelta(days=settings.guest_cart_ttl_days)


def _token_hash(token: str) -> str | None:
    token = token.strip()
    return hash_opaque_token(token) if 0 < len(token) <= MAX_TOKEN_LENGTH else None


def _sellable_book(book: StockRow | None, stock: Stock) -> StockRow:
    """The book, if it can go in a cart: it exists, isn't archived, is released."""
    if book is None or book.is_archived:
        raise books_service.book_not_found(field="bookId")
    if book.release_date > stock.today:
        raise AppError(
            "This book is not released yet: prebook it instead",
            code=ErrorCode.BOOK_NOT_RELEASED,
            field="bookId",
        )
    return book


# -- guest carts ----------------------------------------------------------------------------


async def use_guest_cart(session: AsyncSession, settings: Settings, *, token: str) -> int:
    """The id of the live guest cart this token opens, marked used now (a cart in use
    doesn't expire); CART_TOKEN_INVALID otherwise. Commit to keep the mark."""
    token_hash = _token_hash(token)
    cart_id = None
    if token_hash is not None:
        cart_id = await CartRepository(session).use_guest(token_hash, _ttl(settings))
    if cart_id is None:
        raise token_invalid()
    return cart_id


async def create_guest_cart(
    session: AsyncSession, settings: Settings, *, ip_address: str
) -> NewGuestCart:
    """A new, empty guest cart and its token. At most GUEST_CART_CREATE_LIMIT per client
    address per window, counted in PostgreSQL so the limit holds across instances."""
    carts = CartRepository(session)
    await carts.take_turn_to_create(ip_address)
    until = await carts.creation_blocked_until(
        ip_address,
        limit=settings.guest_cart_create_limit,
        window=timedelta(minutes=settings.guest_cart_create_window_minutes),
    )
    now = datetime.now(UTC)
    if until is not None and until > now:
        retry_after = max(1, ceil((until - now).total_seconds()))
        raise AppError(
            f"Too many guest carts from this address; retry in {retry_after} seconds",
            code=ErrorCode.CART_LIMIT_EXCEEDED,
            extensions={"retryAfter": retry_after},
        )
    token = new_opaque_token()
    return NewGuestCart(token, await carts.create_guest(hash_opaque_token(token), ip_address))


# -- changes --------------------------------------------------------------------------------


async def lock(session: AsyncSession, *, owner: CartOwner) -> int:
    """Lock the owner's cart and mark it changed (a user's cart opens on first use): every
    change of a cart, and a checkout, starts here. Its id; CART_TOKEN_INVALID for a guest
    cart merged or purged since the request found it."""
    carts = CartRepository(session)
    if owner.user_id is not None:
        return await carts.lock_user(owner.user_id)
    assert owner.guest_cart_id is not None
    if not await carts.lock_guest(owner.guest_cart_id):
        raise token_invalid()
    return owner.guest_cart_id


async def _set_quantity(
    session: AsyncSession, cart_id: int, book_id: int, quantity: int, stock: Stock, line: LineFacts
) -> None:
    """Make the line hold `quantity` copies (`line`: read with the cart locked by the
    caller)."""
    book = _sellable_book(line.book, stock)
    if line.current is None and line.lines >= MAX_LINES:
        raise AppError(
            f"A cart holds at most {MAX_LINES} different books",
            code=ErrorCode.CART_LIMIT_EXCEEDED,
            field="bookId",
        )
    available = books_service.sellable(book)
    if quantity > available:
        raise out_of_stock(book_id, available)
    await CartRepository(session).set_line(cart_id, book_id, quantity, book.price)


async def add(
    session: AsyncSession, *, owner: CartOwner, book_id: int, quantity: int, stock: Stock
) -> None:
    _check_quantity(quantity)
    carts = CartRepository(session)
    cart_id = await lock(session, owner=owner)
    line = await carts.line_facts(cart_id, book_id)
    total = quantity + (line.current or 0)
    _check_quantity(total)
    await _set_quantity(session, cart_id, book_id, total, stock, line)


async def update(
    session: AsyncSession, *, owner: CartOwner, book_id: int, quantity: int, stock: Stock
) -> None:
    _check_quantity(quantity, allow_zero=True)
    carts = CartRepository(session)
    cart_id = await lock(session, owner=owner)
    if quantity == 0:
        await carts.delete_line(cart_id, book_id)
        return
    line = await carts.line_facts(cart_id, book_id)
    await _set_quantity(session, cart_id, book_id, quantity, stock, line)


async def remove(session: AsyncSession, *, owner: CartOwner, book_id: int) -> None:
    """Removing a book that isn't in the cart is harmless."""
    cart_id = await lock(session, owner=owner)
    await CartRepository(session).delete_line(cart_id, book_id)


async def clear(session: AsyncSession, *, owner: CartOwner) -> None:
    cart_id = await lock(session, owner=owner)
    await CartRepository(session).clear(cart_id)


# -- merging a guest cart into an account's -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Merge:
    """What merging one guest line does: the line's new quantity (None: left as it is, or
    left out) and the warning saying why it was capped."""

    quantity: int | None
    warning: CartWarning | None = None


def _merge_line(line: CartLine, have: int, lines_used: int, stock: Stock) -> _Merge:
    """The rules of adding the guest line's copies to the account's line (`have` copies,
    0 when the book isn't there): capped where adding would be refused, never below what
    the account's line holds already."""
    book = line.book

    def left_out(code: ErrorCode, why: str, available: int | None = None) -> _Merge:
        kept = f"; your cart keeps its {have}" if have else ""
        message = f"“{book.title}” from your guest cart was left out: {why}{kept}"
        return _Merge(None, CartWarning(code, message, book.id, available))

    if book.is_archived:
        return left_out(ErrorCode.BOOK_NOT_FOUND, "it is no longer sold")
    if book.release_date > stock.today:
        return left_out(ErrorCode.BOOK_NOT_RELEASED, "it is not released yet; prebook it")
    if not have and lines_used >= MAX_LINES:
        return left_out(
            ErrorCode.CART_LIMIT_EXCEEDED, f"a cart holds at most {MAX_LINES} different books"
        )
    wanted = have + line.quantity
    available = books_service.sellable(book)
    stock_cap = max(have, available)
    quantity = min(wanted, MAX_LINE_QUANTITY, stock_cap)
    if quantity == wanted:
        return _Merge(quantity)
    if stock_cap >= MAX_LINE_QUANTITY:
        code, available_quantity = ErrorCode.CART_QUANTITY_INVALID, None
        why = f"a line holds at most {MAX_LINE_QUANTITY} copies"
    else:
        code, available_quantity = ErrorCode.CART_OUT_OF_STOCK, available
        why = f"only {available} available"
    if quantity <= have:
        return left_out(code, why, available_quantity)
    message = (
        f"“{book.title}”: {wanted} copies with your guest cart's, capped at {quantity} ({why})"
    )
    return _Merge(quantity, CartWarning(code, message, book.id, available_quantity))


async def merge_guest_cart(
    session: AsyncSession, settings: Settings, *, user_id: int, token: str, stock: Stock
) -> list[CartWarning] | None:
    """Add the lines of the guest cart of `token` to the user's cart, then delete the guest
    cart. The warnings say which lines were capped (line and cart limits, stock) or left
    out. None when no live guest cart has this token (unknown, expired, or merged into
    another account). Idempotent: a token already merged into this user's cart merges
    nothing again (no warnings); concurrent merges of one token take turns on the guest
    cart's row, and the later one finds it merged."""
    carts = CartRepository(session)
    token_hash = _token_hash(token)
    if token_hash is None:
        return None
    guest = await carts.live_guest(token_hash, _ttl(settings), lock=True)
    if guest is None:
        return [] if await carts.was_merged_into(token_hash, user_id) else None
    # Always the guest cart before the account's: two merges into one account, or of one
    # guest cart, wait for each other instead of deadlocking.
    target = await lock(session, owner=CartOwner.of_user(user_id))
    have = await carts.quantities(target)
    merged: list[MergedLine] = []
    warnings: list[CartWarning] = []
    lines_used = len(have)
    for line in await carts.lines(guest, stock):
        held = have.get(line.book.id, 0)
        outcome = _merge_line(line, held, lines_used, stock)
        if outcome.warning is not None:
            warnings.append(outcome.warning)
        if outcome.quantity is not None and outcome.quantity > held:
            merged.append(
                MergedLine(line.book.id, outcome.quantity, line.price_when_added, line.added_at)
            )
            lines_used += 0 if held else 1
    await carts.merge_lines(target, merged)
    await carts.delete(guest)
    await carts.record_merge(token_hash, user_id)
    return warnings


async def merge_at_sign_in(
    session: AsyncSession, settings: Settings, *, user_id: int, token: str, stock: Stock
) -> list[CartWarning]:
    """`merge_guest_cart` for a sign-in or a registration, where a token that opens no guest
    cart (a stale one left in the browser) must not stop the sign-in: it is a warning."""
    warnings = await merge_guest_cart(session, settings, user_id=user_id, token=token, stock=stock)
    if warnings is not None:
        return warnings
    message = "Your guest cart was not merged: its token opens no guest cart (expired?)"
    return [CartWarning(ErrorCode.CART_TOKEN_INVALID, message, None)]


async def purge_expired(session: AsyncSession, settings: Settings) -> tuple[int, int]:
    """Delete the guest carts unused for GUEST_CART_TTL_DAYS, and forget merges as old:
    (carts deleted, merges forgotten)."""
    carts = CartRepository(session)
    return await carts.purge_guests(_ttl(settings)), await carts.purge_merges(_ttl(settings))


# -- reading --------------------------------------------------------------------------------


def _warnings(line: CartLine, stock: Stock) -> list[CartWarning]:
    book = line.book
    if book.is_archived:
        return [
            CartWarning(
                ErrorCode.BOOK_NOT_FOUND,
                f"“{book.title}” is no longer sold; remove it to check out",
                book.id,
                0,
            )
        ]
    warnings = []
    if book.release_date > stock.today:
        warnings.append(
            CartWarning(
                ErrorCode.BOOK_NOT_RELEASED,
                f"“{book.title}” is not released yet; prebook it instead",
                book.id,
            )
        )
    available = books_service.sellable(book)
    if line.quantity > available:
        warnings.append(
            CartWarning(
                ErrorCode.CART_OUT_OF_STOCK,
                f"Only {available} of “{book.title}” available",
                book.id,
                available,
            )
        )
    if book.price != line.price_when_added:
        warnings.append(
            CartWarning(
                ErrorCode.CART_PRICE_CHANGED,
                f"The price of “{book.title}” changed from {line.price_when_added} to {book.price}",
                book.id,
            )
        )
    return warnings


async def _head(session: AsyncSession, owner: CartOwner) -> CartHead | None:
    carts = CartRepository(session)
    if owner.user_id is not None:
        return await carts.head_of_user(owner.user_id)
    assert owner.guest_cart_id is not None
    return await carts.head(owner.guest_cart_id)


async def cart_id_of(session: AsyncSession, *, owner: CartOwner) -> int | None:
    """The id of the owner's cart, if it has one (a user's opens on first use)."""
    head = await _head(session, owner)
    return None if head is None else head.id


async def get_lines(
    session: AsyncSession, *, owner: CartOwner, item_ids: Sequence[int], stock: Stock
) -> dict[int, CartLine]:
    """Lines of the owner's cart by id (others' lines are simply not found)."""
    cart_id = await cart_id_of(session, owner=owner) if item_ids else None
    lines = await CartRepository(session).lines(cart_id, stock, item_ids) if cart_id else []
    return {line.item_id: line for line in lines}


# Opens a session for a read, or for a unit of work (commits when the block succeeds).
Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def get_cart(
    session: AsyncSession,
    settings: Settings,
    *,
    owner: CartOwner,
    stock: Stock,
    notices: Sequence[CartWarning] = (),
    guest_token: str | None = None,
) -> CartView:
    """The owner's cart with its warnings: `notices` first (what the request did to it),
    then CART_GUEST_NOT_MERGED while a user's request also carries the token of a guest
    cart not merged yet (`guest_token`), then the lines'. A user's cart opens on first use,
    so commit after reading it. CART_TOKEN_INVALID for a guest cart merged or purged since
    the request found it."""

    def same() -> AbstractAsyncContextManager[AsyncSession]:
        return nullcontext(session)

    return await read_cart(
        same, same, settings, owner=owner, stock=stock, notices=notices, guest_token=guest_token
    )


async def read_cart(
    reading: Sessions,
    writing: Sessions,
    settings: Settings,
    *,
    owner: CartOwner,
    stock: Stock,
    notices: Sequence[CartWarning] = (),
    guest_token: str | None = None,
) -> CartView:
    """`get_cart` in a session from `reading`, the only place that decides between a read
    and a unit of work: one from `writing` only when an account's cart opens on first use
    (so a read needs no commit)."""
    async with reading() as session:
        found = await CartRepository(session).with_lines(
            stock, user_id=owner.user_id, cart_id=owner.guest_cart_id
        )
        if found is not None:
            head, lines = found
            return await _view(session, settings, owner, head, lines, stock, notices, guest_token)
    if owner.user_id is None:
        raise token_invalid()
    async with writing() as session:  # first use: the account gets its cart, opened empty
        head = await CartRepository(session).open_user(owner.user_id)
        return await _view(session, settings, owner, head, [], stock, notices, guest_token)


async def _view(
    session: AsyncSession,
    settings: Settings,
    owner: CartOwner,
    head: CartHead,
    lines: list[CartLine],
    stock: Stock,
    notices: Sequence[CartWarning],
    guest_token: str | None,
) -> CartView:
    warnings = list(notices)
    if owner.user_id is not None and guest_token is not None:
        token_hash = _token_hash(guest_token)
        waiting = token_hash is not None and await CartRepository(session).live_guest(
            token_hash, _ttl(settings)
        )
        if waiting:
            warnings.append(
                CartWarning(
                    ErrorCode.CART_GUEST_NOT_MERGED,
                    "This request also carries a guest cart (X-Cart-Token) that is not in "
                    "your cart yet: merge it with mergeGuestCart, or stop sending its token",
                    None,
                )
            )
    warnings += [warning for line in lines for warning in _warnings(line, stock)]
    return CartView(cart_id=head.id, updated_at=head.updated_at, lines=lines, warnings=warnings)
