"""Search: full-text (stemming, author names, prefixes, web-search syntax), relevance,
typo tolerance on every server (the vocabulary, no extension), stop words, input limits
and a statement count that does not grow with the page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from app.books import repository
from app.books.repository import STOP_WORDS
from app.db import statements
from app.db.session import Database
from app.graphql.ids import decode_id
from tests.books.factory import Catalog
from tests.support import GraphQL, StatementCounter, data

SEARCH = """
query($search: String!, $orderBy: BookOrder, $first: Int, $after: String) {
  books(filter: {search: $search}, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { title } }
  }
}
"""


async def search(gql: GraphQL, term: str, **variables: Any) -> list[str]:
    result = data(await gql(SEARCH, {"search": term, **variables}))["books"]
    return [edge["node"]["title"] for edge in result["edges"]]


@pytest.fixture
async def shelf(catalog: Catalog) -> None:
    tolkien = await catalog.author("J. R. R. Tolkien")
    le_guin = await catalog.author("Ursula K. Le Guin")
    herbert = await catalog.author("Frank Herbert")
    await catalog.book("The Hobbit", authors=[tolkien], description="There and back again.")
    await catalog.book("The Lord of the Rings", authors=[tolkien], description="One ring.")
    await catalog.book(
        "A Wizard of Earthsea", authors=[le_guin], description="A young wizard and his shadow."
    )
    await catalog.book("Dune", authors=[herbert], description="Spice, sand and a desert planet.")
    await catalog.book(
        "Children of Dune", authors=[herbert], description="The twins of the desert."
    )


@pytest.mark.usefixtures("shelf")
async def test_finds_by_title_words_with_stemming(gql: GraphQL) -> None:
    assert await search(gql, "rings") == ["The Lord of the Rings"]
    assert await search(gql, "ring") == ["The Lord of the Rings"]
    assert await search(gql, "wizards") == ["A Wizard of Earthsea"]


@pytest.mark.usefixtures("shelf")
async def test_finds_by_author_name(gql: GraphQL) -> None:
    assert sorted(await search(gql, "tolkien")) == ["The Hobbit", "The Lord of the Rings"]
    assert sorted(await search(gql, "Herbert")) == ["Children of Dune", "Dune"]


@pytest.mark.usefixtures("shelf")
async def test_prefix_matches_while_typing(gql: GraphQL) -> None:
    assert await search(gql, "hobb") == ["The Hobbit"]
    assert await search(gql, "earths") == ["A Wizard of Earthsea"]


@pytest.mark.usefixtures("shelf")
async def test_web_search_syntax(gql: GraphQL) -> None:
    assert await search(gql, '"children of dune"') == ["Children of Dune"]
    assert await search(gql, "dune -children") == ["Dune"]
    # Nothing matches exactly; the typo fallback must not ignore the exclusion either.
    assert await search(gql, '"lord of the" -rings') == []
    assert sorted(await search(gql, "hobbit or earthsea")) == ["A Wizard of Earthsea", "The Hobbit"]


@pytest.mark.usefixtures("shelf")
async def test_relevance_ranks_title_matches_first(gql: GraphQL) -> None:
    # "desert" is in both Dune blurbs; "dune" in both titles but Dune is the exact title.
    ranked = await search(gql, "dune desert")
    assert ranked[0] in {"Dune", "Children of Dune"}
    assert set(ranked) == {"Dune", "Children of Dune"}
    by_title = await search(gql, "dune", orderBy={"field": "TITLE", "direction": "ASC"})
    assert by_title == ["Children of Dune", "Dune"]


async def test_relevance_weighs_title_over_subtitle_over_description(
    catalog: Catalog, gql: GraphQL
) -> None:
    await catalog.book("Quiet Harbour", description="A lighthouse keeper and the lighthouse.")
    await catalog.book("The Lighthouse")
    await catalog.book("Storm Season", subtitle="A lighthouse novel")
    assert await search(gql, "lighthouse") == ["The Lighthouse", "Storm Season", "Quiet Harbour"]
    ascending = {"field": "RELEVANCE", "direction": "ASC"}
    assert await search(gql, "lighthouse", orderBy=ascending) == [
        "Quiet Harbour",
        "Storm Season",
        "The Lighthouse",
    ]


@pytest.mark.usefixtures("shelf")
async def test_relevance_pages_are_stable(gql: GraphQL) -> None:
    first = data(await gql(SEARCH, {"search": "the", "first": 2}))["books"]
    rest = data(
        await gql(SEARCH, {"search": "the", "first": 10, "after": first["pageInfo"]["endCursor"]})
    )["books"]
    everything = [e["node"]["title"] for e in first["edges"] + rest["edges"]]
    assert len(everything) == len(set(everything)) == first["totalCount"]


@pytest.mark.usefixtures("shelf")
async def test_nothing_found_is_an_empty_page(gql: GraphQL) -> None:
    assert await search(gql, "xylophone quartz") == []
    assert await search(gql, "!!! ()") == []


@pytest.mark.usefixtures("shelf")
async def test_search_follows_author_renames(catalog: Catalog, gql: GraphQL) -> None:
    author = await catalog.author("Mary Westmacott")
    await catalog.book("Absent in the Spring", authors=[author])
    await catalog.run(
        'mutation($id: ID!) { updateAuthor(id: $id, input: {name: "Agatha Christie"}) { id } }',
        {"id": author},
    )
    assert await search(gql, "christie") == ["Absent in the Spring"]
    assert await search(gql, "westmacott") == []


async def test_search_follows_credits_moved_in_sql(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    """The app replaces credits (DELETE + INSERT); an UPDATE made by hand is followed too."""
    wrong, right = await catalog.author("Anne Onymous"), await catalog.author("Mervyn Peake")
    await catalog.book("Titus Groan", authors=[wrong])
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE book_authors SET author_id = :right WHERE author_id = :wrong"),
            {
                "right": decode_id(right, "Author", field="-"),
                "wrong": decode_id(wrong, "Author", field="-"),
            },
        )
    assert await search(gql, "peake") == ["Titus Groan"]
    assert await search(gql, "onymous") == []


CORRECTED = """
query($search: String!) {
  books(filter: {search: $search}) { correctedQuery edges { node { title } } }
}
"""


async def corrected(gql: GraphQL, term: str) -> tuple[str | None, list[str]]:
    result = data(await gql(CORRECTED, {"search": term}))["books"]
    return result["correctedQuery"], sorted(edge["node"]["title"] for edge in result["edges"])


@pytest.mark.usefixtures("shelf")
async def test_typos_are_corrected_from_the_vocabulary_on_any_server(gql: GraphQL) -> None:
    """No extension involved: the embedded server of `poetry run dev` corrects them too."""
    assert await corrected(gql, "tolkein") == ("tolkien", ["The Hobbit", "The Lord of the Rings"])
    assert await corrected(gql, "hobit") == ("hobbit", ["The Hobbit"])
    assert await corrected(gql, "earthsae") == ("earthsea", ["A Wizard of Earthsea"])
    assert await corrected(gql, "desert dnue") == ("desert dune", ["Children of Dune", "Dune"])
    # Found as typed: nothing is corrected, and exact matches are never crowded out.
    assert await corrected(gql, "dune") == (None, ["Children of Dune", "Dune"])
    assert await corrected(gql, "wizards") == (None, ["A Wizard of Earthsea"])
    # Nothing close enough: no correction, no results.
    assert await corrected(gql, "xylophone") == (None, [])
    # Operators ask for exactly that logic: not corrected.
    assert await corrected(gql, '"hobit"') == (None, [])


async def test_kyotto_finds_kyoto_books(catalog: Catalog, gql: GraphQL) -> None:
    duras = await catalog.author("Marguerite Duras")
    await catalog.book("Letters from Kyoto", authors=[duras])
    await catalog.book("A Garden in Kyoto")
    await catalog.book("The Lisbon Map")
    assert await corrected(gql, "kyotto") == ("kyoto", ["A Garden in Kyoto", "Letters from Kyoto"])
    assert await corrected(gql, "Durass") == ("duras", ["Letters from Kyoto"])
    count = data(await gql('{ books(filter: {search: "kyotto"}) { totalCount correctedQuery } }'))[
        "books"
    ]
    assert count == {"totalCount": 2, "correctedQuery": "kyoto"}


async def test_new_titles_and_renamed_authors_join_the_vocabulary(
    catalog: Catalog, gql: GraphQL
) -> None:
    author = await catalog.author("Anne Onymous")
    book = await catalog.book("Quiet Orchard", authors=[author])
    assert await corrected(gql, "orchadr") == ("orchard", ["Quiet Orchard"])
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {title: "Saltmarsh"}) { id } }',
        {"id": book["id"]},
    )
    await catalog.run(
        'mutation($id: ID!) { updateAuthor(id: $id, input: {name: "Ottoline Vexley"}) { id } }',
        {"id": author},
    )
    assert await corrected(gql, "saltmarhs") == ("saltmarsh", ["Saltmarsh"])
    assert await corrected(gql, "vexly") == ("vexley", ["Saltmarsh"])


async def test_ranking_exact_title_then_title_words_then_authors_then_description(
    catalog: Catalog, gql: GraphQL
) -> None:
    garden = await catalog.author("Ada Garden")
    await catalog.book("Notes", description="Written in a garden.")
    await catalog.book("Winter Poems", authors=[garden])
    await catalog.book("The Garden of Forking Paths")
    await catalog.book("Garden")
    await catalog.book("Gardens", subtitle="A garden diary")
    assert await search(gql, "garden") == [
        "Garden",
        "Gardens",
        "The Garden of Forking Paths",
        "Winter Poems",
        "Notes",
    ]


FILTERED = """
query($filter: BookFilter) { books(filter: $filter) { edges { node { title } } } }
"""


async def test_searches_of_one_shape_rank_by_their_own_words(
    catalog: Catalog, gql: GraphQL
) -> None:
    # A search's statement and relevance ordering are built once per shape of its words
    # (the words are parameters): each search of that shape still ranks by its own words,
    # with no other filter (the statement compiled once) or with one (built per request).
    await catalog.book("Winter")
    await catalog.book("Garden")
    await catalog.book("Winter Garden")
    await catalog.book("Of Mice")
    await catalog.book("The Map")
    await catalog.book("The Map of Of")
    for _ in range(2):
        for extra in ({}, {"minPrice": "0.00"}):
            for term, expected in (
                ("garden", ["Garden", "Winter Garden"]),
                ("winter", ["Winter", "Winter Garden"]),
                ("the", ["The Map of Of", "The Map"]),  # stop words: titles
                ("of", ["Of Mice", "The Map of Of"]),
            ):
                result = data(await gql(FILTERED, {"filter": {"search": term, **extra}}))
                titles = [edge["node"]["title"] for edge in result["books"]["edges"]]
                assert titles == expected, (term, extra)


async def test_a_flood_of_search_shapes_leaves_the_common_ones_compiled(
    catalog: Catalog, gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Client input chooses a search's shape: new ones push out the least recently used,
    # never lock the kept ones out. A kept statement holds none of its first search's words.
    monkeypatch.setattr(repository, "_search_statements", statements.Shapes(3))
    kept = repository._search_statements
    await catalog.book("Winter Garden")
    await catalog.book("The Map of Of")
    assert await search(gql, "garden") == ["Winter Garden"]
    (garden,) = kept
    for term in ("the of", "the of the", "the -of", "the or of", "of of of of"):
        await search(gql, term)
        assert await search(gql, "winter") == ["Winter Garden"]  # the shape of "garden"
    assert garden in kept and len(kept) == 3
    prepared = kept.get(garden, lambda: pytest.fail("garden's statement was dropped"))
    assert not {"search_term", "walk_words"} & set(prepared.constants)


async def test_a_query_of_stop_words_matches_titles(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book("The Map")
    await catalog.book("Of Mice and Men")
    await catalog.book("Islands", description="The sea and the sky.")
    assert await search(gql, "the") == ["The Map"]
    assert await search(gql, "of and") == ["Of Mice and Men"]
    assert await search(gql, "THE!") == ["The Map"]


async def test_a_query_of_stop_words_keeps_its_operators(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book("The Map")
    await catalog.book("Of Mice and Men")
    await catalog.book("The Call of the Wild")
    await catalog.book("A Farewell")
    # -word excludes, "or" is either side: as web-search syntax says for any other word.
    assert await search(gql, "the -of") == ["The Map"]
    assert sorted(await search(gql, "-the")) == ["A Farewell", "Of Mice and Men"]
    assert sorted(await search(gql, "and or the")) == [
        "Of Mice and Men",
        "The Call of the Wild",
        "The Map",
    ]
    assert await search(gql, "the of -and") == ["The Call of the Wild"]


@pytest.mark.usefixtures("shelf")
async def test_one_letter_and_punctuation_are_harmless(gql: GraphQL) -> None:
    assert await search(gql, "d") == []  # prefixes start at three letters
    assert sorted(await search(gql, "dun")) == ["Children of Dune", "Dune"]
    assert await search(gql, "dune!!! -- & | <-> :*") != []
    assert await search(gql, "'\\ ; ) (") == []


async def test_search_input_is_bounded_in_words_and_characters(gql: GraphQL) -> None:
    query = "query($s: String!) { books(filter: {search: $s}) { edges { cursor } } }"
    for term in (" ".join(["garden"] * 17), "x" * 201):
        result = await gql(query, {"s": term})
        (error,) = result["errors"]
        assert error["extensions"]["code"] == "VALIDATION_ERROR"
        assert error["extensions"]["field"] == "filter.search"
        assert "garden" not in error["message"] and "xxx" not in error["message"]
    assert "errors" not in await gql(query, {"s": " ".join(["garden"] * 16)})


async def test_a_search_is_a_constant_number_of_statements(
    catalog: Catalog, gql: GraphQL, statements: StatementCounter
) -> None:
    for number in range(12):
        await catalog.book(f"Harbour Light {number}")
    page = """query($n: Int!, $s: String!) { books(first: $n, filter: {search: $s}) {
        totalCount edges { node { title authors { name } genres { name } } } } }"""
    counts = {}
    for first in (2, 10):
        for term in ("harbour", "harbuor"):
            statements.statements.clear()
            found = data(await gql(page, {"n": first, "s": term}))["books"]
            assert len(found["edges"]) == first
            counts[first, term] = statements.count
    assert counts[2, "harbour"] == counts[10, "harbour"] <= 4, statements.statements
    # A typo: the empty search, the vocabulary, the corrected search.
    assert counts[2, "harbuor"] == counts[10, "harbuor"] <= 6, statements.statements


async def test_stop_words_of_the_server_are_the_ones_search_knows(database: Database) -> None:
    async with database.sessionmaker() as session:
        server = await session.scalars(
            text(
                "SELECT w FROM unnest(CAST(:words AS text[])) AS w "
                "WHERE ts_lexize('english_stem', w) <> '{}'"
            ),
            {"words": sorted(STOP_WORDS)},
        )
        assert list(server) == []
        stemmed = await session.scalar(text("SELECT ts_lexize('english_stem', 'garden')"))
        assert stemmed == ["garden"]


async def test_exclusions_hold_whatever_the_stem(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book("A Library in Kyoto")
    await catalog.book("Letters from Kyoto", description="Old librarys and quiet streets.")
    await catalog.book("Kyoto Gardens")
    assert sorted(await search(gql, "kyoto -library")) == ["Kyoto Gardens"]


WORST = " ".join(["e"] * 15 + ["q"])  # 16 words, the most the input allows


def aliased(count: int, first: int, fields: str) -> str:
    search = f'first: {first}, filter: {{search: "{WORST}"}}'
    return "{ " + " ".join(f"s{i}: books({search}) {{ {fields} }}" for i in range(count)) + " }"


async def test_thirty_aliased_worst_case_searches_are_refused_or_cheap(
    catalog: Catalog, gql: GraphQL, statements: StatementCounter
) -> None:
    await catalog.book("E is for Eel")
    heavy = aliased(30, 100, "edges { node { title } } facets { isExact genres { count } }")
    refused = await gql(heavy)
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert refused["errors"][0]["extensions"]["cost"] > 10_000
    statements.statements.clear()
    light = aliased(30, 5, "edges { node { title } }")
    result = data(await gql(light))
    assert all(page["edges"] == [] for page in result.values())
    # Each: the search, and (nothing found) the vocabulary; a bounded number per search.
    assert statements.count <= 30 * 3, statements.statements


# -- search postings: what the walk of a search reads -------------------------------------


async def postings(database: Database, book_id: int) -> dict[str, set[int]]:
    """{lexeme: popularities} of the book's postings."""
    async with database.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT lexeme, popularity FROM search_postings WHERE book_id = :id"),
            {"id": book_id},
        )
        found: dict[str, set[int]] = {}
        for lexeme, popularity in rows:
            found.setdefault(lexeme, set()).add(popularity)
        return found


