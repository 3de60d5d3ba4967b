"""The links emails carry, and the tokens in them.

Links point at the shop's pages (PUBLIC_URL + one of the paths below); each page calls the
mutation named beside it. Two kinds of token ride in them, both made with SECRET_KEY:

* sealed: an account token (verification, password reset, email change) is HMAC(SECRET_KEY,
  seed) of a random seed that only the outbox row holds, and the database keeps only the
  token's SHA-256. Neither is the token: a copy of the database alone opens nothing.
* signed: a claim (which back-in-stock alert to turn off) with its HMAC, checked without
  any database row, so the link works without signing in and never expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlencode

from app.core.config import Settings

# The storefront pages the links open, and the mutation each page calls.
VERIFY_EMAIL = "/verify-email"  # verifyEmail(token:): a new account's address, or a new one
RESET_PASSWORD = "/reset-password"  # noqa: S105 - a path; resetPassword(input: {token, newPassword})
UNSUBSCRIBE = "/unsubscribe"  # unsubscribe(token:): stop a back-in-stock alert
ORDER = "/orders/{id}"  # an order's page (global ID)
BOOK = "/books/{id}"  # a book's page (global ID)

TOKEN_MAX_LENGTH = 256
_SEALED = b"bookstore email link token:"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, message: bytes) -> bytes:
    return hmac.new(settings.secret_key.get_secret_value().encode(), message, "sha256").digest()


def new_seed() -> str:
    """256 random bits, for `sealed_token`."""
    return secrets.token_urlsafe(32)


def sealed_token(settings: Settings, seed: str) -> str:
    """The token a seed stands for (43 URL-safe characters)."""
    return _b64(_mac(settings, _SEALED + seed.encode()))


def token_hash(token: str) -> str:
    """What the database keeps of an account token: its SHA-256 (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def signed_token(settings: Settings, purpose: str, claims: dict[str, Any]) -> str:
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64(_mac(settings, f'{purpose}.{body}'.encode()))}"


def read_signed(settings: Settings, purpose: str, token: str) -> dict[str, Any] | None:
    """The claims of a token `signed_token` made for `purpose`; None for anything else."""
    body, _, signature = token.partition(".")
    try:
        expected = _b64(_mac(settings, f"{purpose}.{body}".encode()))
        if not hmac.compare_digest(signature, expected):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def link(settings: Settings, path: str, **query: str) -> str:
    """An absolute link to one of the shop's pages."""
    return settings.link_base + path + (f"?{urlencode(query)}" if query else "")
