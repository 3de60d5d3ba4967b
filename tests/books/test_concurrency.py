"""Catalog writes racing on real connections: the unique constraints decide, and the loser
gets the same error code as a sequential conflict, never a 500."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from tests.books.factory import Catalog, new_isbn13
from tests.support import GraphQL

pytestmark = pytest.mark.committing

UPDATE_ISBN = (
    "mutation($id: ID!, $isbn: String!) { updateBook(id: $id, input: {isbn13: $isbn}) { id } }"
)
CREATE_GENRE = "mutation($i: CreateGenreInput!) { createGenre(input: $i) { id } }"
_round = itertools.count()


def outcome(result: dict) -> str:
    return result["errors"][0]["extensions"]["code"] if "errors" in result else "OK"


async def test_racing_updates_to_one_isbn(catalog: Catalog, gql: GraphQL, admin_token: str) -> None:
    books = [await catalog.book(f"Rival {i}") for i in range(4)]
    for _ in range(5):
        isbn = new_isbn13()
        results = await asyncio.gather(
            *(
                gql(UPDATE_ISBN, {"id": book["id"], "isbn": isbn}, token=admin_token)
                for book in books
            )
        )
        assert Counter(map(outcome, results)) == {"OK": 1, "BOOK_ISBN_TAKEN": 3}
        refused = next(r for r in results if "errors" in r)
        assert refused["errors"][0]["extensions"]["field"] == "input.isbn13"


@pytest.mark.parametrize("which", ["name", "slug"])
async def test_racing_genre_creations(gql: GraphQL, admin_token: str, which: str) -> None:
    for _ in range(5):
        n = next(_round)
        inputs = [
            {"name": f"Race {n}", "slug": f"race-{n}-{i}"}
            if which == "name"
            else {"name": f"Race {n} {i}", "slug": f"race-{n}"}
            for i in range(4)
        ]
        results = await asyncio.gather(
            *(gql(CREATE_GENRE, {"i": values}, token=admin_token) for values in inputs)
        )
        taken = "GENRE_NAME_TAKEN" if which == "name" else "GENRE_SLUG_TAKEN"
        assert Counter(map(outcome, results)) == {"OK": 1, taken: 3}
