"""GraphQL types of the catalog.

`Book.authors`/`Book.genres` are plain attributes when the listing prefetched them (one
query for the whole page) and fall back to batch loaders otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Protocol, Self, TypeVar

import strawberry
from strawberry.types import Info

from app.books import service as books_service
from app.books.facets import FacetCounts
from app.books.loaders import (
    AuthorBookCountLoader,
    AuthorBooksLoader,
    AuthorLoader,
    BookAuthorsLoader,
    BookGenresLoader,
    GenreBookCountLoader,
    GenreBooksLoader,
    GenreLoader,
    NestedBooksKey,
    viewers_book_loader,
)
from app.books.repository import BookCriteria, BookOrderField, Search
from app.books.schemas import AuthorRow, Availability, BookRow, GenreRow
from app.core.paging import PageArgs
from app.db.pagination import Page
from app.graphql.connection import Connection, paginated
from app.graphql.context import Context
from app.graphql.enums import SortDirection, graphql_enum
from app.graphql.loaders import ContextLoader
from app.graphql.node import Node, global_id
from app.graphql.permissions import IsAdmin
from app.reviews.schemas import ReviewOrder
from app.wishlist.loaders import InWishlistLoader

if TYPE_CHECKING:
    from app.reviews.types import Review

# Reviews show their book, and books their reviews: the review types are imported lazily.
LazyReview = Annotated["Review", strawberry.lazy("app.reviews.types")]

graphql_enum(
    description="What to order a book list by.",
    values={
        "TITLE": "Title, alphabetically.",
        "PRICE": "Current price.",
        "RELEASE_DATE": "Release date.",
        "CREATED_AT": "When the book was added to the catalog.",
        "RELEVANCE": "How well the book matches `filter.search` (only with a search).",
        "RATING": "Average rating (books without reviews count as lower than any rated "
        "book, whichever the direction: last when DESC, first when ASC).",
    },
)(BookOrderField)


@strawberry.input(description="How to order a book list.")
class BookOrder:
    field: BookOrderField = strawberry.field(description="What to order by.")
    direction: SortDirection = strawberry.field(description="Which way.")

    def as_tuple(self) -> tuple[BookOrderField, bool]:
        return self.field, self.direction is SortDirection.DESC


def _order(order_by: BookOrder | None) -> tuple[BookOrderField, bool] | None:
    return order_by.as_tuple() if order_by is not None else None


class _FromRow(Protocol):
    @classmethod
    def from_row(cls, row: Any) -> Self: ...


_N = TypeVar("_N", bound=_FromRow)


async def _load_nodes(
    node_type: type[_N],
    info: Info[Context, None],
    loader: type[ContextLoader[int, Any]],
    node_ids: Iterable[str],
) -> list[_N | None]:
    """Catalog objects by id through the request's loader, None where missing."""
    rows = await info.context.loader(loader).load_many([int(i) for i in node_ids])
    return [None if row is None else node_type.from_row(row) for row in rows]


def _shelf_books(
    pages: type[ContextLoader[NestedBooksKey, Page[BookRow]]],
    counts: type[ContextLoader[int, int]],
    *,
    description: str,
) -> Any:
    """The `books` field of an author or a genre, batched with the other owners' on the
    page through `pages` and `counts`."""

    @paginated
    async def books(
        self: Author | Genre,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        order_by: BookOrder | None = None,
    ) -> BookConnection:
        context, order = info.context, _order(order_by)
        request = page.request(books_service.nested_ordering(order))
        found = await context.loader(pages).load(NestedBooksKey(self.pk, order, request))
        return _shelf_connection(context, self, found, counts)

    return strawberry.field(resolver=books, description=description)


def _shelf_connection(
    context: Context,
    owner: Author | Genre,
    found: Page[BookRow],
    counts: type[ContextLoader[int, int]],
) -> BookConnection:
    if isinstance(owner, Author):
        scope = BookCriteria(author_id=owner.pk)
    else:
        scope = BookCriteria(shelf_genre_id=owner.pk)
    return BookConnection.of_page(
        found,
        [Book.from_row(row) for row in found.items],
        count=lambda: context.loader(counts).load(owner.pk),
        facets=lambda: book_facets(context, scope, None),
    )


