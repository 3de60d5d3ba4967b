"""The demo catalog (`poetry run seed`): big and varied enough, valid, and idempotent."""

from __future__ import annotations

from app.books.seed import DEFAULT_BOOKS, SeedReport, seed_catalog
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
