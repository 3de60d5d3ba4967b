"""Tokens and password hashing.

Access tokens are short-lived HS256 JWTs. Refresh tokens and guest cart tokens are opaque
random strings; only their SHA-256 is stored (they carry 256 bits of entropy, so a slow
hash adds nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import Settings
from app.core.errors import AppError, ErrorCode

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "nbf", "iss", "aud", "jti", "type"]
# Tolerated clock difference between the issuing and the verifying instance.
_LEEWAY = timedelta(seconds=5)


class InvalidToken(AppError):
    code = ErrorCode.AUTH_INVALID_TOKEN
    default_message = "Invalid or revoked token"


class TokenExpired(AppError):
    code = ErrorCode.AUTH_TOKEN_EXPIRED
    default_message = "Access token has expired"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID | None
    # When the token stops working (a WebSocket that signed in with it closes then).
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


def create_access_token(
    settings: Settings, *, user_id: int, session_id: uuid.UUID | None
) -> IssuedToken:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "type": ACCESS_TOKEN_TYPE,
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)
    return IssuedToken(token=token, expires_in=int(lifetime.total_seconds()))


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature, algorithm, lifetime, issuer, audience and type; never trusts the
    header's `alg` (only HS256 is accepted, so `none` and RS/HS confusion fail)."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=_LEEWAY,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as error:
        raise TokenExpired() from error
    except jwt.PyJWTError as error:
        raise InvalidToken() from error
    subject = claims["sub"]
    if claims["type"] != ACCESS_TOKEN_TYPE or not isinstance(subject, str) or not subject.isdigit():
        raise InvalidToken()
    session_id = None
    if "sid" in claims:
        try:
            session_id = uuid.UUID(str(claims["sid"]))
        except ValueError as error:
            raise InvalidToken() from error
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return AccessClaims(user_id=int(subject), session_id=session_id, expires_at=expires_at)


def new_opaque_token() -> str:
    """256 random bits, URL-safe (43 characters): a refresh token, a guest cart's token."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """What is stored of an opaque token: its SHA-256 (hex). The token carries 256 bits of
    randomness, so a slow hash would add nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return new_opaque_token()


def hash_refresh_token(token: str) -> str:
    return hash_opaque_token(token)


class PasswordHasher:
    """Argon2id through pwdlib. Hashing takes tens of milliseconds of CPU by design, so it
    runs in a worker thread instead of blocking the event loop."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._hash = PasswordHash((hasher,))

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one uses outdated parameters)."""
        return await asyncio.to_thread(self._hash.verify_and_update, password, password_hash)

    async def burn_time(self, password: str) -> None:
        """Verify against a dummy hash, so an unknown email costs as much time as a wrong
        password and response times don't reveal which emails have accounts."""
        await asyncio.to_thread(self._verify_dummy, password)

    def _verify_dummy(self, password: str) -> None:
        self._hash.verify(password, self._dummy_hash)


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_kib=memory_kib, parallelism=parallelism)


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
