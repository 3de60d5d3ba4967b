"""Who may open a socket and for how long: `connection_init`'s token and cart token, the
close codes, the end of a session on every instance, and the limits (per connection, per
user, the initialisation timeout, the keep-alive) and the document limits of HTTP."""

from __future__ import annotations

import asyncio
import math
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.core.security import decode_access_token
from app.db.session import Database
from tests.realtime.conftest import LIMITS, Servers
from tests.support import GraphQL, data, new_guest_cart, register
from tests.support.ws import signed_in, socket

pytestmark = pytest.mark.committing

ORDERS = "subscription { orderUpdated { id status } }"
NOTHING = "subscription { bookAvailabilityChanged(bookIds: []) { quantityAvailable } }"
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) }"


def token_expiring(settings: Settings, token: str, seconds: int) -> str:
    """A token of the same user and session as `token`, expiring in `seconds` or up to a
    second later: `exp` is a whole second (rounded down, it would leave a token "of 1 s"
    anywhere between 0 and 1 s)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    now = datetime.now(UTC)
    claims.update(exp=math.ceil(now.timestamp()) + seconds, iat=now, nbf=now)
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer not-a-token"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": 42},
        {"cartToken": "no-such-cart"},
    ],
)
async def test_a_refused_token_closes_with_4403(
    servers: Servers, payload: dict[str, object]
) -> None:
    async with socket(servers.a) as client:
        await client.send({"type": "connection_init", "payload": payload})
        closed = await client.closed()
        assert closed.code == 4403
        assert "not-a-token" not in closed.reason and "no-such-cart" not in closed.reason


async def test_an_expired_token_closes_with_4401(
    servers: Servers, api: GraphQL, settings: Settings
) -> None:
    token = (await register(api))["accessToken"]
    async with socket(servers.a) as client:
        expired = token_expiring(settings, token, -60)
        await client.send(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {expired}"}}
        )
        closed = await client.closed()
        assert (closed.code, closed.reason) == (4401, "Unauthorized: the access token expired")


async def test_the_socket_closes_with_4401_when_its_token_expires(
    servers: Servers, api: GraphQL, settings: Settings
) -> None:
    token = (await register(api))["accessToken"]
    # Time enough to sign in and subscribe on a loaded machine before the token expires
    # (that takes milliseconds unloaded); then the socket closes on its own.
    async with signed_in(servers.b, token_expiring(settings, token, 2)) as client:
        await client.listen(ORDERS)
        closed = await client.closed()
        assert (closed.code, closed.reason) == (4401, "Unauthorized: the access token expired")


async def test_logout_ends_that_sessions_sockets_on_every_instance(
    servers: Servers, api: GraphQL
) -> None:
    payload = await register(api)
    email = payload["user"]["email"]
    other = data(
        await api(
            "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
            {"i": {"email": email, "password": "correct horse battery"}},
        )
    )["login"]["accessToken"]
    token = payload["accessToken"]
    async with (
        signed_in(servers.a, token) as on_a,
        signed_in(servers.b, token) as on_b,
        signed_in(servers.b, other) as other_session,
    ):
        for client in (on_a, on_b, other_session):
            await client.listen(ORDERS)
        assert data(await api(LOGOUT, {"token": payload["refreshToken"]})) == {"logout": True}
        for client in (on_a, on_b):
            closed = await client.closed()
            assert (closed.code, closed.reason) == (4403, "Forbidden: the session has ended")
        # The user's other session goes on: its socket still takes messages.
        await other_session.listen(ORDERS)


async def test_a_deactivated_account_loses_its_sockets(
    servers: Servers, api: GraphQL, database: Database
) -> None:
    """Deactivation has no mutation (an operator's update): whatever writes it, the
    account's sockets close."""
    payload = await register(api)
    async with signed_in(servers.b, payload["accessToken"]) as client:
        await client.listen(ORDERS)
        async with database.engine.begin() as connection:
            await connection.execute(
                text("UPDATE users SET is_active = false WHERE email = :email"),
                {"email": payload["user"]["email"]},
            )
        closed = await client.closed()
        assert (closed.code, closed.reason) == (4403, "Forbidden: the session has ended")


async def test_too_many_subscriptions_on_one_socket_close_with_4429(servers: Servers) -> None:
    limit = int(LIMITS["WS_MAX_SUBSCRIPTIONS_PER_CONNECTION"])
    query = "subscription($ids: [ID!]!) { bookAvailabilityChanged(bookIds: $ids) { book { id } } }"
    async with signed_in(servers.a) as client:
        for _ in range(limit):
            await client.listen(query, {"ids": ["Qm9vazox"]})
        await client.subscribe(query, {"ids": ["Qm9vazox"]})
        closed = await client.closed()
        assert (closed.code, closed.reason) == (4429, "Too many subscriptions on this connection")


async def test_too_many_sockets_of_one_user_close_with_4429(servers: Servers, api: GraphQL) -> None:
    limit = int(LIMITS["WS_MAX_CONNECTIONS_PER_USER"])
    token = (await register(api))["accessToken"]
    async with AsyncExitStack() as stack:
        for _ in range(limit):
            await stack.enter_async_context(signed_in(servers.a, token))
        async with socket(servers.a) as one_more:
            await one_more.send(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            )
            closed = await one_more.closed()
            assert (closed.code, closed.reason) == (4429, "Too many connections of this user")
        # Per worker: the other instance still takes one.
        async with signed_in(servers.b, token) as elsewhere:
            await elsewhere.listen(ORDERS)


async def test_a_socket_that_never_initialises_is_closed_with_4408(servers: Servers) -> None:
    async with socket(servers.a) as client:
        closed = await client.closed()
        assert (closed.code, closed.reason) == (4408, "Connection initialisation timeout")


async def test_the_server_pings_and_closes_a_client_that_never_answers(servers: Servers) -> None:
    async with socket(servers.a, answer_pings=False) as silent:
        assert await silent.init() == {"type": "connection_ack"}
        closed = await silent.closed()
        assert (closed.code, closed.reason) == (4408, "Keep-alive timeout")
        assert silent.pings >= 1
    async with signed_in(servers.a) as polite:  # answers: still open after several pings
        while polite.pings < 3:  # noqa: ASYNC110 - waiting for the server's pings
            await asyncio.sleep(0.1)
        await polite.listen(NOTHING)


async def test_protocol_errors_close_with_their_codes(servers: Servers) -> None:
    async with socket(servers.a) as client:  # subscribe before connection_init
        await client.subscribe(ORDERS)
        assert (await client.closed()).code == 4401
    async with signed_in(servers.a) as client:
        await client.send({"type": "connection_init", "payload": {}})
        assert (await client.closed()).code == 4429
    async with socket(servers.a, subprotocols=["graphql-ws"]) as client:  # the legacy one
        assert (await client.closed()).code == 4406


@pytest.mark.parametrize(
    "raw",
    [
        "[1, 2]",
        "42",
        "null",
        '"subscribe"',
        '{"type": "' + "hostile" * 40 + '"}',
        '{"id": ["1"], "type": "subscribe", "payload": {"query": "' + ORDERS + '"}}',
        '{"id": "1", "type": "subscribe", "payload": "' + ORDERS + '"}',
        '{"id": "1", "type": "subscribe", "payload": null}',
        '{"id": {"a": 1}, "type": "complete"}',
    ],
)
async def test_messages_of_the_wrong_shape_close_with_4400_and_echo_nothing(
    servers: Servers, raw: str
) -> None:
    async with signed_in(servers.a) as client:
        await client.connection.send(raw)
        closed = await client.closed()
        assert closed.code == 4400, closed
        assert "hostile" not in closed.reason and "order" not in closed.reason


async def test_a_message_larger_than_an_http_body_closes_the_socket(
    servers: Servers, settings: Settings
) -> None:
    """HTTP's MAX_REQUEST_BODY_BYTES holds for WebSocket messages too (variables are not
    bounded by the document's token limit)."""
    query = "subscription($ids: [ID!]!) { bookAvailabilityChanged(bookIds: $ids) { book { id } } }"
    ids = ["Qm9vazox"] * (settings.max_request_body_bytes // 10)
    async with signed_in(servers.a) as client:
        await client.subscribe(query, {"ids": ids})
        assert (await client.closed()).code == 1009
    async with signed_in(servers.a) as client:  # the server is fine
        await client.listen(NOTHING)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ apiInfo { version } }", "BAD_REQUEST"),
        ("mutation { logoutAll }", "BAD_REQUEST"),
        ("subscription { orderUpdated { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { orderUpdated { id ", "GRAPHQL_PARSE_FAILED"),
        (
            "subscription { orderUpdated { " + " ".join(f"a{i}: id" for i in range(31)) + " } }",
            "QUERY_TOO_COMPLEX",
        ),
        (
            "subscription { cartUpdated { items { book { authors { books { edges { node {"
            " genres { books { edges { node { authors { books { edges { node { id"
            " } } } } } } } } } } } } } } } }",
            "QUERY_TOO_COMPLEX",
        ),
        (
            "subscription { cartUpdated { items { book { authors {"
            " books(first: 100) { edges { node { authors { books(first: 100) { edges { node {"
            " id } } } } } } } } } } } }",
            "QUERY_TOO_COMPLEX",
        ),
    ],
)
async def test_subscription_documents_meet_the_limits_of_http(
    servers: Servers, query: str, expected: str
) -> None:
    async with signed_in(servers.a) as client:
        refused = await client.subscribe(query)
        errors = await client.error(refused)
        assert errors[0]["extensions"]["code"] == expected
        await client.listen(NOTHING)


