"""Forged cursors of the review lists and of the RATING order: VALIDATION_ERROR naming the
argument, never a database error. The server binds a cursor's values as the sort keys' own
types, so a value beyond a smallint (a review's rating), an integer (helpful counts) or a
numeric(3, 2) (a book's average) must be refused before it reaches PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.books.factory import Catalog
from tests.reviews.support import written
from tests.support import GraphQL, error, register

BOOK_REVIEWS = """query($id: ID!, $after: String, $before: String, $order: ReviewOrder) {
  book(id: $id) { reviews(after: $after, before: $before, orderBy: $order) { totalCount } } }"""
ADMIN_REVIEWS = """query($after: String, $before: String) {
  reviews(after: $after, before: $before) { totalCount } }"""
BOOKS = """query($after: String, $before: String, $d: SortDirection!) {
  books(after: $after, before: $before, orderBy: {field: RATING, direction: $d}) {
    totalCount } }"""


def forged(name: str, values: list[Any]) -> str:
    """A cursor as the server makes them, with any values inside."""
    payload = json.dumps([name, values]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    ("order", "values"),
    [
        ("HIGHEST:DESC", [40_000, 1]),  # beyond a smallint (the rating's column)
        ("HIGHEST:ASC", [2**40, 1]),
        ("LOWEST:DESC", [-40_000, 1]),
        ("MOST_HELPFUL:DESC", [1, 2**40, 1]),  # beyond an integer (helpful counts)
        ("MOST_HELPFUL:ASC", [2**40, 0, 1]),
        ("NEWEST:DESC", ["2026-01-01T00:00:00+00:00", 2**64]),  # beyond bigint
    ],
)
async def test_forged_cursors_of_a_books_reviews(
    catalog: Catalog, gql: GraphQL, order: str, values: list[Any]
) -> None:
    book = await catalog.book()
    await written(gql, (await register(gql))["accessToken"], book["id"])
    field, direction = order.split(":")
    for argument in ("after", "before"):
        variables = {
            "id": book["id"],
            argument: forged(order, values),
            "order": {"field": field, "direction": direction},
        }
        failure = error(await gql(BOOK_REVIEWS, variables))
        assert failure["extensions"]["code"] == "VALIDATION_ERROR", failure
        assert failure["extensions"]["field"] == argument


@pytest.mark.parametrize(
    "values",
    [
        ["2026-01-01T00:00:00+00:00", 2**64],
        ["2026-01-01T00:00:00", 1],  # no time zone
        ["not a date", 1],
        [1],
    ],
)
async def test_forged_cursors_of_the_moderators_list(
    gql: GraphQL, admin_token: str, values: list[Any]
) -> None:
    for argument in ("after", "before"):
        result = await gql(
            ADMIN_REVIEWS, {argument: forged("NEWEST:DESC", values)}, token=admin_token
        )
        failure = error(result)
        assert failure["extensions"]["code"] == "VALIDATION_ERROR", failure
        assert failure["extensions"]["field"] == argument


@pytest.mark.parametrize(
    "values",
    [
        ["10", 1, 1],  # beyond numeric(3, 2), the average's column
        ["9.999", 1, 1],  # rounds to 10.00: beyond it too
        ["-10", 1, 1],
        ["1e50", 1, 1],
        ["3.5", 2**40, 1],  # beyond an integer (the review count)
    ],
)
async def test_forged_cursors_of_the_rating_order(
    catalog: Catalog, gql: GraphQL, values: list[Any]
) -> None:
    await catalog.book()
    for direction in ("DESC", "ASC"):
        for argument in ("after", "before"):
            variables = {argument: forged(f"RATING:{direction}", values), "d": direction}
            failure = error(await gql(BOOKS, variables))
            assert failure["extensions"]["code"] == "VALIDATION_ERROR", failure
            assert failure["extensions"]["field"] == argument
