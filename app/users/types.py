"""GraphQL types of the accounts domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry.types import Info

from app.addresses.loaders import AddressBookLoader
from app.addresses.types import Address
from app.cart.resolvers import read_cart
from app.cart.schemas import CartOwner, CartWarning
from app.cart.types import Cart
from app.graphql.context import Context
from app.graphql.enums import graphql_enum
from app.graphql.node import Node, global_id
from app.users import models
from app.users import service as users_service
from app.users.loaders import PendingEmailLoader
from app.users.service import AuthSession

graphql_enum(
    description="What an account may do.",
    values={
        "CUSTOMER": "Shops: cart, orders, wishlist, pre-orders.",
        "ADMIN": "Manages the catalog, stock and every order.",
    },
)(models.UserRole)


@strawberry.type(description="An account. Visible only to its owner and to admins.")
class User(Node):
    pk: strawberry.Private[int]
    email: str = strawberry.field(description="Sign-in email, lower-cased.")
    full_name: str = strawberry.field(description="Name shown on orders and in greetings.")
    role: models.UserRole = strawberry.field(description="What the account may do.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    email_verified: bool = strawberry.field(
        description="Whether the owner of `email` proved it, by following a link sent there."
    )

    @strawberry.field(
        description="The new address of an email change, until its link is followed (then "
        "it is `email`); null when no change waits."
    )
    async def pending_email(self, info: Info[Context, None]) -> str | None:
        return await info.context.loader(PendingEmailLoader).load(self.pk)

    @strawberry.field(description="Your saved addresses, oldest first (at most 20).")
    async def addresses(self, info: Info[Context, None]) -> list[Address]:
        saved = await info.context.loader(AddressBookLoader).load(self.pk)
        return [Address.of_saved(address) for address in saved]

    @strawberry.field(
        description="The saved address used unless you choose another; null without any. "
        "The first address saved becomes it; `setDefaultAddress` changes it."
    )
    async def default_address(self, info: Info[Context, None]) -> Address | None:
        saved = await info.context.loader(AddressBookLoader).load(self.pk)
        default = next((address for address in saved if address.is_default), None)
        return None if default is None else Address.of_saved(default)

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(
            id=global_id("User", user.id),
            pk=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            created_at=user.created_at,
            email_verified=user.email_verified_at is not None,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        """Users by id, for `node`/`nodes`: only yourself, unless you are an admin."""
        wanted = [int(node_id) if node_id.isdigit() else None for node_id in node_ids]
        viewer = await info.context.optional_viewer()
        if viewer is None:
            return [None] * len(wanted)
        visible = [i for i in wanted if i is not None and (viewer.is_admin or i == viewer.id)]
        async with info.context.session() as session:
            found = {
                u.id: cls.from_model(u) for u in await users_service.get_users(session, visible)
            }
        return [found.get(i) if i is not None else None for i in wanted]


@strawberry.type(description="Tokens for a signed-in session, and who it belongs to.")
class AuthPayload:
    access_token: str = strawberry.field(
        description="Short-lived JWT: send it as `Authorization: Bearer <accessToken>`."
    )
    refresh_token: str = strawberry.field(
        description="Opaque, single-use token for `refreshToken`; each use returns a new one."
    )
    token_type: str = strawberry.field(description='Always "Bearer".')
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User = strawberry.field(description="The signed-in user.")
    cart_notices: strawberry.Private[tuple[CartWarning, ...]]

    @strawberry.field(
        description="The account's cart. After a sign-in with `cartToken`, the guest cart is "
        "in it, and its warnings say which lines the merge capped or left out."
    )
    async def cart(self, info: Info[Context, None]) -> Cart | None:
        owner = CartOwner.of_user(self.user.pk)
        return await read_cart(info.context, owner, notices=self.cart_notices)

    @classmethod
    def from_session(cls, auth: AuthSession) -> AuthPayload:
        return cls(
            access_token=auth.access_token,
            refresh_token=auth.refresh_token,
            token_type="Bearer",  # noqa: S106 - the token scheme, not a secret
            expires_in=auth.expires_in,
            user=User.from_model(auth.user),
            cart_notices=auth.cart_notices,
        )
