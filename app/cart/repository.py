"""Every SQL statement of the cart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, join, outerjoin

from app.books.models import Book
from app.books.repository import BOOK, STOCK_PARAMETERS, Stock, book_columns
from app.cart.models import Cart, CartItem, MergedGuestCart
from app.cart.schemas import CartHead, CartLine, LineFacts, MergedLine
from app.db import statements
from app.inventory.schemas import StockRow

# The write path of a cart change (addToCart and updateCartItem), run on asyncpg directly:
# the cart's lock, what the rules need to know, the line's new quantity.
_LOCK_USER = """
INSERT INTO carts (user_id, updated_at) VALUES ($1, now())
ON CONFLICT (user_id) DO UPDATE SET updated_at = now(), last_used_at = now()
RETURNING id
"""
_LINE_FACTS = """
SELECT b.id, b.title, b.price, b.stock_quantity, b.prebook_demand, b.is_archived,
       b.release_date,
       (SELECT quantity FROM cart_items WHERE cart_id = $1 AND book_id = $2) AS current,
       (SELECT count(*) FROM cart_items WHERE cart_id = $1) AS lines
FROM (SELECT) AS one LEFT JOIN books b ON b.id = $2
"""
_SET_LINE = """
INSERT INTO cart_items (cart_id, book_id, quantity, price_when_added) VALUES ($1, $2, $3, $4)
ON CONFLICT (cart_id, book_id)
DO UPDATE SET quantity = excluded.quantity, price_when_added = excluded.price_when_added
"""

_LINE = (CartItem.id, CartItem.quantity, CartItem.added_at, CartItem.price_when_added)


def _cart_with_lines(key: InstrumentedAttribute[Any]) -> statements.Prepared:
    """The cart whose `key` is the parameter `key` with its lines in the order they were
    added: the cart's id and `updated_at`, the line, the book as of the request's Stock. A
    cart without lines is one row of NULL lines; no row, no cart."""
    statement = (
        select(Cart.id, Cart.updated_at, *_LINE, *book_columns(STOCK_PARAMETERS))
        .select_from(
            outerjoin(
                Cart, join(CartItem, Book, Book.id == CartItem.book_id), CartItem.cart_id == Cart.id
            )
        )
        .where(key == bindparam("key", type_=key.type))
        .order_by(CartItem.added_at, CartItem.id)
    )
    return statements.Prepared.of(statement)


_USER_CART = _cart_with_lines(Cart.user_id)
_CART = _cart_with_lines(Cart.id)


class CartRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- the cart's own row -------------------------------------------------------------------

    async def lock_user(self, user_id: int) -> int:
        """Open the user's cart if needed, mark it changed now, and lock it until the
        transaction ends: one user's cart changes and checkouts take turns (no lost updates,
        no double checkout). Its id."""
        (row,) = await statements.write(self.session, _LOCK_USER, user_id)
        return int(row["id"])

    async def lock_guest(self, cart_id: int) -> bool:
        """Mark the guest cart changed now and lock it (its changes, and a merge of it, take
        turns). False when it is gone (merged or purged since the request found it)."""
        statement = (
            update(Cart)
            .where(Cart.id == cart_id, Cart.token_hash.is_not(None))
            .values(updated_at=func.now(), last_used_at=func.now())
            .returning(Cart.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none() is not None

    async def use_guest(self, token_hash: str, ttl: timedelta) -> int | None:
        """The live guest cart of this token, marked used now (which keeps it from
        expiring); None for an unknown or expired token."""
        statement = (
            update(Cart)
            .where(Cart.token_hash == token_hash, Cart.last_used_at > func.now() - ttl)
            .values(last_used_at=func.now())
            .returning(Cart.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def live_guest(
        self, token_hash: str, ttl: timedelta, *, lock: bool = False
    ) -> int | None:
        """The live guest cart of this token, without marking it used; `lock`: locked until
        the transaction ends (concurrent merges of one token take turns, and the later one
        finds it gone)."""
        statement = select(Cart.id).where(
            Cart.token_hash == token_hash, Cart.last_used_at > func.now() - ttl
        )
        if lock:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def head(self, cart_id: int) -> CartHead | None:
        row = (
            await self.session.execute(select(Cart.id, Cart.updated_at).where(Cart.id == cart_id))
        ).one_or_none()
        return None if row is None else CartHead(row.id, row.updated_at)

    async def with_lines(
        self, stock: Stock, *, user_id: int | None = None, cart_id: int | None = None
    ) -> tuple[CartHead, list[CartLine]] | None:
        """The cart of the user, or the cart `cart_id`, and its lines (`lines`) in one
        statement; None when there is no such cart."""
        prepared, key = (_USER_CART, user_id) if user_id is not None else (_CART, cart_id)
        values = {
            "key": key,
            "today": stock.today,
            "low_stock_threshold": stock.low_stock_threshold,
        }
        rows = await statements.fetch(self.session, prepared.sql, *prepared.args(values))
        if not rows:
            return None
        head = CartHead(rows[0][0], rows[0][1])
        lines = [
            CartLine(row[2], row[3], row[4], row[5], BOOK.of(row[6:]))
            for row in rows
            if row[2] is not None
        ]
        return head, lines

    async def head_of_user(self, user_id: int) -> CartHead | None:
        statement = select(Cart.id, Cart.updated_at).where(Cart.user_id == user_id)
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else CartHead(row.id, row.updated_at)

    async def open_user(self, user_id: int) -> CartHead:
        """The user's cart, created (never changed yet) if the account had none; a
        concurrent first use of it gets the same row."""
        statement = (
            insert(Cart)
            .values(user_id=user_id)
            .on_conflict_do_update(index_elements=[Cart.user_id], set_={"user_id": user_id})
            .returning(Cart.id, Cart.updated_at)
        )
        row = (await self.session.execute(statement)).one()
        return CartHead(row.id, row.updated_at)

    async def create_guest(self, token_hash: str, ip_address: str) -> int:
        statement = (
            insert(Cart).values(token_hash=token_hash, created_ip=ip_address).returning(Cart.id)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def delete(self, cart_id: int) -> None:
        """The cart and its lines."""
        await self.session.execute(delete(Cart).where(Cart.id == cart_id))

    # -- creation limit -----------------------------------------------------------------------

    async def take_turn_to_create(self, ip_address: str) -> None:
        """Wait for the other guest cart creations from `ip_address` (a transaction-level
        advisory lock, released by the commit): concurrent creations can't both see room
        for one more."""
        key = func.hashtextextended("guest cart " + ip_address, 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def creation_blocked_until(
        self, ip_address: str, *, limit: int, window: timedelta
    ) -> datetime | None:
        """When the `limit`-th most recent guest cart created from `ip_address` within
        `window` leaves the window (the moment another may be created), or None when fewer
        were created. Carts merged or purged since don't count."""
        statement = (
            select(Cart.created_at)
            .where(
                Cart.token_hash.is_not(None),
                Cart.created_ip == ip_address,
                Cart.created_at > func.now() - window,
            )
            .order_by(Cart.created_at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        nth_latest = await self.session.scalar(statement)
        return None if nth_latest is None else nth_latest + window

    # -- lines --------------------------------------------------------------------------------

    async def lines(
        self, cart_id: int, stock: Stock, item_ids: Sequence[int] | None = None
    ) -> list[CartLine]:
        """The cart's lines (or those of `item_ids`) with their books (current price, stock,
        availability), in the order they were added."""
        statement = (
            select(
                CartItem.id.label("item_id"),
                CartItem.quantity.label("item_quantity"),
                CartItem.added_at.label("item_added_at"),
                CartItem.price_when_added.label("item_price_when_added"),
                *book_columns(stock),
            )
            .join(Book, Book.id == CartItem.book_id)
            .where(CartItem.cart_id == cart_id)
            .order_by(CartItem.added_at, CartItem.id)
        )
        if item_ids is not None:
            statement = statement.where(CartItem.id.in_(item_ids))
        return [
            CartLine(
                row.item_id,
                row.item_quantity,
                row.item_added_at,
                row.item_price_when_added,
                BOOK.of(row[4:]),
            )
            for row in await self.session.execute(statement)
        ]

    async def line_facts(self, cart_id: int, book_id: int) -> LineFacts:
        """What changing the book's line must respect (the cart locked): the book's sale
        data (None: no such book), the line's quantity (None: not in the cart), the lines."""
        row = await statements.fetchrow(self.session, _LINE_FACTS, cart_id, book_id)
        assert row is not None  # one row, whether the book exists or not
        book = None if row["id"] is None else StockRow(*row[:7])
        return LineFacts(book, row["current"], row["lines"])

    async def set_line(self, cart_id: int, book_id: int, quantity: int, price: Decimal) -> None:
        """Set the line's quantity at today's price: changing a line acknowledges a price
        change (the CART_PRICE_CHANGED warning goes away)."""
        await statements.write(self.session, _SET_LINE, cart_id, book_id, quantity, price)

    async def merge_lines(self, cart_id: int, lines: Sequence[MergedLine]) -> None:
        """Put merged lines in the cart, in one statement: a new line as given, a line
        already there only with its new quantity (its price and date stay)."""
        if not lines:
            return
        rows: list[dict[str, Any]] = [
            {
                "cart_id": cart_id,
                "book_id": line.book_id,
                "quantity": line.quantity,
                "price_when_added": line.price_when_added,
                "added_at": line.added_at,
            }
            for line in lines
        ]
        statement = insert(CartItem).values(rows)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[CartItem.cart_id, CartItem.book_id],
                set_={"quantity": statement.excluded.quantity},
            )
        )

    async def delete_line(self, cart_id: int, book_id: int) -> None:
        await self.session.execute(
            delete(CartItem).where(CartItem.cart_id == cart_id, CartItem.book_id == book_id)
        )

    async def clear(self, cart_id: int) -> None:
        await self.session.execute(delete(CartItem).where(CartItem.cart_id == cart_id))

    async def quantities(self, cart_id: int) -> dict[int, int]:
        """{book_id: quantity} of the cart."""
        result = await self.session.execute(
            select(CartItem.book_id, CartItem.quantity).where(CartItem.cart_id == cart_id)
        )
        return dict(result.all())

    # -- merges and expiry --------------------------------------------------------------------

    async def record_merge(self, token_hash: str, user_id: int) -> None:
        await self.session.execute(
            insert(MergedGuestCart)
            .values(token_hash=token_hash, user_id=user_id)
            .on_conflict_do_nothing(index_elements=[MergedGuestCart.token_hash])
        )

    async def was_merged_into(self, token_hash: str, user_id: int) -> bool:
        statement = select(MergedGuestCart.user_id).where(MergedGuestCart.token_hash == token_hash)
        return await self.session.scalar(statement) == user_id

    async def purge_guests(self, ttl: timedelta) -> int:
        """Delete the guest carts unused for `ttl` (and their lines); how many."""
        result = await self.session.execute(
            delete(Cart)
            .where(Cart.token_hash.is_not(None), Cart.last_used_at < func.now() - ttl)
            .returning(Cart.id)
        )
        return len(result.all())

    async def purge_merges(self, ttl: timedelta) -> int:
        """Forget the merges older than `ttl` (a token that old would have expired)."""
        result = await self.session.execute(
            delete(MergedGuestCart)
            .where(MergedGuestCart.merged_at < func.now() - ttl)
            .returning(MergedGuestCart.token_hash)
        )
        return len(result.all())
