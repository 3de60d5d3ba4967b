"""Queue emails: each is an outbox row inserted in the caller's transaction, so an email
goes out if, and only if, what caused it commits. One statement per call, however many
recipients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Insert

from app.mail import repository
from app.mail.repository import Rows
from app.mail.schemas import MAIL_TOPIC, Link, Personal, SignedPerRow, Template
from app.outbox import service as outbox


async def to_address(
    session: AsyncSession,
    template: Template,
    *,
    to: str,
    name: str,
    context: dict[str, Any] | None = None,
    links: dict[str, Link] | None = None,
) -> None:
    """An email to an address that is not (yet) an account's (a new email address)."""
    source = repository.to_address(to, name)
    payloads = repository.payloads(template, source, context=context or {}, links=links or {})
    await outbox.add_from(session, MAIL_TOPIC, payloads)


async def to_users(session: AsyncSession, template: Template, messages: Sequence[Personal]) -> None:
    """An email to each user, at their account's address."""
    if messages:
        source = repository.to_users(messages)
        await outbox.add_from(session, MAIL_TOPIC, repository.payloads(template, source))


async def to_user(
    session: AsyncSession,
    template: Template,
    *,
    user_id: int,
    context: dict[str, Any] | None = None,
    links: dict[str, Link] | None = None,
) -> None:
    await to_users(session, template, [Personal(user_id, context or {}, links or {})])


def to_user_in(template: Template, *, user_id: Any, context: Any, links: Any) -> Insert:
    """What `to_user` runs, as a statement to fold into another (a checkout's write): the
    user, the values and the links are SQL expressions of that statement (its parameters,
    its CTEs), so the email is queued in the same statement as its cause."""
    source = repository.to_user_as(user_id, context, links)
    return outbox.insertion(MAIL_TOPIC, repository.payloads(template, source))


async def from_rows(
    session: AsyncSession,
    template: Template,
    source: Rows,
    *,
    context: dict[str, Any] | None = None,
    links: dict[str, Link | SignedPerRow] | None = None,
) -> int:
    """An email per row of `source` (columns `to` and `name`, and `context` and `links`
    unless given here for every row): a whole audience, or a recipient found (or not) by
    the same statement. How many were queued."""
    payloads = repository.payloads(template, source, context=context, links=links)
    return await outbox.add_from(session, MAIL_TOPIC, payloads)
