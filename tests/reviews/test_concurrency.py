"""Review writes racing on real connections: each book's rating summary stays equal to a
recount of its published reviews, whatever interleaves; one review per reader, one vote
per reader, whoever gets there first."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from app.db.session import Database
from app.graphql.ids import parse_global_id
from tests.books.factory import Catalog
from tests.reviews.support import (
    DELETE,
    HELPFUL,
    MODERATE,
    UPDATE,
    stored_and_recounted,
    summary,
    write,
)
from tests.support import GraphQL, data, register

pytestmark = pytest.mark.committing

WRITERS = 50


def outcome(result: dict[str, Any]) -> str:
    return result["errors"][0]["extensions"]["code"] if "errors" in result else "OK"


def pk(global_id: str) -> int:
    parsed = parse_global_id(global_id)
    assert parsed is not None
    return int(parsed[1])


async def test_fifty_concurrent_writers_on_one_book(
    catalog: Catalog, gql: GraphQL, admin_token: str, database: Database
) -> None:
    book = await catalog.book("Much discussed")
    tokens = [(await register(gql, full_name=f"Reader {i}"))["accessToken"] for i in range(WRITERS)]
    ratings = [i % 5 + 1 for i in range(WRITERS)]
    results = await asyncio.gather(
        *(
            write(gql, token, book["id"], rating)
            for token, rating in zip(tokens, ratings, strict=True)
        )
    )
    assert Counter(map(outcome, results)) == {"OK": WRITERS}
    ids = [result["data"]["writeReview"]["id"] for result in results]
    stored, average, recounted, recounted_average = await stored_and_recounted(
        database, pk(book["id"])
    )
    assert stored == recounted == [10, 10, 10, 10, 10]
    assert average == recounted_average

    # Then everything at once: rating changes, deletions, moderation, more writes and votes.
    newcomers = [(await register(gql))["accessToken"] for _ in range(10)]
    changes = [
        *(
            gql(UPDATE, {"id": ids[i], "i": {"rating": 5 - i % 5}}, token=tokens[i])
            for i in range(20)
        ),
        *(gql(DELETE, {"id": ids[i]}, token=tokens[i]) for i in range(20, 30)),
        *(gql(MODERATE, {"id": ids[i], "s": "HIDDEN"}, token=admin_token) for i in range(25, 40)),
        *(write(gql, token, book["id"], 1) for token in newcomers),
        *(gql(HELPFUL, {"id": ids[45], "h": True}, token=token) for token in tokens[:20]),
    ]
    outcomes = Counter(map(outcome, await asyncio.gather(*changes)))
    # A moderation of a review deleted first finds nothing; no other error, never a 500.
    assert set(outcomes) <= {"OK", "REVIEW_NOT_FOUND"}
    assert outcomes["REVIEW_NOT_FOUND"] <= 5
    stored, average, recounted, recounted_average = await stored_and_recounted(
        database, pk(book["id"])
    )
    assert stored == recounted
    assert average == recounted_average
    public = await summary(gql, book["id"])
    assert public["histogram"] == recounted
    assert public["count"] == sum(recounted)
    voted = "query($id: ID!) { node(id: $id) { ... on Review { helpfulCount } } }"
    assert data(await gql(voted, {"id": ids[45]}))["node"]["helpfulCount"] == 20


async def test_one_reader_racing_themselves(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    book = await catalog.book("Twice")
    token = (await register(gql))["accessToken"]
    results = await asyncio.gather(*(write(gql, token, book["id"], 5) for _ in range(8)))
    assert Counter(map(outcome, results)) == {"OK": 1, "REVIEW_ALREADY_EXISTS": 7}
    review = next(r for r in results if "errors" not in r)["data"]["writeReview"]["id"]
    stored, _, recounted, _ = await stored_and_recounted(database, pk(book["id"]))
    assert stored == recounted == [0, 0, 0, 0, 1]
    voter = (await register(gql))["accessToken"]
    votes = await asyncio.gather(
        *(gql(HELPFUL, {"id": review, "h": True}, token=voter) for _ in range(8))
    )
    assert {vote["data"]["markReviewHelpful"]["helpfulCount"] for vote in votes} == {1}
