"""Accounts: registration, sign-in with throttling, token rotation, profile changes."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.books.repository import Stock
from app.cart import service as cart_service
from app.cart.schemas import CartWarning
from app.core.config import Settings
from app.core.errors import (
    AppError,
    AuthenticationError,
    ConflictError,
    ErrorCode,
    ValidationFailed,
)
from app.core.security import (
    InvalidToken,
    create_access_token,
    decode_access_token,
    hash_refresh_token,
    new_refresh_token,
    password_hasher,
)
from app.mail import links
from app.mail import service as mail
from app.mail.schemas import Template, page, sealed
from app.users.models import TokenPurpose, User, UserRole
from app.users.repository import (
    AccountTokenRepository,
    EmailRequestRepository,
    LoginFailureRepository,
    RefreshTokenRepository,
    UserRepository,
)
from app.users.schemas import (
    ChangePasswordData,
    ClientInfo,
    LoginData,
    NewAdminInput,
    RegisterData,
    ResetPasswordData,
    UpdateMeData,
    Viewer,
)

INVALID_CREDENTIALS = "Invalid email or password"
TOKEN_LIFETIMES = {
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
    TokenPurpose.RESET_PASSWORD: timedelta(minutes=30),
    TokenPurpose.CHANGE_EMAIL: timedelta(hours=24),
}


@dataclass(frozen=True, slots=True)
class AuthSession:
    """What a successful sign-in (or refresh) hands to the client."""

    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    # What merging the guest cart given at sign-in did (capped lines, an unknown token).
    cart_notices: tuple[CartWarning, ...] = ()


def _now() -> datetime:
    return datetime.now(UTC)


def _email_taken() -> ConflictError:
    return ConflictError(
        "An account with this email already exists",
        code=ErrorCode.USER_EMAIL_TAKEN,
        field="input.email",
    )


def _inactive() -> AuthenticationError:
    return AuthenticationError(
        "This account has been deactivated", code=ErrorCode.AUTH_USER_INACTIVE
    )


async def _start_session(
    session: AsyncSession,
    settings: Settings,
    user: User,
    client: ClientInfo,
    *,
    family_id: uuid.UUID | None = None,
) -> tuple[AuthSession, int]:
    """Issue an access token and a refresh token (a new family unless `family_id`)."""
    family_id = family_id or uuid.uuid4()
    raw_refresh = new_refresh_token()
    stored = await RefreshTokenRepository(session).add(
        user_id=user.id,
        token_hash=hash_refresh_token(raw_refresh),
        family_id=family_id,
        expires_at=_now() + timedelta(days=settings.refresh_token_expire_days),
        user_agent=client.user_agent,
        ip_address=client.ip_address,
    )
    access = create_access_token(settings, user_id=user.id, session_id=family_id)
    auth = AuthSession(
        access_token=access.token,
        refresh_token=raw_refresh,
        expires_in=access.expires_in,
        user=user,
    )
    return auth, stored.id


async def register(
    session: AsyncSession,
    settings: Settings,
    *,
    data: RegisterData,
    client: ClientInfo,
    stock: Stock,
) -> AuthSession:
    users = UserRepository(session)
    if await users.get_by_email(data.email) is not None:
        raise _email_taken()
    password_hash = await password_hasher(settings).hash(data.password)
    user = await users.insert_unless_email_taken(
        email=data.email,
        full_name=data.full_name,
        password_hash=password_hash,
        role=UserRole.CUSTOMER,
    )
    if user is None:  # a concurrent registration of the same email won
        raise _email_taken()
    await _send_verification(session, settings, user)
    auth, _ = await _start_session(session, settings, user, client)
    return await _merge_guest_cart(session, settings, auth, data.cart_token, stock)


async def login(
    session: AsyncSession, settings: Settings, *, data: LoginData, client: ClientInfo, stock: Stock
) -> AuthSession:
    attempt = await _start_attempt(session, settings, email=data.email, client=client)
    hasher = password_hasher(settings)
    user = await UserRepository(session).get_by_email(data.email)
    if user is None:
        await hasher.burn_time(data.password)
        matches, new_hash = False, None
    else:
        matches, new_hash = await hasher.verify(data.password, user.password_hash)

    if user is None or not matches:  # the attempt stays recorded as a failure
        raise AuthenticationError(INVALID_CREDENTIALS, code=ErrorCode.AUTH_INVALID_CREDENTIALS)

    await _password_right(session, attempt, email=data.email, client=client, sign_in=True)
    if not user.is_active:
        raise _inactive()
    if new_hash is not None:  # hashing parameters changed since this hash was made
        user.password_hash = new_hash
    auth, _ = await _start_session(session, settings, user, client)
    return await _merge_guest_cart(session, settings, auth, data.cart_token, stock)


async def _merge_guest_cart(
    session: AsyncSession, settings: Settings, auth: AuthSession, token: str | None, stock: Stock
) -> AuthSession:
    """Signing in with a guest cart's token merges that cart into the account's, in the
    sign-in's own transaction."""
    if token is None:
        return auth
    notices = await cart_service.merge_at_sign_in(
        session, settings, user_id=auth.user.id, token=token, stock=stock
    )
    return replace(auth, cart_notices=tuple(notices))


