"""The fast path (plain `books`, `book` and `cart` queries) answers exactly what the
regular path answers.

Every request is sent to the suite's app (fast path on) and to a twin with the fast path
off, on the same connection and data; the two bodies must be the same bytes. The fast path
must also really be taken where it claims to be, never fail over to the regular path
(`conftest.fast_path_never_fails`), and take the statements the regular path takes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from graphql import GraphQLField, get_named_type, is_leaf_type
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from app.books import service as books_service
from app.core.config import Settings
from app.db.session import Database
from app.main import create_app
from tests.books.factory import Catalog
from tests.proxy import proxied_client
from tests.support import (
    GraphQL,
    StatementCounter,
    add_to_cart,
    code,
    data,
    new_guest_cart,
    register,
)

BOOK = """
id title subtitle isbn13 description price availability releaseDate pageCount language
publisher coverUrl isArchived createdAt updatedAt __typename
ratingSummary { average count histogram __typename }
authors { id name bio createdAt updatedAt __typename }
genres { id name slug description __typename }
"""
EVERYTHING = f"""{{ books(first: 10) {{
  totalCount __typename
  pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor __typename }}
  edges {{ cursor __typename node {{ {BOOK} }} }}
}} }}"""

FAST = {
    "everything": (EVERYTHING, None),
    "aliases everywhere": (
        """{ shelf: books(first: 3) { count: totalCount also: totalCount
            items: edges { at: cursor book: node { name: title cost: price
              by: authors { who: name } tags: genres { label: slug } } }
            page: pageInfo { more: hasNextPage } } }""",
        None,
    ),
    "variables and an order": (
        """query Shelf($n: Int!, $order: BookOrder) {
            books(first: $n, orderBy: $order) { edges { node { title price } } } }""",
        {"n": 4, "order": {"field": "PRICE", "direction": "DESC"}},
    ),
    "from the end": (
        "{ books(last: 2, orderBy: {field: TITLE, direction: ASC}) "
        "{ pageInfo { hasPreviousPage hasNextPage } edges { cursor node { title } } } }",
        None,
    ),
    "filters": (
        """query($f: BookFilter) { books(filter: $f) { totalCount edges { node { title } } } }""",
        {"f": {"minPrice": "10", "maxPrice": "30", "inStock": True}},
    ),
    "availability filter": (
        """{ books(filter: {availability: [PREORDER, OUT_OF_STOCK]}) {
            edges { node { title availability releaseDate } } } }""",
        None,
    ),
    "search": (
        """{ books(filter: {search: "wizard"}) { totalCount edges { node { title } } } }""",
        None,
    ),
    "only the count": ("{ books { totalCount } }", None),
    "by rating, with a minimum": (
        """{ books(orderBy: {field: RATING, direction: DESC}, filter: {minRating: 3.5}) {
            edges { cursor node { title ratingSummary { average count histogram } } } } }""",
        None,
    ),
    "one of several operations": (
        "query A { books(first: 1) { edges { node { title } } } } query B { apiInfo { version } }",
        None,
    ),
}

REGULAR = {
    "a field the plan doesn't know": "{ books { edges { node { title stockQuantity } } } }",
    "reviews": "{ books { edges { node { title reviews { totalCount } } } } }",
    "the viewer's review": "{ books { edges { node { title myReview { id } } } } }",
    "nested connections": "{ books { edges { node { authors { books { totalCount } } } } } }",
    "a fragment": "{ books { edges { node { ...F } } } } fragment F on Book { title }",
    "a directive": "{ books { edges { node { title @include(if: true) } } } }",
    "two root fields": "{ books { totalCount } apiInfo { version } }",
    "a repeated key": "{ books { edges { node { title title } } } }",
    "a mutation": "mutation { logout }",
    "an invalid document": "{ books { edges { node { nope } } } }",
    "a syntax error": "{ books { ",
}
ERRORS = {
    "a negative page size": ("{ books(first: -1) { totalCount } }", None),
    "a page too large": ("{ books(first: 5000) { totalCount } }", None),
    "a bad cursor": ('{ books(after: "nope") { totalCount } }', None),
    "both directions": ("{ books(first: 1, last: 1) { totalCount } }", None),
    "an archived filter without rights": (
        "{ books(filter: {includeArchived: true}) { totalCount } }",
        None,
    ),
    "a bad price": ('{ books(filter: {minPrice: "cheap"}) { totalCount } }', None),
    "a wrong variable": (
        "query($n: Int!) { books(first: $n) { totalCount } }",
        {"n": "five"},
    ),
    "a missing variable": ("query($n: Int!) { books(first: $n) { totalCount } }", {}),
}


@pytest.fixture(scope="module")
async def regular_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_twin(settings)
    async with LifespanManager(app):
        yield app


def create_twin(settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"catalog_fast_path": False}))


def planned(app: FastAPI, query: str, operation_name: str | None = None) -> bool:
    """Whether the app's fast path has a plan for the document (the request takes it)."""
    view = app.state.graphql
    operation = view.documents.get(query).operation(operation_name)
    return operation is not None and view.fast_path.plan(operation) is not None


