"""Access-token verification (attacks included), refresh rotation, logout."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from app.core.config import Settings
from tests.support import PASSWORD, GraphQL, code, data, error, login, register

ME = "{ me { email } }"
REFRESH = """
mutation($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken user { email } }
}
"""
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) }"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "sub": "1",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": "x",
        "type": "access",
    }
    values.update(overrides)
    return values


def forge(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


async def user_id_of(gql: GraphQL) -> tuple[str, str]:
    payload = await register(gql)
    token = payload["accessToken"]
    sub = jwt.decode(token, options={"verify_signature": False})["sub"]
    return token, sub


async def test_valid_token_works(gql: GraphQL) -> None:
    token, _ = await user_id_of(gql)
    assert data(await gql(ME, token=token))["me"]["email"]


async def test_no_token_is_anonymous(gql: GraphQL) -> None:
    assert await gql(ME) == {"data": {"me": None}}


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "other_key",
        "rs_hs_confusion",
        "wrong_audience",
        "wrong_issuer",
        "refresh_type",
        "tampered_payload",
        "missing_jti",
        "garbage",
        "not_bearer",
    ],
)
async def test_token_attacks_are_invalid_token(
    gql: GraphQL, settings: Settings, attack: str
) -> None:
    token, sub = await user_id_of(gql)
    key = settings.secret_key.get_secret_value()
    good = claims(settings, sub=sub)
    headers: dict[str, str] = {}
    match attack:
        case "alg_none":
            forged = forge({"alg": "none", "typ": "JWT"}, good, None)
        case "other_key":
            forged = jwt.encode(good, "another-secret-key-of-sufficient-length-123", "HS256")
        case "rs_hs_confusion":
            forged = forge({"alg": "RS256", "typ": "JWT"}, good, key.encode())
        case "wrong_audience":
            forged = jwt.encode({**good, "aud": "someone-else"}, key, "HS256")
        case "wrong_issuer":
            forged = jwt.encode({**good, "iss": "evil"}, key, "HS256")
        case "refresh_type":
            forged = jwt.encode({**good, "type": "refresh"}, key, "HS256")
        case "tampered_payload":
            head, _, signature = token.split(".")
            forged = f"{head}.{b64(json.dumps({**good, 'sub': '999999'}).encode())}.{signature}"
        case "missing_jti":
            forged = jwt.encode({k: v for k, v in good.items() if k != "jti"}, key, "HS256")
        case "garbage":
            forged = "not.a.jwt"
        case "not_bearer":
            forged = ""
            headers = {"Authorization": f"Basic {token}"}
    result = await gql(ME, token=forged or None, headers=headers)
    assert code(result) == "AUTH_INVALID_TOKEN"


async def test_expired_token_says_expired(gql: GraphQL, settings: Settings) -> None:
    _, sub = await user_id_of(gql)
    past = int(time.time()) - 3600
    expired = jwt.encode(
        claims(settings, sub=sub, iat=past - 600, nbf=past - 600, exp=past),
        settings.secret_key.get_secret_value(),
        "HS256",
    )
    assert code(await gql(ME, token=expired)) == "AUTH_TOKEN_EXPIRED"


async def test_refresh_token_is_not_an_access_token(gql: GraphQL) -> None:
    payload = await register(gql)
    assert code(await gql(ME, token=payload["refreshToken"])) == "AUTH_INVALID_TOKEN"


async def test_bad_token_on_public_field_is_anonymous(gql: GraphQL) -> None:
    result = await gql("{ apiInfo { version } }", token="garbage")
    assert "errors" not in result


async def test_refresh_rotates_and_reuse_revokes_the_family(gql: GraphQL) -> None:
    first = (await register(gql))["refreshToken"]
    rotated = data(await gql(REFRESH, {"token": first}))["refreshToken"]["refreshToken"]
    assert rotated != first
    third = data(await gql(REFRESH, {"token": rotated}))["refreshToken"]["refreshToken"]

    # The first token comes back (stolen copy?): refused, and the whole session ends.
    reuse = error(await gql(REFRESH, {"token": first}))
    assert reuse["extensions"]["code"] == "AUTH_INVALID_TOKEN"
    assert code(await gql(REFRESH, {"token": third})) == "AUTH_INVALID_TOKEN"


async def test_refresh_with_unknown_or_oversized_token(gql: GraphQL) -> None:
    unknown = error(await gql(REFRESH, {"token": "nope"}))
    assert unknown["extensions"] == {"code": "AUTH_INVALID_TOKEN", "field": "refreshToken"}
    oversized = error(await gql(REFRESH, {"token": "x" * 1000}))
    assert oversized["extensions"]["code"] == "VALIDATION_ERROR"
    assert oversized["extensions"]["field"] == "refreshToken"


async def test_new_access_token_from_refresh_works(gql: GraphQL) -> None:
    payload = await register(gql)
    refreshed = data(await gql(REFRESH, {"token": payload["refreshToken"]}))["refreshToken"]
    assert refreshed["user"]["email"] == payload["user"]["email"]
    assert data(await gql(ME, token=refreshed["accessToken"]))["me"]["email"]


async def test_logout_ends_that_session_only(gql: GraphQL) -> None:
    payload = await register(gql)
    email = payload["user"]["email"]
    other = data(await login(gql, email))["login"]
    assert data(await gql(LOGOUT, {"token": payload["refreshToken"]})) == {"logout": True}
    assert data(await gql(LOGOUT, {"token": payload["refreshToken"]})) == {"logout": False}
    assert code(await gql(REFRESH, {"token": payload["refreshToken"]})) == "AUTH_INVALID_TOKEN"
    assert "errors" not in await gql(REFRESH, {"token": other["refreshToken"]})


async def test_logout_all_ends_every_session(gql: GraphQL) -> None:
    payload = await register(gql)
    other = data(await login(gql, payload["user"]["email"]))["login"]
    assert data(await gql("mutation { logoutAll }", token=payload["accessToken"])) == {
        "logoutAll": True
    }
    for token in (payload["refreshToken"], other["refreshToken"]):
        assert code(await gql(REFRESH, {"token": token})) == "AUTH_INVALID_TOKEN"
    assert code(await gql("mutation { logoutAll }")) == "AUTH_REQUIRED"


async def test_access_tokens_end_with_their_session(gql: GraphQL) -> None:
    first = await register(gql)
    email = first["user"]["email"]
    second = data(await login(gql, email))["login"]
    await gql(LOGOUT, {"token": first["refreshToken"]})
    assert code(await gql(ME, token=first["accessToken"])) == "AUTH_INVALID_TOKEN"
    assert "errors" not in await gql(ME, token=second["accessToken"])  # other session lives

    await gql("mutation { logoutAll }", token=second["accessToken"])
    assert code(await gql(ME, token=second["accessToken"])) == "AUTH_INVALID_TOKEN"


async def test_refresh_keeps_the_session_and_reuse_kills_its_access_tokens(gql: GraphQL) -> None:
    first = await register(gql)
    rotated = data(await gql(REFRESH, {"token": first["refreshToken"]}))["refreshToken"]
    assert "errors" not in await gql(ME, token=first["accessToken"])  # same session, still open
    await gql(REFRESH, {"token": first["refreshToken"]})  # the old token again: theft
    assert code(await gql(ME, token=rotated["accessToken"])) == "AUTH_INVALID_TOKEN"


async def test_a_password_change_ends_the_other_sessions_access_tokens_at_once(
    gql: GraphQL,
) -> None:
    current = await register(gql)
    other = data(await login(gql, current["user"]["email"]))["login"]
    change = {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}
    changed = await gql(
        "mutation($i: ChangePasswordInput!) { changePassword(input: $i) }",
        {"i": change},
        token=current["accessToken"],
    )
    assert data(changed) == {"changePassword": True}
    assert code(await gql(ME, token=other["accessToken"])) == "AUTH_INVALID_TOKEN"
    assert "errors" not in await gql(ME, token=current["accessToken"])  # the caller's goes on