async def _start_attempt(
    session: AsyncSession, settings: Settings, *, email: str, client: ClientInfo
) -> int:
    """Record a password attempt as a failure *before* the password is checked, and apply
    the limits counting it and the attempts that arrived before it (also those still being
    checked). The attempts of one address take turns for these few statements (a
    transaction lock, released by the commit, never held while hashing), so a burst gets
    exactly the limit's worth of checks: the first arrivals, not none. A refused attempt is
    taken back, so hammering a locked account doesn't extend the lock. Returns the
    attempt's id; the caller takes it back when the password is right (`_password_right`)."""
    failures = LoginFailureRepository(session)
    window = timedelta(minutes=settings.login_failure_window_minutes)
    await failures.purge_older_than(window)
    await failures.take_turn(client.ip_address)
    attempt = await failures.record(email=email, ip_address=client.ip_address)
    limits = (
        (email, settings.login_max_failures),
        (None, settings.login_max_failures_per_ip),
    )
    for limited_email, limit in limits:
        # Blocked when `limit` earlier failures are in the window: this attempt is one more.
        until = await failures.blocked_until(
            email=limited_email,
            ip_address=client.ip_address,
            limit=limit + 1,
            window=window,
            up_to=attempt,
        )
        if until is not None and until > _now():
            await failures.forget(attempt)
            await session.commit()
            retry_after = max(1, math.ceil((until - _now()).total_seconds()))
            raise AppError(
                f"Too many failed sign-in attempts; retry in {retry_after} seconds",
                code=ErrorCode.AUTH_TOO_MANY_ATTEMPTS,
                extensions={"retryAfter": retry_after},
            )
    await session.commit()  # the attempt counts from now on, for everyone
    return attempt


async def _password_right(
    session: AsyncSession, attempt: int, *, email: str, client: ClientInfo, sign_in: bool
) -> None:
    """The password was right: the attempt is no failure (a sign-in also clears this email's
    failures from this address). Committed at once, so whatever fails later in the
    mutation (a taken email, an inactive account) doesn't count as a wrong password."""
    failures = LoginFailureRepository(session)
    if sign_in:
        await failures.clear(email=email, ip_address=client.ip_address)
    else:
        await failures.forget(attempt)
    await session.commit()


async def refresh(
    session: AsyncSession, settings: Settings, *, refresh_token: str, client: ClientInfo
) -> AuthSession:
    tokens = RefreshTokenRepository(session)
    stored = await tokens.lock_by_hash(hash_refresh_token(refresh_token))
    now = _now()
    if stored is None:
        raise InvalidToken("Invalid refresh token", field="refreshToken")
    if stored.revoked_at is not None:
        if stored.replaced_by_id is not None:
            # A token that was already rotated is back: someone holds a copy. End the whole
            # session for both holders, and keep that revocation despite the error.
            await tokens.revoke_family(stored.family_id, now)
            await session.commit()
        raise InvalidToken("Refresh token has been revoked", field="refreshToken")
    if stored.expires_at <= now:
        raise InvalidToken("Refresh token has expired; sign in again", field="refreshToken")

    user = await UserRepository(session).get_by_id(stored.user_id)
    if user is None or not user.is_active:
        raise _inactive()
    auth, new_id = await _start_session(session, settings, user, client, family_id=stored.family_id)
    stored.revoked_at = now
    stored.replaced_by_id = new_id
    return auth


async def logout(session: AsyncSession, *, refresh_token: str) -> bool:
    """End the session the token belongs to; False when it was unknown or already ended."""
    tokens = RefreshTokenRepository(session)
    stored = await tokens.lock_by_hash(hash_refresh_token(refresh_token))
    if stored is None or stored.revoked_at is not None:
        return False
    await tokens.revoke_family(stored.family_id, _now())
    return True