@pytest.fixture
async def twins(
    app: FastAPI, regular_app: FastAPI, database: Database
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of the fast app and of the regular twin, on this test's connection."""
    pooled = regular_app.state.database
    regular_app.state.database = database
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as fast,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(regular_app), base_url="http://t"
            ) as regular,
        ):
            yield fast, regular
    finally:
        regular_app.state.database = pooled


@pytest.fixture
async def shelf(catalog: Catalog, gql: GraphQL) -> None:
    """Books with and without optional data, several authors and genres, every
    availability."""
    le_guin = await catalog.author("Ursula K. Le Guin", bio="Wrote Earthsea.")
    pratchett = await catalog.author("Terry Pratchett")
    fantasy = await catalog.genre("Fantasy", "fantasy")
    humour = await catalog.genre("Humour", "humour")
    earthsea = await catalog.book(
        "A Wizard of Earthsea",
        authors=[le_guin],
        genres=[fantasy],
        subtitle="Earthsea I",
        description="A boy becomes a wizard.",
        pageCount=183,
        language="en",
        publisher="Parnassus",
        coverUrl="https://covers.example/earthsea.jpg",
    )
    omens = await catalog.book(
        "Good Omens", authors=[pratchett, le_guin], genres=[fantasy, humour], price="12.50"
    )
    await catalog.book("Mort", authors=[pratchett], genres=[humour], price="9.00", stock=0)
    await catalog.book("Soon", authors=[pratchett], price="25.00", released_days_ago=-30)
    await catalog.book("Few Left", authors=[le_guin], price="30.00", stock=2)
    # Ratings: averages of two decimals (3.67), whole (5.0) and none (null).
    readers = [(await register(gql))["accessToken"] for _ in range(3)]
    review = "mutation($b: ID!, $r: Int!) { writeReview(input: {bookId: $b, rating: $r}) { id } }"
    for token, rating in zip(readers, (5, 4, 2), strict=True):
        data(await gql(review, {"b": earthsea["id"], "r": rating}, token=token))
    data(await gql(review, {"b": omens["id"], "r": 5}, token=readers[0]))