async def run_sql(database: Database, statement: str, **parameters: Any) -> None:
    async with database.sessionmaker() as session, session.begin():
        await session.execute(text(statement), parameters)


async def test_postings_follow_book_writes(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    author = await catalog.author("Ada Okafor")
    book = await catalog.book("Quiet Harbour", authors=[author], description="Gulls.")
    book_id = decode_id(book["id"], "Book", field="-")
    assert {"quiet", "harbour", "ada", "okafor", "gull"} <= set(await postings(database, book_id))
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {title: "Loud Harbour"}) { id } }',
        {"id": book["id"]},
    )
    words = await postings(database, book_id)
    assert "loud" in words and "quiet" not in words
    await catalog.run(
        'mutation($id: ID!) { updateAuthor(id: $id, input: {name: "Ada Nakamura"}) { id } }',
        {"id": author},
    )
    words = await postings(database, book_id)
    assert "nakamura" in words and "okafor" not in words
    # A new sales rank moves the book's postings with it.
    await run_sql(database, "UPDATE books SET popularity = 77 WHERE id = :id", id=book_id)
    assert set().union(*(await postings(database, book_id)).values()) == {77}
    assert await search(gql, "loud harbour") == ["Loud Harbour"]
    await run_sql(database, "DELETE FROM books WHERE id = :id", id=book_id)
    assert await postings(database, book_id) == {}


