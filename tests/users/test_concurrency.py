"""Races on real connections with real commits."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI

from tests.support import (
    PASSWORD,
    REGISTER,
    GraphQL,
    client_from,
    code,
    login,
    register,
    unique_email,
)

pytestmark = pytest.mark.committing


async def test_concurrent_registrations_of_one_email_make_one_account(gql: GraphQL) -> None:
    email = unique_email("race")
    variables = {"input": {"email": email, "password": PASSWORD, "fullName": "Racer"}}
    results = await asyncio.gather(*(gql(REGISTER, variables) for _ in range(10)))
    winners = [r for r in results if "errors" not in r]
    losers = [r["errors"][0]["extensions"]["code"] for r in results if "errors" in r]
    assert len(winners) == 1
    assert losers == ["USER_EMAIL_TAKEN"] * 9


def outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["errors"][0]["extensions"]["code"] if "errors" in r else "OK" for r in results)


async def test_a_burst_of_guesses_gets_no_more_than_the_limit(gql: GraphQL, app: FastAPI) -> None:
    """Thirty wrong passwords at once for one account: the limit (5) holds although every
    request is checked before any has failed."""
    email = unique_email("burst")
    await register(gql, email=email)
    async with client_from(app, "192.0.2.30") as attacker:
        results = await asyncio.gather(
            *(login(GraphQL(attacker), email, f"guess {i}") for i in range(30))
        )
        counted = outcomes(results)
        assert set(counted) <= {"AUTH_INVALID_CREDENTIALS", "AUTH_TOO_MANY_ATTEMPTS"}
        # Guessing on one by one: checked guesses, burst and sequel together, are exactly 5.
        checked = counted["AUTH_INVALID_CREDENTIALS"]
        while code(await login(GraphQL(attacker), email, "one more")) != "AUTH_TOO_MANY_ATTEMPTS":
            checked += 1
        assert checked == 5
        assert code(await login(GraphQL(attacker), email, PASSWORD)) == "AUTH_TOO_MANY_ATTEMPTS"


async def test_a_burst_across_many_accounts_gets_no_more_than_the_address_limit(
    gql: GraphQL, app: FastAPI
) -> None:
    async with client_from(app, "192.0.2.31") as sprayer:
        results = await asyncio.gather(
            *(login(GraphQL(sprayer), unique_email("spray"), "guess") for _ in range(40))
        )
        counted = outcomes(results)
        assert set(counted) <= {"AUTH_INVALID_CREDENTIALS", "AUTH_TOO_MANY_ATTEMPTS"}
        checked = counted["AUTH_INVALID_CREDENTIALS"]
        while code(await login(GraphQL(sprayer), unique_email(), "guess")) == (
            "AUTH_INVALID_CREDENTIALS"
        ):
            checked += 1
        assert checked == 20


async def test_a_burst_of_right_passwords_from_one_address_gets_its_first_arrivals_in(
    gql: GraphQL, app: FastAPI
) -> None:
    """Attempts being checked count against the address limit (20) until they prove right,
    so a burst beyond it refuses only its later arrivals, never everyone."""
    emails = [unique_email("office") for _ in range(30)]
    for email in emails:
        await register(gql, email=email)
    async with client_from(app, "192.0.2.32") as office:
        results = await asyncio.gather(*(login(GraphQL(office), email) for email in emails))
        counted = outcomes(results)
        assert set(counted) <= {"OK", "AUTH_TOO_MANY_ATTEMPTS"}
        assert counted["OK"] >= 20
        # Right passwords leave nothing behind: the address can sign in again at once.
        assert "errors" not in await login(GraphQL(office), emails[0])
