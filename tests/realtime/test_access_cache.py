"""Access tokens checked once per worker (`app.users.access`): a session ended on one
server ends its access tokens on the other as soon as that one hears the notice, though it
had them cached (30 s by default: well past these tests' waits)."""

from __future__ import annotations

import asyncio

from tests.support import GraphQL, code, data, login, register

# NOTIFY reaches the other server a few milliseconds after the revoking commit, not
# before its answer: a loaded machine may still serve one request from the cache.
NOTICE_DELIVERY_SECONDS = 5.0

ME = "{ me { email } }"
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) }"
REFRESH = "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken } }"


async def _cached(api: GraphQL, token: str, query: str = ME) -> None:
    """Checked on that server (twice: the second answer is the cache's)."""
    for _ in range(2):
        assert "errors" not in await api(query, token=token)


async def _rejected(api: GraphQL, token: str, query: str = ME) -> None:
    """The token is refused, at the latest once the notice has been delivered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + NOTICE_DELIVERY_SECONDS
    for _ in range(int(NOTICE_DELIVERY_SECONDS * 100)):
        result = await api(query, token=token)
        if "errors" in result or loop.time() >= deadline:
            break
        await asyncio.sleep(0.01)
    assert code(result) == "AUTH_INVALID_TOKEN"


async def test_a_logout_on_one_server_ends_the_token_on_the_other(
    api: GraphQL, api_b: GraphQL
) -> None:
    first = await register(api)
    second = data(await login(api, first["user"]["email"]))["login"]
    for token in (first["accessToken"], second["accessToken"]):
        await _cached(api_b, token)
        await _cached(api, token)

    assert data(await api(LOGOUT, {"token": first["refreshToken"]})) == {"logout": True}
    await _rejected(api_b, first["accessToken"])
    await _rejected(api, first["accessToken"])
    await _cached(api_b, second["accessToken"])  # the other session goes on

    assert data(await api("mutation { logoutAll }", token=second["accessToken"])) == {
        "logoutAll": True
    }
    await _rejected(api_b, second["accessToken"])


async def test_refresh_token_reuse_on_one_server_ends_the_session_on_the_other(
    api: GraphQL, api_b: GraphQL
) -> None:
    first = await register(api)
    rotated = data(await api(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    await _cached(api_b, rotated["accessToken"])
    await _cached(api_b, first["accessToken"])  # the same session, still open

    await api(REFRESH, {"token": first["refreshToken"]})  # the old token again: theft
    for token in (rotated["accessToken"], first["accessToken"]):
        await _rejected(api_b, token)


async def test_a_logout_ends_the_token_on_the_fast_path_too(api: GraphQL, api_b: GraphQL) -> None:
    """`cart` is answered by the fast path (`app.graphql.fastpath`), which checks the token
    through the same cache."""
    cart = "{ cart { items { quantity } subtotal } }"
    account = await register(api)
    await _cached(api_b, account["accessToken"], cart)
    assert data(await api(LOGOUT, {"token": account["refreshToken"]})) == {"logout": True}
    await _rejected(api_b, account["accessToken"], cart)
