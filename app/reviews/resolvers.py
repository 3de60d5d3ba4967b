"""Review mutations, and the moderators' list."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.core.paging import PageArgs
from app.graphql.connection import Connection, listing_connection, paginated
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import parse_input
from app.graphql.node import global_id
from app.graphql.permissions import IsAdmin, IsAuthenticated
from app.reviews import service as reviews_service
from app.reviews.loaders import ReviewLoader
from app.reviews.models import ReviewStatus
from app.reviews.schemas import (
    ReviewCreateInput,
    ReviewFilter,
    ReviewFilterInput,
    ReviewUpdateInput,
    UpdateReviewInput,
    WriteReviewInput,
)
from app.reviews.types import Review


async def _review(context: Context, review_id: int) -> Review:
    """The review as the viewer now sees it, after a change committed."""
    context.loader(ReviewLoader).clear(review_id)
    async with context.session() as session:
        row = await reviews_service.get_review(session, review_id, context.viewer)
    return Review.from_row(row)


@strawberry.type
class ReviewsQuery:
    @strawberry.field(
        description="Every review, hidden ones too, newest first (admins; moderation).",
        permission_classes=[IsAdmin],
    )
    @paginated
    async def reviews(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        filter: ReviewFilter | None = None,
    ) -> Connection[Review] | None:
        filters = parse_input(ReviewFilterInput, filter, field="filter") if filter else None
        return await listing_connection(
            info.context,
            page,
            listing=lambda session: reviews_service.all_reviews(session, filters),
            node=Review.from_row,
        )


@strawberry.type
class ReviewsMutation:
    @strawberry.mutation(
        description="Review a released book: one review per reader and book "
        "(REVIEW_ALREADY_EXISTS; REVIEW_NOT_ALLOWED before its release). Counts in the "
        "book's rating summary at once.",
        permission_classes=[IsAuthenticated],
    )
    async def write_review(
        self, info: Info[Context, None], input: WriteReviewInput
    ) -> Review | None:
        context = info.context
        data = parse_input(ReviewCreateInput, input)
        async with context.transaction() as session:
            review_id = await reviews_service.write(
                session, context.settings, viewer=context.viewer, data=data, stock=context.stock
            )
        return await _review(context, review_id)

    @strawberry.mutation(
        description="Change your review (REVIEW_NOT_FOUND for anyone else's, and once its "
        "book is archived). A hidden review stays hidden.",
        permission_classes=[IsAuthenticated],
    )
    async def update_review(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateReviewInput
    ) -> Review | None:
        context = info.context
        review_id = decode_id(id, "Review", field="id")
        data = parse_input(ReviewUpdateInput, input)
        async with context.transaction() as session:
            await reviews_service.update(
                session, context.settings, viewer=context.viewer, review_id=review_id, data=data
            )
        return await _review(context, review_id)

    @strawberry.mutation(
        description="Delete your review (REVIEW_NOT_FOUND for anyone else's). Answers the "
        "deleted review's ID, for client caches to evict.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_review(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> strawberry.ID | None:
        context = info.context
        review_id = decode_id(id, "Review", field="id")
        async with context.transaction() as session:
            await reviews_service.delete(
                session, context.settings, viewer=context.viewer, review_id=review_id
            )
        return global_id("Review", review_id)

    @strawberry.mutation(
        description="Say whether you found a review helpful (true counts you once, however "
        "often sent; false takes your vote back). Not on your own review (REVIEW_NOT_ALLOWED).",
        permission_classes=[IsAuthenticated],
    )
    async def mark_review_helpful(
        self, info: Info[Context, None], id: strawberry.ID, helpful: bool
    ) -> Review | None:
        context = info.context
        review_id = decode_id(id, "Review", field="id")
        async with context.transaction() as session:
            await reviews_service.mark_helpful(
                session, viewer=context.viewer, review_id=review_id, helpful=helpful
            )
        return await _review(context, review_id)

    @strawberry.mutation(
        description="Publish or hide a review (admins). A hidden review leaves the book's "
        "rating summary and every public list; its author still sees it, with its status.",
        permission_classes=[IsAdmin],
    )
    async def moderate_review(
        self, info: Info[Context, None], id: strawberry.ID, status: ReviewStatus
    ) -> Review | None:
        context = info.context
        review_id = decode_id(id, "Review", field="id")
        async with context.transaction() as session:
            await reviews_service.moderate(session, review_id=review_id, status=status)
        return await _review(context, review_id)
