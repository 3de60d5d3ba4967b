"""The SQL budget of reviews: the rating summary costs no statement (it is on the book's
row), a page of books with their reviews costs the same for 5 books or 50, and a book
detail the same for a book with 3 reviews or 300."""

from __future__ import annotations

from app.books.seed import seed_catalog
from app.core.config import Settings
from app.db.session import Database
from app.reviews.seed import seed_reviews
from tests.support import GraphQL, StatementCounter, data, register


async def seed(database: Database, settings: Settings, books: int) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=books)
        await seed_reviews(session, settings)


CATALOG = """query($first: Int!) { books(first: $first) { edges { cursor node { id title price
  ratingSummary { average count histogram } authors { id name } genres { id name } } } } }"""


async def test_a_catalog_page_with_ratings_is_at_most_three_statements(
    gql: GraphQL, database: Database, settings: Settings, statements: StatementCounter
) -> None:
    await seed(database, settings, 120)
    counts = {}
    for first in (5, 100):
        statements.statements.clear()
        edges = data(await gql(CATALOG, {"first": first}))["books"]["edges"]
        assert len(edges) == first
        assert any(edge["node"]["ratingSummary"]["count"] for edge in edges)
        counts[first] = statements.count
    assert counts[5] == counts[100] == 1, statements.statements


WITH_REVIEWS = """query($first: Int!) { books(first: $first, orderBy: {field: RATING,
  direction: DESC}) { totalCount edges { node { title ratingSummary { average }
  reviews(first: 3, orderBy: {field: MOST_HELPFUL}) { totalCount edges { node { rating
    authorName verifiedPurchase helpfulCount } } } } } } }"""


async def test_reviews_of_a_page_of_books_are_one_statement(
    gql: GraphQL, database: Database, settings: Settings, statements: StatementCounter
) -> None:
    await seed(database, settings, 120)
    counts = {}
    for first in (5, 50):
        statements.statements.clear()
        edges = data(await gql(WITH_REVIEWS, {"first": first}))["books"]["edges"]
        assert len(edges) == first
        assert all(edge["node"]["reviews"]["edges"] for edge in edges[:5])
        counts[first] = statements.count
    # the page, its count, the reviews of every book on it (their counts: the summaries)
    assert counts[5] == counts[50] == 3, statements.statements


DETAIL = """query($id: ID!) { book(id: $id) { title ratingSummary { average count histogram }
  myReview { rating }
  reviews(first: 10) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id rating title body authorName verifiedPurchase helpfulCount createdAt } } } } }"""


async def test_a_book_detail_costs_the_same_whatever_its_reviews(
    gql: GraphQL, database: Database, settings: Settings, statements: StatementCounter
) -> None:
    await seed(database, settings, 120)
    token = (await register(gql))["accessToken"]
    shelf = data(
        await gql("{ books(first: 100) { edges { node { id ratingSummary { count } } } } }")
    )
    by_count = sorted(
        (edge["node"]["ratingSummary"]["count"], edge["node"]["id"])
        for edge in shelf["books"]["edges"]
        if edge["node"]["ratingSummary"]["count"]
    )
    (few, _), (most, _) = by_count[0], by_count[-1]
    assert few <= 8 and most >= 100
    counts = []
    for _, book in (by_count[0], by_count[-1]):
        statements.statements.clear()
        found = data(await gql(DETAIL, {"id": book}, token=token))["book"]
        assert found["reviews"]["totalCount"] == found["ratingSummary"]["count"]
        counts.append(statements.count)
    assert counts[0] == counts[1], statements.statements
    # the viewer's session, the book, the reviews page, the viewer's review
    assert counts[1] <= 4, statements.statements
