"""book, bookByIsbn, author(s), genre(s), node(s): fields, visibility and errors."""

from __future__ import annotations

import base64

import pytest

from tests.books.factory import BOOK_FIELDS, Catalog
from tests.support import GraphQL, code, data, error

BOOK = f"query($id: ID!) {{ book(id: $id) {{ {BOOK_FIELDS} }} }}"
STOCK = "query($id: ID!) { book(id: $id) { title stockQuantity } }"


async def test_book_by_id_with_every_field(catalog: Catalog, gql: GraphQL) -> None:
    le_guin = await catalog.author("Ursula K. Le Guin")
    fantasy = await catalog.genre("Fantasy")
    created = await catalog.book(
        "A Wizard of Earthsea",
        authors=[le_guin],
        genres=[fantasy],
        price="19.99",
        subtitle="Earthsea Cycle 1",
        description="A boy, a shadow.",
        pageCount=183,
        language="en",
        publisher="Parnassus",
        coverUrl="https://covers.example.com/earthsea.jpg",
    )
    book = data(await gql(BOOK, {"id": created["id"]}))["book"]
    assert book["title"] == "A Wizard of Earthsea"
    assert book["subtitle"] == "Earthsea Cycle 1"
    assert book["price"] == "19.99"  # a Decimal string, never a float
    assert book["availability"] == "IN_STOCK"
    assert book["pageCount"] == 183
    assert book["authors"] == [{"id": le_guin, "name": "Ursula K. Le Guin"}]
    assert book["genres"] == [{"id": fantasy, "name": "Fantasy", "slug": "fantasy"}]
    assert book["isArchived"] is False


@pytest.mark.parametrize("price", ["19.99", "0.01", "100.00", "99999999.99", "7.5"])
async def test_decimal_prices_round_trip(catalog: Catalog, gql: GraphQL, price: str) -> None:
    created = await catalog.book(price=price)
    expected = price if "." in price and len(price.split(".")[1]) == 2 else f"{price}0"
    assert created["price"] == expected
    assert data(await gql(BOOK, {"id": created["id"]}))["book"]["price"] == expected


async def test_stock_quantity_only_for_admins(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book(stock=7)
    variables = {"id": book["id"]}
    assert data(await gql(STOCK, variables, token=admin_token))["book"]["stockQuantity"] == 7
    for token, expected in ((customer_token, "AUTH_FORBIDDEN"), (None, "AUTH_REQUIRED")):
        result = await gql(STOCK, variables, token=token)
        assert code(result) == expected
        assert error(result)["path"] == ["book", "stockQuantity"]
        # Only the field is refused: the rest of the book is there.
        assert result["data"]["book"] == {"title": book["title"], "stockQuantity": None}


@pytest.mark.parametrize(
    ("stock", "released_days_ago", "expected"),
    [
        (50, 10, "IN_STOCK"),
        (6, 10, "IN_STOCK"),
        (5, 10, "LOW_STOCK"),
        (1, 10, "LOW_STOCK"),
        (0, 10, "OUT_OF_STOCK"),
        (0, -10, "PREORDER"),
        (40, -1, "PREORDER"),
        (3, 0, "LOW_STOCK"),
    ],
)
async def test_availability(
    catalog: Catalog, stock: int, released_days_ago: int, expected: str
) -> None:
    book = await catalog.book(stock=stock, released_days_ago=released_days_ago)
    assert book["availability"] == expected


async def test_authors_keep_credit_order(catalog: Catalog, gql: GraphQL) -> None:
    first, second = await catalog.author("Terry Pratchett"), await catalog.author("Neil Gaiman")
    book = await catalog.book("Good Omens", authors=[first, second])
    names = [a["name"] for a in data(await gql(BOOK, {"id": book["id"]}))["book"]["authors"]]
    assert names == ["Terry Pratchett", "Neil Gaiman"]


async def test_missing_book_is_book_not_found(gql: GraphQL) -> None:
    missing = base64.b64encode(b"Book:999999999").decode()
    failure = error(await gql(BOOK, {"id": missing}))
    assert failure["extensions"] == {"code": "BOOK_NOT_FOUND", "field": "id"}


async def test_archived_book_hidden_except_to_admins(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book()
    await catalog.archive(book["id"])
    variables = {"id": book["id"]}
    assert code(await gql(BOOK, variables)) == "BOOK_NOT_FOUND"
    assert code(await gql(BOOK, variables, token=customer_token)) == "BOOK_NOT_FOUND"
    assert data(await gql(BOOK, variables, token=admin_token))["book"]["isArchived"] is True
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert data(await gql(node, variables))["node"] is None
    assert data(await gql(node, variables, token=admin_token))["node"] == {"id": book["id"]}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("not base64 at all!!", "id"),
        (base64.b64encode(b"Author:1").decode(), "id"),
        (base64.b64encode(b"Book:abc").decode(), "id"),
        (base64.b64encode(b"Book:-1").decode(), "id"),
        (base64.b64encode(b"Book:99999999999999999999999").decode(), "id"),
    ],
)
async def test_malformed_ids_are_validation_errors(gql: GraphQL, value: str, field: str) -> None:
    failure = error(await gql(BOOK, {"id": value}))
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == field