async def test_at_most_100_books_per_subscription(servers: Servers) -> None:
    query = "subscription($ids: [ID!]!) { bookAvailabilityChanged(bookIds: $ids) { book { id } } }"
    async with signed_in(servers.a) as client:
        refused = await client.subscribe(query, {"ids": ["Qm9vazox"] * 101})
        [error] = await client.error(refused)
        assert error["extensions"] == {
            **error["extensions"],
            "code": "VALIDATION_ERROR",
            "field": "bookIds",
        }
        refused = await client.subscribe(query, {"ids": ["nonsense"]})
        [error] = await client.error(refused)
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "VALIDATION_ERROR",
            "bookIds",
        )
        assert "nonsense" not in error["message"]


async def test_a_guest_cart_token_opens_a_socket(servers: Servers, api: GraphQL) -> None:
    guest = await new_guest_cart(api)
    async with signed_in(servers.b, cartToken=guest) as client:
        await client.listen("subscription { cartUpdated { id } }")


def test_the_expiry_of_the_token_is_read(settings: Settings) -> None:
    token = jwt.encode(
        {
            "sub": "1",
            "exp": datetime.now(UTC) + timedelta(minutes=1),
            "iat": datetime.now(UTC),
            "nbf": datetime.now(UTC),
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "jti": "x",
            "type": "access",
        },
        settings.secret_key.get_secret_value(),
        algorithm="HS256",
    )
    expires_at = decode_access_token(settings, token).expires_at
    assert expires_at is not None and expires_at > datetime.now(UTC)


async def test_the_payload_may_carry_http_headers_as_graphiql_sends_them(
    servers: Servers, api: GraphQL
) -> None:
    """GraphiQL sends its Headers tab as `connection_init`'s payload."""
    token = (await register(api))["accessToken"]
    guest = await new_guest_cart(api)
    for payload in ({"Authorization": f"Bearer {token}"}, {"X-Cart-Token": guest}):
        async with signed_in(servers.a, **payload) as client:
            await client.listen("subscription { cartUpdated { id } }")
