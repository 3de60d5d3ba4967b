"""What the benchmark sends: the GraphQL documents, the data they vary over, and how the
requests are spread over the load generator's connections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from app.graphql.ids import encode_id

BOOK_FIELDS = "cursor node { id title price authors { id name } genres { id name } }"
CATALOG_QUERY = (
    "query($after: String) { books(first: 20, after: $after) { edges { " + BOOK_FIELDS + " } } }"
)
# The catalog in another order, RATING against PRICE (both keyset pages over an index).
ORDERED_QUERY = (
    "query($after: String, $order: BookOrder!) { books(first: 20, after: $after, "
    "orderBy: $order) { edges { cursor node { id title price ratingSummary { average count } } "
    "} } }"
)
BY_RATING = {"field": "RATING", "direction": "DESC"}
BY_PRICE = {"field": "PRICE", "direction": "ASC"}
DETAIL_QUERY = (
    "query($id: ID!) { book(id: $id) { id title price description "
    "authors { id name books(first: 5) { edges { node { id title } } } } } }"
)
DETAIL_REVIEWS_QUERY = (
    "query($id: ID!) { book(id: $id) { id title price ratingSummary { average count histogram } "
    "reviews(first: 10, orderBy: { field: MOST_HELPFUL }) { totalCount edges { node { "
    "id rating title body authorName verifiedPurchase helpfulCount createdAt } } } } }"
)
SEARCH_QUERY = (
    "query($q: String!) { books(first: 20, filter: { search: $q }) { edges { "
    + BOOK_FIELDS
    + " } } }"
)
FACETS_QUERY = (
    "query($q: String!) { books(first: 20, filter: { search: $q, inStock: true }) { edges { "
    + BOOK_FIELDS
    + " } facets { isExact genres { count genre { id name } } availability { availability "
    "count } languages { language count } priceRanges { min max count } } } }"
)
SUGGESTIONS_QUERY = (
    "query($q: String!) { searchSuggestions(query: $q) { queries books { id title } "
    "authors { id name } genres { id name } } }"
)
# The catalog page as PostGraphile 4 generates it for our tables (bench/postgraphile.py): the
# books in the API's order, the authors through the junction table in their position, the
# genres through the many-to-many plugin by name, as the API orders them.
PEER_CATALOG_QUERY = (
    "query($after: Cursor) { allBooks(first: 20, after: $after, "
    "orderBy: [CREATED_AT_DESC, ID_DESC], condition: { isArchived: false }) { edges { cursor "
    "node { id title price bookAuthorsByBookId(orderBy: POSITION_ASC) { nodes { "
    "authorByAuthorId { id name } } } genresByBookGenreBookIdAndGenreId(orderBy: NAME_ASC) { "
    "nodes { id name } } } } } }"
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
# phrases, accents with and without, typos, stop words, one letter, a prefix matching a
# good part of the catalog, operators and the longest input allowed.
SEARCH_TERMS = (
    "the",
    "of",
    "a",
    "c",
    "gar",
    "letters from",
    "the of a and",
    " ".join(["e"] * 15 + ["q"]),
    '"letters from kyoto"',
    "river -garden",
    "durass",
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


@dataclass(frozen=True)
class Fixture:
    """The seeded data the scenarios vary over."""

    cursors: tuple[str | None, ...]  # `after` of the first 50 catalog pages
    rating_cursors: tuple[str | None, ...]  # the same, by RATING (BY_RATING)
    price_cursors: tuple[str | None, ...]  # the same, by PRICE (BY_PRICE)
    book_ids: tuple[str, ...]  # global IDs for the detail scenario
    hot_books: tuple[int, ...]  # database ids of the books the buyers fight over
    buyer_tokens: tuple[str, ...]  # buyer i's cart holds one copy of hot book i % 20
    warmup_buyer_tokens: tuple[str, ...]  # the same, for the warm-up runs
    cart_token: str
    # `after` of the same pages on the peer, once it has been paged through (its cursors
    # are its own): set when the peer has started.
    peer_cursors: tuple[str | None, ...] = ()


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


def by_rating_requests(fixture: Fixture) -> list[Request]:
    return [
        Request(payload(ORDERED_QUERY, {"after": cursor, "order": BY_RATING}))
        for cursor in fixture.rating_cursors
    ]


def by_price_requests(fixture: Fixture) -> list[Request]:
    return [
        Request(payload(ORDERED_QUERY, {"after": cursor, "order": BY_PRICE}))
        for cursor in fixture.price_cursors
    ]


def peer_catalog_requests(fixture: Fixture) -> list[Request]:
    return [
        Request(payload(PEER_CATALOG_QUERY, {"after": cursor})) for cursor in fixture.peer_cursors
    ]


def detail_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(DETAIL_QUERY, {"id": book})) for book in fixture.book_ids]


def detail_reviews_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(DETAIL_REVIEWS_QUERY, {"id": book})) for book in fixture.book_ids]


def search_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(SEARCH_QUERY, {"q": term})) for term in SEARCH_TERMS]


def facets_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(FACETS_QUERY, {"q": term})) for term in SEARCH_TERMS]


# What a search box sends while typing: first letters, prefixes, typos from the third.
SUGGESTION_TERMS = (
    "k",
    "ky",
    "kyo",
    "kyott",
    "g",
    "gar",
    "gardn",
    "letters fr",
    "letters from ky",
    "ada",
    "nakam",
    "x",
    "the",
    "silent ri",
    "lisbn",
    "f",
)


def suggestions_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(SUGGESTIONS_QUERY, {"q": term})) for term in SUGGESTION_TERMS]


def cart_requests(fixture: Fixture) -> list[Request]:
    return [Request(payload(CART_QUERY, {}), fixture.cart_token)]


def checkout_requests(fixture: Fixture) -> list[Request]:
    return _checkouts(fixture.hot_books, fixture.buyer_tokens)


def warmup_checkout_requests(fixture: Fixture) -> list[Request]:
    # wrk stops without waiting for the requests in flight, which the server still
    # completes: the warm-up's buyers are others, so none of its cut-off checkouts can
    # race the measured run's for a cart.
    return _checkouts(fixture.hot_books, fixture.warmup_buyer_tokens)


def _checkouts(hot_books: tuple[int, ...], buyers: tuple[str, ...]) -> list[Request]:
    hot = [encode_id("Book", book_id) for book_id in hot_books]
    return [
        Request(
            payload(CHECKOUT_MUTATION, {"key": KEY_PLACEHOLDER, "book": hot[i % len(hot)]}), token
        )
        for i, token in enumerate(buyers)
    ]


class Target(StrEnum):
    """The server a scenario's requests go to (the benchmark starts one of each in turn)."""

    API = "api"  # `poetry run serve`, RESPONSE_CACHE=off
    CACHED_API = "cached api"  # the same with the response cache on (the default)
    FLOOR = "floor"  # the bare asyncpg endpoint (floor.py): serves the catalog page only
    # PostGraphile 4 on Node.js, one process (postgraphile.py), when Node is installed: its
    # scenario runs in alternating rounds with the API's it mirrors (1 worker).
    POSTGRAPHILE = "postgraphile"


