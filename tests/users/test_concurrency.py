"""Races on real connections with real commits."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import PASSWORD, REGISTER, GraphQL, unique_email

pytestmark = pytest.mark.committing


async def test_concurrent_registrations_of_one_email_make_one_account(gql: GraphQL) -> None:
    email = unique_email("race")
    variables = {"input": {"email": email, "password": PASSWORD, "fullName": "Racer"}}
    results = await asyncio.gather(*(gql(REGISTER, variables) for _ in range(10)))
    winners = [r for r in results if "errors" not in r]
    losers = [r["errors"][0]["extensions"]["code"] for r in results if "errors" in r]
    assert len(winners) == 1
    assert losers == ["USER_EMAIL_TAKEN"] * 9