async def logout_all(session: AsyncSession, *, viewer: Viewer) -> None:
    await RefreshTokenRepository(session).revoke_all_of_user(viewer.id, _now())


async def authenticate(session: AsyncSession, settings: Settings, token: str) -> Viewer:
    """The viewer an access token stands for. The user and the session are read (HTTP
    requests remember the answer briefly, `app.users.access`), so a deactivated account or
    an ended session stops working at once, not when the token expires."""
    viewer, _ = await authenticate_until(session, settings, token)
    return viewer


async def authenticate_until(
    session: AsyncSession, settings: Settings, token: str
) -> tuple[Viewer, float]:
    """`authenticate`, and when the token expires (epoch seconds)."""
    claims = decode_access_token(settings, token)
    user, session_open = await UserRepository(session).get_with_session(
        claims.user_id, claims.session_id
    )
    if user is None or not session_open:
        # Signed out (logout, logoutAll, a password change, a stolen refresh token
        # detected): the access tokens of that session stop working at once.
        raise InvalidToken("This session has ended; sign in again")
    if not user.is_active:
        raise _inactive()
    viewer = Viewer(
        id=user.id,
        role=user.role,
        session_id=claims.session_id,
        email_verified=user.email_verified_at is not None,
    )
    assert claims.expires_at is not None
    return viewer, claims.expires_at.timestamp()


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await UserRepository(session).get_by_id(user_id)
    if user is None:
        raise InvalidToken()
    return user


async def get_users(session: AsyncSession, user_ids: Sequence[int]) -> Sequence[User]:
    return await UserRepository(session).list_by_ids(user_ids) if user_ids else []


async def _check_password(
    session: AsyncSession,
    settings: Settings,
    user: User,
    password: str,
    *,
    field: str,
    client: ClientInfo,
) -> None:
    """Verify the current password, throttled like sign-ins: a stolen access token must not
    become a way to guess the password."""
    attempt = await _start_attempt(session, settings, email=user.email, client=client)
    matches, _ = await password_hasher(settings).verify(password, user.password_hash)
    if not matches:  # the attempt stays recorded as a failure
        raise AuthenticationError(
            "Current password is incorrect", code=ErrorCode.AUTH_INVALID_CREDENTIALS, field=field
        )
    await _password_right(session, attempt, email=user.email, client=client, sign_in=False)


async def update_me(
    session: AsyncSession,
    settings: Settings,
    *,
    viewer: Viewer,
    data: UpdateMeData,
    client: ClientInfo,
) -> User:
    """A new name applies at once. A new email doesn't: a link goes to the new address, and
    the change applies when it is followed (`verify_email`)."""
    users = UserRepository(session)
    user = await get_user(session, viewer.id)
    if data.email is not None and data.email != user.email:
        if data.current_password is None:
            raise AuthenticationError(
                "Changing the email needs the current password",
                code=ErrorCode.AUTH_INVALID_CREDENTIALS,
                field="input.currentPassword",
            )
        await _check_password(
            session,
            settings,
            user,
            data.current_password,
            field="input.currentPassword",
            client=client,
        )
        if await users.get_by_email(data.email) is not None:
            raise _email_taken()
        await _throttle(session, settings, TokenPurpose.CHANGE_EMAIL, data.email, client)
        seed = await _issue_token(session, settings, user, TokenPurpose.CHANGE_EMAIL, data.email)
        await mail.to_address(
            session,
            Template.CONFIRM_EMAIL_CHANGE,
            to=data.email,
            name=data.full_name or user.full_name,
            context={"new_email": data.email},
            links={"confirm": sealed(links.VERIFY_EMAIL, seed)},
        )
    if data.full_name is not None:
        user.full_name = data.full_name
        await users.flush()
    return user


async def change_password(
    session: AsyncSession,
    settings: Settings,
    *,
    viewer: Viewer,
    data: ChangePasswordData,
    client: ClientInfo,
) -> None:
    user = await get_user(session, viewer.id)
    if data.new_password.strip().lower() == user.email:  # the policy `RegisterData` applies
        raise ValidationFailed("must not be the email address", field="input.newPassword")
    await _check_password(
        session, settings, user, data.current_password, field="input.currentPassword", client=client
    )
    user.password_hash = await password_hasher(settings).hash(data.new_password)
    # Whoever else holds a session (perhaps the reason for the change) is signed out.
    await RefreshTokenRepository(session).revoke_all_of_user(
        user.id, _now(), except_family=viewer.session_id
    )
    await _password_changed(session, user)