@dataclass(frozen=True)
class Scenario:
    """One row of the results: what a request is, which server answers it, what it may
    cost. Adding a scenario is adding one of these to SCENARIOS."""

    name: str  # as given to --scenarios and recorded in the results
    title: str  # its row in the Markdown table
    requests: Callable[[Fixture], list[Request]]
    target: Target = Target.API
    # SQL statements of the scenario's first request, counted in-process as the suite
    # counts them: the API's and the cached API's scenarios have one (the floor and the
    # peer run elsewhere, one statement per page by construction, and are not counted).
    # The bench fails above it; the quick test asserts it exactly unless `bounded`.
    budget: int | None = None
    # The count follows the catalog's size: the budget is the most it may be at any size.
    bounded: bool = False
    # The requests of the warm-up before the measured run, when they must be others.
    warmup: Callable[[Fixture], list[Request]] | None = None
    # Each request belongs to one connection (a buyer's cart: two at once would race)
    # rather than every connection cycling through all of them.
    owned: bool = False
    # Sells hot books: the stock ledger is checked once the server has stopped.
    sells: bool = False
    # The floor's requests: the throughput is also given as a fraction of the floor's.
    vs_floor: bool = False
    # A peer's scenario: the API's scenario (uncached, 1 worker) it runs in alternating
    # rounds with; the results give the API's throughput as a multiple of the peer's.
    mirrors: str | None = None


