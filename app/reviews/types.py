"""GraphQL types of the reviews, and the review fields of `Book`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from app.books.loaders import viewers_book_loader
from app.books.types import Book
from app.core.errors import PermissionDenied
from app.core.paging import PageArgs
from app.graphql.connection import Connection
from app.graphql.context import Context
from app.graphql.enums import SortDirection
from app.graphql.node import Node, global_id
from app.reviews import service as reviews_service
from app.reviews.loaders import BookReviewsKey, BookReviewsLoader, MyReviewLoader, ReviewLoader
from app.reviews.models import ReviewStatus
from app.reviews.schemas import ReviewOrder, ReviewRow, author_name


@strawberry.type(description="A reader's review of a book.")
class Review(Node):
    pk: strawberry.Private[int]
    book_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int]
    review_status: strawberry.Private[ReviewStatus]
    rating: int = strawberry.field(description="Stars, 1 to 5.")
    title: str | None = strawberry.field(description="The headline, if any.")
    body: str | None = strawberry.field(description="The text, if any.")
    author_name: str = strawberry.field(
        description='The reviewer\'s public name: first name and initial ("Ada L."), never '
        "their email."
    )
    verified_purchase: bool = strawberry.field(
        description="Whether the reviewer bought the book here (an order of it that is "
        "CONFIRMED, SHIPPED or DELIVERED), as of now."
    )
    helpful_count: int = strawberry.field(description="How many readers found it helpful.")
    created_at: datetime = strawberry.field(description="When it was written.")
    updated_at: datetime = strawberry.field(description="When its author last changed it.")

    @classmethod
    def from_row(cls, row: ReviewRow) -> Self:
        return cls(
            id=global_id("Review", row.id),
            pk=row.id,
            book_pk=row.book_id,
            user_pk=row.user_id,
            review_status=row.status,
            rating=row.rating,
            title=row.title,
            body=row.body,
            author_name=author_name(row.reviewer_full_name),
            verified_purchase=row.verified_purchase,
            helpful_count=row.helpful_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The book reviewed.")
    async def book(self, info: Info[Context, None]) -> Book:
        loader = viewers_book_loader(await info.context.is_admin())
        row = await info.context.loader(loader).load(self.book_pk)
        if row is None:  # reviews of archived books resolve for admins only
            raise RuntimeError("a review resolved without its book")
        return Book.from_row(row)

    @strawberry.field(
        description="PUBLISHED or HIDDEN: for its author and admins (AUTH_FORBIDDEN for "
        "others; what others see is published)."
    )
    async def status(self, info: Info[Context, None]) -> ReviewStatus | None:
        # Nullable so that a refusal nulls this field only, not the whole review.
        viewer = await info.context.optional_viewer()
        if viewer is None or (viewer.id != self.user_pk and not viewer.is_admin):
            raise PermissionDenied("Only the review's author and admins see its status")
        return self.review_status

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Published reviews of live books for everyone; hidden ones for their author and
        admins."""
        rows = await info.context.loader(ReviewLoader).load_many([int(i) for i in node_ids])
        return [None if row is None else cls.from_row(row) for row in rows]


async def book_reviews(
    info: Info[Context, None], book: Book, page: PageArgs, order_by: ReviewOrder | None
) -> Connection[Review]:
    """`Book.reviews`: this book's page, batched with the other books' of the response."""
    field = order_by.field if order_by else None
    reverse = order_by is not None and order_by.direction is SortDirection.ASC
    request = page.request(reviews_service.ordering(field, reverse=reverse))
    found = await info.context.loader(BookReviewsLoader).load(
        BookReviewsKey(book.pk, field, reverse, request)
    )
    count = book.rating_summary.count

    async def total() -> int:
        return count  # the summary counts the published reviews: no statement

    return Connection.from_page(found, [Review.from_row(row) for row in found.items], total)


async def my_review(info: Info[Context, None], book: Book) -> Review | None:
    if await info.context.optional_viewer() is None:
        return None
    row = await info.context.loader(MyReviewLoader).load(book.pk)
    return None if row is None else Review.from_row(row)
