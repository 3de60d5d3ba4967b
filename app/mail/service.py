"""Queue emails: each is an outbox row inserted in the caller's transaction, so an email
goes out if, and only if, what caused it commits. One statement per call, however many
recipients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import statements
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


def order_placed_in(*, orders: str, user_id: str, values: str) -> str:
    """The ORDER_PLACED email as `to_user` would queue it, as SQL text to embed in the
    statement that records the order (a checkout's write): `orders` names that statement's
    CTE of the new order, `user_id` and `values` its named parameters (`:name`; see
    `repository.to_user_about_new_order`)."""
    source = repository.to_user_about_new_order(orders=orders, user_id=user_id, values=values)
    insertion = outbox.insertion(MAIL_TOPIC, repository.payloads(Template.ORDER_PLACED, source))
    return statements.literal_sql(insertion)


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
