"""The demo catalog's reviews: a realistic spread, summaries equal to a recount, idempotent,
and reviewers that take no id from the users' sequence and can't sign in."""

from __future__ import annotations

from sqlalchemy import text

from app.books.seed import seed_catalog
from app.core.config import Settings
from app.db.session import Database
from app.reviews.seed import REVIEWER_ID_BASE, seed_reviews
from tests.support import GraphQL, code, login

SPREAD = text(
    """
    SELECT count(*) FILTER (WHERE rating_count = 0) AS none,
           count(*) FILTER (WHERE rating_count BETWEEN 1 AND 8) AS few,
           count(*) FILTER (WHERE rating_count >= 100) AS hundreds,
           count(*) AS books
    FROM books
    """
)
MISCOUNTED = text(
    """
    SELECT count(*) FROM books b
    WHERE b.rating_histogram <> ARRAY(
            SELECT count(r.id)::int FROM generate_series(1, 5) AS star
            LEFT JOIN reviews r ON r.book_id = b.id AND r.rating = star
                               AND r.status = 'PUBLISHED'
            GROUP BY star ORDER BY star)
       OR b.rating_count <> (SELECT count(*) FROM reviews r WHERE r.book_id = b.id)
       OR b.rating_average <> (SELECT coalesce(round(avg(r.rating), 2), 0) FROM reviews r
                               WHERE r.book_id = b.id)
    """
)
SEQUENCE = text("SELECT last_value, is_called FROM users_id_seq")


async def test_seeded_reviews(gql: GraphQL, database: Database, settings: Settings) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=240)
        before = (await session.execute(SEQUENCE)).one()
        report = await seed_reviews(session, settings)
        assert (await session.execute(SEQUENCE)).one() == before  # no id taken from it
        none, few, hundreds, books = (await session.execute(SPREAD)).one()
        assert report.reviews > 1000
        assert hundreds >= 3  # a few with hundreds
        assert few > books * 0.6  # most with a few
        assert none > 0  # unreleased ones, and some nobody reviewed
        assert await session.scalar(MISCOUNTED) == 0
        again = await seed_reviews(session, settings)
        assert again.reviews == 0  # idempotent
        reviewers = await session.scalar(
            text("SELECT count(*) FROM users WHERE id >= :base"), {"base": REVIEWER_ID_BASE}
        )
        assert reviewers == report.reviewers
    refused = await login(gql, "reviewer-1@reviewers.invalid", "anything at all")
    assert code(refused) == "AUTH_INVALID_CREDENTIALS"


async def test_seeded_votes_are_the_helpful_counts(database: Database, settings: Settings) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=60)
        await seed_reviews(session, settings)
        wrong = await session.scalar(
            text(
                """SELECT count(*) FROM reviews r WHERE r.helpful_count <> (
                     SELECT count(*) FROM review_helpful_votes v WHERE v.review_id = r.id)"""
            )
        )
        own = await session.scalar(
            text(
                """SELECT count(*) FROM review_helpful_votes v
                   JOIN reviews r ON r.id = v.review_id WHERE v.user_id = r.user_id"""
            )
        )
        voted = await session.scalar(text("SELECT count(*) FROM review_helpful_votes"))
    assert wrong == own == 0
    assert voted > 0