async def both(
    twins: tuple[httpx.AsyncClient, httpx.AsyncClient],
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The fast app's response, after checking the regular twin answers the same bytes."""
    answers = [await client.post("/graphql", json=payload, headers=headers) for client in twins]
    assert answers[0].status_code == answers[1].status_code
    assert answers[0].headers["content-type"] == answers[1].headers["content-type"]
    assert answers[0].content == answers[1].content
    return answers[0]


@pytest.mark.parametrize("name", FAST)
async def test_plain_catalog_queries_take_the_fast_path_and_match(
    name: str, app: FastAPI, twins: Any, shelf: None
) -> None:
    query, variables = FAST[name]
    payload: dict[str, Any] = {"query": query, "variables": variables}
    if name == "one of several operations":
        payload["operationName"] = "A"
    response = await both(twins, payload)
    assert "errors" not in response.json()
    assert planned(app, query, payload.get("operationName"))


# A page of `books` selecting `%s` on each catalog type.
CATALOG_TYPES = {
    "Book": "{ books { edges { node { %s } } } }",
    "Author": "{ books { edges { node { authors { %s } } } } }",
    "Genre": "{ books { edges { node { genres { %s } } } } }",
}


def selection(name: str, field: GraphQLField) -> str:
    """The field, with every leaf field of its type when it is an object (ratingSummary)."""
    named = get_named_type(field.type)
    if is_leaf_type(named):
        return name
    leaves = [n for n, f in named.fields.items() if is_leaf_type(get_named_type(f.type))]  # type: ignore[attr-defined]
    return f"{name} {{ {' '.join(leaves)} }}"


def fields_of(app: FastAPI, type_name: str) -> dict[str, GraphQLField]:
    fields: dict[str, GraphQLField] = app.state.graphql.schema._schema.get_type(type_name).fields
    return fields


@pytest.mark.parametrize("type_name", CATALOG_TYPES)
async def test_every_plain_field_is_fast_as_soon_as_it_is_declared(
    type_name: str, app: FastAPI, twins: Any, shelf: None
) -> None:
    """The plan is derived from the schema: a field Strawberry reads from an attribute (no
    resolver) is read by its Python name and serialized by its GraphQL type, with nothing
    to list anywhere."""
    fields = fields_of(app, type_name)
    plain = [
        name
        for name, field in fields.items()
        if field.extensions["strawberry-definition"].base_resolver is None
    ]
    assert {"id", "name"} & set(plain)
    query = CATALOG_TYPES[type_name] % " ".join(selection(name, fields[name]) for name in plain)
    assert "errors" not in (await both(twins, {"query": query})).json()
    assert planned(app, query)


async def test_any_catalog_field_is_served_or_gives_way_never_wrong(
    twins: Any, app: FastAPI, shelf: None
) -> None:
    """Plain, prefetched, computed, permission-checked, viewer-dependent or with arguments:
    a page selecting the field answers the regular path's bytes."""
    for type_name, page in CATALOG_TYPES.items():
        for name, field in fields_of(app, type_name).items():
            leaf = is_leaf_type(get_named_type(field.type))
            query = page % (name if leaf else f"{name} {{ __typename }}")
            await both(twins, {"query": query})


async def test_every_page_matches_when_walking_forwards_and_backwards(
    twins: Any, shelf: None
) -> None:
    query = """query($after: String, $before: String, $first: Int, $last: Int) {
        books(first: $first, after: $after, last: $last, before: $before,
              orderBy: {field: PRICE, direction: ASC}) {
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { title price } } } }"""
    forwards: list[str] = []
    after = None
    while True:
        variables = {"first": 2, "after": after}
        page = data((await both(twins, {"query": query, "variables": variables})).json())["books"]
        forwards += [edge["node"]["title"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backwards: list[str] = []
    before = None
    while True:
        variables = {"last": 2, "before": before}
        page = data((await both(twins, {"query": query, "variables": variables})).json())["books"]
        backwards = [edge["node"]["title"] for edge in page["edges"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert forwards == backwards
    assert len(forwards) == 5


@pytest.mark.parametrize("name", REGULAR)
async def test_anything_else_takes_the_regular_path(
    name: str, app: FastAPI, twins: Any, shelf: None
) -> None:
    await both(twins, {"query": REGULAR[name]})
    assert not planned(app, REGULAR[name])


@pytest.mark.parametrize("name", ERRORS)
async def test_errors_match_the_regular_paths(name: str, twins: Any, shelf: None) -> None:
    """Those of the root field's resolver are the fast path's own answer; the others (the
    variables') the regular path's."""
    query, variables = ERRORS[name]
    for headers in ({}, {"X-Query-Cost": "1"}):
        response = await both(twins, {"query": query, "variables": variables}, headers)
        assert response.json()["errors"][0]["extensions"]["code"]


async def test_viewer_dependent_fields_take_the_regular_path(
    twins: Any, shelf: None, customer_token: str
) -> None:
    query = "{ books { edges { node { title inWishlist } } } }"
    headers = {"Authorization": f"Bearer {customer_token}"}
    edges = data((await both(twins, {"query": query}, headers)).json())["books"]["edges"]
    assert [edge["node"]["inWishlist"] for edge in edges] == [False] * 5


async def test_signed_in_plain_pages_match_with_the_viewers_rights(
    app: FastAPI,
    twins: Any,
    shelf: None,
    gql: GraphQL,
    catalog: Catalog,
    customer_token: str,
    admin_token: str,
    fast_path_calls: list[Any],
) -> None:
    """A customer's plain page is the public one; an admin's includes archived books where
    asked."""
    await catalog.archive((await book_ids(gql))["Mort"])
    query = "{ books(filter: {includeArchived: true}) { totalCount edges { node { title } } } }"
    assert planned(app, query)
    fast_path_calls.clear()
    refused = await both(twins, {"query": query}, bearer(customer_token))
    assert code(refused.json()) == "AUTH_FORBIDDEN"
    shown = data((await both(twins, {"query": query}, bearer(admin_token))).json())
    assert shown["books"]["totalCount"] == 5
    plain = "{ books { totalCount edges { node { title price } } } }"
    assert data((await both(twins, {"query": plain}, bearer(customer_token))).json())
    assert fast_path_calls[0] is not None  # the customer's refusal: the resolver's error
    assert fast_path_calls[1] is not None
    assert fast_path_calls[2] is not None


async def test_cost_report_and_media_types_match(twins: Any, shelf: None) -> None:
    payload = {"query": EVERYTHING}
    reported = (await both(twins, payload, {"X-Query-Cost": "1"})).json()
    assert reported["extensions"]["cost"]["requested"] > 0
    answer = await both(twins, payload, {"Accept": "application/graphql-response+json"})
    assert answer.headers["content-type"].startswith("application/graphql-response+json")
    gets = [await client.get("/graphql", params={"query": EVERYTHING}) for client in twins]
    assert gets[0].content == gets[1].content
    assert "errors" not in gets[0].json()


async def test_a_query_over_the_cost_limit_is_refused_by_the_regular_path(
    settings: Settings, database: Database, shelf: None
) -> None:
    tight = settings.model_copy(update={"graphql_max_cost": 100})
    app = create_app(tight, database=database)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):
        result = (await client.post("/graphql", json={"query": EVERYTHING})).json()
    assert result["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_fast_catalog_page_keeps_the_statement_budget(
    app: FastAPI, twins: Any, shelf: None, statements: StatementCounter
) -> None:
    """The books with their authors and genres in one statement; and the count only when
    asked for."""
    fast, _ = twins
    counts = []
    for query in (EVERYTHING, EVERYTHING.replace("totalCount", "")):
        assert planned(app, query)
        statements.statements.clear()
        response = await fast.post("/graphql", json={"query": query})
        assert len(data(response.json())["books"]["edges"]) == 5
        counts.append(statements.count)
    assert counts == [2, 1], statements.statements


# -- the cart ---------------------------------------------------------------------------------

CART = """{ cart { id totalQuantity subtotal updatedAt __typename
  items { id quantity unitPrice lineTotal addedAt book { id title price availability } }
  warnings { code message bookId availableQuantity } } }"""
BENCH_CART = "{ cart { items { quantity book { title price } } subtotal } }"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fast_path_calls(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The results the fast app's fast path gave (None: it gave way)."""
    fast_path = app.state.graphql.fast_path
    calls: list[Any] = []
    execute = fast_path.execute

    async def counted(*args: Any, **kwargs: Any) -> Any:
        result = await execute(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(fast_path, "execute", counted)
    return calls


async def test_a_signed_in_users_cart_takes_the_fast_path_and_matches(
    app: FastAPI,
    twins: Any,
    catalog: Catalog,
    gql: GraphQL,
    customer_token: str,
    statements: StatementCounter,
    fast_path_calls: list[Any],
) -> None:
    for title, price in (("Dune", "12.50"), ("Emma", "8.00"), ("Mort", "9.99")):
        book = await catalog.book(title, price=price, stock=20)
        data(await add_to_cart(gql, customer_token, book["id"], 2))
    for query in (CART, BENCH_CART):
        assert planned(app, query)
        fast_path_calls.clear()
        statements.statements.clear()
        response = await both(twins, {"query": query}, bearer(customer_token))
        assert len(data(response.json())["cart"]["items"]) == 3
        assert fast_path_calls and fast_path_calls[0] is not None
        # Each path: the token's check (cached per worker, off in the suite) and the cart
        # with its lines.
        assert statements.count == 4, statements.statements


async def test_a_cart_with_warnings_matches(
    twins: Any,
    catalog: Catalog,
    gql: GraphQL,
    customer_token: str,
    database: Database,
    fast_path_calls: list[Any],
) -> None:
    pricey = await catalog.book("Price Change", price="10.00", stock=10)
    scarce = await catalog.book("Scarce", stock=10)
    withdrawn = await catalog.book("Withdrawn", stock=10)
    upcoming = await catalog.book("Soon", stock=10)
    for book in (pricey, scarce, withdrawn, upcoming):
        data(await add_to_cart(gql, customer_token, book["id"], 4))
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {price: "12.00"}) { id } }',
        {"id": pricey["id"]},
    )
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {releaseDate: "2999-01-01"}) { id } }',
        {"id": upcoming["id"]},
    )
    async with database.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE books SET stock_quantity = 1 WHERE title = 'Scarce'"))
    await catalog.archive(withdrawn["id"])
    fast_path_calls.clear()
    response = await both(twins, {"query": CART}, bearer(customer_token))
    codes = {w["code"] for w in data(response.json())["cart"]["warnings"]}
    assert codes == {
        "CART_PRICE_CHANGED",
        "CART_OUT_OF_STOCK",
        "BOOK_NOT_FOUND",
        "BOOK_NOT_RELEASED",
    }
    assert fast_path_calls[0] is not None


