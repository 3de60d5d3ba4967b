"""Facets: each counted under the search and every other filter but not its own, checked
against a brute-force count of the same catalog; computed only when selected."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from app.books import facets as facet_counts
from app.books.facets import PRICE_RANGES
from app.books.models import Book
from app.books.repository import BookCriteria
from app.books.seed import seed_catalog
from app.db import statements
from app.db.session import Database
from tests.support import GraphQL, StatementCounter, data

FACETS = """
query($filter: BookFilter) {
  books(first: 1, filter: $filter) {
    facets {
      isExact
      genres { genre { slug } count }
      availability { availability count }
      languages { language count }
      priceRanges { min max count }
    }
  }
}
"""
EVERY_BOOK = """
query($after: String, $filter: BookFilter) {
  books(first: 100, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { node { price availability language genres { slug } } }
  }
}
"""


async def every_book(
    gql: GraphQL, filters: dict[str, Any], token: str | None = None
) -> list[dict[str, Any]]:
    books: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"after": after, "filter": filters}
        page = data(await gql(EVERY_BOOK, variables, token=token))["books"]
        books += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return books
        after = page["pageInfo"]["endCursor"]


def band(price: str) -> tuple[str, str | None]:
    value = Decimal(price)
    for low, high in PRICE_RANGES:
        if high is None or value < high:
            return str(low), None if high is None else str(high)
    raise AssertionError(price)


def without(filters: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in filters.items() if key not in keys}


async def test_facets_match_a_brute_force_count(database: Database, gql: GraphQL) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=600)
    genres = data(await gql("{ genres { id slug } }"))["genres"]
    filters = {
        "search": "garden",
        "genreIds": [genre["id"] for genre in genres[:6]],
        "availability": ["IN_STOCK"],
        "languages": ["en", "fr"],
        "minPrice": "5",
        "maxPrice": "49.99",
    }
    facets = data(await gql(FACETS, {"filter": filters}))["books"]["facets"]
    assert facets["isExact"] is True

    by_genre = Counter(
        genre["slug"]
        for book in await every_book(gql, without(filters, "genreIds"))
        for genre in book["genres"]
    )
    assert {f["genre"]["slug"]: f["count"] for f in facets["genres"]} == by_genre
    counts = [f["count"] for f in facets["genres"]]
    assert counts == sorted(counts, reverse=True)

    by_availability = Counter(
        book["availability"] for book in await every_book(gql, without(filters, "availability"))
    )
    assert {f["availability"]: f["count"] for f in facets["availability"]} == by_availability
    assert len(by_availability) >= 3  # the other values stay selectable

    by_language = Counter(
        book["language"] for book in await every_book(gql, without(filters, "languages"))
    )
    assert {f["language"]: f["count"] for f in facets["languages"]} == by_language

    by_band = Counter(
        band(book["price"])
        for book in await every_book(gql, without(filters, "minPrice", "maxPrice"))
    )
    assert {(f["min"], f["max"]): f["count"] for f in facets["priceRanges"]} == by_band
    lows = [Decimal(f["min"]) for f in facets["priceRanges"]]
    assert lows == sorted(lows)


async def test_facets_cost_one_statement_and_only_when_selected(
    database: Database, gql: GraphQL, statements: StatementCounter
) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=60)
    statements.statements.clear()
    data(await gql("{ books(first: 5) { edges { node { id } } } }"))
    without_facets = statements.count
    statements.statements.clear()
    result = data(await gql(FACETS, {"filter": {"search": "the garden"}}))
    assert statements.count == without_facets + 1, statements.statements  # with the genres
    assert result["books"]["facets"]["isExact"] is True


async def test_nested_lists_have_facets_of_their_scope(database: Database, gql: GraphQL) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=60)
    query = """{ genres { slug books(first: 1) { totalCount facets {
        genres { genre { slug } count } languages { count } } } } }"""
    for genre in data(await gql(query))["genres"]:
        books = genre["books"]
        own = [f["count"] for f in books["facets"]["genres"] if f["genre"]["slug"] == genre["slug"]]
        assert own == ([books["totalCount"]] if books["totalCount"] else [])
        assert sum(f["count"] for f in books["facets"]["languages"]) == books["totalCount"]


async def newest_author(gql: GraphQL, field: str) -> str:
    """`field` of the first author of the newest book."""
    last = data(
        await gql(
            "{ books(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) "
            f"{{ edges {{ node {{ authors {{ {field} }} }} }} }} }}"
        )
    )
    value: str = last["books"]["edges"][0]["node"]["authors"][0][field]
    return value


async def test_facets_of_a_selective_filter_count_its_books(
    database: Database, gql: GraphQL
) -> None:
    # More books than the facet sample: the sample must be taken among the books the
    # listing's other filters (here an author) allow, or it misses most of them.
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=1_500)
    author = await newest_author(gql, "id")
    for search in (None, "the"):
        filters = {"authorId": author, **({"search": search} if search else {})}
        books = await every_book(gql, filters)
        facets = data(await gql(FACETS, {"filter": filters}))["books"]["facets"]
        assert facets["isExact"] is True
        by_language = Counter(book["language"] for book in books)
        assert {f["language"]: f["count"] for f in facets["languages"]} == by_language
        by_genre = Counter(genre["slug"] for book in books for genre in book["genres"])
        assert {f["genre"]["slug"]: f["count"] for f in facets["genres"]} == by_genre


async def test_facets_beyond_the_window_are_estimated_and_rare_searches_stay_exact(
    database: Database, gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A catalog larger than the facets' popularity window and sample: what a million
    # books are to the real ones, at a size a test can count by brute force.
    monkeypatch.setattr(facet_counts, "FACET_WINDOW", 100)
    monkeypatch.setattr(facet_counts, "FACET_SAMPLE", 100)
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=600)
    # (The seed analyzes the catalog: the window's share is scaled to its size.)
    everything = data(await gql(FACETS, {"filter": {}}))["books"]["facets"]
    assert everything["isExact"] is False
    total = sum(f["count"] for f in everything["languages"])
    assert 400 <= total <= 800  # the window's share scaled to the catalog's ~600 books
    assert {f["language"] for f in everything["languages"]} == {"en", "fr", "de", "es"}

    # A rare match (one author's books) is read whole, though not among the most popular.
    last = data(
        await gql(
            "{ books(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) "
            "{ edges { node { authors { id name } } } } }"
        )
    )
    author = last["books"]["edges"][0]["node"]["authors"][0]
    for filters in ({"authorId": author["id"]}, {"search": author["name"]}):
        facets = data(await gql(FACETS, {"filter": filters}))["books"]["facets"]
        books = await every_book(gql, filters)
        assert facets["isExact"] is True, filters
        by_language = Counter(book["language"] for book in books)
        assert {f["language"]: f["count"] for f in facets["languages"]} == by_language


async def test_facets_under_the_filters_that_are_no_facets_own(
    database: Database, gql: GraphQL
) -> None:
    # Release dates and `inStock` (the availability facet's filter): every facet counts the
    # books the dates allow, and `inStock` narrows every facet but availability.
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=600)
    filters = {
        "releasedAfter": "2000-01-01",
        "releasedBefore": "2024-12-31",
        "inStock": True,
    }
    facets = data(await gql(FACETS, {"filter": filters}))["books"]["facets"]
    assert facets["isExact"] is True
    listed = await every_book(gql, filters)
    assert 0 < len(listed) < 600
    by_language = Counter(book["language"] for book in listed)
    assert {f["language"]: f["count"] for f in facets["languages"]} == by_language
    by_genre = Counter(genre["slug"] for book in listed for genre in book["genres"])
    assert {f["genre"]["slug"]: f["count"] for f in facets["genres"]} == by_genre
    by_availability = Counter(
        book["availability"] for book in await every_book(gql, without(filters, "inStock"))
    )
    assert {f["availability"]: f["count"] for f in facets["availability"]} == by_availability
    assert len(by_availability) >= 3


async def test_a_rare_search_is_told_by_one_bounded_read_of_the_vocabulary(
    database: Database,
    gql: GraphQL,
    statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(facet_counts, "FACET_WINDOW", 100)
    monkeypatch.setattr(facet_counts, "FACET_SAMPLE", 100)
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=600)
    name = await newest_author(gql, "name")
    # The author's words, repeated and as typed: each vocabulary range is read once.
    filters = {"search": f"{name} {name.upper()} {name}"}
    statements.statements.clear()
    facets = data(await gql(FACETS, {"filter": filters}))["books"]["facets"]
    (statement,) = [sql for sql in statements.statements if "facet_walk" in sql]
    assert statement.count("FROM search_terms") == 1, statement
    assert facets["isExact"] is True
    by_language = Counter(book["language"] for book in await every_book(gql, filters))
    assert {f["language"]: f["count"] for f in facets["languages"]} == by_language

    # A word whose prefix starts more vocabulary words than are read is no rare search.
    monkeypatch.setattr(facet_counts, "FACET_PREFIX_TERMS", 1)
    facets = data(await gql(FACETS, {"filter": filters}))["books"]["facets"]
    assert facets["isExact"] is False


async def test_spellings_of_a_stop_word_query_share_one_compiled_statement(
    database: Database, gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=60)
    monkeypatch.setattr(facet_counts, "_prepared", statements.Shapes(2))
    compiled = facet_counts._prepared

    async def facets(search: str) -> dict[str, Any]:
        found: dict[str, Any] = data(await gql(FACETS, {"filter": {"search": search}}))
        return found["books"]["facets"]

    the_of = await facets("the of")
    assert len(compiled) == 1
    assert await facets("  The   OF ") == the_of  # the same words: the same statement
    assert len(compiled) == 1
    (the_of_shape,) = compiled
    await facets("garden")
    await facets("the of")  # used again: the most recent
    await facets("a the")
    # At most _MAX_SHAPES kept, the least recently used dropped ("garden"), not all.
    assert len(compiled) == 2
    assert the_of_shape in compiled
    assert {shape.search for shape in compiled} == {
        ("titles", ((False, "the"), (False, "of"))),
        ("titles", ((False, "a"), (False, "the"))),
    }


async def test_facets_of_a_listing_with_archived_books_count_them(
    database: Database, gql: GraphQL, admin_token: str
) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=300)
        await session.execute(update(Book).where(Book.id % 3 == 0).values(is_archived=True))
    for filters in ({"includeArchived": True}, {"includeArchived": True, "search": "garden"}):
        books = await every_book(gql, filters, admin_token)
        live = await every_book(gql, without(filters, "includeArchived"), admin_token)
        assert len(live) < len(books), filters  # archived books among the matches
        result = await gql(FACETS, {"filter": filters}, token=admin_token)
        facets = data(result)["books"]["facets"]
        assert facets["isExact"] is True, filters
        by_language = Counter(book["language"] for book in books)
        assert {f["language"]: f["count"] for f in facets["languages"]} == by_language
        by_genre = Counter(genre["slug"] for book in books for genre in book["genres"])
        assert {f["genre"]["slug"]: f["count"] for f in facets["genres"]} == by_genre


async def test_facets_hold_to_every_criterion_of_the_listing(
    database: Database, gql: GraphQL, admin_token: str
) -> None:
    # Facets spell the listing's filters on their own (`facets._Shape`, `_listed`,
    # `_filters`, `_values`): every field of `BookCriteria` must be named here with a filter
    # that sets it, and each facet not its own must count the books the listing shows.
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=300)
        await session.execute(update(Book).where(Book.id % 7 == 0).values(is_archived=True))
    genre = data(await gql("{ genres { id } }"))["genres"][0]["id"]
    first = data(await gql("{ books(first: 1) { edges { node { authors { id } } } } }"))
    author = first["books"]["edges"][0]["node"]["authors"][0]["id"]
    filters: dict[str, dict[str, Any] | None] = {
        "search": {"search": "garden"},
        "author_id": {"authorId": author},
        "genre_ids": {"genreIds": [genre]},
        "min_price": {"minPrice": "20"},
        "max_price": {"maxPrice": "20"},
        "in_stock": {"inStock": False},
        "availability": {"availability": ["IN_STOCK", "PREORDER"]},
        "released_after": {"releasedAfter": "2015-01-01"},
        "released_before": {"releasedBefore": "2015-01-01"},
        "languages": {"languages": ["fr"]},
        "min_rating": {"minRating": 1},
        "include_archived": {"includeArchived": True},
        # `Genre.books`' scope, no filter: test_nested_lists_have_facets_of_their_scope.
        "shelf_genre_id": None,
    }
    assert {field.name for field in dataclasses.fields(BookCriteria)} == set(filters)
    for name, listing in filters.items():
        if listing is None:
            continue
        books = await every_book(gql, listing, admin_token)
        result = await gql(FACETS, {"filter": listing}, token=admin_token)
        facets = data(result)["books"]["facets"]
        assert facets["isExact"] is True, name
        if name != "languages":
            by_language = Counter(book["language"] for book in books)
            assert {f["language"]: f["count"] for f in facets["languages"]} == by_language, name
        if name != "genre_ids":
            by_genre = Counter(genre["slug"] for book in books for genre in book["genres"])
            assert {f["genre"]["slug"]: f["count"] for f in facets["genres"]} == by_genre, name
