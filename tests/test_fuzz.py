"""Property-based fuzzing: operations generated from schema.graphql (hypothesis-graphql),
anonymous and as a customer. Whatever arrives, the API answers without a 5xx, without an
INTERNAL_SERVER_ERROR, and with a known error code on every error.

FUZZ_EXAMPLES sets the number of examples per test (default 40, a few seconds in CI; run a
larger campaign with e.g. FUZZ_EXAMPLES=2000).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from app.cli.tools import SCHEMA_FILE
from app.core.errors import ErrorCode

# Real pooled connections: a request that ends early (a non-null field failed) lets its
# other resolvers finish in the background, which the single shared connection of a
# rolled-back test would see as concurrent use. In production each request has its own.
pytestmark = pytest.mark.committing

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
SCHEMA = graphql.build_schema(SCHEMA_FILE.read_text())
KNOWN_CODES = {code.value for code in ErrorCode}


def string_node(value: object) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=str(value))


SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Decimal": st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2), st.text(max_size=12)
    ).map(string_node),
    # The whole calendar, and offsets that take a moment past year 1 or 9999 in UTC.
    "Date": st.one_of(st.dates().map(date.isoformat), st.text(max_size=12)).map(string_node),
    "DateTime": st.one_of(
        st.datetimes().map(datetime.isoformat),
        st.builds(
            lambda moment, minutes: moment.replace(
                tzinfo=timezone(timedelta(minutes=minutes))
            ).isoformat(),
            st.datetimes(),
            st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
        ),
        st.text(max_size=12),
    ).map(string_node),
}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def post(http: httpx.AsyncClient, query: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code < 500, (query, response.text)
    body: dict[str, Any] = response.json()
    for failure in body.get("errors", []):
        assert failure["extensions"]["code"] in KNOWN_CODES, (query, failure)
        assert failure["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (query, failure)
    return body


@FUZZ
@given(query=queries(SCHEMA, custom_scalars=SCALARS))
async def test_any_query_anonymously(http: httpx.AsyncClient, query: str) -> None:
    await post(http, query)


@FUZZ
@given(query=queries(SCHEMA, custom_scalars=SCALARS))
async def test_any_query_as_a_customer(
    http: httpx.AsyncClient, customer_token: str, query: str
) -> None:
    await post(http, query, customer_token)


@FUZZ
@given(mutation=mutations(SCHEMA, custom_scalars=SCALARS))
async def test_any_mutation_anonymously(http: httpx.AsyncClient, mutation: str) -> None:
    await post(http, mutation)


@FUZZ
@given(mutation=mutations(SCHEMA, custom_scalars=SCALARS))
async def test_any_mutation_as_a_customer(
    http: httpx.AsyncClient, customer_token: str, mutation: str
) -> None:
    await post(http, mutation, customer_token)


# Operations taking one variable `$v` of each kind of input.
ONE_VARIABLE = [
    "mutation($v: LoginInput!) { login(input: $v) { accessToken } }",
    "mutation($v: RegisterInput!) { register(input: $v) { accessToken } }",
    "mutation($v: UpdateMeInput!) { updateMe(input: $v) { id } }",
    "mutation($v: CheckoutInput!) { checkout(input: $v) { id } }",
    "query($v: BookFilter) { books(filter: $v) { totalCount } }",
    "query($v: BookOrder) { books(orderBy: $v) { totalCount } }",
    "query($v: Int) { books(first: $v) { totalCount } }",
    "query($v: String) { books(after: $v) { totalCount } }",
    "query($v: [ID!]!) { nodes(ids: $v) { id } }",
    "query($v: OrderFilter) { orders(filter: $v) { totalCount } }",
    "mutation($v: WriteReviewInput!) { writeReview(input: $v) { id } }",
    'query($v: ReviewOrder) { book(id: "Qm9vazox") { reviews(orderBy: $v) { totalCount } } }',
]
# Sent values are marked so that a message can't contain one by coincidence (the field
# names and types it may quote are never marked).
SENT_TEXT = st.text(min_size=1, max_size=30).map(lambda text: f"⟦{text}⟧")
SENT_NUMBER = st.one_of(
    st.integers(min_value=2**31, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**31) - 1),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: len(repr(x)) >= 8),
)
FIELD_NAMES = st.sampled_from(
    ["email", "password", "fullName", "search", "genreIds", "field", "direction", "country",
     "shippingAddress", "idempotencyKey", "createdAfter", "minPrice", "role", "isActive",
     "bookId", "rating", "title", "body", "minRating"]
)  # fmt: skip
SENT_VALUES = st.recursive(
    st.one_of(SENT_TEXT, SENT_NUMBER, st.booleans(), st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(FIELD_NAMES, children, max_size=5)
    ),
    max_leaves=12,
)


def sent_leaves(value: Any) -> list[str]:
    """The marked texts and the long numbers of a sent value (not its keys)."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in sent_leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in sent_leaves(item)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [repr(value), str(value)]
    return []


