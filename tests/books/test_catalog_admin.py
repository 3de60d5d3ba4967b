"""Admin mutations: books, authors, genres; validation; permissions."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.books.factory import BOOK_FIELDS, Catalog, days_from_today, new_isbn13
from tests.support import GraphQL, code, data, error

CREATE_BOOK = f"mutation($i: CreateBookInput!) {{ createBook(input: $i) {{ {BOOK_FIELDS} }} }}"
UPDATE_BOOK = f"mutation($id: ID!, $i: UpdateBookInput!) {{ updateBook(id: $id, input: $i) {{ {BOOK_FIELDS} }} }}"


async def book_input(catalog: Catalog, **changes: Any) -> dict[str, Any]:
    values = {
        "title": "The Left Hand of Darkness",
        "isbn13": new_isbn13(),
        "price": "14.50",
        "releaseDate": days_from_today(-100),
        "authorIds": [await catalog.author()],
    }
    values.update(changes)
    return values


async def test_create_book_converts_isbn10(catalog: Catalog, gql: GraphQL) -> None:
    created = data(
        await gql(
            CREATE_BOOK,
            {"i": await book_input(catalog, isbn13="0-306-40615-2")},
            token=catalog.token,
        )
    )["createBook"]
    assert created["isbn13"] == "9780306406157"
    assert created["availability"] == "OUT_OF_STOCK"  # default stock is 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"isbn13": "9780306406158"}, "input.isbn13"),
        ({"isbn13": "0306406153"}, "input.isbn13"),
        ({"isbn13": "12345"}, "input.isbn13"),
        ({"price": "0"}, "input.price"),
        ({"price": "-5"}, "input.price"),
        ({"price": "1.999"}, "input.price"),
        ({"price": "100000000.00"}, "input.price"),
        ({"title": ""}, "input.title"),
        ({"title": "x" * 301}, "input.title"),
        ({"stockQuantity": -1}, "input.stockQuantity"),
        ({"pageCount": 0}, "input.pageCount"),
        ({"language": "english!"}, "input.language"),
        ({"coverUrl": "javascript:alert(1)"}, "input.coverUrl"),
        ({"authorIds": []}, "input.authorIds"),
        ({"authorIds": ["bad"]}, "input.authorIds.0"),
        ({"description": "x" * 10_001}, "input.description"),
    ],
)
async def test_create_book_validation(
    catalog: Catalog, gql: GraphQL, changes: dict[str, Any], field: str
) -> None:
    result = await gql(
        CREATE_BOOK, {"i": await book_input(catalog, **changes)}, token=catalog.token
    )
    failure = error(result)
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == field
    assert data(await gql("{ books { totalCount } }"))["books"]["totalCount"] == 0


async def test_create_book_reports_every_error_in_a_stable_order(
    catalog: Catalog, gql: GraphQL
) -> None:
    """The first error names the field; the order is the validation order, which is not the
    schema's field order (coverUrl is checked before authorIds)."""
    changes = {"authorIds": ["bad"], "coverUrl": "ftp://x", "language": "e"}
    result = await gql(
        CREATE_BOOK, {"i": await book_input(catalog, **changes)}, token=catalog.token
    )
    extensions = error(result)["extensions"]
    assert extensions["field"] == "input.language"
    assert [item["loc"] for item in extensions["errors"]] == [
        ["input", "language"],
        ["input", "coverUrl"],
        ["input", "authorIds", 0],
    ]


