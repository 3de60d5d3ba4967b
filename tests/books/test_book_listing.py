"""books(...): keyset pagination both ways, every order, every filter, argument errors."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.books.factory import Catalog, days_from_today
from tests.support import GraphQL, code, data, error

BOOKS = """
query($first: Int, $after: String, $last: Int, $before: String, $filter: BookFilter,
      $orderBy: BookOrder) {
  books(first: $first, after: $after, last: $last, before: $before, filter: $filter,
        orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id title price releaseDate availability } }
  }
}
"""


async def books(gql: GraphQL, token: str | None = None, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = data(await gql(BOOKS, variables, token=token))["books"]
    return result


def titles(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in page["edges"]]


async def test_default_order_is_newest_first(catalog: Catalog, gql: GraphQL) -> None:
    for title in ("First", "Second", "Third"):
        await catalog.book(title)
    page = await books(gql)
    # Created in one transaction here, so created_at ties and the id breaks them.
    assert titles(page) == ["Third", "Second", "First"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("field", "direction", "expected"),
    [
        ("TITLE", "ASC", ["Alpha", "Bravo", "Charlie", "Delta"]),
        ("TITLE", "DESC", ["Delta", "Charlie", "Bravo", "Alpha"]),
        ("PRICE", "ASC", ["Charlie", "Alpha", "Delta", "Bravo"]),
        ("PRICE", "DESC", ["Bravo", "Delta", "Alpha", "Charlie"]),
        ("RELEASE_DATE", "ASC", ["Delta", "Bravo", "Alpha", "Charlie"]),
        ("RELEASE_DATE", "DESC", ["Charlie", "Alpha", "Bravo", "Delta"]),
        ("CREATED_AT", "ASC", ["Bravo", "Delta", "Alpha", "Charlie"]),
        ("CREATED_AT", "DESC", ["Charlie", "Alpha", "Delta", "Bravo"]),
    ],
)
async def test_every_order(
    catalog: Catalog, gql: GraphQL, field: str, direction: str, expected: list[str]
) -> None:
    author = await catalog.author()
    for title, price, days_ago in (
        ("Bravo", "30.00", 300),
        ("Delta", "20.00", 400),
        ("Alpha", "10.00", 200),
        ("Charlie", "5.00", 100),
    ):
        await catalog.book(title, authors=[author], price=price, released_days_ago=days_ago)
    page = await books(gql, orderBy={"field": field, "direction": direction})
    assert titles(page) == expected


async def test_pages_are_stable_with_equal_sort_keys(catalog: Catalog, gql: GraphQL) -> None:
    author = await catalog.author()
    for i in range(7):
        await catalog.book(f"Same price {i}", authors=[author], price="9.99")
    await catalog.book("Cheaper", authors=[author], price="1.00")
    order = {"field": "PRICE", "direction": "ASC"}
    seen: list[str] = []
    after = None
    while True:
        page = await books(gql, first=3, after=after, orderBy=order)
        seen += titles(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert page["edges"][-1]["cursor"] == after
    assert seen[0] == "Cheaper"
    assert sorted(seen[1:]) == [f"Same price {i}" for i in range(7)]
    assert len(seen) == len(set(seen)) == 8


async def test_backwards_with_last_and_before(catalog: Catalog, gql: GraphQL) -> None:
    author = await catalog.author()
    for title in ("A", "B", "C", "D", "E"):
        await catalog.book(title, authors=[author])
    order = {"field": "TITLE", "direction": "ASC"}
    tail = await books(gql, last=2, orderBy=order)
    assert titles(tail) == ["D", "E"]
    assert tail["pageInfo"]["hasPreviousPage"] is True
    assert tail["pageInfo"]["hasNextPage"] is False
    middle = await books(gql, last=2, before=tail["pageInfo"]["startCursor"], orderBy=order)
    assert titles(middle) == ["B", "C"]
    assert middle["pageInfo"]["hasNextPage"] is True
    head = await books(gql, last=2, before=middle["pageInfo"]["startCursor"], orderBy=order)
    assert titles(head) == ["A"]
    assert head["pageInfo"]["hasPreviousPage"] is False
    # Forward from a cursor reached backwards lands on the same rows.
    forward = await books(gql, first=2, after=head["pageInfo"]["endCursor"], orderBy=order)
    assert titles(forward) == ["B", "C"]
    window = await books(
        gql,
        first=10,
        after=head["pageInfo"]["endCursor"],
        before=tail["pageInfo"]["startCursor"],
        orderBy=order,
    )
    assert titles(window) == ["B", "C"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 101}, "first"),
        ({"last": 101}, "last"),
        ({"first": -1}, "first"),
        ({"first": 1, "last": 1}, "last"),
        ({"after": "garbage"}, "after"),
        ({"before": "eyJ4IjoxfQ"}, "before"),
        ({"orderBy": {"field": "RELEVANCE", "direction": "DESC"}}, "orderBy.field"),
        ({"filter": {"minPrice": "10", "maxPrice": "5"}}, "filter"),
        ({"filter": {"minPrice": "-1"}}, "filter.minPrice"),
        ({"filter": {"search": "x" * 201}}, "filter.search"),
        ({"filter": {"genreIds": ["Z2FyYmFnZQ=="]}}, "filter.genreIds.0"),
    ],
)
async def test_bad_arguments(gql: GraphQL, variables: dict[str, Any], field: str) -> None:
    failure = error(await gql(BOOKS, variables))
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == field


async def test_cursor_from_another_order_is_refused(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book()
    cursor = (await books(gql, orderBy={"field": "PRICE", "direction": "ASC"}))["edges"][0][
        "cursor"
    ]
    failure = error(await gql(BOOKS, {"after": cursor}))
    assert failure["extensions"]["field"] == "after"


def forged(name: str, values: str) -> str:
    """A cursor as the server makes them, with any JSON values inside."""
    return base64.urlsafe_b64encode(f'["{name}",{values}]'.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("order", "values"),
    [
        ("TITLE:ASC", '["a\\u0000b", 1]'),  # NUL: PostgreSQL refuses it in text
        ("TITLE:ASC", '["a", 99999999999999999999999]'),  # beyond bigint
        ("PRICE:ASC", '["1e999999", 1]'),  # beyond numeric
        ("PRICE:ASC", '["1e50", 1]'),  # beyond numeric(10, 2), the price's column
        ("PRICE:ASC", '["Infinity", 1]'),
        ("PRICE:ASC", '["NaN", 1]'),
        ("CREATED_AT:DESC", '["not a date", 1]'),
        ("CREATED_AT:DESC", "[]"),
        ("CREATED_AT:DESC", '["0001-01-01T00:00:00+14:00", 1]'),  # before year 1 in UTC
        ("CREATED_AT:DESC", '["9999-12-31T23:59:59-14:00", 1]'),  # after year 9999 in UTC
        ("CREATED_AT:DESC", '["2026-01-01T00:00:00", 1]'),  # no time zone
        ("TITLE:ASC", '["\\ud800", 1]'),  # a lone surrogate: not encodable
        ("RELEVANCE:DESC", f"[{10**400}, 1]"),  # beyond any float
    ],
)
async def test_forged_cursors_are_validation_errors(
    catalog: Catalog, gql: GraphQL, order: str, values: str
) -> None:
    await catalog.book()
    field, direction = order.split(":")
    variables: dict[str, Any] = {"orderBy": {"field": field, "direction": direction}}
    if field == "RELEVANCE":
        variables["filter"] = {"search": "wizard"}
    for argument in ("after", "before"):
        failure = error(await gql(BOOKS, {argument: forged(order, values), **variables}))
        assert failure["extensions"]["code"] == "VALIDATION_ERROR", failure
        assert failure["extensions"]["field"] == argument
    author_cursor = forged("NAME:ASC", '["\\u0000", 1]')
    refused = error(
        await gql("query($a: String) { authors(after: $a) { totalCount } }", {"a": author_cursor})
    )
    assert refused["extensions"]["code"] == "VALIDATION_ERROR"


async def test_first_zero_and_hundred(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book()
    empty = await books(gql, first=0)
    assert empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is True
    assert len((await books(gql, first=100))["edges"]) == 1


async def test_filters(
    catalog: Catalog, gql: GraphQL, admin_token: str, customer_token: str
) -> None:
    le_guin, herbert = (
        await catalog.author("Ursula K. Le Guin"),
        await catalog.author("Frank Herbert"),
    )
    fantasy, scifi = await catalog.genre("Fantasy"), await catalog.genre("Science Fiction")
    await catalog.book("Earthsea", authors=[le_guin], genres=[fantasy], price="12.00", stock=50)
    await catalog.book(
        "Dispossessed",
        authors=[le_guin],
        genres=[scifi],
        price="15.00",
        stock=3,
        released_days_ago=2000,
    )
    await catalog.book("Dune", authors=[herbert], genres=[scifi], price="25.00", stock=0)
    await catalog.book(
        "Dune Messiah",
        authors=[herbert],
        genres=[scifi, fantasy],
        price="30.00",
        stock=0,
        released_days_ago=-30,
    )
    archived = await catalog.book("Withdrawn", authors=[herbert], price="1.00")
    await catalog.archive(archived["id"])
    order = {"field": "TITLE", "direction": "ASC"}

    async def matching(token: str | None = None, **filters: Any) -> list[str]:
        return titles(await books(gql, token=token, filter=filters, orderBy=order))

    assert await matching() == ["Dispossessed", "Dune", "Dune Messiah", "Earthsea"]
    assert await matching(authorId=le_guin) == ["Dispossessed", "Earthsea"]
    assert await matching(genreIds=[fantasy]) == ["Dune Messiah", "Earthsea"]
    assert await matching(genreIds=[fantasy, scifi]) == [
        "Dispossessed",
        "Dune",
        "Dune Messiah",
        "Earthsea",
    ]
    assert await matching(minPrice="15.00") == ["Dispossessed", "Dune", "Dune Messiah"]
    assert await matching(maxPrice="15") == ["Dispossessed", "Earthsea"]
    assert await matching(minPrice="13", maxPrice="26") == ["Dispossessed", "Dune"]
    assert await matching(inStock=True) == ["Dispossessed", "Earthsea"]
    assert await matching(inStock=False) == ["Dune", "Dune Messiah"]
    assert await matching(availability=["LOW_STOCK"]) == ["Dispossessed"]
    assert await matching(availability=["OUT_OF_STOCK", "PREORDER"]) == ["Dune", "Dune Messiah"]
    assert await matching(availability=["PREORDER"], inStock=True) == []
    assert await matching(releasedAfter=days_from_today(-400)) == [
        "Dune",
        "Dune Messiah",
        "Earthsea",
    ]
    assert await matching(releasedBefore=days_from_today(-365)) == [
        "Dispossessed",
        "Dune",
        "Earthsea",
    ]
    assert await matching(authorId=herbert, inStock=False, maxPrice="26") == ["Dune"]
    with_archived = await matching(admin_token, includeArchived=True)
    assert "Withdrawn" in with_archived
    # Searching too (the exact-match step of typo-tolerant search once skipped archived books)
    by_herbert = await matching(admin_token, includeArchived=True, search="herbert")
    assert by_herbert == ["Dune", "Dune Messiah", "Withdrawn"]
    assert await matching(admin_token, search="herbert") == ["Dune", "Dune Messiah"]
    forbidden = error(await gql(BOOKS, {"filter": {"includeArchived": True}}, token=customer_token))
    assert forbidden["extensions"]["code"] == "AUTH_FORBIDDEN"
    assert code(await gql(BOOKS, {"filter": {"includeArchived": True}})) == "AUTH_FORBIDDEN"


async def test_total_count_follows_filters(catalog: Catalog, gql: GraphQL) -> None:
    author = await catalog.author()
    for price in ("5.00", "10.00", "20.00"):
        await catalog.book(authors=[author], price=price)
    page = await books(gql, first=1, filter={"minPrice": "6"})
    assert page["totalCount"] == 2
    assert len(page["edges"]) == 1
