"""Per-request batch loaders of the reviews: one statement per kind, however many books or
reviews a response shows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from app.db.pagination import Page, PageRequest
from app.graphql.loaders import ContextLoader
from app.reviews import service as reviews_service
from app.reviews.schemas import ReviewOrderField, ReviewRow


class ReviewLoader(ContextLoader[int, ReviewRow | None]):
    """Reviews by id as the viewer may see them."""

    async def batch_load_fn(self, keys: list[int]) -> list[ReviewRow | None]:
        viewer = await self.context.optional_viewer()
        async with self.context.session() as session:
            rows = await reviews_service.get_reviews(session, keys, viewer)
        return [rows.get(key) for key in keys]


class MyReviewLoader(ContextLoader[int, ReviewRow | None]):
    """The signed-in user's review of each book (hidden ones too), by book id."""

    async def batch_load_fn(self, keys: list[int]) -> list[ReviewRow | None]:
        viewer = await self.context.optional_viewer()
        if viewer is None:
            return [None] * len(keys)
        async with self.context.session() as session:
            found = await reviews_service.reviews_by(session, user_id=viewer.id, book_ids=keys)
        return [found.get(key) for key in keys]


@dataclass(frozen=True, slots=True)
class BookReviewsKey:
    """One book's page of reviews; keys with equal order and paging share a statement."""

    book_id: int
    field: ReviewOrderField | None
    reverse: bool
    page: PageRequest


class BookReviewsLoader(ContextLoader[BookReviewsKey, Page[ReviewRow]]):
    async def batch_load_fn(self, keys: list[BookReviewsKey]) -> list[Page[ReviewRow]]:
        groups: dict[tuple[ReviewOrderField | None, bool, PageRequest], list[BookReviewsKey]] = (
            defaultdict(list)
        )
        for key in keys:
            groups[(key.field, key.reverse, key.page)].append(key)
        pages: dict[BookReviewsKey, Page[ReviewRow]] = {}
        async with self.context.session() as session:
            for (field, reverse, page), group in groups.items():
                ordering = reviews_service.ordering(field, reverse=reverse)
                found = await reviews_service.pages_by_book(
                    session, [key.book_id for key in group], ordering, page
                )
                pages.update({key: found[key.book_id] for key in group})
        return [pages[key] for key in keys]