async def test_an_empty_cart_and_a_first_use_match(
    app: FastAPI, twins: Any, gql: GraphQL, fast_path_calls: list[Any]
) -> None:
    """The fast path opens a new account's cart as the resolver does (then the twin finds
    it open, empty), and reads an empty one."""
    account = await register(gql)
    for _ in range(2):
        fast_path_calls.clear()
        response = await both(twins, {"query": CART}, bearer(account["accessToken"]))
        assert data(response.json())["cart"]["items"] == []
        assert fast_path_calls[0] is not None
    other = await register(gql)
    fast, regular = twins
    bodies = []
    for client, token in ((fast, account["accessToken"]), (regular, other["accessToken"])):
        response = await client.post("/graphql", json={"query": BENCH_CART}, headers=bearer(token))
        bodies.append(response.content)
    assert bodies[0] == bodies[1]  # a first use on either path answers the same


async def test_no_identity_no_cart(app: FastAPI, twins: Any, fast_path_calls: list[Any]) -> None:
    response = await both(twins, {"query": CART})
    assert response.json() == {"data": {"cart": None}}
    assert fast_path_calls[0] is not None


async def test_a_guest_cart_takes_the_regular_path(
    twins: Any, catalog: Catalog, gql: GraphQL, customer_token: str, fast_path_calls: list[Any]
) -> None:
    guest = await new_guest_cart(gql)
    book = await catalog.book("Dune", stock=20)
    add = "mutation($b: ID!) { addToCart(bookId: $b, quantity: 2) { id } }"
    data(await gql(add, {"b": book["id"]}, headers={"X-Cart-Token": guest}))
    fast_path_calls.clear()
    for headers in (
        {"X-Cart-Token": guest},
        {"X-Cart-Token": guest, **bearer(customer_token)},  # CART_GUEST_NOT_MERGED
        {"X-Cart-Token": "no such cart"},
    ):
        await both(twins, {"query": CART}, headers)
    assert fast_path_calls == []