# -- email: verification, password reset, the new address of an email change --------------


def ensure_may_order(settings: Settings, viewer: Viewer) -> None:
    """REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: orders (checkout, prebook) need a verified
    address."""
    if settings.require_verified_email_for_checkout and not viewer.email_verified:
        raise AppError(
            "Confirm your email address first: follow the link we sent you, or ask for a new "
            "one with resendVerificationEmail",
            code=ErrorCode.ACCOUNT_EMAIL_NOT_VERIFIED,
        )


def _token_invalid(field: str = "token") -> AppError:
    return AppError(
        "This link is invalid: it was used or replaced, or has expired. Ask for a new one",
        code=ErrorCode.ACCOUNT_TOKEN_INVALID,
        field=field,
    )


async def _issue_token(
    session: AsyncSession, settings: Settings, user: User, purpose: TokenPurpose, email: str
) -> str:
    """A new token (the user's earlier ones of `purpose` stop working); the seed its link
    is made from."""
    seed = links.new_seed()
    await AccountTokenRepository(session).issue(
        user_id=user.id,
        purpose=purpose,
        email=email,
        token_hash=links.token_hash(links.sealed_token(settings, seed)),
        lifetime=TOKEN_LIFETIMES[purpose],
    )
    return seed


async def _send_verification(session: AsyncSession, settings: Settings, user: User) -> None:
    seed = await _issue_token(session, settings, user, TokenPurpose.VERIFY_EMAIL, user.email)
    await mail.to_user(
        session,
        Template.VERIFY_EMAIL,
        user_id=user.id,
        links={"verify": sealed(links.VERIFY_EMAIL, seed)},
    )


async def _password_changed(session: AsyncSession, user: User) -> None:
    await mail.to_user(
        session,
        Template.PASSWORD_CHANGED,
        user_id=user.id,
        links={"reset": page(links.RESET_PASSWORD)},
    )


async def _throttle(
    session: AsyncSession,
    settings: Settings,
    purpose: TokenPurpose,
    email: str,
    client: ClientInfo,
    *,
    silent: bool = False,
) -> bool:
    """Count a request for an account email: at most EMAIL_REQUEST_LIMIT of a kind to one
    address, and EMAIL_REQUEST_LIMIT_PER_IP of any kind from one client address, per
    window. Beyond, ACCOUNT_TOO_MANY_EMAILS, or (`silent`) False: nothing may be sent. A
    refused request isn't counted, so insisting doesn't extend the wait."""
    requests = EmailRequestRepository(session)
    window = timedelta(minutes=settings.email_request_window_minutes)
    await requests.purge_older_than(window)
    await requests.take_turn(client.ip_address, email)
    request = await requests.record(purpose=purpose, email=email, ip_address=client.ip_address)
    blocked = (
        # This kind of email to this address, then any kind asked for from this client.
        await requests.blocked_until(
            purpose=purpose, email=email, limit=settings.email_request_limit + 1, window=window
        ),
        await requests.blocked_until(
            ip_address=client.ip_address,
            limit=settings.email_request_limit_per_ip + 1,
            window=window,
        ),
    )
    for until in blocked:
        if until is not None and until > _now():
            await requests.forget(request)
            if silent:
                return False
            retry_after = max(1, math.ceil((until - _now()).total_seconds()))
            raise AppError(
                f"Too many emails asked for; retry in {retry_after} seconds",
                code=ErrorCode.ACCOUNT_TOO_MANY_EMAILS,
                extensions={"retryAfter": retry_after},
            )
    return True


async def resend_verification(
    session: AsyncSession, settings: Settings, *, viewer: Viewer, client: ClientInfo
) -> bool:
    """A new verification link (the earlier ones stop working); False when the address is
    verified already (nothing is sent)."""
    user = await get_user(session, viewer.id)
    if user.email_verified_at is not None:
        return False
    await _throttle(session, settings, TokenPurpose.VERIFY_EMAIL, user.email, client)
    await _send_verification(session, settings, user)
    return True


