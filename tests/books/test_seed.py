"""The demo catalog (`poetry run seed`): big and varied enough, valid, and idempotent."""

from __future__ import annotations

from sqlalchemy import text

from app.books.seed import DEFAULT_BOOKS, SeedReport, _author_names, seed_catalog
from app.db.session import Database
from tests.support import GraphQL, data

COUNTS = """{
  books { totalCount }
  authors { totalCount }
  genres { slug }
  inStock: books(filter: {availability: [IN_STOCK]}) { totalCount }
  low: books(filter: {availability: [LOW_STOCK]}) { totalCount }
  out: books(filter: {availability: [OUT_OF_STOCK]}) { totalCount }
  upcoming: books(filter: {availability: [PREORDER]}) { totalCount }
}"""


async def seed(database: Database, books: int = DEFAULT_BOOKS) -> SeedReport:
    async with database.sessionmaker() as session, session.begin():
        return await seed_catalog(session, books=books)


async def test_demo_catalog_is_varied_and_seeding_twice_changes_nothing(
    database: Database, gql: GraphQL
) -> None:
    first = await seed(database)
    assert (first.books, first.authors) == (DEFAULT_BOOKS, 80)
    assert first.genres >= 15
    counts = data(await gql(COUNTS))
    assert counts["books"]["totalCount"] == DEFAULT_BOOKS >= 200
    assert counts["authors"]["totalCount"] == 80
    assert len(counts["genres"]) == first.genres
    for availability in ("inStock", "low", "out", "upcoming"):
        assert counts[availability]["totalCount"] >= 10, availability

    assert await seed(database) == SeedReport(genres=0, authors=0, books=0)
    assert data(await gql(COUNTS)) == counts


async def test_seeded_books_have_valid_isbns_and_credits(database: Database, gql: GraphQL) -> None:
    await seed(database, books=30)
    page = data(
        await gql("{ books(first: 30) { edges { node { isbn13 authors { id } genres { id } } } } }")
    )["books"]["edges"]
    for edge in page:
        book = edge["node"]
        found = data(
            await gql(
                "query($i: String!) { bookByIsbn(isbn: $i) { isbn13 } }", {"i": book["isbn13"]}
            )
        )
        assert found["bookByIsbn"]["isbn13"] == book["isbn13"]  # the checksum validates
        assert book["authors"] and book["genres"]


async def test_a_larger_catalog_extends_a_smaller_one(database: Database) -> None:
    await seed(database, books=20)
    more = await seed(database, books=50)
    assert more.books == 30


CATALOG_SHAPE = """
SELECT
  (SELECT count(*) FROM books) AS books,
  (SELECT count(*) FROM authors) AS authors,
  (SELECT count(*) FROM books b WHERE search_vector IS NULL
      OR NOT EXISTS (SELECT 1 FROM book_authors a WHERE a.book_id = b.id)
      OR NOT EXISTS (SELECT 1 FROM book_genres g WHERE g.book_id = b.id)) AS incomplete,
  (SELECT count(*) FROM (SELECT book_id FROM book_authors GROUP BY book_id
                         HAVING count(*) > 1) AS s) AS coauthored,
  (SELECT count(DISTINCT popularity) FROM books) AS popularity_levels,
  (SELECT count(*) FROM search_terms) AS terms,
  (SELECT count(*) FROM search_postings) AS postings,
  (SELECT count(*) FROM search_lexemes WHERE cutoff IS NOT NULL) AS cut_off_lexemes,
  (SELECT sum(books) FROM search_lexemes) AS lexeme_books,
  (SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes
    WHERE tablename IN ('books', 'book_authors', 'book_genres', 'authors')) AS indexes,
  (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relname IN ('books', 'book_authors', 'book_genres', 'authors')
      AND NOT t.tgisinternal AND t.tgenabled = 'D') AS disabled_triggers
"""


async def shape(database: Database) -> dict[str, object]:
    async with database.sessionmaker() as session:
        return dict((await session.execute(text(CATALOG_SHAPE))).one()._mapping)


async def test_a_hundred_thousand_books_load_in_bulk_and_seed_again_as_nothing(
    database: Database, gql: GraphQL
) -> None:
    before = await shape(database)
    await seed(database, books=20)
    report = await seed(database, books=100_000)
    assert report == SeedReport(genres=0, authors=12_500 - 80, books=100_000 - 20)
    loaded = await shape(database)
    assert loaded["books"] == 100_000
    assert loaded["authors"] == 12_500  # one author per eight books
    assert loaded["incomplete"] == 0  # every book has a search document, authors, genres
    assert 10_000 < loaded["coauthored"] < 20_000  # about 15% have two authors
    assert loaded["popularity_levels"] > 100
    assert loaded["terms"] > 100
    # Common lexemes keep their most popular books' postings, rare ones all of theirs.
    assert loaded["cut_off_lexemes"] > 0
    assert 100_000 < loaded["postings"] < loaded["lexeme_books"]
    # The secondary indexes were dropped for the load and built again; triggers back on.
    assert loaded["indexes"] == before["indexes"]
    assert loaded["disabled_triggers"] == 0

    assert await seed(database, books=100_000) == SeedReport(genres=0, authors=0, books=0)
    assert await shape(database) == loaded

    found = data(
        await gql(
            '{ books(first: 3, filter: {search: "kyotto"}) { correctedQuery edges { cursor } } }'
        )
    )["books"]
    assert found["correctedQuery"] == "kyoto" and len(found["edges"]) == 3
    counted = data(await gql("{ books { totalCount } }"))["books"]["totalCount"]
    assert 90_000 < counted < 110_000  # estimated above 5,000


def test_author_names_stay_distinct_far_past_the_plain_combinations() -> None:
    names = _author_names(50_000)
    assert len(set(names)) == 50_000
    assert names[:80] == _author_names(80)