async def test_create_book_references_and_duplicates(catalog: Catalog, gql: GraphQL) -> None:
    ghost = base64.b64encode(b"Author:999999").decode()
    real = await catalog.author()
    unknown = error(
        await gql(
            CREATE_BOOK,
            {"i": await book_input(catalog, authorIds=[real, ghost])},
            token=catalog.token,
        )
    )
    assert unknown["extensions"] == {"code": "AUTHOR_NOT_FOUND", "field": "input.authorIds.1"}
    ghost_genre = base64.b64encode(b"Genre:999999").decode()
    no_genre = error(
        await gql(
            CREATE_BOOK,
            {"i": await book_input(catalog, genreIds=[ghost_genre])},
            token=catalog.token,
        )
    )
    assert no_genre["extensions"] == {"code": "GENRE_NOT_FOUND", "field": "input.genreIds.0"}

    isbn = new_isbn13()
    await catalog.book(isbn13=isbn)
    taken = error(
        await gql(CREATE_BOOK, {"i": await book_input(catalog, isbn13=isbn)}, token=catalog.token)
    )
    assert taken["extensions"] == {"code": "BOOK_ISBN_TAKEN", "field": "input.isbn13"}
    repeated = error(
        await gql(
            CREATE_BOOK,
            {"i": await book_input(catalog, authorIds=[real, real])},
            token=catalog.token,
        )
    )
    assert repeated["extensions"]["field"] == "input.authorIds"