@pytest.mark.parametrize("refusal", ["expired", "revoked", "garbage", "not bearer"])
async def test_a_refused_token_gets_the_regular_paths_error(
    refusal: str,
    twins: Any,
    gql: GraphQL,
    settings: Settings,
    statements: StatementCounter,
    fast_path_calls: list[Any],
) -> None:
    account = await register(gql)
    token = account["accessToken"]
    headers = bearer(token)
    if refusal == "expired":
        claims = jwt.decode(token, options={"verify_signature": False})
        past = int(time.time()) - 3600
        claims.update(iat=past - 600, nbf=past - 600, exp=past)
        headers = bearer(jwt.encode(claims, settings.secret_key.get_secret_value(), "HS256"))
    elif refusal == "revoked":
        data(await gql("mutation { logoutAll }", token=token))
    elif refusal == "garbage":
        headers = bearer("not.a.jwt")
    else:
        headers = {"Authorization": f"Basic {token}"}
    fast_path_calls.clear()
    statements.statements.clear()
    response = await both(twins, {"query": CART}, headers)
    expected = "AUTH_TOKEN_EXPIRED" if refusal == "expired" else "AUTH_INVALID_TOKEN"
    assert code(response.json()) == expected
    assert fast_path_calls == [None]  # it gave way
    # The regular path goes on with the fast path's check: no second one.
    assert statements.count == (2 if refusal == "revoked" else 0), statements.statements


# -- a book's page ----------------------------------------------------------------------------

DETAIL = """query($id: ID!) { book(id: $id) { id title price description
  authors { id name books(first: 5) { edges { node { id title } } } } } }"""