async def test_book_by_isbn_accepts_isbn10_and_hyphens(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(isbn13="9780306406157")
    query = "query($isbn: String!) { bookByIsbn(isbn: $isbn) { id isbn13 } }"
    for isbn in ("978-0-306-40615-7", "0-306-40615-2", "0306406152", "9780306406157"):
        assert data(await gql(query, {"isbn": isbn}))["bookByIsbn"] == {
            "id": book["id"],
            "isbn13": "9780306406157",
        }
    assert code(await gql(query, {"isbn": "9780306406158"})) == "VALIDATION_ERROR"
    assert code(await gql(query, {"isbn": "9780141036144"})) == "BOOK_NOT_FOUND"
    padded = error(await gql(query, {"isbn": "9780306406157" + " " * 5000}))
    assert (padded["extensions"]["code"], padded["extensions"]["field"]) == (
        "VALIDATION_ERROR",
        "isbn",
    )


async def test_author_and_genre_lookups(catalog: Catalog, gql: GraphQL) -> None:
    author_id = await catalog.author("Octavia E. Butler", bio="Kindred, Parable of the Sower.")
    genre_id = await catalog.genre("Science Fiction")
    await catalog.book("Kindred", authors=[author_id], genres=[genre_id])
    author = data(
        await gql(
            "query($id: ID!) { author(id: $id) { name bio books { totalCount edges { node { title } } } } }",
            {"id": author_id},
        )
    )["author"]
    assert author["name"] == "Octavia E. Butler"
    assert author["books"]["totalCount"] == 1
    assert author["books"]["edges"][0]["node"]["title"] == "Kindred"

    genre = data(
        await gql(
            'query { genre(slug: "science-fiction") { id name books { edges { node { title } } } } }'
        )
    )["genre"]
    assert genre["id"] == genre_id
    assert genre["books"]["edges"][0]["node"]["title"] == "Kindred"
    missing = error(await gql('query { genre(slug: "nope") { id } }'))
    assert missing["extensions"] == {"code": "GENRE_NOT_FOUND", "field": "slug"}
    # PostgreSQL cannot store or compare NUL: refused before it gets there.
    control = error(await gql("query($s: String!) { genre(slug: $s) { id } }", {"s": "a\x00"}))
    assert (control["extensions"]["code"], control["extensions"]["field"]) == (
        "VALIDATION_ERROR",
        "slug",
    )
    missing_author = base64.b64encode(b"Author:424242").decode()
    assert code(
        await gql("query($id: ID!) { author(id: $id) { id } }", {"id": missing_author})
    ) == ("AUTHOR_NOT_FOUND")


async def test_genres_listed_by_name(catalog: Catalog, gql: GraphQL) -> None:
    for name in ("Poetry", "Fantasy", "History"):
        await catalog.genre(name)
    names = [g["name"] for g in data(await gql("{ genres { name } }"))["genres"]]
    assert names == ["Fantasy", "History", "Poetry"]


async def test_authors_connection_with_search(catalog: Catalog, gql: GraphQL) -> None:
    for name in ("Ann Leckie", "Annie Ernaux", "Italo Calvino", "Anne Carson"):
        await catalog.author(name)
    query = """query($s: String, $first: Int, $after: String) {
      authors(filter: {search: $s}, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }"""
    page = data(await gql(query, {"s": "ann", "first": 2}))["authors"]
    assert page["totalCount"] == 3
    assert [e["node"]["name"] for e in page["edges"]] == ["Ann Leckie", "Anne Carson"]
    rest = data(await gql(query, {"s": "ann", "first": 2, "after": page["pageInfo"]["endCursor"]}))[
        "authors"
    ]
    assert [e["node"]["name"] for e in rest["edges"]] == ["Annie Ernaux"]
    assert rest["pageInfo"]["hasNextPage"] is False
    percent = data(await gql(query, {"s": "%"}))["authors"]
    assert percent["totalCount"] == 0  # LIKE wildcards are matched literally


async def test_node_and_nodes_resolve_every_catalog_type(catalog: Catalog, gql: GraphQL) -> None:
    author_id = await catalog.author()
    genre_id = await catalog.genre("Horror")
    book = await catalog.book(authors=[author_id], genres=[genre_id])
    query = """query($ids: [ID!]!) { nodes(ids: $ids) {
        __typename id
        ... on Book { title }
        ... on Author { name }
        ... on Genre { slug } } }"""
    unknown = base64.b64encode(b"Book:987654321").decode()
    nodes = data(await gql(query, {"ids": [book["id"], author_id, genre_id, unknown, book["id"]]}))[
        "nodes"
    ]
    assert [n and n["__typename"] for n in nodes] == ["Book", "Author", "Genre", None, "Book"]
    assert nodes[0]["title"] == book["title"]
    bad = error(await gql(query, {"ids": [book["id"], "garbage"]}))
    assert bad["extensions"]["code"] == "VALIDATION_ERROR"
    assert bad["extensions"]["field"] == "ids.1"
    too_many = error(await gql(query, {"ids": [book["id"]] * 101}))
    assert too_many["extensions"]["field"] == "ids"


async def test_users_are_nodes_visible_only_to_themselves_and_admins(
    gql: GraphQL, admin_token: str
) -> None:
    from tests.support import register

    alice, bob = await register(gql), await register(gql)
    query = "query($id: ID!) { node(id: $id) { ... on User { email } } }"
    alice_id = {"id": alice["user"]["id"]}
    assert data(await gql(query, alice_id, token=alice["accessToken"]))["node"] == {
        "email": alice["user"]["email"]
    }
    assert data(await gql(query, alice_id, token=bob["accessToken"]))["node"] is None
    assert data(await gql(query, alice_id))["node"] is None
    assert data(await gql(query, alice_id, token=admin_token))["node"]["email"]
