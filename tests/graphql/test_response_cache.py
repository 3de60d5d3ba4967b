"""The response cache: anonymous queries only (not those with a guest cart token), and
invalidated across instances by PostgreSQL notifications (two app instances on one
database)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from app.core.config import Settings
from app.db.session import Database
from app.graphql import fastpath
from app.main import create_app
from tests.books.factory import Catalog
from tests.proxy import DatabaseProxy
from tests.support import (
    PASSWORD,
    REGISTER,
    GraphQL,
    StatementCounter,
    add_to_cart,
    checkout,
    code,
    data,
    new_guest_cart,
    register,
    unique_email,
)

pytestmark = pytest.mark.committing

PRICES = "{ books(orderBy: {field: TITLE, direction: ASC}) { edges { node { title price availability } } } }"


@pytest.fixture
async def instances(settings: Settings) -> AsyncIterator[list[FastAPI]]:
    """Two API instances with the cache on, as behind a load balancer."""
    cached = settings.model_copy(update={"response_cache": True})
    async with AsyncExitStack() as stack:
        apps = [create_app(cached) for _ in range(2)]
        for app in apps:
            await stack.enter_async_context(LifespanManager(app))
        for app in apps:  # listening before the test starts
            await wait_for(partial(_listening, app))
        yield apps


def _listening(app: FastAPI) -> bool:
    listener = app.state.events
    return listener is not None and bool(listener.listening)


async def wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polling another component's state
            await asyncio.sleep(0.02)


def client_of(app: FastAPI) -> GraphQL:
    return GraphQL(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t"))


async def until_changed(read: Callable[[], Awaitable[object]], old: object) -> object:
    for _ in range(100):
        value = await read()
        if value != old:
            return value
        await asyncio.sleep(0.05)
    return old


async def test_a_write_on_one_instance_reaches_the_cache_of_the_other(
    instances: list[FastAPI], catalog: Catalog, database: Database, statements: StatementCounter
) -> None:
    first, second = (client_of(app) for app in instances)
    book = await catalog.book("Cached", price="10.00", stock=50)

    async def prices() -> object:
        return data(await first(PRICES))["books"]["edges"]

    before = await prices()
    statements.statements.clear()
    assert await prices() == before
    assert statements.count == 0  # served from the cache

    await second(
        'mutation($id: ID!) { updateBook(id: $id, input: {price: "12.00"}) { id } }',
        {"id": book["id"]},
        token=catalog.token,
    )
    after = await until_changed(prices, before)
    assert after == [{"node": {"title": "Cached", "price": "12.00", "availability": "IN_STOCK"}}]


async def test_sales_within_an_availability_band_keep_the_cache(
    instances: list[FastAPI], catalog: Catalog, statements: StatementCounter
) -> None:
    api = client_of(instances[0])
    book = await catalog.book("Stocked", stock=20)
    buyer = (await register(api))["accessToken"]
    await api(PRICES)
    await add_to_cart(api, buyer, book["id"], 2)
    assert "errors" not in await checkout(api, buyer)  # 18 left: still IN_STOCK
    await asyncio.sleep(0.3)
    statements.statements.clear()
    assert data(await api(PRICES))["books"]["edges"][0]["node"]["availability"] == "IN_STOCK"
    assert statements.count == 0

    await add_to_cart(api, buyer, book["id"], 14)
    assert "errors" not in await checkout(api, buyer)  # 4 left: LOW_STOCK, a visible change

    async def availability() -> object:
        return data(await api(PRICES))["books"]["edges"][0]["node"]["availability"]

    assert await until_changed(availability, "IN_STOCK") == "LOW_STOCK"


async def test_suggestions_over_get_are_cached_until_the_catalog_changes(
    instances: list[FastAPI], catalog: Catalog, statements: StatementCounter
) -> None:
    await catalog.book("Kyoto Nights")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=instances[0]), base_url="http://t")
    params = {"query": '{ searchSuggestions(query: "kyo") { queries books { title } } }'}

    async def suggestions() -> object:
        return (await http.get("/graphql", params=params)).json()["data"]["searchSuggestions"]

    first = await suggestions()
    assert first == {"queries": ["kyoto"], "books": [{"title": "Kyoto Nights"}]}
    statements.statements.clear()
    assert await suggestions() == first
    assert statements.count == 0  # served from the cache
    await catalog.book("Kyoto Gardens")
    changed = await until_changed(suggestions, first)
    assert changed == {  # equally popular: the newer first
        "queries": ["kyoto"],
        "books": [{"title": "Kyoto Gardens"}, {"title": "Kyoto Nights"}],
    }


async def test_signed_in_requests_and_mutations_are_never_cached(
    instances: list[FastAPI], catalog: Catalog, statements: StatementCounter
) -> None:
    api = client_of(instances[0])
    book = await catalog.book("Personal", stock=5)
    customer = (await register(api))["accessToken"]
    query = "query($id: ID!) { book(id: $id) { inWishlist } }"
    assert data(await api(query, {"id": book["id"]}, token=customer))["book"]["inWishlist"] is False
    await api(
        "mutation($b: ID!) { addToWishlist(bookId: $b) { id } }", {"b": book["id"]}, token=customer
    )
    assert data(await api(query, {"id": book["id"]}, token=customer))["book"]["inWishlist"] is True
    variables = {"input": {"email": unique_email(), "password": PASSWORD, "fullName": "Twice"}}
    assert "errors" not in await api(REGISTER, variables)
    assert code(await api(REGISTER, variables)) == "USER_EMAIL_TAKEN"  # ran again, not replayed


async def test_an_outage_answer_is_never_cached(
    instances: list[FastAPI], catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    await catalog.book("Still here")
    first = client_of(instances[0])
    real_page = fastpath.catalog_page
    calls = 0

    async def times_out_once(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sa_exc.TimeoutError("pool exhausted")
        return await real_page(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fastpath, "catalog_page", times_out_once)
    assert code(await first(PRICES)) == "SERVICE_UNAVAILABLE"
    assert data(await first(PRICES))["books"]["edges"][0]["node"]["title"] == "Still here"


async def test_a_guest_cart_is_never_cached_nor_served_from_the_cache(
    instances: list[FastAPI], catalog: Catalog
) -> None:
    api = client_of(instances[0])
    mine, theirs = await catalog.book("Mine", stock=5), await catalog.book("Theirs", stock=5)
    alice, bob = await new_guest_cart(api), await new_guest_cart(api)
    add = "mutation($b: ID!) { addToCart(bookId: $b) { id } }"
    await api(add, {"b": mine["id"]}, headers={"X-Cart-Token": alice})
    await api(add, {"b": theirs["id"]}, headers={"X-Cart-Token": bob})
    cart = "{ cart { items { book { title } } } }"

    assert data(await api(cart)) == {"cart": None}  # anonymous: cached
    # The same document with a token: each guest gets their own cart, never the cached
    # anonymous answer nor another guest's.
    for token, title in ((alice, "Mine"), (bob, "Theirs"), (alice, "Mine"), (bob, "Theirs")):
        found = data(await api(cart, headers={"X-Cart-Token": token}))["cart"]
        assert found == {"items": [{"book": {"title": title}}]}
    await api(add, {"b": theirs["id"]}, headers={"X-Cart-Token": alice})
    found = data(await api(cart, headers={"X-Cart-Token": alice}))["cart"]
    assert [item["book"]["title"] for item in found["items"]] == ["Mine", "Theirs"]


async def test_the_listener_gives_up_on_a_database_that_stops_answering(
    settings: Settings,
) -> None:
    """The listening connection is accepted, then LISTEN is never answered: the listener
    gives up by its statement timeout and listens on a new connection, rather than wait
    (and keep the cache off) until the old one answers."""
    proxy = DatabaseProxy(settings.database_url or "")
    await proxy.start()
    proxy.freeze_after_start_up()
    listening_through_proxy = settings.model_copy(
        update={
            "response_cache": True,
            "db_statement_timeout_ms": 300,
            "database_listen_url": proxy.url,
        }
    )
    app = create_app(listening_through_proxy)
    try:
        async with LifespanManager(app):
            async with asyncio.timeout(5):
                while proxy.held == 0:  # noqa: ASYNC110 - the first connection froze
                    await asyncio.sleep(0.02)
            proxy.freeze_after_start_up(False)  # the next connection gets through
            # Seconds: the statement timeout plus a margin, closing, the retry pause.
            async with asyncio.timeout(15):
                while not _listening(app):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert proxy.held >= 1  # the first connection is still frozen, not waited for
    finally:
        proxy.thaw()
        await proxy.stop()


RATINGS = """{ books(first: 5) { edges { node { title ratingSummary { average count }
  reviews(first: 5) { edges { node { title helpfulCount } } } } } } }"""


async def test_review_changes_reach_the_cache_of_every_instance(
    instances: list[FastAPI], catalog: Catalog, statements: StatementCounter
) -> None:
    first, second = (client_of(app) for app in instances)
    book = await catalog.book("Rated")
    ada = (await register(second))["accessToken"]
    bea = (await register(second))["accessToken"]

    async def shown() -> object:
        return data(await first(RATINGS))["books"]["edges"][0]["node"]

    assert await shown() == {
        "title": "Rated",
        "ratingSummary": {"average": None, "count": 0},
        "reviews": {"edges": []},
    }
    statements.statements.clear()
    await shown()
    assert statements.count == 0  # served from the cache

    write = (
        'mutation($b: ID!) { writeReview(input: {bookId: $b, rating: 4, title: "Fine"}) { id } }'
    )
    review = data(await second(write, {"b": book["id"]}, token=ada))["writeReview"]["id"]
    before = {
        "title": "Rated",
        "ratingSummary": {"average": None, "count": 0},
        "reviews": {"edges": []},
    }
    after_write = await until_changed(shown, before)
    assert after_write == {
        "title": "Rated",
        "ratingSummary": {"average": 4.0, "count": 1},
        "reviews": {"edges": [{"node": {"title": "Fine", "helpfulCount": 0}}]},
    }

    # A change that leaves the summary (a vote; an edit of the text) is seen too.
    vote = "mutation($id: ID!) { markReviewHelpful(id: $id, helpful: true) { id } }"
    data(await second(vote, {"id": review}, token=bea))
    voted = await until_changed(shown, after_write)
    assert voted["reviews"]["edges"][0]["node"]["helpfulCount"] == 1  # type: ignore[index]
    edit = 'mutation($id: ID!) { updateReview(id: $id, input: {title: "Better"}) { id } }'
    data(await second(edit, {"id": review}, token=ada))
    edited = await until_changed(shown, voted)
    assert edited["reviews"]["edges"][0]["node"]["title"] == "Better"  # type: ignore[index]