# In the order they run, the API's first (one server), then the cached API's, then the floor;
# the peer's after every worker count.
SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        # The books with their authors and genres: one statement.
        Scenario("catalog", "catalog page", catalog_requests, budget=1, vs_floor=True),
        Scenario("by_price", "catalog page by price", by_price_requests, budget=1),
        Scenario("by_rating", "catalog page by rating", by_rating_requests, budget=1),
        # The book, its authors and their first books: one statement.
        Scenario("detail", "book detail", detail_requests, budget=1),
        # The book, then a page of its reviews (their count is the book's rating summary).
        Scenario("detail_reviews", "book detail with reviews", detail_reviews_requests, budget=2),
        # Upper bounds (the counted first request may run fewer): a typo adds the
        # vocabulary and the corrected search (each with the books' authors and genres).
        Scenario("search", "search", search_requests, budget=3, bounded=True),
        # The page's 1 (3 with a typo), then the facets with their genres' names.
        Scenario(
            "facets",
            "search with facets and a filter",
            facets_requests,
            budget=4,
            bounded=True,
        ),
        Scenario("suggestions", "searchSuggestions", suggestions_requests, budget=5, bounded=True),
        # The cart in one statement, plus the token's check where this worker hasn't cached
        # it yet (once per worker and token).
        Scenario("cart", "cart (auth)", cart_requests, budget=2, bounded=True),
        # The viewer; checkout: the cart's lock, its lines with their books locked, one
        # write (stock, order, lines, empty cart, the email); addToCart: the cart's lock,
        # what its rules need, the line; the cart as it is then (one statement). At most:
        # the viewer's check is cached once this worker has checked the token (exact counts:
        # tests/orders/test_checkout.py).
        Scenario(
            "checkout",
            "checkout",
            checkout_requests,
            budget=8,
            bounded=True,
            warmup=warmup_checkout_requests,
            owned=True,
            sells=True,
        ),
        # Once cached, a page runs no statement; the warm-up fills the cache.
        Scenario(
            "catalog_cached",
            "catalog page (cached)",
            catalog_requests,
            Target.CACHED_API,
            budget=0,
            vs_floor=True,
        ),
        Scenario("floor", "catalog floor (raw asyncpg)", catalog_requests, Target.FLOOR),
        Scenario(
            "postgraphile",
            "catalog page, PostGraphile 4 (peer)",
            peer_catalog_requests,
            Target.POSTGRAPHILE,
            mirrors="catalog",
        ),
    )
}
ALL_SCENARIOS = tuple(SCENARIOS)
STATEMENT_BUDGETS = {
    name: scenario.budget for name, scenario in SCENARIOS.items() if scenario.budget is not None
}


def served_by(target: Target) -> tuple[Scenario, ...]:
    """The scenarios `target` answers, in the order they run."""
    return tuple(scenario for scenario in SCENARIOS.values() if scenario.target is target)


def workload(name: str, fixture: Fixture, connections: int, *, warmup: bool = False) -> Workload:
    """The requests of scenario `name` spread over `connections`."""
    scenario = SCENARIOS[name]
    build = scenario.warmup if warmup and scenario.warmup else scenario.requests
    spread = owned if scenario.owned else shared
    return spread(build(fixture), connections)