DETAILS = {
    "the bench's": DETAIL,
    "everything plain, a page size in a variable": f"""query($id: ID!, $n: Int) {{
      book(id: $id) {{ {
        BOOK.split("genres {")[0].replace(
            "authors {",
            "writers: authors { "
            "books(first: $n) { __typename "
            "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
            "edges { cursor node { id title price availability } } }",
        )
    } }} }}""",
    "the authors' books without arguments": """query($id: ID!) { book(id: $id) { title
      authors { name books { edges { node { title } } } } } }""",
    "without the authors' books": "query($id: ID!) { book(id: $id) { title authors { name } } }",
    "only the book": "query($id: ID!) { book(id: $id) { title price } }",
}
# What the root field's fetch doesn't read ahead: not planned (a plan would read, then give
# way to the regular path, which reads again).
DETAIL_GIVES_WAY = {
    "its genres": "query($id: ID!) { book(id: $id) { title genres { name } } }",
    "another order": """query($id: ID!) { book(id: $id) { authors {
      books(first: 2, orderBy: {field: TITLE, direction: ASC}) { edges { node { title } } } } } }""",
    "two pages of books": """query($id: ID!) { book(id: $id) { authors {
      a: books(first: 1) { edges { node { title } } }
      b: books(first: 2) { edges { node { title } } } } } }""",
    "a page too large": """query($id: ID!) { book(id: $id) { authors {
      books(first: 5000) { edges { node { title } } } } } }""",
    "the page's authors' books": """{ books(first: 3) { edges { node { title
      authors { name books(first: 2) { edges { node { title } } } } } } } }""",
    "the page's authors' books without arguments": """{ books(first: 3) { edges { node {
      title authors { name books { edges { node { title } } } } } } } }""",
}


async def book_ids(gql: GraphQL) -> dict[str, str]:
    edges = data(await gql("{ books(first: 10) { edges { node { id title } } } }"))["books"]
    return {edge["node"]["title"]: edge["node"]["id"] for edge in edges["edges"]}


@pytest.mark.parametrize("name", DETAILS)
async def test_a_books_page_takes_the_fast_path_and_matches(
    name: str,
    app: FastAPI,
    twins: Any,
    shelf: None,
    gql: GraphQL,
    statements: StatementCounter,
    fast_path_calls: list[Any],
) -> None:
    query = DETAILS[name]
    assert planned(app, query)
    for title, book in (await book_ids(gql)).items():
        fast_path_calls.clear()
        statements.statements.clear()
        variables = {"id": book, "n": 2}
        response = await both(twins, {"query": query, "variables": variables})
        assert data(response.json())["book"], title
        assert fast_path_calls[0] is not None, title
        # One statement each: the book with its authors and their first books.
        assert statements.count == 2, statements.statements


@pytest.mark.parametrize("name", DETAIL_GIVES_WAY)
async def test_a_books_page_the_read_ahead_doesnt_cover_gives_way(
    name: str,
    app: FastAPI,
    twins: Any,
    shelf: None,
    gql: GraphQL,
    statements: StatementCounter,
    fast_path_calls: list[Any],
) -> None:
    book = (await book_ids(gql))["Good Omens"]
    fast_path_calls.clear()
    payload = {"query": DETAIL_GIVES_WAY[name], "variables": {"id": book}}
    await both(twins, payload)
    assert fast_path_calls == [None]
    assert not planned(app, DETAIL_GIVES_WAY[name])
    fast, regular = await statement_counts(twins, statements, payload)
    assert fast == regular, statements.statements


async def test_a_page_size_in_a_variable_is_checked_when_it_comes(
    app: FastAPI,
    twins: Any,
    shelf: None,
    gql: GraphQL,
    statements: StatementCounter,
    fast_path_calls: list[Any],
) -> None:
    """Planned: the variable's page is read ahead if it may be; else the regular path
    reports it, and the fast path read nothing first."""
    query = """query($id: ID!, $n: Int) { book(id: $id) { authors {
      books(first: $n) { edges { node { title } } } } } }"""
    assert planned(app, query)
    book = (await book_ids(gql))["Good Omens"]
    for n, answered in ((2, True), (5000, False)):
        fast_path_calls.clear()
        payload = {"query": query, "variables": {"id": book, "n": n}}
        await both(twins, payload)
        assert (fast_path_calls[0] is not None) is answered
        fast, regular = await statement_counts(twins, statements, payload)
        assert fast == regular, statements.statements


