"""The SQL budget: nested catalog data costs a constant number of statements, however
large the page (no N+1), and concurrent loaders share the request's session safely."""

from __future__ import annotations

from app.books.seed import seed_catalog
from app.db.session import Database
from tests.support import GraphQL, StatementCounter, data

NESTED = """
query($first: Int!) {
  books(first: $first) {
    edges { node {
      id title price
      authors { id name books(first: 3) { edges { node { id title } } } }
      genres { id name }
    } }
  }
}
"""


async def seed(database: Database, books: int) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=books)


async def test_nested_books_cost_the_same_for_5_or_100(
    gql: GraphQL, database: Database, statements: StatementCounter
) -> None:
    await seed(database, 150)
    counts = {}
    for first in (5, 100):
        statements.statements.clear()
        page = data(await gql(NESTED, {"first": first}))["books"]
        assert len(page["edges"]) == first
        assert all(edge["node"]["authors"] for edge in page["edges"])
        assert all(a["books"]["edges"] for e in page["edges"] for a in e["node"]["authors"])
        counts[first] = statements.count
    assert counts[5] == counts[100]
    assert counts[100] <= 6, statements.statements


async def test_catalog_page_is_one_statement(
    gql: GraphQL, database: Database, statements: StatementCounter
) -> None:
    await seed(database, 60)
    statements.statements.clear()
    query = """{ books(first: 50) { edges { cursor node { id title price
        authors { id name } genres { id name } } } } }"""
    assert len(data(await gql(query))["books"]["edges"]) == 50
    assert statements.count == 1, statements.statements


async def test_book_detail_and_author_pages_are_batched(
    gql: GraphQL, database: Database, statements: StatementCounter
) -> None:
    await seed(database, 60)
    ids = [
        e["node"]["id"]
        for e in data(await gql("{ books(first: 20) { edges { node { id } } } }"))["books"]["edges"]
    ]
    statements.statements.clear()
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Book {
        title authors { name books(first: 5) { totalCount edges { node { title genres { name } } } } }
        genres { name books(first: 2) { edges { node { title } } } } } } }"""
    nodes = data(await gql(query, {"ids": ids}))["nodes"]
    assert len(nodes) == 20
    # nodes, authors, genres, author books, author counts, nested genres, genre books
    assert statements.count <= 7, statements.statements


async def test_sibling_loaders_share_the_session_safely(gql: GraphQL, database: Database) -> None:
    """Authors and genres (and their counts) resolve concurrently on one session."""
    await seed(database, 40)
    query = """{ a: books(first: 20) { totalCount edges { node { authors { name } genres { name } } } }
                 b: authors(first: 20) { totalCount edges { node { books { totalCount } } } }
                 c: genres { books(first: 2) { totalCount } } }"""
    result = data(await gql(query))
    assert result["a"]["totalCount"] == 40
    assert len(result["b"]["edges"]) == 20


async def test_lookups_by_id_in_one_query_share_a_statement_per_type(
    gql: GraphQL, database: Database, statements: StatementCounter
) -> None:
    await seed(database, 10)
    page = data(await gql("{ books(first: 3) { edges { node { id authors { id } } } } }"))
    b0, b1, b2 = [edge["node"]["id"] for edge in page["books"]["edges"]]
    a0, a1, a2 = [edge["node"]["authors"][0]["id"] for edge in page["books"]["edges"]]
    genre = data(await gql("{ genres { id } }"))["genres"][0]["id"]
    query = """query($b0: ID!, $b1: ID!, $b2: ID!, $a0: ID!, $a1: ID!, $a2: ID!, $g: ID!,
                     $all: [ID!]!) {
      x: book(id: $b0) { title }  y: book(id: $b1) { title }  z: node(id: $b2) { id }
      p: node(id: $a0) { id }  q: node(id: $a1) { id }  r: author(id: $a2) { name }
      g: node(id: $g) { id }  all: nodes(ids: $all) { id }
    }"""
    variables = {"b0": b0, "b1": b1, "b2": b2, "a0": a0, "a1": a1, "a2": a2, "g": genre}
    statements.statements.clear()
    result = data(await gql(query, {**variables, "all": [b0, b1, b2]}))
    assert result["all"] == [{"id": b0}, {"id": b1}, {"id": b2}]
    assert (result["z"], result["g"]) == ({"id": b2}, {"id": genre})
    # one statement for the books, one for the authors, one for the genre
    assert statements.count == 3, statements.statements


AUTHOR_BOOKS = (
    "books(first: 5) { pageInfo { hasNextPage endCursor } edges { cursor node { id title } } }"
)


async def test_book_detail_with_its_authors_first_books_is_one_statement(
    gql: GraphQL, database: Database, statements: StatementCounter
) -> None:
    """The book, its authors and their first books come in one statement, and each author's
    page is the one `author(id:)` answers through its loader."""
    await seed(database, 60)
    first = data(await gql("{ books(first: 1) { edges { node { id } } } }"))["books"]["edges"]
    query = "query($id: ID!) { book(id: $id) { title authors { id name " + AUTHOR_BOOKS + " } } }"
    statements.statements.clear()
    book = data(await gql(query, {"id": first[0]["node"]["id"]}))["book"]
    assert statements.count == 1, statements.statements
    assert book["authors"]
    for author in book["authors"]:
        own = "query($id: ID!) { author(id: $id) { " + AUTHOR_BOOKS + " } }"
        assert data(await gql(own, {"id": author["id"]}))["author"]["books"] == author["books"]