def author_books(context: Context, author: Author, found: Page[BookRow]) -> BookConnection:
    """`Author.books` of a page read already (a book's detail reads its authors' first
    books with it)."""
    return _shelf_connection(context, author, found, AuthorBookCountLoader)


@strawberry.type(description="A person credited on books.")
class Author(Node):
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Name as printed on the cover.")
    bio: str | None = strawberry.field(description="Short biography.")
    created_at: datetime = strawberry.field(description="When the author was added.")
    updated_at: datetime = strawberry.field(description="When the author last changed.")
    # `books` read with the author, and the selection they answer (the fast path reads them
    # from here; the resolver from its primed loader).
    prefetched_books: strawberry.Private[tuple[object, BookConnection] | None] = None

    @classmethod
    def from_row(cls, row: AuthorRow) -> Self:
        return cls(
            id=global_id("Author", row.id),
            pk=row.id,
            name=row.name,
            bio=row.bio,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    books = _shelf_books(
        AuthorBooksLoader,
        AuthorBookCountLoader,
        description="Books by this author; default order: newest release first.",
    )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(cls, info, AuthorLoader, node_ids)


@strawberry.type(description="A shelf of the catalog (Fantasy, History, ...).")
class Genre(Node):
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="URL-friendly unique name, for `genre(slug:)`.")
    description: str | None = strawberry.field(description="What the genre covers.")

    @classmethod
    def from_row(cls, row: GenreRow) -> Self:
        return cls(
            id=global_id("Genre", row.id),
            pk=row.id,
            name=row.name,
            slug=row.slug,
            description=row.description,
        )

    books = _shelf_books(
        GenreBooksLoader,
        GenreBookCountLoader,
        description="Books in this genre; default order: newest release first.",
    )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(cls, info, GenreLoader, node_ids)


@strawberry.type(description="What readers gave a book: its published reviews' ratings.")
class RatingSummary:
    average: float | None = strawberry.field(
        description="Average rating, 1 to 5, rounded to two decimals; null with no reviews."
    )
    count: int = strawberry.field(description="How many published reviews.")
    histogram: list[int] = strawberry.field(
        description="How many gave 1, 2, 3, 4 and 5 stars (five counts, in that order)."
    )

    @classmethod
    def of(cls, row: BookRow) -> Self:
        histogram = list(row.rating_histogram)
        count = sum(histogram)
        return cls(
            average=float(row.rating_average) if count else None,
            count=count,
            histogram=histogram,
        )


