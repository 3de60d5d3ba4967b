"""Per-request batch loaders of the catalog: one query per kind of relation per request,
however many books, authors or genres a response contains."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import BookOrderField, Stock
from app.books.schemas import AuthorRow, BookRow, GenreRow
from app.db.pagination import Ordering, Page, PageRequest
from app.graphql.loaders import ContextLoader


class BookLoader(ContextLoader[int, BookRow | None]):
    """Live (non-archived) books by id."""

    async def batch_load_fn(self, keys: list[int]) -> list[BookRow | None]:
        async with self.context.session() as session:
            rows = await books_service.get_books(
                session, keys, self.context.stock, include_archived=False
            )
        return [rows.get(key) for key in keys]


class AnyBookLoader(ContextLoader[int, BookRow | None]):
    """Books by id, archived ones included: for things that keep pointing at a book after
    it leaves the catalog (order lines)."""

    async def batch_load_fn(self, keys: list[int]) -> list[BookRow | None]:
        async with self.context.session() as session:
            rows = await books_service.get_books(
                session, keys, self.context.stock, include_archived=True
            )
        return [rows.get(key) for key in keys]


def viewers_book_loader(is_admin: bool) -> type[ContextLoader[int, BookRow | None]]:
    """The loader of books as a viewer may see them (archived ones only for admins)."""
    return AnyBookLoader if is_admin else BookLoader


class AuthorLoader(ContextLoader[int, AuthorRow | None]):
    async def batch_load_fn(self, keys: list[int]) -> list[AuthorRow | None]:
        async with self.context.session() as session:
            rows = await books_service.get_authors(session, keys)
        return [rows.get(key) for key in keys]


class GenreLoader(ContextLoader[int, GenreRow | None]):
    async def batch_load_fn(self, keys: list[int]) -> list[GenreRow | None]:
        async with self.context.session() as session:
            rows = await books_service.get_genres(session, keys)
        return [rows.get(key) for key in keys]


class BookAuthorsLoader(ContextLoader[int, list[AuthorRow]]):
    async def batch_load_fn(self, keys: list[int]) -> list[list[AuthorRow]]:
        async with self.context.session() as session:
            found = await books_service.authors_of_books(session, keys)
        return [found.get(key, []) for key in keys]


class BookGenresLoader(ContextLoader[int, list[GenreRow]]):
    async def batch_load_fn(self, keys: list[int]) -> list[list[GenreRow]]:
        async with self.context.session() as session:
            found = await books_service.genres_of_books(session, keys)
        return [found.get(key, []) for key in keys]


@dataclass(frozen=True, slots=True)
class NestedBooksKey:
    """One author's (or genre's) page of books; keys with equal paging share a query."""

    owner_id: int
    order: tuple[BookOrderField, bool] | None
    page: PageRequest


def _grouped(keys: list[NestedBooksKey]) -> dict[Any, list[NestedBooksKey]]:
    groups: dict[Any, list[NestedBooksKey]] = defaultdict(list)
    for key in keys:
        groups[(key.order, key.page)].append(key)
    return groups


class _NestedBooksLoader(ContextLoader[NestedBooksKey, Page[BookRow]]):
    """Pages of an owner's books, one query per distinct (order, page) among the keys."""

    fetch: staticmethod[
        [AsyncSession, Sequence[int], Ordering, PageRequest, Stock],
        Awaitable[dict[int, Page[BookRow]]],
    ]

    async def batch_load_fn(self, keys: list[NestedBooksKey]) -> list[Page[BookRow]]:
        pages: dict[NestedBooksKey, Page[BookRow]] = {}
        async with self.context.session() as session:
            for (order, page), group in _grouped(keys).items():
                ordering = books_service.nested_ordering(order)
                ids = [key.owner_id for key in group]
                found = await self.fetch(session, ids, ordering, page, self.context.stock)
                pages.update({key: found[key.owner_id] for key in group})
        return [pages[key] for key in keys]


class AuthorBooksLoader(_NestedBooksLoader):
    fetch = staticmethod(books_service.books_by_author)


class GenreBooksLoader(_NestedBooksLoader):
    fetch = staticmethod(books_service.books_by_genre)


class _BookCountLoader(ContextLoader[int, int]):
    """How many unarchived books each owner has."""

    count: staticmethod[[AsyncSession, Sequence[int]], Awaitable[dict[int, int]]]

    async def batch_load_fn(self, keys: list[int]) -> list[int]:
        async with self.context.session() as session:
            counts = await self.count(session, keys)
        return [counts[key] for key in keys]


class AuthorBookCountLoader(_BookCountLoader):
    count = staticmethod(books_service.count_books_by_author)


class GenreBookCountLoader(_BookCountLoader):
    count = staticmethod(books_service.count_books_by_genre)