@FUZZ
@given(operation=st.sampled_from(ONE_VARIABLE), value=SENT_VALUES)
async def test_no_error_message_quotes_a_sent_value(
    http: httpx.AsyncClient, customer_token: str, operation: str, value: Any
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": operation, "variables": {"v": value}},
        headers={"Authorization": f"Bearer {customer_token}"},
    )
    assert response.status_code < 500, (operation, response.text)
    for failure in response.json().get("errors", []):
        messages = [failure["message"]]
        messages += [problem["msg"] for problem in failure["extensions"].get("errors", [])]
        for leaf in sent_leaves(value):
            assert not any(leaf in message for message in messages), (operation, value, failure)


HOSTILE = ["a\u0000b", "\u0000", "x\u001bz", "\u202e" * 3, "ü" * 300]
ADDRESS_TEMPLATE = {
    "fullName": "A",
    "line1": "B",
    "city": "C",
    "postalCode": "1",
    "country": "DE",
}


def hostile_operations(value: str) -> list[tuple[str, dict[str, Any], str]]:
    """(operation, variables, who) with `value` in one string input at a time."""
    address = "AddressInput!"
    return [
        (
            "mutation($v: String!) { login(input: {email: $v, password: $v}) { accessToken } }",
            {"v": value},
            "anonymous",
        ),
        (
            'mutation($v: String!) { register(input: {email: $v, password: "a long password", '
            "fullName: $v}) { accessToken } }",
            {"v": value},
            "anonymous",
        ),
        (
            "mutation($v: String!) { refreshToken(refreshToken: $v) { accessToken } }",
            {"v": value},
            "anonymous",
        ),
        ("mutation($v: String!) { logout(refreshToken: $v) }", {"v": value}, "customer"),
        (
            "query($v: String!) { books(filter: {search: $v}) { totalCount } }",
            {"v": value},
            "anonymous",
        ),
        (
            "query($v: String!) { authors(filter: {search: $v}) { totalCount } }",
            {"v": value},
            "anonymous",
        ),
        ("query($v: String!) { bookByIsbn(isbn: $v) { id } }", {"v": value}, "anonymous"),
        ("query($v: String!) { genre(slug: $v) { id } }", {"v": value}, "anonymous"),
        ("query($v: String!) { books(after: $v) { totalCount } }", {"v": value}, "anonymous"),
        (
            "mutation($v: String!) { updateMe(input: {fullName: $v, email: $v, "
            "currentPassword: $v}) { id } }",
            {"v": value},
            "customer",
        ),
        (
            f"mutation($v: String!, $a: {address}) {{ checkout(input: {{idempotencyKey: $v, "
            "shippingAddress: $a}) { id } }",
            {"v": value, "a": ADDRESS_TEMPLATE},
            "customer",
        ),
        *(
            (
                f'mutation($a: {address}) {{ checkout(input: {{idempotencyKey: "key-12345", '
                "shippingAddress: $a}) { id } }",
                {"a": {**ADDRESS_TEMPLATE, part: value}},
                "customer",
            )
            for part in ADDRESS_TEMPLATE
        ),
        (
            'mutation($v: String!) { writeReview(input: {bookId: "Qm9vazox", rating: 3, '
            "title: $v, body: $v}) { id } }",
            {"v": value},
            "customer",
        ),
        (
            "mutation($v: String!) { createAuthor(input: {name: $v, bio: $v}) { id } }",
            {"v": value},
            "admin",
        ),
        (
            "mutation($v: String!) { createGenre(input: {name: $v, slug: $v, description: $v}) "
            "{ id } }",
            {"v": value},
            "admin",
        ),
        (
            'mutation($v: String!) { createBook(input: {title: $v, isbn13: "9780306406157", '
            'price: "1.00", releaseDate: "2020-01-01", authorIds: [], subtitle: $v, '
            "description: $v, language: $v, publisher: $v, coverUrl: $v}) { id } }",
            {"v": value},
            "admin",
        ),
    ]


@pytest.mark.parametrize("value", HOSTILE, ids=["nul-inside", "nul", "escape", "rtl", "long"])
async def test_hostile_strings_in_every_string_input(
    http: httpx.AsyncClient, customer_token: str, admin_token: str, value: str
) -> None:
    """NUL (which PostgreSQL refuses in text), escapes, bidi overrides and long text in
    each string input: a clear error or an answer, never a 500."""
    tokens = {"anonymous": None, "customer": customer_token, "admin": admin_token}
    for operation, variables, who in hostile_operations(value):
        headers = {"Authorization": f"Bearer {tokens[who]}"} if tokens[who] else {}
        response = await http.post(
            "/graphql", json={"query": operation, "variables": variables}, headers=headers
        )
        assert response.status_code < 500, (operation, response.text)
        for failure in response.json().get("errors", []):
            assert failure["extensions"]["code"] in KNOWN_CODES - {"INTERNAL_SERVER_ERROR"}, (
                operation,
                failure,
            )