async def popular_harbours(catalog: Catalog, database: Database) -> None:
    """Thirteen harbour books, popularity 0 to 12 ("Harbour", the exact title, 12), with
    the postings rebuilt to keep the top half of each common lexeme (2 books or more in the
    window of the 7 most popular)."""
    for number in range(12):
        book = await catalog.book(f"Harbour Light {number}")
        await run_sql(
            database,
            "UPDATE books SET popularity = :p WHERE id = :id",
            p=number,
            id=decode_id(book["id"], "Book", field="-"),
        )
    exact = await catalog.book("Harbour")
    await run_sql(
        database,
        "UPDATE books SET popularity = 12 WHERE id = :id",
        id=decode_id(exact["id"], "Book", field="-"),
    )
    await run_sql(database, "SELECT rebuild_search_postings(3, 0.5)")


async def test_a_common_word_ranks_its_most_popular_books(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    await popular_harbours(catalog, database)
    # The most popular harbour books, ranked: the exact title first.
    ranked = await search(gql, "harbour", first=20)
    assert ranked[0] == "Harbour"
    assert set(ranked[1:]) == {f"Harbour Light {n}" for n in range(6, 12)}
    # Another order sorts the same most popular matches (the walk's), by title.
    by_title = await search(
        gql, "harbour", first=20, orderBy={"field": "TITLE", "direction": "ASC"}
    )
    assert by_title == sorted(ranked)


async def test_a_rare_word_finds_its_books_however_unpopular(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    await popular_harbours(catalog, database)
    await catalog.book("Zanzibar Harbour Light")  # popularity 0, below harbour's cutoff
    assert await search(gql, "harbour zanzibar") == ["Zanzibar Harbour Light"]
    assert await search(gql, "zanzibar light") == ["Zanzibar Harbour Light"]
    assert await search(gql, "light harbour zanz") == ["Zanzibar Harbour Light"]
    assert await search(gql, "zanzibar -light") == []
    assert sorted(await search(gql, "zanzibar or fog")) == ["Zanzibar Harbour Light"]
    # Two common words together: their postings meet in the window.
    assert sorted(await search(gql, "harbour light 11")) == ["Harbour Light 11"]


async def river_books(catalog: Catalog, database: Database) -> list[tuple[str, Decimal, int]]:
    """Seven river books (title, price, popularity), with equal prices and titles among
    them, and two books without the word."""
    shelf = [
        ("Silent River", "12.50", 5),
        ("A River Runs", "30.00", 1),
        ("River of Stars", "12.50", 7),
        ("Silent River", "8.00", 2),
        ("The Long River", "45.00", 6),
        ("Across the River", "19.99", 3),
        ("River", "12.50", 4),
    ]
    for title, price, popularity in shelf:
        book = await catalog.book(title, price=price)
        await run_sql(
            database,
            "UPDATE books SET popularity = :p WHERE id = :id",
            p=popularity,
            id=decode_id(book["id"], "Book", field="-"),
        )
    await catalog.book("Quiet Harbour")
    await catalog.book("Desert Planet")
    await run_sql(database, "SELECT rebuild_search_postings()")
    return [(title, Decimal(price), popularity) for title, price, popularity in shelf]


ORDERED = """
query($search: String!, $orderBy: BookOrder, $first: Int, $after: String) {
  books(filter: {search: $search}, orderBy: $orderBy, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { title price } }
  }
}
"""


async def ordered_pages(gql: GraphQL, term: str, order: dict[str, str], first: int) -> list[Any]:
    """Every page of `term` in `order`, `first` at a time, along the end cursors."""
    found: list[Any] = []
    after = None
    for _ in range(20):
        variables = {"search": term, "orderBy": order, "first": first, "after": after}
        books = data(await gql(ORDERED, variables))["books"]
        found += [
            (edge["node"]["title"], Decimal(edge["node"]["price"])) for edge in books["edges"]
        ]
        if not books["pageInfo"]["hasNextPage"]:
            return found
        after = books["pageInfo"]["endCursor"]
    raise AssertionError("the pages did not end")


@pytest.mark.parametrize("field", ["TITLE", "PRICE"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_a_search_in_another_order_sorts_every_match_on_a_small_catalog(
    catalog: Catalog, gql: GraphQL, database: Database, field: str, direction: str
) -> None:
    shelf = await river_books(catalog, database)
    order = {"field": field, "direction": direction}
    # Equal keys are ordered by id (the order the books were added in), in the same direction.
    position = {book: index for index, book in enumerate(shelf)}
    key = (lambda b: (b[0], position[b])) if field == "TITLE" else (lambda b: (b[1], position[b]))
    expected = [(t, p) for t, p, _ in sorted(shelf, key=key, reverse=direction == "DESC")]
    # One page, and pages of two along the cursors: the same books in the same order.
    assert await ordered_pages(gql, "river", order, 20) == expected
    assert await ordered_pages(gql, "river", order, 2) == expected
    silent = [book for book in expected if book[0] == "Silent River"]
    assert await ordered_pages(gql, "silent river", order, 1) == silent


async def test_a_search_in_another_order_sorts_only_its_most_popular_matches(
    catalog: Catalog,
    gql: GraphQL,
    database: Database,
    statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shelf = await river_books(catalog, database)
    monkeypatch.setattr(repository, "ORDERED_CANDIDATES", 3)
    popular = sorted(shelf, key=lambda book: book[2], reverse=True)[:3]
    order = {"field": "PRICE", "direction": "ASC"}
    position = {book: index for index, book in enumerate(shelf)}
    expected = [(t, p) for t, p, _ in sorted(popular, key=lambda b: (b[1], position[b]))]
    assert await ordered_pages(gql, "river", order, 2) == expected
    # The statements do not grow with the page, as under relevance.
    counts = []
    for first in (1, 3):
        statements.statements.clear()
        await ordered_pages(gql, "river", {"field": "TITLE", "direction": "ASC"}, first)
        counts.append(statements.count)
    assert counts[0] == 3 * counts[1] <= 3 * 4, statements.statements
