"""What the benchmark sends: the GraphQL documents, the data they vary over, and how the
requests are spread over the load generator's connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from app.graphql.ids import encode_id

BOOK_FIELDS = "cursor node { id title price authors { id name } genres { id name } }"
CATALOG_QUERY = (
    "query($after: String) { books(first: 20, after: $after) { edges { " + BOOK_FIELDS + " } } }"
)
DETAIL_QUERY = (
    "query($id: ID!) { book(id: $id) { id title price description "
    "authors { id name books(first: 5) { edges { node { id title } } } } } }"
)
SEARCH_QUERY = (
    "query($q: String!) { books(first: 20, filter: { search: $q }) { edges { "
    + BOOK_FIELDS
    + " } } }"
)
CART_QUERY = "{ cart { items { quantity book { title price } } subtotal } }"
# Mutation fields run one after the other: the order is taken from the cart, then the cart
# is refilled for the buyer's next request. One request is one order.
CHECKOUT_MUTATION = """mutation($key: String!, $book: ID!) {
  checkout(input: { idempotencyKey: $key, shippingAddress: { fullName: "Ada Reader",
    line1: "1 Library Lane", city: "Berlin", postalCode: "10115", country: "DE" } }) { id }
  addToCart(bookId: $book, quantity: 1) { totalQuantity }
}"""

# Replaced by a fresh idempotency key in every request the load generators send.
KEY_PLACEHOLDER = "@KEY@"

# Words of the demo catalog (app/books/seed.py: nouns, adjectives, places, author names),
# phrases, accents with and without, and typos that only trigram similarity can match.
SEARCH_TERMS = (
    "garden",
    "harbour",
    "lisbon",
    "clockmaker",
    "silent river",
    "gardn",
    "lighthose",
    "kyoto",
    "prague",
    "golden orchard",
    "cartographer",
    "midnight library",
    "tromsø",
    "valparaiso",
    "samarkand",
    "archive",
    "winter tide",
    "comet",
    "paper bridge",
    "machine",
    "iron empire",
    "daughter",
    "stranger",
    "letters from lisbon",
    "okafor",
    "nakamura",
    "calvino",
    "brontë",
    "bronte",
    "harbor",
    "clokmaker",
    "lisbn",
    "kyotto",
    "carthographer",
    "mountian",
    "orchrd",
    "fitzgerld",
    "ishikawa",
    "zanzibar",
    "quebec",
    "hobart",
    "tbilisi",
    "trieste",
    "shattered",
    "drowned",
    "crimson",
    "forgotten kingdom",
    "salt glass",
    "northern station",
    "painted island",
)

# Scenarios against the uncached API, in the order they run. "catalog_cached" is the catalog
# page from a server with the response cache on (the default); "floor" is the catalog page
# served by the raw asyncpg endpoint (floor.py).
API_SCENARIOS = ("catalog", "detail", "search", "cart", "checkout")
CACHED = "catalog_cached"
FLOOR = "floor"
ALL_SCENARIOS = (*API_SCENARIOS, CACHED, FLOOR)
CATALOG_SCENARIOS = ("catalog", CACHED, FLOOR)  # the same requests
TITLES = {
    "catalog": "catalog page",
    CACHED: "catalog page (cached)",
    "detail": "book detail",
    "search": "search",
    "cart": "cart (auth)",
    "checkout": "checkout",
    FLOOR: "catalog floor (raw asyncpg)",
}
# SQL statements one request may run (the catalog budget is the performance issue's; a
# cached page runs none once cached).
STATEMENT_BUDGETS = {
    "catalog": 3,
    CACHED: 0,
    "detail": 3,
    "search": 3,
    "cart": 3,
    "checkout": 20,
}


@dataclass(frozen=True)
class Fixture:
    """The seeded data the scenarios vary over."""

    cursors: tuple[str | None, ...]  # `after` of the first 50 catalog pages
    book_ids: tuple[str, ...]  # global IDs for the detail scenario
    hot_books: tuple[int, ...]  # database ids of the books the buyers fight over
    buyer_tokens: tuple[str, ...]  # buyer i's cart holds one copy of hot book i % 20
    warmup_buyer_tokens: tuple[str, ...]  # the same, for the warm-up runs
    cart_token: str


@dataclass(frozen=True)
class Request:
    body: bytes
    token: str | None = None

    @property
    def keyed(self) -> bool:
        """Whether each sending needs its own idempotency key."""
        return KEY_PLACEHOLDER.encode() in self.body

    def with_key(self, key: str) -> bytes:
        return self.body.replace(KEY_PLACEHOLDER.encode(), key.encode())


@dataclass(frozen=True)
class Workload:
    """Requests, and for each connection the order in which it sends them (indexes)."""

    requests: tuple[Request, ...]
    sequences: tuple[tuple[int, ...], ...]

    @property
    def connections(self) -> int:
        return len(self.sequences)


def payload(query: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


def shared(requests: list[Request], connections: int) -> Workload:
    """Every connection cycles through all the requests from its own starting point, so
    concurrent requests ask for different things."""
    count = len(requests)
    starts = [connection * count // connections for connection in range(connections)]
    sequences = tuple(tuple((start + i) % count for i in range(count)) for start in starts)
    return Workload(tuple(requests), sequences)


def owned(requests: list[Request], connections: int) -> Workload:
    """Request i belongs to connection i % connections only, so one buyer's requests never
    overlap (two at once would race for the same cart)."""
    if len(requests) < connections:
        raise ValueError(f"{len(requests)} buyers cannot keep {connections} connections busy")
    sequences = tuple(
        tuple(range(connection, len(requests), connections)) for connection in range(connections)
    )
    return Workload(tuple(requests), sequences)


def catalog_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(CATALOG_QUERY, {"after": cursor})) for cursor in fixture.cursors]


def workload(
    scenario: str, fixture: Fixture, connections: int, *, warmup: bool = False
) -> Workload:
    """The requests of `scenario` spread over `connections`."""
    if scenario in CATALOG_SCENARIOS:
        return shared(catalog_requests(fixture), connections)
    if scenario == "detail":
        details = [Request(payload(DETAIL_QUERY, {"id": book})) for book in fixture.book_ids]
        return shared(details, connections)
    if scenario == "search":
        searches = [Request(payload(SEARCH_QUERY, {"q": term})) for term in SEARCH_TERMS]
        return shared(searches, connections)
    if scenario == "cart":
        return shared([Request(payload(CART_QUERY, {}), fixture.cart_token)], connections)
    if scenario == "checkout":
        # wrk stops without waiting for the requests in flight, which the server still
        # completes: the warm-up's buyers are others, so none of its cut-off checkouts
        # can race the measured run's for a cart.
        buyers = fixture.warmup_buyer_tokens if warmup else fixture.buyer_tokens
        return owned(checkout_requests(fixture.hot_books, buyers), connections)
    raise ValueError(f"unknown scenario {scenario!r}")


def checkout_requests(hot_books: tuple[int, ...], buyers: tuple[str, ...]) -> list[Request]:
    hot = [encode_id("Book", book_id) for book_id in hot_books]
    return [
        Request(
            payload(CHECKOUT_MUTATION, {"key": KEY_PLACEHOLDER, "book": hot[i % len(hot)]}), token
        )
        for i, token in enumerate(buyers)
    ]
