"""Type-ahead: completions from the first character, typo tolerance from the third,
books, authors and genres, bounded input, and the response cache on GET."""

from __future__ import annotations

from typing import Any

import pytest

from tests.books.factory import Catalog
from tests.support import GraphQL, StatementCounter, data

SUGGEST = """
query($q: String!, $first: Int) {
  searchSuggestions(query: $q, first: $first) {
    queries books { title } authors { name } genres { name }
  }
}
"""


async def suggest(gql: GraphQL, query: str, first: int = 5) -> dict[str, Any]:
    result: dict[str, Any] = data(await gql(SUGGEST, {"q": query, "first": first}))
    return result["searchSuggestions"]


@pytest.fixture
async def shelf(catalog: Catalog) -> None:
    kyoto = await catalog.genre("Kyoto Stories", slug="kyoto-stories")
    duras = await catalog.author("Marguerite Duras")
    kay = await catalog.author("Kyra Lund")
    await catalog.book("Letters from Kyoto", authors=[duras], genres=[kyoto])
    await catalog.book("A Garden in Kyoto", authors=[kay])
    await catalog.book("Kyoto Nights", authors=[kay])
    await catalog.book("Gardens of Lisbon", authors=[duras])


@pytest.mark.usefixtures("shelf")
async def test_from_the_first_character(gql: GraphQL) -> None:
    found = await suggest(gql, "k")
    assert found["queries"][0] == "kyoto"  # the most used word with that start
    assert set(found["queries"]) >= {"kyoto", "kyra"}
    assert {book["title"] for book in found["books"]} == {
        "Letters from Kyoto",
        "A Garden in Kyoto",
        "Kyoto Nights",
    }
    assert found["genres"] == [{"name": "Kyoto Stories"}]
    assert await suggest(gql, "ly") == {"queries": [], "books": [], "authors": [], "genres": []}


@pytest.mark.usefixtures("shelf")
async def test_completes_the_last_word_of_a_phrase(gql: GraphQL) -> None:
    found = await suggest(gql, "letters from ky")
    assert found["queries"][0] == "letters from kyoto"
    assert all(query.startswith("letters from ky") for query in found["queries"])
    assert [book["title"] for book in found["books"]] == ["Letters from Kyoto"]
    assert (await suggest(gql, "marguerite du"))["authors"] == [{"name": "Marguerite Duras"}]


@pytest.mark.usefixtures("shelf")
async def test_typo_tolerant_from_the_third_character(gql: GraphQL) -> None:
    found = await suggest(gql, "kyott")
    assert found["queries"] == ["kyoto"]
    assert len(found["books"]) == 3
    assert (await suggest(gql, "durs"))["queries"] == ["duras"]
    assert (await suggest(gql, "duras"))["authors"] == [{"name": "Marguerite Duras"}]
    assert (await suggest(gql, "xq"))["queries"] == []


@pytest.mark.usefixtures("shelf")
async def test_first_bounds_every_list(gql: GraphQL) -> None:
    found = await suggest(gql, "g", first=1)
    assert len(found["queries"]) == len(found["books"]) == 1
    for bad in (0, 21):
        result = await gql(SUGGEST, {"q": "k", "first": bad})
        assert result["errors"][0]["extensions"]["field"] == "first"
    for bad_query in (" ".join(["kyoto"] * 17), "k" * 201):
        result = await gql(SUGGEST, {"q": bad_query})
        (error,) = result["errors"]
        assert error["extensions"]["code"] == "VALIDATION_ERROR"
        assert error["extensions"]["field"] == "query"


@pytest.mark.usefixtures("shelf")
async def test_statements_do_not_grow_with_first(
    gql: GraphQL, statements: StatementCounter
) -> None:
    counts = []
    for first in (1, 20):
        statements.statements.clear()
        await suggest(gql, "kyo", first=first)
        counts.append(statements.count)
    assert counts[0] == counts[1] <= 4, statements.statements


@pytest.mark.usefixtures("shelf")
async def test_books_of_a_context_word_still_typed_as_a_prefix(gql: GraphQL) -> None:
    # "gard" is no word of any book (no row in the vocabulary of stems), only the start of
    # some: the search matches it as a prefix, and so must type-ahead's books.
    search = """query($q: String!) { books(first: 5, filter: {search: $q}) {
        edges { node { title } } } }"""
    for query, titles in (
        ("gard kyo", {"A Garden in Kyoto"}),
        ("gard lisb", {"Gardens of Lisbon"}),
        ("kyo gard", {"A Garden in Kyoto"}),
        ("lett kyo", {"Letters from Kyoto"}),
    ):
        found = {book["title"] for book in (await suggest(gql, query))["books"]}
        assert found == titles, query
        term = (await suggest(gql, query))["queries"][0]  # the last word completed
        listed = data(await gql(search, {"q": term}))["books"]["edges"]
        assert {edge["node"]["title"] for edge in listed} == titles, term
