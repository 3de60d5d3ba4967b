"""Review read shapes and inputs (each defined once: GraphQL shape, description, limits and
normalisation), and the reviewer's public name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import strawberry
from pydantic import BeforeValidator, Field

from app.core.validation import MULTI_LINE, SINGLE_LINE, bounded
from app.graphql.enums import SortDirection, graphql_enum
from app.graphql.ids import id_decoder
from app.graphql.inputs import GLOBAL_ID, Input, graphql_input
from app.reviews.models import (
    BODY_MAX_LENGTH,
    MAX_RATING,
    MIN_RATING,
    TITLE_MAX_LENGTH,
    ReviewStatus,
)

graphql_enum(
    description="Whether a review is shown.",
    values={
        "PUBLISHED": "Shown to everyone, and counted in the book's rating summary.",
        "HIDDEN": "Hidden by a moderator: only its author (and admins) see it, and it counts "
        "nowhere.",
    },
)(ReviewStatus)


class ReviewOrderField(StrEnum):
    NEWEST = "NEWEST"
    HIGHEST = "HIGHEST"
    LOWEST = "LOWEST"
    MOST_HELPFUL = "MOST_HELPFUL"


graphql_enum(
    description="What to order a book's reviews by.",
    values={
        "NEWEST": "Newest first.",
        "HIGHEST": "Highest rating first (newest first among equal ratings).",
        "LOWEST": "Lowest rating first (oldest first among equal ratings).",
        "MOST_HELPFUL": "Verified purchases first, then the most found helpful.",
    },
)(ReviewOrderField)


@strawberry.input(description="How to order a book's reviews.")
class ReviewOrder:
    field: ReviewOrderField = strawberry.field(description="What to order by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC,
        description="DESC (the default): as the field's name says; ASC: the reverse.",
    )


# -- what the repository reads ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    book_id: int
    user_id: int
    rating: int
    title: str | None
    body: str | None
    status: ReviewStatus
    helpful_count: int
    created_at: datetime
    updated_at: datetime
    reviewer_full_name: str  # never shown as is: see `author_name`
    verified_purchase: bool  # computed at read, from the reviewer's orders


@dataclass(frozen=True, slots=True)
class ReviewChange:
    """What a review counted for in its book's summary before and after a change: a rating,
    or None when it counted nowhere (absent, or hidden)."""

    book_id: int
    before: int | None
    after: int | None


def author_name(full_name: str) -> str:
    """The public name of a reviewer: the first word of the account's name and the initial
    of its last ("Ada Lovelace" -> "Ada L."), never the email. A name that looks like an
    address (some type their email there) or has no letters becomes "A reader"."""
    words = full_name.split()
    if not words or "@" in full_name or not any(char.isalpha() for char in full_name):
        return "A reader"
    first = words[0][:40]
    if len(words) == 1:
        return first
    initial = next((char for char in words[-1] if char.isalpha()), None)
    return f"{first} {initial.upper()}." if initial else first


# -- inputs ----------------------------------------------------------------------------------

Rating = Annotated[int, Field(ge=MIN_RATING, le=MAX_RATING)]
ReviewTitle = Annotated[str, bounded(TITLE_MAX_LENGTH), SINGLE_LINE]
ReviewBody = Annotated[str, bounded(BODY_MAX_LENGTH), MULTI_LINE]
BookID = Annotated[int, BeforeValidator(id_decoder("Book")), GLOBAL_ID]


class ReviewCreateInput(Input):
    book_id: BookID = Field(description="The book reviewed (released, not archived).")
    rating: Rating = Field(description="Stars, 1 to 5.")
    title: ReviewTitle | None = Field(
        default=None, description="A headline (1-120 characters, one line)."
    )
    body: ReviewBody | None = Field(
        default=None, description="What you thought (1-5,000 characters; new lines allowed)."
    )


@graphql_input(ReviewCreateInput, description="A review of a book: one per reader and book.")
class WriteReviewInput: ...


class ReviewUpdateInput(Input):
    rating: Rating | None = Field(default=None, description="Stars, 1 to 5.")
    title: ReviewTitle | None = Field(
        default=None, description="A headline (1-120 characters, one line; null clears it)."
    )
    body: ReviewBody | None = Field(
        default=None,
        description="What you thought (1-5,000 characters; new lines allowed; null clears it).",
    )

    not_null = ("rating",)


@graphql_input(
    ReviewUpdateInput,
    description="Changes to your review: omitted fields stay, null clears the title or body.",
    partial=True,
)
class UpdateReviewInput: ...


class ReviewFilterInput(Input):
    status: ReviewStatus | None = Field(default=None, description="Only reviews in this status.")
    book_id: BookID | None = Field(default=None, description="Only reviews of this book.")


@graphql_input(ReviewFilterInput, description="Which reviews to list (both optional, AND-ed).")
class ReviewFilter: ...
