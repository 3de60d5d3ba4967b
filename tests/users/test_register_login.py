"""register and login: happy paths, validation, credentials, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.db.session import Database
from tests.support import (
    LOGIN,
    PASSWORD,
    REGISTER,
    GraphQL,
    client_from,
    code,
    data,
    error,
    login,
    register,
    unique_email,
)

ME = "{ me { id email fullName role createdAt } }"


async def test_register_signs_in_a_customer(gql: GraphQL) -> None:
    email = unique_email()
    payload = await register(gql, email=email.upper(), full_name="  Ada Lovelace ")
    assert payload["tokenType"] == "Bearer"
    assert payload["expiresIn"] == 15 * 60
    assert payload["user"]["email"] == email  # normalised to lower case
    assert payload["user"]["fullName"] == "Ada Lovelace"
    assert payload["user"]["role"] == "CUSTOMER"
    me = data(await gql(ME, token=payload["accessToken"]))["me"]
    assert me == payload["user"]


async def test_register_twice_with_other_case_is_taken(gql: GraphQL) -> None:
    email = unique_email()
    await register(gql, email=email)
    variables = {"input": {"email": email.upper(), "password": PASSWORD, "fullName": "B"}}
    failure = error(await gql(REGISTER, variables))
    assert failure["extensions"]["code"] == "USER_EMAIL_TAKEN"
    assert failure["extensions"]["field"] == "input.email"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "input.email"),
        ({"email": "a" * 250 + "@example.com"}, "input.email"),
        ({"password": "short"}, "input.password"),
        ({"password": "x" * 129}, "input.password"),
        ({"password": "          "}, "input.password"),
        ({"email": "same@example.com", "password": "Same@Example.com"}, "input.password"),
        ({"fullName": "   "}, "input.fullName"),
        ({"fullName": "x" * 201}, "input.fullName"),
        ({"fullName": "Ada\nLovelace"}, "input.fullName"),
    ],
)
async def test_register_validation(gql: GraphQL, changes: dict[str, str], field: str) -> None:
    values = {"email": unique_email(), "password": PASSWORD, "fullName": "Ada", **changes}
    result = await gql(REGISTER, {"input": values})
    failure = error(result)
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == field
    assert failure["extensions"]["errors"][0]["loc"] == field.split(".")
    assert result["data"] == {"register": None}  # only the failing mutation's path


async def test_login_and_wrong_credentials_look_alike(gql: GraphQL) -> None:
    email = unique_email()
    await register(gql, email=email)
    ok = data(await login(gql, email.upper()))["login"]
    assert ok["user"]["email"] == email
    wrong_password = error(await login(gql, email, "not the password"))
    unknown_email = error(await login(gql, unique_email(), PASSWORD))
    assert wrong_password["extensions"] == unknown_email["extensions"]
    assert wrong_password["message"] == unknown_email["message"]
    assert wrong_password["extensions"]["code"] == "AUTH_INVALID_CREDENTIALS"


async def test_login_rehashes_outdated_hash(gql: GraphQL, database: Database) -> None:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    email = unique_email()
    await register(gql, email=email)
    old = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=16, parallelism=1),)).hash(PASSWORD)
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE users SET password_hash = :h WHERE email = :e"), {"h": old, "e": email}
        )
    data(await login(gql, email))
    async with database.sessionmaker() as session:
        stored = await session.scalar(
            text("SELECT password_hash FROM users WHERE email = :e"), {"e": email}
        )
    assert stored != old
    assert "t=1" in stored  # the suite's current parameters


async def test_deactivated_user_cannot_sign_in_and_tokens_stop(
    gql: GraphQL, database: Database
) -> None:
    payload = await register(gql)
    email = payload["user"]["email"]
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE users SET is_active = false WHERE email = :e"), {"e": email}
        )
    assert code(await gql(ME, token=payload["accessToken"])) == "AUTH_USER_INACTIVE"
    assert code(await login(gql, email)) == "AUTH_USER_INACTIVE"


async def test_throttling_locks_email_and_ip_even_with_right_password(
    gql: GraphQL, app: FastAPI
) -> None:
    email = unique_email()
    await register(gql, email=email)
    for _ in range(5):
        assert code(await login(gql, email, "wrong password")) == "AUTH_INVALID_CREDENTIALS"
    locked = error(await login(gql, email, PASSWORD))
    assert locked["extensions"]["code"] == "AUTH_TOO_MANY_ATTEMPTS"
    assert 0 < locked["extensions"]["retryAfter"] <= 15 * 60
    # Another client address is not affected by this counter.
    async with client_from(app, "203.0.113.9") as other:
        assert "errors" not in await login(GraphQL(other), email, PASSWORD)


async def test_throttle_lifts_when_window_passes(gql: GraphQL, database: Database) -> None:
    email = unique_email()
    await register(gql, email=email)
    for _ in range(5):
        await login(gql, email, "wrong password")
    assert code(await login(gql, email)) == "AUTH_TOO_MANY_ATTEMPTS"
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE login_failures SET created_at = created_at - CAST(:age AS interval)"),
            {"age": timedelta(minutes=16)},
        )
    assert "errors" not in await login(gql, email)


async def test_successful_login_clears_the_counter(gql: GraphQL) -> None:
    email = unique_email()
    await register(gql, email=email)
    for _ in range(4):
        await login(gql, email, "wrong password")
    assert "errors" not in await login(gql, email)
    for _ in range(4):
        await login(gql, email, "wrong password")
    assert "errors" not in await login(gql, email)


async def test_ip_wide_limit_stops_spraying_many_emails(gql: GraphQL, app: FastAPI) -> None:
    victim = unique_email("victim")
    await register(gql, email=victim)
    async with client_from(app, "198.51.100.7") as sprayer:
        attacker = GraphQL(sprayer)
        for _ in range(20):
            await attacker(LOGIN, {"input": {"email": unique_email(), "password": "guess"}})
        assert code(await login(attacker, victim)) == "AUTH_TOO_MANY_ATTEMPTS"
    assert "errors" not in await login(gql, victim)  # other addresses are unaffected


async def test_malformed_login_email_is_just_wrong_credentials(gql: GraphQL) -> None:
    assert code(await login(gql, "no at sign")) == "AUTH_INVALID_CREDENTIALS"
    too_long = await gql(LOGIN, {"input": {"email": "a" * 300, "password": "x"}})
    assert error(too_long)["extensions"]["field"] == "input.email"