async def test_a_carts_books_authors_are_not_planned(
    app: FastAPI,
    twins: Any,
    catalog: Catalog,
    gql: GraphQL,
    customer_token: str,
    statements: StatementCounter,
) -> None:
    """The cart's read has no authors: not planned, not read twice."""
    author = await catalog.author("A. Writer")
    book = await catalog.book("Dune", authors=[author], stock=20)
    data(await add_to_cart(gql, customer_token, book["id"], 2))
    query = "{ cart { items { quantity book { title authors { name } } } } }"
    await both(twins, {"query": query}, bearer(customer_token))
    assert not planned(app, query)
    fast, regular = await statement_counts(
        twins, statements, {"query": query}, bearer(customer_token)
    )
    assert fast == regular, statements.statements


async def test_a_missing_archived_or_malformed_book_gets_the_regular_paths_error(
    twins: Any,
    shelf: None,
    gql: GraphQL,
    catalog: Catalog,
    statements: StatementCounter,
    fast_path_calls: list[Any],
) -> None:
    """Answered by the fast path, in the statements the regular path takes (the book's
    read, none for a malformed id), not read again by the regular path."""
    books = await book_ids(gql)
    await catalog.archive(books["Mort"])
    for book, reads in (
        (books["Mort"], 1),
        ("Qm9vazo5OTk5OTk=", 1),
        ("not an id", 0),
        (books["Good Omens"][:-2], 0),
    ):
        fast_path_calls.clear()
        payload = {"query": DETAIL, "variables": {"id": book}}
        response = await both(twins, payload)
        assert response.json()["errors"][0]["extensions"]["code"]
        assert fast_path_calls[0] is not None
        assert await statement_counts(twins, statements, payload) == [reads, reads], book


async def statement_counts(
    twins: tuple[httpx.AsyncClient, httpx.AsyncClient],
    statements: StatementCounter,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> list[int]:
    """The statements the request takes on the fast app and on its regular twin."""
    counts = []
    for client in twins:
        statements.statements.clear()
        await client.post("/graphql", json=payload, headers=headers)
        counts.append(statements.count)
    return counts


# -- the database down ------------------------------------------------------------------------

DOWN = {
    "a book": ('{ book(id: "Qm9vazox") { title } }', False),
    "a book and its authors": ('{ book(id: "Qm9vazox") { title authors { name } } }', False),
    "a page of books": ("{ books(first: 1) { edges { node { title } } } }", False),
    "a signed-in user's cart": ("{ cart { items { quantity book { title } } } }", True),
}


@pytest.mark.parametrize("cost", [False, True], ids=["", "with its cost"])
@pytest.mark.parametrize("name", DOWN)
async def test_the_database_down_is_answered_as_the_regular_path_does(
    name: str, cost: bool, settings: Settings, database: Database
) -> None:
    """A nullable root field is null beside the error; a non-null one nulls `data`; the
    cost is reported all the same when asked for.
    (`database`: what the apps write through the proxy is truncated after.)"""
    query, signed_in = DOWN[name]
    bodies = []
    for fast in (True, False):
        # Without the response cache: both executions answer.
        changed = settings.model_copy(update={"catalog_fast_path": fast, "response_cache": False})
        async with proxied_client(changed) as (client, proxy):
            headers = bearer((await register(GraphQL(client)))["accessToken"]) if signed_in else {}
            if cost:
                headers["X-Query-Cost"] = "1"
            await proxy.stop()
            response = await client.post("/graphql", json={"query": query}, headers=headers)
            assert response.status_code == 200
            bodies.append(response.content)
    assert bodies[0] == bodies[1]
    assert code(orjson.loads(bodies[0])) == "SERVICE_UNAVAILABLE"
    assert ("cost" in orjson.loads(bodies[0]).get("extensions", {})) is cost


@pytest.mark.parametrize(
    "query",
    [
        "{ books(first: 2) { totalCount edges { node { title } } } }",
        "{ books(first: 2) { edges { node { title } } a: totalCount b: totalCount } }",
    ],
)
async def test_a_count_timing_out_is_reported_at_the_count(
    query: str, twins: Any, shelf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page was read, its count times out: the error is the count's, as graphql-core
    reports it (its non-null field nulls the page)."""

    async def times_out(*args: object, **kwargs: object) -> int:
        raise sa_exc.TimeoutError("statement timeout")

    monkeypatch.setattr(books_service, "count_books", times_out)
    for headers in ({}, {"X-Query-Cost": "1"}):
        response = await both(twins, {"query": query}, headers)
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert len(error["path"]) == 2