async def test_update_book_is_partial(catalog: Catalog, gql: GraphQL) -> None:
    first, second = await catalog.author("First Author"), await catalog.author("Second Author")
    book = await catalog.book("Old title", authors=[first], subtitle="Keep me?", price="10.00")

    async def update(**changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = data(
            await gql(UPDATE_BOOK, {"id": book["id"], "i": changes}, token=catalog.token)
        )["updateBook"]
        return result

    renamed = await update(title="New title")
    assert (renamed["title"], renamed["subtitle"], renamed["price"]) == (
        "New title",
        "Keep me?",
        "10.00",
    )
    cleared = await update(subtitle=None, price="12.25")
    assert (cleared["subtitle"], cleared["price"]) == (None, "12.25")
    recredited = await update(authorIds=[second, first])
    assert [a["name"] for a in recredited["authors"]] == ["Second Author", "First Author"]
    null_title = error(
        await gql(UPDATE_BOOK, {"id": book["id"], "i": {"title": None}}, token=catalog.token)
    )
    assert null_title["extensions"]["code"] == "VALIDATION_ERROR"
    missing = base64.b64encode(b"Book:999999").decode()
    assert code(
        await gql(UPDATE_BOOK, {"id": missing, "i": {"title": "x"}}, token=catalog.token)
    ) == ("BOOK_NOT_FOUND")
    stock_attempt = await gql(
        UPDATE_BOOK, {"id": book["id"], "i": {"stockQuantity": 5}}, token=catalog.token
    )
    assert error(stock_attempt)["extensions"]["code"] == "VALIDATION_ERROR"
    assert error(stock_attempt)["extensions"]["field"] == "i.stockQuantity"


async def test_release_dates_at_the_edges_of_the_calendar(catalog: Catalog, gql: GraphQL) -> None:
    first, last = [
        data(await gql(CREATE_BOOK, {"i": sent}, token=catalog.token))["createBook"]
        for sent in [
            await book_input(catalog, releaseDate=day, stockQuantity=10)
            for day in ("0001-01-01", "9999-12-31")
        ]
    ]
    assert (first["releaseDate"], first["availability"]) == ("0001-01-01", "IN_STOCK")
    assert (last["releaseDate"], last["availability"]) == ("9999-12-31", "PREORDER")
    moved = await gql(
        UPDATE_BOOK, {"id": first["id"], "i": {"releaseDate": "9999-12-31"}}, token=catalog.token
    )
    assert data(moved)["updateBook"]["releaseDate"] == "9999-12-31"
    await gql(
        UPDATE_BOOK, {"id": first["id"], "i": {"releaseDate": "0001-01-01"}}, token=catalog.token
    )
    listing = """query($f: BookFilter, $after: String) {
      books(first: 1, after: $after, filter: $f, orderBy: {field: RELEASE_DATE, direction: ASC}) {
        pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    for bounds, expected in [
        ({"releasedAfter": "0001-01-01"}, [first["id"], last["id"]]),
        ({"releasedBefore": "0001-01-01"}, [first["id"]]),
        ({"releasedAfter": "9999-12-31"}, [last["id"]]),
        (
            {"releasedBefore": "9999-12-31", "releasedAfter": "0001-01-01"},
            [first["id"], last["id"]],
        ),
    ]:
        seen, page = [], {"pageInfo": {"hasNextPage": True, "endCursor": None}}
        while page["pageInfo"]["hasNextPage"]:  # page by page: cursors carry the edge dates
            after = page["pageInfo"]["endCursor"]
            page = data(await gql(listing, {"f": bounds, "after": after}))["books"]
            seen += [edge["node"]["id"] for edge in page["edges"]]
        assert seen == expected, bounds
    for sent in ("0000-12-31", "10000-01-01", "9999-12-32"):
        refused = error(await gql(listing, {"f": {"releasedAfter": sent}}))
        assert refused["extensions"]["code"] == "VALIDATION_ERROR"
        assert refused["extensions"]["field"] == "f.releasedAfter"


async def test_update_book_isbn_clash(catalog: Catalog, gql: GraphQL) -> None:
    taken = await catalog.book()
    other = await catalog.book()
    result = await gql(
        UPDATE_BOOK, {"id": other["id"], "i": {"isbn13": taken["isbn13"]}}, token=catalog.token
    )
    assert error(result)["extensions"] == {"code": "BOOK_ISBN_TAKEN", "field": "input.isbn13"}
    same = await gql(
        UPDATE_BOOK, {"id": other["id"], "i": {"isbn13": other["isbn13"]}}, token=catalog.token
    )
    assert "errors" not in same


async def test_archive_and_unarchive(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book()
    archive = "mutation($id: ID!) { archiveBook(id: $id) { isArchived } }"
    unarchive = "mutation($id: ID!) { unarchiveBook(id: $id) { isArchived } }"
    assert data(await gql(archive, {"id": book["id"]}, token=catalog.token))["archiveBook"] == {
        "isArchived": True
    }
    assert data(await gql("{ books { totalCount } }"))["books"]["totalCount"] == 0
    assert data(await gql(unarchive, {"id": book["id"]}, token=catalog.token))["unarchiveBook"] == {
        "isArchived": False
    }
    assert data(await gql("{ books { totalCount } }"))["books"]["totalCount"] == 1


async def test_authors_lifecycle(catalog: Catalog, gql: GraphQL) -> None:
    author = await catalog.author("Draft Name", bio="Draft")
    update = "mutation($id: ID!, $i: UpdateAuthorInput!) { updateAuthor(id: $id, input: $i) { name bio } }"
    assert data(
        await gql(update, {"id": author, "i": {"name": "Final Name"}}, token=catalog.token)
    )["updateAuthor"] == {"name": "Final Name", "bio": "Draft"}
    assert data(await gql(update, {"id": author, "i": {"bio": None}}, token=catalog.token))[
        "updateAuthor"
    ] == {"name": "Final Name", "bio": None}
    delete = "mutation($id: ID!) { deleteAuthor(id: $id) }"
    book = await catalog.book(authors=[author])
    credited = error(await gql(delete, {"id": author}, token=catalog.token))
    assert credited["extensions"] == {"code": "AUTHOR_HAS_BOOKS", "field": "id"}
    other = await catalog.author("Someone Else")
    await gql(UPDATE_BOOK, {"id": book["id"], "i": {"authorIds": [other]}}, token=catalog.token)
    # The deleted author's ID, for client caches to evict.
    assert data(await gql(delete, {"id": author}, token=catalog.token)) == {"deleteAuthor": author}
    assert code(await gql(delete, {"id": author}, token=catalog.token)) == "AUTHOR_NOT_FOUND"


async def test_genres_lifecycle(catalog: Catalog, gql: GraphQL) -> None:
    create = "mutation($i: CreateGenreInput!) { createGenre(input: $i) { id name slug } }"
    created = data(await gql(create, {"i": {"name": "Magical Realism"}}, token=catalog.token))[
        "createGenre"
    ]
    assert created["slug"] == "magical-realism"
    slug_taken = error(
        await gql(create, {"i": {"name": "Other", "slug": "magical-realism"}}, token=catalog.token)
    )
    assert slug_taken["extensions"] == {"code": "GENRE_SLUG_TAKEN", "field": "input.slug"}
    name_taken = error(
        await gql(create, {"i": {"name": "magical realism", "slug": "mr"}}, token=catalog.token)
    )
    assert name_taken["extensions"] == {"code": "GENRE_NAME_TAKEN", "field": "input.name"}
    derived_slug = error(await gql(create, {"i": {"name": "Magical Realism"}}, token=catalog.token))
    assert derived_slug["extensions"] == {"code": "GENRE_NAME_TAKEN", "field": "input.name"}
    bad_slug = error(
        await gql(create, {"i": {"name": "X", "slug": "Not A Slug"}}, token=catalog.token)
    )
    assert bad_slug["extensions"]["field"] == "input.slug"

    update = (
        "mutation($id: ID!, $i: UpdateGenreInput!) { updateGenre(id: $id, input: $i) { slug } }"
    )
    assert data(
        await gql(
            update, {"id": created["id"], "i": {"slug": "magic-realism"}}, token=catalog.token
        )
    )["updateGenre"] == {"slug": "magic-realism"}
    book = await catalog.book(genres=[created["id"]])
    delete = "mutation($id: ID!) { deleteGenre(id: $id) }"
    assert data(await gql(delete, {"id": created["id"]}, token=catalog.token)) == {
        "deleteGenre": created["id"]
    }
    still_there = data(
        await gql("query($id: ID!) { book(id: $id) { genres { id } } }", {"id": book["id"]})
    )
    assert still_there["book"]["genres"] == []


ADMIN_MUTATIONS = [
    ('mutation { createAuthor(input: {name: "X"}) { id } }', {}),
    (
        'mutation($id: ID!) { updateAuthor(id: $id, input: {name: "X"}) { id } }',
        {"id": "QXV0aG9yOjE="},
    ),
    ("mutation($id: ID!) { deleteAuthor(id: $id) }", {"id": "QXV0aG9yOjE="}),
    ('mutation { createGenre(input: {name: "X"}) { id } }', {}),
    (
        'mutation($id: ID!) { updateGenre(id: $id, input: {name: "X"}) { id } }',
        {"id": "R2VucmU6MQ=="},
    ),
    ("mutation($id: ID!) { deleteGenre(id: $id) }", {"id": "R2VucmU6MQ=="}),
    ("mutation($id: ID!) { archiveBook(id: $id) { id } }", {"id": "Qm9vazox"}),
    ("mutation($id: ID!) { unarchiveBook(id: $id) { id } }", {"id": "Qm9vazox"}),
    ('mutation($id: ID!) { updateBook(id: $id, input: {title: "X"}) { id } }', {"id": "Qm9vazox"}),
    (
        'mutation { createBook(input: {title: "X", isbn13: "9780306406157", price: "1",'
        ' releaseDate: "2020-01-01", authorIds: ["QXV0aG9yOjE="]}) { id } }',
        {},
    ),
]


@pytest.mark.parametrize(("mutation", "variables"), ADMIN_MUTATIONS)
async def test_catalog_mutations_are_admin_only(
    gql: GraphQL, customer_token: str, mutation: str, variables: dict[str, Any]
) -> None:
    assert code(await gql(mutation, variables)) == "AUTH_REQUIRED"
    assert code(await gql(mutation, variables, token=customer_token)) == "AUTH_FORBIDDEN"


async def test_an_isbn10_of_a_book_already_there_is_taken(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book(isbn13="9780306406157")
    again = await book_input(catalog, isbn13="0-306-40615-2")
    taken = error(await gql(CREATE_BOOK, {"i": again}, token=catalog.token))
    assert taken["extensions"] == {"code": "BOOK_ISBN_TAKEN", "field": "input.isbn13"}
