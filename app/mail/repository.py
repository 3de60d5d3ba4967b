"""The SQL that turns rows into email payloads (the outbox stores them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    Text,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import ColumnElement, Select

from app.mail import links as pages
from app.mail.schemas import Link, Personal, SignedPerRow, Template
from app.users.models import User

# A select of recipients: any columns (which ones, each function says).
Rows = Select[*tuple[Any, ...]]


def json_value(value: Any) -> Any:
    """A JSON parameter, typed JSONB for PostgreSQL."""
    return cast(literal(value, JSONB), JSONB)


def payloads(
    template: Template,
    source: Rows,
    *,
    context: dict[str, Any] | None = None,
    links: Mapping[str, Link | SignedPerRow] | None = None,
) -> Select[Any]:
    """One payload per row of `source`, whose columns are labelled `to` and `name`, and
    `context` and `links` (JSONB) unless the same are given here for every row (a link
    signed per row takes its claims from a column of `source`)."""
    rows = source.subquery("recipients")
    if links is None:
        link_values: Any = rows.c.links
    else:
        link_values = func.jsonb_build_object(
            *(item for name, spec in links.items() for item in (name, _link(spec, rows)))
        )
    return select(
        func.jsonb_build_object(
            "template",
            literal(template.value, String),
            "to",
            rows.c.to,
            "name",
            rows.c.name,
            "context",
            rows.c.context if context is None else json_value(context),
            "links",
            link_values,
        )
    )


def _link(spec: Link | SignedPerRow, rows: Any) -> Any:
    if not isinstance(spec, SignedPerRow):
        return json_value(spec)
    signed = func.jsonb_build_object(
        "purpose", literal(spec.purpose, String), "claims", rows.c[spec.claims_column]
    )
    return func.jsonb_build_object("path", literal(spec.path, String), "signed", signed)


def to_address(to: str, name: str) -> Rows:
    return select(literal(to, String).label("to"), literal(name, String).label("name"))


def to_user_as(user_id: Any, context: Any, links: Any) -> Rows:
    """The user's address and name with what they are sent, all three SQL expressions (of
    a statement that embeds this one)."""
    return select(
        User.email.label("to"),
        User.full_name.label("name"),
        context.label("context"),
        links.label("links"),
    ).where(User.id == user_id)


def to_users(messages: Sequence[Personal]) -> Rows:
    """The users' addresses and names, joined to what each is sent."""
    personal = values(
        column("user_id", BigInteger), column("context", JSONB), column("links", JSONB), name="m"
    ).data([(m.user_id, m.context, m.links) for m in messages])
    return select(
        User.email.label("to"),
        User.full_name.label("name"),
        personal.c.context.label("context"),
        personal.c.links.label("links"),
    ).join(personal, personal.c.user_id == User.id)


def to_user_about_new_order(*, orders: str, user_id: str, values: str) -> Rows:
    """`to_user_as` for an order a statement records and emails about at once: `orders`
    names its CTE of the new order (column `id`), `user_id` and `values` its named
    parameters (the user; JSON text of all the email shows but the order's number, as
    `app.inventory.service.order_email` gives it). The number and the order's link (as
    `order_email` makes it) come from the CTE."""
    placed = table(orders, column("id", BigInteger))
    before, after = pages.ORDER.split("{id}")
    number = func.jsonb_build_object("number", placed.c.id, type_=JSONB)
    context = func.jsonb_build_object(
        "order", number.op("||")(literal_column(f":{values}::text::jsonb")), type_=JSONB
    )
    path = literal(before) + encode_id_sql("Order", placed.c.id) + literal(after)
    link = func.jsonb_build_object("order", func.jsonb_build_object("path", path), type_=JSONB)
    return to_user_as(literal_column(f":{user_id}"), context, link)


def encode_id_sql(type_name: str, node_id: ColumnElement[int]) -> ColumnElement[str]:
    """`app.graphql.ids.encode_id` in SQL, for an id known only inside a statement (a row it
    inserts). PostgreSQL's base64 is the standard alphabet with padding, as `b2a_base64`;
    it breaks lines only past 76 characters, which no "Type:id" here comes near."""
    raw = func.convert_to(literal(f"{type_name}:") + cast(node_id, Text), literal("UTF8"))
    return func.encode(raw, literal("base64"))
