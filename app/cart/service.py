"""Cart rules: quantities, stock, availability, the line limit; warnings on reading."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import Stock
from app.books.schemas import BookRow
from app.cart.models import MAX_LINE_QUANTITY, MAX_LINES
from app.cart.repository import CartRepository
from app.cart.schemas import CartLine, CartView, CartWarning
from app.core.errors import AppError, ErrorCode, ValidationFailed


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


async def _sellable_book(session: AsyncSession, book_id: int, stock: Stock) -> BookRow:
    """The book, if it can go in a cart: it exists, isn't archived, is released."""
    rows = await books_service.get_books(session, [book_id], stock, include_archived=False)
    book = rows.get(book_id)
    if book is None:
        raise books_service.book_not_found(field="bookId")
    if book.release_date > stock.today:
        raise AppError(
            "This book is not released yet: prebook it instead",
            code=ErrorCode.BOOK_NOT_RELEASED,
            field="bookId",
        )
    return book


async def _set_quantity(
    session: AsyncSession,
    user_id: int,
    book_id: int,
    quantity: int,
    stock: Stock,
    *,
    current: int | None,
) -> None:
    """Make the line hold `quantity` copies (`current`: what it holds now, None when the
    book isn't in the cart; the cart is locked by the caller)."""
    carts = CartRepository(session)
    book = await _sellable_book(session, book_id, stock)
    if current is None and await carts.line_count(user_id) >= MAX_LINES:
        raise AppError(
            f"A cart holds at most {MAX_LINES} different books",
            code=ErrorCode.CART_LIMIT_EXCEEDED,
            field="bookId",
        )
    available = books_service.sellable(book)
    if quantity > available:
        raise out_of_stock(book_id, available)
    await carts.set_line(user_id, book_id, quantity, book.price)


async def add(
    session: AsyncSession, *, user_id: int, book_id: int, quantity: int, stock: Stock
) -> None:
    _check_quantity(quantity)
    carts = CartRepository(session)
    await carts.lock(user_id)
    current = await carts.quantity_of(user_id, book_id)
    total = quantity + (current or 0)
    _check_quantity(total)
    await _set_quantity(session, user_id, book_id, total, stock, current=current)


async def update(
    session: AsyncSession, *, user_id: int, book_id: int, quantity: int, stock: Stock
) -> None:
    _check_quantity(quantity, allow_zero=True)
    carts = CartRepository(session)
    await carts.lock(user_id)
    if quantity == 0:
        await carts.delete_line(user_id, book_id)
        return
    current = await carts.quantity_of(user_id, book_id)
    await _set_quantity(session, user_id, book_id, quantity, stock, current=current)


async def remove(session: AsyncSession, *, user_id: int, book_id: int) -> None:
    """Removing a book that isn't in the cart is harmless."""
    carts = CartRepository(session)
    await carts.lock(user_id)
    await carts.delete_line(user_id, book_id)


async def clear(session: AsyncSession, *, user_id: int) -> None:
    carts = CartRepository(session)
    await carts.lock(user_id)
    await carts.clear(user_id)


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


async def get_lines(
    session: AsyncSession, *, user_id: int, item_ids: Sequence[int], stock: Stock
) -> dict[int, CartLine]:
    """Lines of the user's cart by id (others' lines are simply not found)."""
    lines = await CartRepository(session).lines(user_id, stock, item_ids) if item_ids else []
    return {line.item_id: line for line in lines}


async def get_cart(session: AsyncSession, *, user_id: int, stock: Stock) -> CartView:
    carts = CartRepository(session)
    lines = await carts.lines(user_id, stock)
    updated_at = await carts.updated_at(user_id)
    warnings = [warning for line in lines for warning in _warnings(line, stock)]
    return CartView(user_id=user_id, updated_at=updated_at, lines=lines, warnings=warnings)


# -- for checkout -------------------------------------------------------------------------


async def lock(session: AsyncSession, *, user_id: int) -> None:
    await CartRepository(session).lock(user_id)


async def quantities(session: AsyncSession, *, user_id: int) -> dict[int, int]:
    return await CartRepository(session).quantities(user_id)


async def empty_after_checkout(session: AsyncSession, *, user_id: int) -> None:
    await CartRepository(session).clear(user_id)
