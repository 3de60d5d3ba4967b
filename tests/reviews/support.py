"""Documents and helpers of the review tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.db.session import Database
from tests.support import GraphQL, data

REVIEW_FIELDS = """id rating title body authorName verifiedPurchase helpfulCount createdAt
updatedAt book { id }"""
WRITE = f"""mutation($i: WriteReviewInput!) {{ writeReview(input: $i) {{ {REVIEW_FIELDS} }} }}"""
UPDATE = f"""mutation($id: ID!, $i: UpdateReviewInput!) {{
  updateReview(id: $id, input: $i) {{ {REVIEW_FIELDS} }} }}"""
DELETE = "mutation($id: ID!) { deleteReview(id: $id) }"
HELPFUL = """mutation($id: ID!, $h: Boolean!) {
  markReviewHelpful(id: $id, helpful: $h) { id helpfulCount } }"""
MODERATE = """mutation($id: ID!, $s: ReviewStatus!) {
  moderateReview(id: $id, status: $s) { id status } }"""
SUMMARY = """query($id: ID!) { book(id: $id) { ratingSummary { average count histogram } } }"""
BOOK_REVIEWS = """query($id: ID!, $first: Int, $after: String, $order: ReviewOrder) {
  book(id: $id) { ratingSummary { average count histogram }
    reviews(first: $first, after: $after, orderBy: $order) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id rating helpfulCount verifiedPurchase authorName } } } } }"""


async def write(
    gql: GraphQL, token: str, book_id: str, rating: int = 4, **more: Any
) -> dict[str, Any]:
    return await gql(WRITE, {"i": {"bookId": book_id, "rating": rating, **more}}, token=token)


async def written(gql: GraphQL, token: str, book_id: str, rating: int = 4, **more: Any) -> str:
    """The id of a new review."""
    review_id: str = data(await write(gql, token, book_id, rating, **more))["writeReview"]["id"]
    return review_id


async def summary(gql: GraphQL, book_id: str) -> dict[str, Any]:
    found: dict[str, Any] = data(await gql(SUMMARY, {"id": book_id}))["book"]["ratingSummary"]
    return found


RECOUNT = text(
    """
    SELECT b.rating_histogram AS stored, b.rating_average AS average,
      ARRAY(SELECT count(r.id) FROM generate_series(1, 5) AS star
            LEFT JOIN reviews r ON r.book_id = b.id AND r.rating = star
                               AND r.status = 'PUBLISHED'
            GROUP BY star ORDER BY star) AS recounted,
      (SELECT coalesce(round(avg(r.rating), 2), 0) FROM reviews r
        WHERE r.book_id = b.id AND r.status = 'PUBLISHED') AS recounted_average,
      b.rating_count = (SELECT count(*) FROM reviews r
        WHERE r.book_id = b.id AND r.status = 'PUBLISHED') AS count_right
    FROM books b WHERE b.id = :id
    """
)


async def stored_and_recounted(database: Database, book_pk: int) -> tuple[Any, ...]:
    """(stored histogram, stored average, recounted histogram, recounted average); the
    stored count must be the recount's."""
    async with database.engine.connect() as connection:
        row = (await connection.execute(RECOUNT, {"id": book_pk})).one()
    assert row.count_right
    return tuple(row)[:4]
