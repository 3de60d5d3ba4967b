"""Account queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from pydantic import Field, TypeAdapter
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.inputs import parse_arg, parse_input
from app.graphql.permissions import IsAuthenticated
from app.users import schemas
from app.users import service as users_service
from app.users.schemas import ChangePasswordInput, LoginInput, RegisterInput, UpdateMeInput
from app.users.types import AuthPayload, User

RefreshTokenArg = TypeAdapter(Annotated[str, Field(min_length=1, max_length=256)])


@strawberry.type
class UsersQuery:
    @strawberry.field(
        description="The signed-in user; null for an anonymous request (a bad or expired "
        "token is still an error: AUTH_INVALID_TOKEN, AUTH_TOKEN_EXPIRED)."
    )
    async def me(self, info: Info[Context, None]) -> User | None:
        viewer = await info.context.viewer_or_none()
        if viewer is None:
            return None
        async with info.context.session() as session:
            return User.from_model(await users_service.get_user(session, viewer.id))


@strawberry.type
class UsersMutation:
    @strawberry.mutation(description="Create a customer account and sign in.")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthPayload | None:
        data = parse_input(schemas.RegisterData, input)
        ctx = info.context
        async with ctx.transaction() as session:
            auth = await users_service.register(
                session, ctx.settings, data=data, client=ctx.client, stock=ctx.stock
            )
        return AuthPayload.from_session(auth)

    @strawberry.mutation(
        description="Sign in. After too many failures answers AUTH_TOO_MANY_ATTEMPTS for a while."
    )
    async def login(self, info: Info[Context, None], input: LoginInput) -> AuthPayload | None:
        data = parse_input(schemas.LoginData, input)
        ctx = info.context
        async with ctx.transaction() as session:
            auth = await users_service.login(
                session, ctx.settings, data=data, client=ctx.client, stock=ctx.stock
            )
        return AuthPayload.from_session(auth)

    @strawberry.mutation(
        description="Trade a refresh token for new tokens. The old one stops working; using "
        "it again ends the whole session (AUTH_INVALID_TOKEN)."
    )
    async def refresh_token(
        self, info: Info[Context, None], refresh_token: str
    ) -> AuthPayload | None:
        token = parse_arg(RefreshTokenArg, refresh_token, field="refreshToken")
        ctx = info.context
        async with ctx.transaction() as session:
            auth = await users_service.refresh(
                session, ctx.settings, refresh_token=token, client=ctx.client
            )
        return AuthPayload.from_session(auth)

    @strawberry.mutation(
        description="End the session of this refresh token. False if it had already ended."
    )
    async def logout(self, info: Info[Context, None], refresh_token: str) -> bool | None:
        token = parse_arg(RefreshTokenArg, refresh_token, field="refreshToken")
        async with info.context.transaction() as session:
            return await users_service.logout(session, refresh_token=token)

    @strawberry.mutation(
        description="End every session of the signed-in user.",
        permission_classes=[IsAuthenticated],
    )
    async def logout_all(self, info: Info[Context, None]) -> bool | None:
        viewer = info.context.viewer
        async with info.context.transaction() as session:
            await users_service.logout_all(session, viewer=viewer)
        return True

    @strawberry.mutation(
        description="Change your name, or your email (with your current password).",
        permission_classes=[IsAuthenticated],
    )
    async def update_me(self, info: Info[Context, None], input: UpdateMeInput) -> User | None:
        data = parse_input(schemas.UpdateMeData, input)
        ctx = info.context
        viewer = ctx.viewer
        async with ctx.transaction() as session:
            user = await users_service.update_me(
                session, ctx.settings, viewer=viewer, data=data, client=ctx.client
            )
            return User.from_model(user)

    @strawberry.mutation(
        description="Change your password; every other session is signed out.",
        permission_classes=[IsAuthenticated],
    )
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> bool | None:
        data = parse_input(schemas.ChangePasswordData, input)
        ctx = info.context
        viewer = ctx.viewer
        async with ctx.transaction() as session:
            await users_service.change_password(
                session, ctx.settings, viewer=viewer, data=data, client=ctx.client
            )
        return True