@strawberry.type(description="A book in the catalog.")
class Book(Node):
    pk: strawberry.Private[int]
    title: str = strawberry.field(description="Title.")
    subtitle: str | None = strawberry.field(description="Subtitle, if any.")
    isbn13: str = strawberry.field(description="ISBN-13, digits only.")
    description: str | None = strawberry.field(description="Blurb.")
    price: Decimal = strawberry.field(description='Current price (a decimal string, e.g. "19.99").')
    availability: Availability = strawberry.field(description="Whether it can be bought now.")
    release_date: date = strawberry.field(description="Release date; in the future = PREORDER.")
    page_count: int | None = strawberry.field(description="Number of pages.")
    language: str | None = strawberry.field(description='Language (BCP 47 tag, e.g. "en").')
    publisher: str | None = strawberry.field(description="Publisher.")
    cover_url: str | None = strawberry.field(description="URL of the cover image.")
    is_archived: bool = strawberry.field(
        description="Withdrawn from sale (only admins ever see archived books)."
    )
    created_at: datetime = strawberry.field(description="When the book was added.")
    updated_at: datetime = strawberry.field(description="When the book last changed.")
    rating_summary: RatingSummary = strawberry.field(
        description="Its readers' ratings (kept current by every review change: reading it "
        "costs nothing)."
    )
    stock: strawberry.Private[int]
    demand: strawberry.Private[int]
    prefetched_authors: strawberry.Private[list[Author] | None] = None
    prefetched_genres: strawberry.Private[list[Genre] | None] = None

    @classmethod
    def from_row(
        cls,
        row: BookRow,
        *,
        authors: Sequence[AuthorRow] | None = None,
        genres: Sequence[GenreRow] | None = None,
    ) -> Self:
        return cls(
            id=global_id("Book", row.id),
            pk=row.id,
            title=row.title,
            subtitle=row.subtitle,
            isbn13=row.isbn13,
            description=row.description,
            price=row.price,
            availability=Availability(row.availability),
            release_date=row.release_date,
            page_count=row.page_count,
            language=row.language,
            publisher=row.publisher,
            cover_url=row.cover_url,
            is_archived=row.is_archived,
            created_at=row.created_at,
            updated_at=row.updated_at,
            rating_summary=RatingSummary.of(row),
            stock=row.stock_quantity,
            demand=row.prebook_demand,
            prefetched_authors=None if authors is None else [Author.from_row(a) for a in authors],
            prefetched_genres=None if genres is None else [Genre.from_row(g) for g in genres],
        )

    @strawberry.field(description="Authors, in credit order.")
    def authors(self, info: Info[Context, None]) -> list[Author]:
        if self.prefetched_authors is not None:
            return self.prefetched_authors
        return self._load_authors(info)  # type: ignore[return-value]  # awaited by graphql-core

    async def _load_authors(self, info: Info[Context, None]) -> list[Author]:
        rows = await info.context.loader(BookAuthorsLoader).load(self.pk)
        return [Author.from_row(row) for row in rows]

    @strawberry.field(description="Genres, by name.")
    def genres(self, info: Info[Context, None]) -> list[Genre]:
        if self.prefetched_genres is not None:
            return self.prefetched_genres
        return self._load_genres(info)  # type: ignore[return-value]  # awaited by graphql-core

    async def _load_genres(self, info: Info[Context, None]) -> list[Genre]:
        rows = await info.context.loader(BookGenresLoader).load(self.pk)
        return [Genre.from_row(row) for row in rows]

    @strawberry.field(
        description="Copies in stock (admins only: AUTH_FORBIDDEN for others).",
        permission_classes=[IsAdmin],
    )
    def stock_quantity(self) -> int | None:
        # Nullable so that a refusal nulls this field only, not the whole book.
        return self.stock

    @strawberry.field(description="Whether the book is in your wishlist (null when not signed in).")
    async def in_wishlist(self, info: Info[Context, None]) -> bool | None:
        if await info.context.optional_viewer() is None:
            return None
        return await info.context.loader(InWishlistLoader).load(self.pk)

    @strawberry.field(
        description="Its published reviews, a page at a time (`first`/`last` at most 100). "
        "Default order: newest first."
    )
    @paginated
    async def reviews(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        order_by: ReviewOrder | None = None,
    ) -> Connection[LazyReview]:
        from app.reviews.types import book_reviews  # see LazyReview

        return await book_reviews(info, self, page, order_by)

    @strawberry.field(
        description="Your review of the book, hidden or not (null when you haven't written "
        "one, or aren't signed in)."
    )
    async def my_review(self, info: Info[Context, None]) -> LazyReview | None:
        from app.reviews.types import my_review  # see LazyReview

        return await my_review(info, self)

    @strawberry.field(
        description="Copies waited for by pending prebooks (admins only).",
        permission_classes=[IsAdmin],
    )
    def pending_prebook_quantity(self) -> int | None:
        return self.demand

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Books by id; archived ones only for admins."""
        loader = viewers_book_loader(await info.context.is_admin())
        return await _load_nodes(cls, info, loader, node_ids)


@strawberry.type(description="A genre of the books listed, and how many of them it has.")
class GenreFacet:
    genre: Genre = strawberry.field(description="The genre.")
    count: int = strawberry.field(description="Books listed in this genre.")


@strawberry.type(description="An availability of the books listed, and how many have it.")
class AvailabilityFacet:
    availability: Availability = strawberry.field(description="The availability.")
    count: int = strawberry.field(description="Books listed with this availability.")


@strawberry.type(description="A language of the books listed, and how many are in it.")
class LanguageFacet:
    language: str = strawberry.field(description='The language (BCP 47 tag, e.g. "fr").')
    count: int = strawberry.field(description="Books listed in this language.")


@strawberry.type(description="A price band of the books listed, and how many are in it.")
class PriceRangeFacet:
    min: Decimal = strawberry.field(description="Lowest price of the band (included).")
    max: Decimal | None = strawberry.field(
        description="Price the band ends below (excluded); null: no upper bound. To select "
        "it: `minPrice: min, maxPrice: max - 0.01`."
    )
    count: int = strawberry.field(description="Books listed in this band.")


@strawberry.type(
    description="Counts of the books listed by genre, availability, language and price "
    "band. Each facet is counted under the search and every other filter but not its own, "
    "so its other values stay selectable. Values without books are left out."
)
class BookFacets:
    genres: list[GenreFacet] = strawberry.field(description="By genre, most books first.")
    availability: list[AvailabilityFacet] = strawberry.field(
        description="By availability, most books first."
    )
    languages: list[LanguageFacet] = strawberry.field(description="By language, most books first.")
    price_ranges: list[PriceRangeFacet] = strawberry.field(
        description="By price band, cheapest first."
    )
    is_exact: bool = strawberry.field(
        description="false when the counts are estimated: from the matches among the "
        "2,000 most popular books, scaled to the catalog (exact for a catalog of up to "
        "2,000 books or a rare search of up to 1,000 matches)."
    )

    @classmethod
    def from_counts(cls, counts: FacetCounts) -> BookFacets:
        def ranked(values: dict[Any, int]) -> list[tuple[Any, int]]:
            return sorted(values.items(), key=lambda item: (-item[1], str(item[0])))

        genres = counts.genre_rows
        return cls(
            genres=[
                GenreFacet(genre=Genre.from_row(genres[genre_id]), count=count)
                for genre_id, count in ranked(counts.genres)
            ],
            availability=[
                AvailabilityFacet(availability=value, count=count)
                for value, count in ranked(counts.availability)
            ],
            languages=[
                LanguageFacet(language=value, count=count)
                for value, count in ranked(counts.languages)
            ],
            price_ranges=[
                PriceRangeFacet(min=low, max=high, count=count)
                for (low, high), count in sorted(counts.prices.items())
            ],
            is_exact=counts.exact,
        )


async def book_facets(
    context: Context, criteria: BookCriteria, search: Search | None
) -> BookFacets:
    async with context.session() as session:
        counts = await books_service.book_facets(session, criteria, search, context.stock)
    return BookFacets.from_counts(counts)


@strawberry.type(
    name="BookConnection", description="A page of books, with cursors to the pages around it."
)
class BookConnection(Connection[Book]):
    corrected_query: str | None = strawberry.field(
        description="The search actually run when the one asked for found nothing and "
        "misspelt words were corrected from the catalog's vocabulary; null otherwise."
    )
    facets_loader: strawberry.Private[Callable[[], Awaitable[BookFacets]]]

    @strawberry.field(
        description="Counts by genre, availability, language and price band (computed "
        "only when selected)."
    )
    async def facets(self) -> BookFacets:
        return await self.facets_loader()

    @classmethod
    def of_page(
        cls,
        page: Page[Any],
        nodes: Sequence[Book],
        *,
        count: Callable[[], Awaitable[int]] | None,
        facets: Callable[[], Awaitable[BookFacets]],
        corrected_query: str | None = None,
    ) -> BookConnection:
        base = Connection.from_page(page, nodes, count)
        return cls(
            page_info=base.page_info,
            edges=base.edges,
            count_loader=base.count_loader,
            corrected_query=corrected_query,
            facets_loader=facets,
        )


@strawberry.type(
    description="Type-ahead for a search box: completions of the query from the catalog's "
    "vocabulary (from the first character; misspellings are corrected from the third), and "
    "the books, authors and genres it points to."
)
class SearchSuggestions:
    queries: list[str] = strawberry.field(
        description="Completions of the query (its last word completed), most used first."
    )
    suggestions: strawberry.Private[books_service.Suggestions]
    first: strawberry.Private[int]

    @strawberry.field(description="The most popular books matching the best completion.")
    async def books(self, info: Info[Context, None]) -> list[Book]:
        context = info.context
        async with context.session() as session:
            rows = await books_service.suggested_books(
                session, self.suggestions, context.stock, self.first
            )
        return [Book.from_row(row) for row in rows]

    @strawberry.field(description="Authors with a name word starting with each word typed.")
    async def authors(self, info: Info[Context, None]) -> list[Author]:
        async with info.context.session() as session:
            rows = await books_service.suggested_authors(session, self.suggestions, self.first)
        return [Author.from_row(row) for row in rows]

    @strawberry.field(description="Genres whose name contains the last word typed.")
    async def genres(self, info: Info[Context, None]) -> list[Genre]:
        async with info.context.session() as session:
            rows = await books_service.suggested_genres(session, self.suggestions, self.first)
        return [Genre.from_row(row) for row in rows]
