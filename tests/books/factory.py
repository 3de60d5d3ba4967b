"""Building catalogs for tests through the admin mutations, like an admin client would."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from tests.support import GraphQL, data

_isbn_counter = itertools.count(1)

BOOK_FIELDS = """
id title subtitle isbn13 description price availability releaseDate pageCount language
publisher coverUrl isArchived createdAt updatedAt
authors { id name } genres { id name slug }
"""


def new_isbn13() -> str:
    body = f"978{next(_isbn_counter) + 500_000_000:09d}"
    check = (10 - sum((1, 3)[i % 2] * int(c) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


def days_from_today(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


class Catalog:
    def __init__(self, gql: GraphQL, admin_token: str) -> None:
        self.gql = gql
        self.token = admin_token

    async def run(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return data(await self.gql(query, variables, token=self.token))

    async def author(self, name: str = "Ursula K. Le Guin", bio: str | None = None) -> str:
        result = await self.run(
            "mutation($i: CreateAuthorInput!) { createAuthor(input: $i) { id } }",
            {"i": {"name": name, "bio": bio}},
        )
        author_id: str = result["createAuthor"]["id"]
        return author_id

    async def genre(self, name: str, slug: str | None = None) -> str:
        result = await self.run(
            "mutation($i: CreateGenreInput!) { createGenre(input: $i) { id } }",
            {"i": {"name": name, "slug": slug}},
        )
        genre_id: str = result["createGenre"]["id"]
        return genre_id

    async def book(
        self,
        title: str = "A Wizard of Earthsea",
        *,
        authors: list[str] | None = None,
        genres: list[str] | None = None,
        price: str = "19.99",
        stock: int = 10,
        released_days_ago: int = 365,
        **extra: Any,
    ) -> dict[str, Any]:
        if authors is None:
            authors = [await self.author()]
        values = {
            "title": title,
            "isbn13": new_isbn13(),
            "price": price,
            "stockQuantity": stock,
            "releaseDate": days_from_today(-released_days_ago),
            "authorIds": authors,
            "genreIds": genres or [],
            **extra,
        }
        result = await self.run(
            f"mutation($i: CreateBookInput!) {{ createBook(input: $i) {{ {BOOK_FIELDS} }} }}",
            {"i": values},
        )
        book: dict[str, Any] = result["createBook"]
        return book

    async def archive(self, book_id: str) -> None:
        await self.run("mutation($id: ID!) { archiveBook(id: $id) { id } }", {"id": book_id})
