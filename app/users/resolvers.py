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
from app.users.schemas import (
    ChangePasswordInput,
    LoginInput,
    RegisterInput,
    ResetPasswordInput,
    UpdateMeInput,
)
from app.users.types import AuthPayload, User

RefreshTokenArg = TypeAdapter(Annotated[str, Field(min_length=1, max_length=256)])
EmailTokenArg = TypeAdapter(schemas.EmailToken)
GivenEmailArg = TypeAdapter(schemas.GivenEmail)


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
        description="Change your name (at once), or your email (with your current password): "
        "a link goes to the new address, and the change applies when it is followed "
        "(`verifyEmail`); until then the new address is `pendingEmail`.",
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

    @strawberry.mutation(
        description="Follow the link of a verification email (the address is verified) or "
        "of an email change (the new address becomes the account's, verified; the old one "
        "is told). No sign-in needed. ACCOUNT_TOKEN_INVALID for a link used, replaced by a "
        "newer one, or expired."
    )
    async def verify_email(self, info: Info[Context, None], token: str) -> User | None:
        given = parse_arg(EmailTokenArg, token, field="token")
        ctx = info.context
        async with ctx.transaction() as session:
            user = await users_service.verify_email(session, ctx.settings, token=given)
            return User.from_model(user)

    @strawberry.mutation(
        description="Send a new verification link (earlier ones stop working); false when "
        "your address is verified already. ACCOUNT_TOO_MANY_EMAILS past the limit.",
        permission_classes=[IsAuthenticated],
    )
    async def resend_verification_email(self, info: Info[Context, None]) -> bool | None:
        ctx = info.context
        viewer = ctx.viewer
        async with ctx.transaction() as session:
            return await users_service.resend_verification(
                session, ctx.settings, viewer=viewer, client=ctx.client
            )

    @strawberry.mutation(
        description="Email a password reset link (valid 30 minutes) if an account has this "
        "address. Always true, so that the answer (and its timing) doesn't tell whether one "
        "does; past the limit of requests nothing is sent."
    )
    async def request_password_reset(self, info: Info[Context, None], email: str) -> bool | None:
        address = parse_arg(GivenEmailArg, email, field="email")
        ctx = info.context
        async with ctx.transaction() as session:
            await users_service.request_password_reset(
                session, ctx.settings, email=address, client=ctx.client
            )
        return True

    @strawberry.mutation(
        description="Set a new password with the token of a reset link: every session ends "
        "(sign in again) and the address counts as verified. ACCOUNT_TOKEN_INVALID for a "
        "link used, replaced by a newer one, or expired."
    )
    async def reset_password(
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> bool | None:
        data = parse_input(schemas.ResetPasswordData, input)
        ctx = info.context
        async with ctx.transaction() as session:
            await users_service.reset_password(session, ctx.settings, data=data)
        return True