async def verify_email(session: AsyncSession, settings: Settings, *, token: str) -> User:
    """Follow a verification link (the account's address is verified) or the link of an
    email change (the new address becomes the account's, verified; the old one is told)."""
    tokens = AccountTokenRepository(session)
    purposes = (TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL)
    found = await tokens.lock_live(links.token_hash(token), purposes)
    if found is None:
        raise _token_invalid()
    users = UserRepository(session)
    user = await get_user(session, found.user_id)
    if found.purpose is TokenPurpose.VERIFY_EMAIL:
        if found.email != user.email:  # sent to an address the account no longer has
            raise _token_invalid()
        await tokens.spend(found)
    else:
        old_email = user.email
        if not await users.change_email(user, found.email):
            raise ConflictError(
                "Another account has taken this email address meanwhile",
                code=ErrorCode.USER_EMAIL_TAKEN,
                field="token",
            )
        await tokens.spend(found, TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL)
        await mail.to_address(
            session,
            Template.EMAIL_CHANGED,
            to=old_email,
            name=user.full_name,
            context={"new_email": user.email},
        )
    if found.purpose is TokenPurpose.CHANGE_EMAIL or user.email_verified_at is None:
        user.email_verified_at = _now()
    await users.flush()
    return user


async def request_password_reset(
    session: AsyncSession, settings: Settings, *, email: str, client: ClientInfo
) -> None:
    """Queue a reset link if `email` is an active account's. Whether it is stays hidden:
    the same statements run either way (the account is looked up by the statement that
    issues the token and queues the email), and the caller answers true either way."""
    if not await _throttle(
        session, settings, TokenPurpose.RESET_PASSWORD, email, client, silent=True
    ):
        return
    seed = links.new_seed()
    recipient = AccountTokenRepository(session).issue_to_account_of(
        email,
        purpose=TokenPurpose.RESET_PASSWORD,
        token_hash=links.token_hash(links.sealed_token(settings, seed)),
        lifetime=TOKEN_LIFETIMES[TokenPurpose.RESET_PASSWORD],
    )
    lifetime = TOKEN_LIFETIMES[TokenPurpose.RESET_PASSWORD]
    await mail.from_rows(
        session,
        Template.PASSWORD_RESET,
        recipient,
        context={"valid_minutes": int(lifetime.total_seconds() // 60)},
        links={"reset": sealed(links.RESET_PASSWORD, seed)},
    )


async def reset_password(
    session: AsyncSession, settings: Settings, *, data: ResetPasswordData
) -> None:
    """Set a new password with a reset link's token: every session ends, and the address
    counts as verified (the link reached it)."""
    tokens = AccountTokenRepository(session)
    found = await tokens.lock_live(links.token_hash(data.token), [TokenPurpose.RESET_PASSWORD])
    if found is None:
        raise _token_invalid("input.token")
    user = await get_user(session, found.user_id)
    if not user.is_active:
        raise _inactive()
    if data.new_password.strip().lower() == user.email:  # the policy `RegisterData` applies
        raise ValidationFailed("must not be the email address", field="input.newPassword")
    user.password_hash = await password_hasher(settings).hash(data.new_password)
    if user.email_verified_at is None and found.email == user.email:
        user.email_verified_at = _now()
    await tokens.spend(found)
    await RefreshTokenRepository(session).revoke_all_of_user(user.id, _now())
    await _password_changed(session, user)


async def pending_emails(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, str]:
    return await AccountTokenRepository(session).pending_emails(user_ids) if user_ids else {}


class AdminOutcome(StrEnum):
    """What `create_or_promote_admin` did."""

    CREATED = "created"
    PROMOTED = "promoted"  # was a customer
    REACTIVATED = "reactivated"  # was a deactivated admin
    ALREADY_ADMIN = "already_admin"  # was an active admin: only the password changed


async def create_or_promote_admin(
    session: AsyncSession, settings: Settings, *, data: NewAdminInput
) -> tuple[User, AdminOutcome]:
    """The admin, and what was done to get it (every existing account gets the new password)."""
    users = UserRepository(session)
    existing = await users.get_by_email(data.email)
    password_hash = await password_hasher(settings).hash(data.password)
    if existing is not None:
        if existing.role is not UserRole.ADMIN:
            outcome = AdminOutcome.PROMOTED
        elif not existing.is_active:
            outcome = AdminOutcome.REACTIVATED
        else:
            outcome = AdminOutcome.ALREADY_ADMIN
        existing.role = UserRole.ADMIN
        existing.is_active = True
        existing.password_hash = password_hash
        # A reset password ends the sessions opened with the old one, as a reset by email does.
        await RefreshTokenRepository(session).revoke_all_of_user(existing.id, _now())
        await users.flush()
        return existing, outcome
    user = await users.insert_unless_email_taken(
        email=data.email, full_name=data.full_name, password_hash=password_hash, role=UserRole.ADMIN
    )
    if user is None:
        raise _email_taken()
    return user, AdminOutcome.CREATED
