"""Cart query and mutations: on the signed-in user's cart, or on the guest cart whose token
an anonymous request sends as X-Cart-Token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

import strawberry
from pydantic import Field, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.cart import service as cart_service
from app.cart.schemas import MAX_TOKEN_LENGTH, CartOwner, CartWarning
from app.cart.types import Cart, GuestCartPayload
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import parse_arg
from app.graphql.permissions import IsAuthenticated

CartTokenArg = TypeAdapter(Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)])


async def read_cart(
    context: Context, owner: CartOwner, *, notices: Sequence[CartWarning] = ()
) -> Cart:
    """The owner's cart as it is now; `notices`: warnings about what the request did to it.
    A read; a unit of work only when an account's cart opens on first use."""
    view = await cart_service.read_cart(
        context.session,
        context.transaction,
        context.settings,
        owner=owner,
        stock=context.stock,
        notices=notices,
        guest_token=context.cart_token,
    )
    return Cart.from_view(view)


async def request_cart(context: Context) -> Cart | None:
    """The root `cart`: the request's cart, or None without a signed-in user or a guest cart
    token (also what the fast path answers it with)."""
    owner = await context.cart_owner()
    return None if owner is None else await read_cart(context, owner)


async def change_cart(
    context: Context, change: Callable[[AsyncSession, CartOwner], Awaitable[None]]
) -> Cart:
    """Apply `change(session, owner)` to the request's cart in one unit of work, and answer
    with the cart as it is then: read in the same one, the cart still locked by the change
    (one transaction and one connection from the pool, not two). Without a signed-in user
    or a guest cart token: CART_TOKEN_INVALID."""
    owner = await context.cart_owner()
    if owner is None:
        raise cart_service.token_invalid()
    async with context.transaction() as session:
        await change(session, owner)
        await session.flush()  # the read below runs on asyncpg: what the ORM holds first
        view = await cart_service.get_cart(
            session,
            context.settings,
            owner=owner,
            stock=context.stock,
            guest_token=context.cart_token,
        )
    return Cart.from_view(view)


@strawberry.type
class CartQuery:
    @strawberry.field(
        description="Your cart: the signed-in user's, else the guest cart of X-Cart-Token "
        "(CART_TOKEN_INVALID for a token that opens none); null with neither. A bad or "
        "expired access token is an error, as on `me`. Signed in with X-Cart-Token too: "
        "your cart, with a CART_GUEST_NOT_MERGED warning until you merge the guest cart."
    )
    async def cart(self, info: Info[Context, None]) -> Cart | None:
        return await request_cart(info.context)


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Start a cart before signing in: answers its token, to send as "
        "X-Cart-Token. Limited per client address (CART_LIMIT_EXCEEDED, with retryAfter)."
    )
    async def create_guest_cart(self, info: Info[Context, None]) -> GuestCartPayload | None:
        context = info.context
        async with context.transaction() as session:
            created = await cart_service.create_guest_cart(
                session, context.settings, ip_address=context.client.ip_address
            )
        cart = await read_cart(context, CartOwner.of_guest(created.cart_id))
        return GuestCartPayload(cart_token=created.token, cart=cart)

    @strawberry.mutation(
        description="Put copies of a book in the cart (adds to a line already there).",
    )
    async def add_to_cart(
        self, info: Info[Context, None], book_id: strawberry.ID, quantity: int = 1
    ) -> Cart | None:
        book, stock = decode_id(book_id, "Book", field="bookId"), info.context.stock
        return await change_cart(
            info.context,
            lambda session, owner: cart_service.add(
                session, owner=owner, book_id=book, quantity=quantity, stock=stock
            ),
        )

    @strawberry.mutation(
        description="Set how many copies of a book the cart holds (0 removes it).",
    )
    async def update_cart_item(
        self, info: Info[Context, None], book_id: strawberry.ID, quantity: int
    ) -> Cart | None:
        book, stock = decode_id(book_id, "Book", field="bookId"), info.context.stock
        return await change_cart(
            info.context,
            lambda session, owner: cart_service.update(
                session, owner=owner, book_id=book, quantity=quantity, stock=stock
            ),
        )

    @strawberry.mutation(
        description="Take a book out of the cart (harmless if it isn't there).",
    )
    async def remove_from_cart(
        self, info: Info[Context, None], book_id: strawberry.ID
    ) -> Cart | None:
        book = decode_id(book_id, "Book", field="bookId")
        return await change_cart(
            info.context,
            lambda session, owner: cart_service.remove(session, owner=owner, book_id=book),
        )

    @strawberry.mutation(description="Empty the cart.")
    async def clear_cart(self, info: Info[Context, None]) -> Cart | None:
        return await change_cart(
            info.context, lambda session, owner: cart_service.clear(session, owner=owner)
        )

    @strawberry.mutation(
        description="Merge a guest cart into your cart: quantities add up, capped at the line "
        "and cart limits and the stock (the answer's warnings say which lines were capped or "
        "left out); the guest cart is then deleted. Merging a token again answers your cart "
        "unchanged; a token that opens no guest cart is CART_TOKEN_INVALID.",
        permission_classes=[IsAuthenticated],
    )
    async def merge_guest_cart(self, info: Info[Context, None], cart_token: str) -> Cart | None:
        context = info.context
        token = parse_arg(CartTokenArg, cart_token, field="cartToken")
        async with context.transaction() as session:
            warnings = await cart_service.merge_guest_cart(
                session,
                context.settings,
                user_id=context.viewer.id,
                token=token,
                stock=context.stock,
            )
        if warnings is None:
            raise cart_service.token_invalid(field="cartToken")
        return await read_cart(context, CartOwner.of_user(context.viewer.id), notices=warnings)
