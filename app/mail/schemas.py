"""What a queued email is: a template, its recipient, its values and its links (the
outbox payload of topic `mail`). Values are JSON: amounts and dates as strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAIL_TOPIC = "mail"


class Template(StrEnum):
    """Every email; each is templates/<value>.txt and templates/<value>.html."""

    VERIFY_EMAIL = "verify_email"
    CONFIRM_EMAIL_CHANGE = "confirm_email_change"
    EMAIL_CHANGED = "email_changed"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - template names
    PASSWORD_CHANGED = "password_changed"  # noqa: S105
    ORDER_PLACED = "order_placed"
    ORDER_SHIPPED = "order_shipped"
    ORDER_CANCELLED = "order_cancelled"
    PREBOOK_FULFILLED = "prebook_fulfilled"
    BACK_IN_STOCK = "back_in_stock"


Link = dict[str, Any]


def page(path: str) -> Link:
    """A plain link to one of the shop's pages."""
    return {"path": path}


def sealed(path: str, seed: str) -> Link:
    """A link carrying the account token of `seed` (see app.mail.links)."""
    return {"path": path, "sealed": seed}


def signed(path: str, purpose: str, claims: dict[str, Any]) -> Link:
    """A link carrying a signed claim (see app.mail.links)."""
    return {"path": path, "signed": {"purpose": purpose, "claims": claims}}


@dataclass(frozen=True, slots=True)
class SignedPerRow:
    """A signed link whose claims differ per recipient: the JSON column `claims` of a
    query's rows (see `app.mail.service.from_rows`)."""

    path: str
    purpose: str
    claims_column: str = "claims"


@dataclass(frozen=True, slots=True)
class Personal:
    """One email to a user: the address and name come from their account."""

    user_id: int
    context: dict[str, Any] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
