"""Access tokens checked once per worker (`app.users.access`): a session ended on one
server ends its access tokens on the other at once, though that one had them cached."""

from __future__ import annotations

from tests.support import GraphQL, code, data, login, register

ME = "{ me { email } }"
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) }"
REFRESH = "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken } }"


async def _cached(api: GraphQL, token: str) -> None:
    """Checked on that server (twice: the second answer is the cache's)."""
    for _ in range(2):
        assert "errors" not in await api(ME, token=token)


async def test_a_logout_on_one_server_ends_the_token_on_the_other_at_once(
    api: GraphQL, api_b: GraphQL
) -> None:
    first = await register(api)
    second = data(await login(api, first["user"]["email"]))["login"]
    for token in (first["accessToken"], second["accessToken"]):
        await _cached(api_b, token)
        await _cached(api, token)

    assert data(await api(LOGOUT, {"token": first["refreshToken"]})) == {"logout": True}
    assert code(await api_b(ME, token=first["accessToken"])) == "AUTH_INVALID_TOKEN"
    assert code(await api(ME, token=first["accessToken"])) == "AUTH_INVALID_TOKEN"
    await _cached(api_b, second["accessToken"])  # the other session goes on

    assert data(await api("mutation { logoutAll }", token=second["accessToken"])) == {
        "logoutAll": True
    }
    assert code(await api_b(ME, token=second["accessToken"])) == "AUTH_INVALID_TOKEN"


async def test_refresh_token_reuse_on_one_server_ends_the_session_on_the_other(
    api: GraphQL, api_b: GraphQL
) -> None:
    first = await register(api)
    rotated = data(await api(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    await _cached(api_b, rotated["accessToken"])
    await _cached(api_b, first["accessToken"])  # the same session, still open

    await api(REFRESH, {"token": first["refreshToken"]})  # the old token again: theft
    for token in (rotated["accessToken"], first["accessToken"]):
        assert code(await api_b(ME, token=token)) == "AUTH_INVALID_TOKEN"
