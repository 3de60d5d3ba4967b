"""The demo catalog's reviews (`poetry run seed`, after the books): a realistic spread,
deterministic for each book (its reviews depend only on its id and release date, so a larger
catalog keeps the smaller one's reviews), idempotent.

Most released books get a few reviews, some none, and a few (ids 7, 47, 87, ... up to 1,000)
hundreds; books past id 10,000 (`REVIEWED_UNTIL`) get none. The reviewers are demo accounts
of their own that no one can sign in to (inactive, with the hash of a random password),
under ids of a reserved block far above the users' sequence (`REVIEWER_ID_BASE`): creating
them takes no id from the sequence, so the accounts people register get the ids they would
get without them (the README's guide relies on User:1 being the first to register). Their
reviews are not verified purchases (they have no orders: orders' ids are the guide's too),
and they found each other's reviews helpful (votes recorded as votes, so `helpfulCount` is
their count).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.core.config import Settings
from app.core.security import password_hasher
from app.reviews.repository import ReviewRepository

# Users' ids come from a bigint sequence starting at 1; this block is never reached by it.
REVIEWER_ID_BASE = 4_000_000_000_000_000_000
REVIEWERS = 500
POPULAR_EVERY, POPULAR_UNTIL = 40, 1000
# Only the first books get reviews: the demo and bench catalogs' spread, ~34,000 reviews at
# 10,000 books, without making a million-book seed (`--books 1000000`) write 3.4 million
# of them row by row (books past this id have an empty rating summary).
REVIEWED_UNTIL = 10_000
CHUNK = 3000  # rows per INSERT: 8 parameters each, under PostgreSQL's 32,767

FIRST = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hiro", "Ivy", "Jon", "Kai",
         "Lou", "Mei", "Nia", "Oskar", "Pia", "Raj", "Sol", "Tess", "Uma", "Vic", "Wen",
         "Yara", "Zed"]  # fmt: skip
LAST = ["Adler", "Brandt", "Costa", "Diaz", "Evans", "Fischer", "Grant", "Holm", "Iqbal",
        "Jensen", "Khan", "Lopez", "Mori", "Novak", "Ortiz", "Park", "Reyes", "Silva"]  # fmt: skip
TITLES = {
    1: ["Not for me", "Couldn't finish it", "A disappointment"],
    2: ["Had its moments", "Uneven", "Slow going"],
    3: ["Decent read", "Good, not great", "Worth a look"],
    4: ["Really enjoyed it", "A strong read", "Recommended"],
    5: ["Loved it", "A new favourite", "Unputdownable"],
}
BODIES = {
    1: "The premise promised more than the pages delivered.",
    2: "Some fine passages, but the middle drags and the ending rushes.",
    3: "Solid and readable; I'd have liked more depth in the characters.",
    4: "Well paced and well written. A few loose threads, but I'd read it again.",
    5: "I read it in two sittings and have been recommending it to everyone since.",
}


@dataclass(frozen=True)
class ReviewSeedReport:
    reviewers: int
    reviews: int

    def __str__(self) -> str:
        return f"{self.reviews} reviews by {self.reviewers} demo reviewers"


def reviewer_id(index: int) -> int:
    return REVIEWER_ID_BASE + index


def _reviewers(password_hash: str) -> list[dict[str, Any]]:
    return [
        {
            "id": reviewer_id(i),
            "email": f"reviewer-{i}@reviewers.invalid",
            "full_name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
            "password_hash": password_hash,
            "is_active": False,
        }
        for i in range(REVIEWERS)
    ]


def _how_many(rng: random.Random, book_id: int) -> int:
    if book_id % POPULAR_EVERY == 7 and book_id <= POPULAR_UNTIL:
        return rng.randint(150, 400)
    return rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8])


def reviews_of(book_id: int, released: date, today: date) -> list[dict[str, Any]]:
    """The demo reviews of one released book."""
    rng = random.Random(book_id * 7919 + 17)  # noqa: S311 - demo data, not secrets
    quality = rng.uniform(2.6, 4.7)
    authors = rng.sample(range(REVIEWERS), _how_many(rng, book_id))
    days = max(1, (today - released).days)
    reviews = []
    for position, author in enumerate(authors):
        rating = min(5, max(1, round(rng.gauss(quality, 1.0))))
        written = datetime.combine(today, time(12), UTC) - timedelta(
            days=rng.randrange(days), minutes=position
        )
        worded = rng.random()
        reviews.append(
            {
                "book_id": book_id,
                "user_id": reviewer_id(author),
                "rating": rating,
                "title": rng.choice(TITLES[rating]) if worded < 0.8 else None,
                "body": BODIES[rating] if worded < 0.6 else None,
                "helpful_count": _helpful(rng, rating),
                "created_at": written,
                "updated_at": written,
            }
        )
    return reviews


def _helpful(rng: random.Random, rating: int) -> int:
    """How many found a review helpful: mostly none or a few, now and then many; the
    middling ones less often."""
    roll = rng.random()
    if roll < 0.5:
        return 0
    if roll < 0.9:
        return rng.randint(1, 4 if rating == 3 else 6)
    return rng.randint(7, 30)


def voters(review: tuple[int, int, int]) -> list[int]:
    """The reviewers who found a review helpful (book id, author id, votes): never its author."""
    book_id, author, votes = review
    rng = random.Random(book_id * 104729 + author)  # noqa: S311 - demo data, not secrets
    own = author - REVIEWER_ID_BASE
    # The other reviewers: every index but the author's, without listing them.
    return [reviewer_id(i + (i >= own)) for i in rng.sample(range(REVIEWERS - 1), votes)]


async def seed_reviews(session: AsyncSession, settings: Settings) -> ReviewSeedReport:
    """Add whatever of the demo reviews is missing (caller commits)."""
    today = datetime.now(UTC).date()
    repository = ReviewRepository(session)
    # One hash for every reviewer, of a password nobody knows: a valid hash, so a sign-in
    # attempt with a reviewer's address is refused like any wrong password.
    password_hash = await password_hasher(settings).hash(secrets.token_urlsafe(32))
    await repository.seed_users(_reviewers(password_hash))
    books = await books_service.released_books(session, today)
    added = 0
    batch: list[dict[str, Any]] = []
    for book_id, released in books:
        if book_id > REVIEWED_UNTIL:
            continue
        batch += reviews_of(book_id, released, today)
        if len(batch) >= CHUNK:
            added += await _insert(session, repository, batch)
            batch = []
    if batch:
        added += await _insert(session, repository, batch)
    return ReviewSeedReport(REVIEWERS, added)


async def _insert(
    session: AsyncSession, repository: ReviewRepository, reviews: Sequence[dict[str, Any]]
) -> int:
    inserted = await repository.seed_reviews(list(reviews))
    histograms: dict[int, list[int]] = {}
    votes = []
    for review_id, book_id, author, rating, helpful in inserted:
        histograms.setdefault(book_id, [0] * 5)[rating - 1] += 1
        votes += [
            {"review_id": review_id, "user_id": voter}
            for voter in voters((book_id, author, helpful))
        ]
    await books_service.add_ratings(session, histograms)
    for start in range(0, len(votes), CHUNK):
        await repository.seed_votes(votes[start : start + CHUNK])
    return len(inserted)
