"""Reviews through the endpoint: writing, reading, the rating summary, ordering, verified
purchases, helpfulness, moderation, limits and hostile input."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest

from tests.books.factory import Catalog
from tests.reviews.support import (
    BOOK_REVIEWS,
    DELETE,
    HELPFUL,
    MODERATE,
    UPDATE,
    WRITE,
    summary,
    write,
    written,
)
from tests.support import GraphQL, add_to_cart, checkout, code, data, error, register

MY_REVIEW = """query($id: ID!) { book(id: $id) { myReview { id rating title status } } }"""


async def reader(gql: GraphQL, name: str = "Ada Lovelace") -> str:
    token: str = (await register(gql, full_name=name))["accessToken"]
    return token


async def test_write_read_and_summary(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book("Reviewed")
    assert await summary(gql, book["id"]) == {"average": None, "count": 0, "histogram": [0] * 5}
    ada, bea = await reader(gql), await reader(gql, "Bea")
    review = data(await write(gql, ada, book["id"], 5, title="  Loved it  ", body="Two\nlines"))
    created = review["writeReview"]
    assert created["rating"] == 5
    assert created["title"] == "Loved it"  # trimmed
    assert created["body"] == "Two\nlines"
    assert created["authorName"] == "Ada L."  # never the email, nor the full name
    assert created["verifiedPurchase"] is False
    assert created["helpfulCount"] == 0
    assert created["book"] == {"id": book["id"]}
    await written(gql, bea, book["id"], 2)
    assert await summary(gql, book["id"]) == {
        "average": 3.5,
        "count": 2,
        "histogram": [0, 1, 0, 0, 1],
    }

    page = data(await gql(BOOK_REVIEWS, {"id": book["id"]}))["book"]["reviews"]
    assert page["totalCount"] == 2
    assert [e["node"]["authorName"] for e in page["edges"]] == ["Bea", "Ada L."]  # newest first
    mine = data(await gql(MY_REVIEW, {"id": book["id"]}, token=ada))["book"]["myReview"]
    assert mine == {"id": created["id"], "rating": 5, "title": "Loved it", "status": "PUBLISHED"}
    assert data(await gql(MY_REVIEW, {"id": book["id"]}))["book"]["myReview"] is None


async def test_one_review_per_reader_and_book(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book()
    ada = await reader(gql)
    first = await written(gql, ada, book["id"])
    again = error(await write(gql, ada, book["id"], 1))
    assert again["extensions"] == {
        "code": "REVIEW_ALREADY_EXISTS",
        "field": "input.bookId",
        "reviewId": first,
    }
    assert (await summary(gql, book["id"]))["count"] == 1


async def test_unreleased_archived_and_unknown_books(catalog: Catalog, gql: GraphQL) -> None:
    ada = await reader(gql)
    upcoming = await catalog.book("Soon", released_days_ago=-10)
    refused = error(await write(gql, ada, upcoming["id"]))
    assert refused["extensions"] == {"code": "REVIEW_NOT_ALLOWED", "field": "input.bookId"}
    gone = await catalog.book("Gone")
    await catalog.archive(gone["id"])
    assert code(await write(gql, ada, gone["id"])) == "BOOK_NOT_FOUND"
    ghost = base64.b64encode(b"Book:987654").decode()
    assert code(await write(gql, ada, ghost)) == "BOOK_NOT_FOUND"
    assert code(await write(gql, ada, base64.b64encode(b"Author:1").decode())) == (
        "VALIDATION_ERROR"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"title": "x" * 121}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"title": "\u202egnp.exe"}, "title"),  # a right-to-left override
        ({"body": "x" * 5001}, "body"),
        ({"body": "bell\x07"}, "body"),
        ({"body": "isolate \u2067hidden\u2069"}, "body"),
        ({"title": "   "}, "title"),
    ],
)
async def test_hostile_and_out_of_range_input(
    catalog: Catalog, gql: GraphQL, change: dict[str, Any], field: str
) -> None:
    book = await catalog.book()
    ada = await reader(gql)
    variables = {"i": {"bookId": book["id"], "rating": 3, **change}}
    failure = error(await gql(WRITE, variables, token=ada))
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == f"input.{field}"
    for value in change.values():
        assert str(value) not in failure["message"]  # never an echo
    assert (await summary(gql, book["id"]))["count"] == 0


async def test_update_moves_the_summary_and_only_the_author_may(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book()
    ada, bea = await reader(gql), await reader(gql, "Bea Bee")
    review = await written(gql, ada, book["id"], 2, title="Meh", body="Slow")
    changed = data(await gql(UPDATE, {"id": review, "i": {"rating": 5, "title": None}}, token=ada))
    assert changed["updateReview"]["rating"] == 5
    assert changed["updateReview"]["title"] is None
    assert changed["updateReview"]["body"] == "Slow"  # omitted: kept
    assert await summary(gql, book["id"]) == {
        "average": 5.0,
        "count": 1,
        "histogram": [0, 0, 0, 0, 1],
    }
    foreign = error(await gql(UPDATE, {"id": review, "i": {"rating": 1}}, token=bea))
    assert foreign["extensions"] == {"code": "REVIEW_NOT_FOUND", "field": "id"}
    assert code(await gql(DELETE, {"id": review}, token=bea)) == "REVIEW_NOT_FOUND"
    null_rating = await gql(UPDATE, {"id": review, "i": {"rating": None}}, token=ada)
    assert code(null_rating) == "VALIDATION_ERROR"
    assert code(await gql(UPDATE, {"id": review, "i": {"rating": 1}})) == "AUTH_REQUIRED"


async def test_delete_leaves_the_summary_and_answers_the_id(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book()
    ada = await reader(gql)
    review = await written(gql, ada, book["id"], 4)
    assert data(await gql(DELETE, {"id": review}, token=ada)) == {"deleteReview": review}
    assert await summary(gql, book["id"]) == {"average": None, "count": 0, "histogram": [0] * 5}
    assert code(await gql(DELETE, {"id": review}, token=ada)) == "REVIEW_NOT_FOUND"
    # Writing again after deleting is a new review.
    await written(gql, ada, book["id"], 3)
    assert (await summary(gql, book["id"]))["histogram"] == [0, 0, 1, 0, 0]


ORDERS = {
    ("NEWEST", "DESC"): ["c", "b", "a", "d"],
    ("NEWEST", "ASC"): ["d", "a", "b", "c"],
    ("HIGHEST", "DESC"): ["c", "a", "b", "d"],
    ("LOWEST", "DESC"): ["d", "b", "a", "c"],
    ("LOWEST", "ASC"): ["c", "a", "b", "d"],
    ("MOST_HELPFUL", "DESC"): ["b", "a", "c", "d"],  # b bought it: first, whatever its votes
}


async def test_orders_and_keyset_pages(catalog: Catalog, gql: GraphQL, admin_token: str) -> None:
    book = await catalog.book(stock=50)
    tokens = {name: await reader(gql, name.upper()) for name in "dabc"}
    ratings = {"d": 1, "a": 4, "b": 3, "c": 5}
    ids = {name: await written(gql, tokens[name], book["id"], ratings[name]) for name in "dabc"}
    # b is a verified buyer; a has the most votes, then c.
    await add_to_cart(gql, tokens["b"], book["id"])
    order = data(await checkout(gql, tokens["b"]))["checkout"]["id"]
    confirm = "mutation($id: ID!) { updateOrderStatus(id: $id, status: CONFIRMED) { id } }"
    data(await gql(confirm, {"id": order}, token=admin_token))
    for voter in ("d", "b", "c"):
        data(await gql(HELPFUL, {"id": ids["a"], "h": True}, token=tokens[voter]))
    data(await gql(HELPFUL, {"id": ids["c"], "h": True}, token=tokens["d"]))
    names = {review_id: name for name, review_id in ids.items()}
    for (field, direction), expected in ORDERS.items():
        order_by = {"field": field, "direction": direction}
        seen: list[str] = []
        after = None
        while True:
            variables = {"id": book["id"], "first": 3, "after": after, "order": order_by}
            page = data(await gql(BOOK_REVIEWS, variables))["book"]["reviews"]
            seen += [names[edge["node"]["id"]] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected, (field, direction)
    listed = data(await gql(BOOK_REVIEWS, {"id": book["id"]}))["book"]["reviews"]["edges"]
    verified = {names[e["node"]["id"]]: e["node"]["verifiedPurchase"] for e in listed}
    assert verified == {"a": False, "b": True, "c": False, "d": False}
    # A cursor of another order is refused.
    page = data(await gql(BOOK_REVIEWS, {"id": book["id"], "first": 1}))["book"]["reviews"]
    variables = {
        "id": book["id"],
        "after": page["pageInfo"]["endCursor"],
        "order": {"field": "HIGHEST"},
    }
    assert code(await gql(BOOK_REVIEWS, variables)) == "VALIDATION_ERROR"


async def test_verified_purchase_follows_the_order(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book(stock=5)
    ada = await reader(gql)
    review = await written(gql, ada, book["id"])
    await add_to_cart(gql, ada, book["id"])
    order = data(await checkout(gql, ada))["checkout"]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on Review { verifiedPurchase } } }"

    async def verified() -> bool:
        value: bool = data(await gql(query, {"id": review}))["node"]["verifiedPurchase"]
        return value

    assert await verified() is False  # PENDING: not paid for yet
    move = "mutation($id: ID!, $s: OrderStatus!) { updateOrderStatus(id: $id, status: $s) { id } }"
    data(await gql(move, {"id": order, "s": "CONFIRMED"}, token=admin_token))
    assert await verified() is True
    data(await gql(move, {"id": order, "s": "CANCELLED"}, token=admin_token))
    assert await verified() is False


async def test_helpful_once_per_reader_never_ones_own(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book()
    ada, bea, cy = await reader(gql), await reader(gql, "Bea"), await reader(gql, "Cy")
    review = await written(gql, ada, book["id"])
    for _ in range(3):
        voted = data(await gql(HELPFUL, {"id": review, "h": True}, token=bea))
        assert voted["markReviewHelpful"]["helpfulCount"] == 1
    data(await gql(HELPFUL, {"id": review, "h": True}, token=cy))
    taken_back = data(await gql(HELPFUL, {"id": review, "h": False}, token=bea))
    assert taken_back["markReviewHelpful"]["helpfulCount"] == 1
    again = data(await gql(HELPFUL, {"id": review, "h": False}, token=bea))
    assert again["markReviewHelpful"]["helpfulCount"] == 1
    own = error(await gql(HELPFUL, {"id": review, "h": True}, token=ada))
    assert own["extensions"] == {"code": "REVIEW_NOT_ALLOWED", "field": "id"}
    assert code(await gql(HELPFUL, {"id": review, "h": True})) == "AUTH_REQUIRED"
    # A vote is not an edit: test_updated_at_is_the_authors_last_change (here, in one
    # transaction, now() never moves).


ADMIN_LIST = """query($f: ReviewFilter) { reviews(first: 10, filter: $f) {
  totalCount edges { node { id status rating } } } }"""


async def test_moderation_hides_from_every_public_count(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book()
    other = await catalog.book("Other")
    ada, bea = await reader(gql), await reader(gql, "Bea")
    hidden = await written(gql, ada, book["id"], 1, title="Spam")
    kept = await written(gql, bea, book["id"], 5)
    await written(gql, bea, other["id"], 3)
    moderated = data(await gql(MODERATE, {"id": hidden, "s": "HIDDEN"}, token=admin_token))
    assert moderated["moderateReview"] == {"id": hidden, "status": "HIDDEN"}
    assert await summary(gql, book["id"]) == {
        "average": 5.0,
        "count": 1,
        "histogram": [0, 0, 0, 0, 1],
    }
    page = data(await gql(BOOK_REVIEWS, {"id": book["id"]}))["book"]["reviews"]
    assert [e["node"]["id"] for e in page["edges"]] == [kept]
    assert page["totalCount"] == 1
    catalog_page = data(
        await gql("{ books(filter: {minRating: 1}) { totalCount edges { node { title } } } }")
    )["books"]
    assert catalog_page["totalCount"] == 2
    # Helpfulness votes on a hidden review are refused as if it did not exist.
    assert code(await gql(HELPFUL, {"id": hidden, "h": True}, token=bea)) == "REVIEW_NOT_FOUND"

    # Its author still sees it, with its status; others don't see it at all.
    mine = data(await gql(MY_REVIEW, {"id": book["id"]}, token=ada))["book"]["myReview"]
    assert mine["status"] == "HIDDEN"
    node = "query($id: ID!) { node(id: $id) { id ... on Review { status } } }"
    assert data(await gql(node, {"id": hidden}, token=ada))["node"]["status"] == "HIDDEN"
    assert data(await gql(node, {"id": hidden}, token=bea))["node"] is None
    assert data(await gql(node, {"id": hidden}))["node"] is None
    # Editing it keeps it hidden and out of the summary.
    data(await gql(UPDATE, {"id": hidden, "i": {"rating": 4}}, token=ada))
    assert (await summary(gql, book["id"]))["histogram"] == [0, 0, 0, 0, 1]

    listing = data(await gql(ADMIN_LIST, {"f": {"status": "HIDDEN"}}, token=admin_token))
    assert [e["node"]["id"] for e in listing["reviews"]["edges"]] == [hidden]
    by_book = data(await gql(ADMIN_LIST, {"f": {"bookId": book["id"]}}, token=admin_token))
    assert by_book["reviews"]["totalCount"] == 2
    assert data(await gql(ADMIN_LIST, {}, token=admin_token))["reviews"]["totalCount"] == 3

    # Published again: it counts again (with the rating its author gave it meanwhile).
    data(await gql(MODERATE, {"id": hidden, "s": "PUBLISHED"}, token=admin_token))
    data(await gql(MODERATE, {"id": hidden, "s": "PUBLISHED"}, token=admin_token))  # no-op
    assert await summary(gql, book["id"]) == {
        "average": 4.5,
        "count": 2,
        "histogram": [0, 0, 0, 1, 1],
    }
    assert code(await gql(MODERATE, {"id": hidden, "s": "HIDDEN"}, token=bea)) == "AUTH_FORBIDDEN"
    assert code(await gql(ADMIN_LIST, {}, token=bea)) == "AUTH_FORBIDDEN"
    ghost = base64.b64encode(b"Review:999999").decode()
    assert code(await gql(MODERATE, {"id": ghost, "s": "HIDDEN"}, token=admin_token)) == (
        "REVIEW_NOT_FOUND"
    )


async def test_status_is_for_the_author_and_admins(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book()
    ada, bea = await reader(gql), await reader(gql, "Bea")
    review = await written(gql, ada, book["id"])
    query = "query($id: ID!) { node(id: $id) { ... on Review { rating status } } }"
    assert data(await gql(query, {"id": review}, token=admin_token))["node"]["status"] == (
        "PUBLISHED"
    )
    for token in (bea, None):
        result = await gql(query, {"id": review}, token=token)
        assert result["data"]["node"] == {"rating": 4, "status": None}
        assert code(result) == "AUTH_FORBIDDEN"


async def test_rating_order_and_min_rating(catalog: Catalog, gql: GraphQL) -> None:
    books = [await catalog.book(title) for title in ("Low", "High", "None", "Mid")]
    ada, bea = await reader(gql), await reader(gql, "Bea")
    for token, ratings in ((ada, (1, 5, None, 4)), (bea, (2, 4, None, 3))):
        for book, rating in zip(books, ratings, strict=True):
            if rating is not None:
                await written(gql, token, book["id"], rating)
    query = """query($d: SortDirection!, $f: BookFilter, $after: String) {
      books(first: 2, after: $after, orderBy: {field: RATING, direction: $d}, filter: $f) {
        pageInfo { hasNextPage endCursor } edges { node { title ratingSummary { average } } } } }"""

    async def titles(direction: str, filters: dict[str, Any] | None = None) -> list[str]:
        seen, after = [], None
        while True:
            page = data(await gql(query, {"d": direction, "f": filters, "after": after}))["books"]
            seen += [edge["node"]["title"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return seen
            after = page["pageInfo"]["endCursor"]

    assert await titles("DESC") == ["High", "Mid", "Low", "None"]
    assert await titles("ASC") == ["None", "Low", "Mid", "High"]
    assert await titles("DESC", {"minRating": 3.5}) == ["High", "Mid"]
    assert await titles("DESC", {"minRating": 4.5}) == ["High"]
    for bad in (0.5, 5.5, 4.555):
        failure = error(await gql(query, {"d": "DESC", "f": {"minRating": bad}}))
        assert failure["extensions"]["code"] == "VALIDATION_ERROR"


async def test_rate_limit(catalog: Catalog, gql: GraphQL, settings: Any) -> None:
    book = await catalog.book()
    ada = await reader(gql)
    review = await written(gql, ada, book["id"], 1)
    for rating in range(settings.review_write_limit - 1):
        data(await gql(UPDATE, {"id": review, "i": {"rating": rating % 5 + 1}}, token=ada))
    limited = error(await gql(UPDATE, {"id": review, "i": {"rating": 5}}, token=ada))
    assert limited["extensions"]["code"] == "REVIEW_RATE_LIMITED"
    assert 0 < limited["extensions"]["retryAfter"] <= settings.review_write_window_minutes * 60
    assert code(await gql(DELETE, {"id": review}, token=ada)) == "REVIEW_RATE_LIMITED"
    # The limit is the user's: someone else writes on.
    await written(gql, await reader(gql, "Bea"), book["id"], 5)


async def test_a_review_of_an_archived_book_is_not_changed(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    """Its author no longer sees it (nor its book), so an update is refused before it
    writes anything, rather than written and then answered REVIEW_NOT_FOUND; deleting it
    stays possible."""
    book = await catalog.book()
    ada = await reader(gql)
    review = await written(gql, ada, book["id"], 2, title="Before")
    await catalog.archive(book["id"])
    refused = error(await gql(UPDATE, {"id": review, "i": {"rating": 5}}, token=ada))
    assert refused["extensions"] == {"code": "REVIEW_NOT_FOUND", "field": "id"}
    node = "query($id: ID!) { node(id: $id) { ... on Review { rating title } } }"
    assert data(await gql(node, {"id": review}, token=admin_token))["node"] == {
        "rating": 2,
        "title": "Before",
    }
    assert data(await gql(DELETE, {"id": review}, token=ada)) == {"deleteReview": review}


@pytest.mark.committing  # each request its own transaction: now() moves between them
async def test_updated_at_is_the_authors_last_change(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    """`updatedAt` is "when its author last changed it": a vote or a moderator's call
    leaves it; an edit moves it."""
    book = await catalog.book()
    ada, bea = await reader(gql), await reader(gql, "Bea")
    review = await written(gql, ada, book["id"], 3)
    node = "query($id: ID!) { node(id: $id) { ... on Review { createdAt updatedAt } } }"

    async def times() -> dict[str, str]:
        found: dict[str, str] = data(await gql(node, {"id": review}, token=admin_token))["node"]
        return found

    written_at = await times()
    assert written_at["createdAt"] == written_at["updatedAt"]
    data(await gql(HELPFUL, {"id": review, "h": True}, token=bea))
    data(await gql(MODERATE, {"id": review, "s": "HIDDEN"}, token=admin_token))
    data(await gql(MODERATE, {"id": review, "s": "PUBLISHED"}, token=admin_token))
    assert await times() == written_at
    data(await gql(UPDATE, {"id": review, "i": {"rating": 4}}, token=ada))
    edited = await times()
    assert datetime.fromisoformat(edited["updatedAt"]) > datetime.fromisoformat(
        written_at["updatedAt"]
    )
