"""Catalog rules: who sees what, listing and search plans, admin changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import repository as repo
from app.books.facets import FacetCounts, FacetRepository
from app.books.models import Genre
from app.books.repository import (
    STOP_WORDS,
    AuthorRepository,
    BookCriteria,
    BookOrderField,
    BookRepository,
    GenreRepository,
    ListedBook,
    Related,
    Search,
    Stock,
    TermRepository,
    search_words,
)
from app.books.schemas import (
    AuthorCreateInput,
    AuthorRow,
    AuthorUpdateInput,
    BookCreateInput,
    BookFilterInput,
    BookRow,
    BookUpdateInput,
    GenreCreateInput,
    GenreRow,
    GenreUpdateInput,
    slugify,
)
from app.core.config import Settings
from app.core.errors import (
    AppError,
    ConflictError,
    ErrorCode,
    NotFoundError,
    PermissionDenied,
    ValidationFailed,
)
from app.core.paging import PageArgs
from app.db.pagination import Ordering, Page, PageRequest

DEFAULT_ORDER = (BookOrderField.CREATED_AT, True)
NESTED_ORDER = (BookOrderField.RELEASE_DATE, True)


def book_not_found(field: str | None = "id") -> NotFoundError:
    return NotFoundError("Book not found", code=ErrorCode.BOOK_NOT_FOUND, field=field)


def author_not_found(field: str | None = "id") -> NotFoundError:
    return NotFoundError("Author not found", code=ErrorCode.AUTHOR_NOT_FOUND, field=field)


def genre_not_found(field: str | None = "id") -> NotFoundError:
    return NotFoundError("Genre not found", code=ErrorCode.GENRE_NOT_FOUND, field=field)


def stock_context(settings: Settings) -> Stock:
    """Availability is judged against today's date in UTC."""
    return Stock(today=datetime.now(UTC).date(), low_stock_threshold=settings.low_stock_threshold)


@dataclass(frozen=True)
class Listing:
    """A planned `books` query: what to match, in which order, which page."""

    criteria: BookCriteria
    search: Search | None
    ordering: Ordering
    page: PageRequest
    order: tuple[BookOrderField, bool]
    args: PageArgs


def _listing(
    criteria: BookCriteria,
    search: Search | None,
    order: tuple[BookOrderField, bool] | None,
    args: PageArgs,
) -> Listing:
    if order is None:
        # Searching without an explicit order ranks by relevance: what a search box expects.
        order = (BookOrderField.RELEVANCE, True) if search else DEFAULT_ORDER
    field, descending = order
    if field is BookOrderField.RELEVANCE and search is None:
        raise ValidationFailed("RELEVANCE ordering needs `filter.search`", field="orderBy.field")
    ordering = repo.book_ordering(field, descending=descending, search=search)
    return Listing(criteria, search, ordering, args.request(ordering), order, args)


def plan_listing(
    *,
    filters: BookFilterInput | None,
    order: tuple[BookOrderField, bool] | None,
    args: PageArgs,
    is_admin: bool,
) -> Listing:
    filters = filters or BookFilterInput()
    if filters.include_archived and not is_admin:
        raise PermissionDenied(
            "Only admins may list archived books", field="filter.includeArchived"
        )
    term = (filters.search or "").strip() or None
    search = Search(term, include_archived=filters.include_archived) if term else None
    criteria = BookCriteria(
        search=term,
        author_id=filters.author_id,
        genre_ids=tuple(filters.genre_ids or ()),
        min_price=filters.min_price,
        max_price=filters.max_price,
        in_stock=filters.in_stock,
        availability=frozenset(filters.availability or ()),
        released_after=filters.released_after,
        released_before=filters.released_before,
        languages=tuple(filters.languages or ()),
        min_rating=filters.min_rating,
        include_archived=filters.include_archived,
    )
    return _listing(criteria, search, order, args)


async def list_books(
    session: AsyncSession, listing: Listing, stock: Stock, related: Related = Related()
) -> Page[ListedBook]:
    """The listing's page, with the `related` rows of each book (one statement)."""
    return await BookRepository(session).list_page(
        listing.criteria, stock, listing.ordering, listing.page, listing.search, related=related
    )


async def count_books(session: AsyncSession, listing: Listing, stock: Stock) -> int:
    """The number of books listed: exact up to 5,000, estimated above."""
    count, _ = await BookRepository(session).count(listing.criteria, stock, listing.search)
    return count


async def book_facets(
    session: AsyncSession, criteria: BookCriteria, search: Search | None, stock: Stock
) -> FacetCounts:
    return await FacetRepository(session).counts(criteria, stock, search)


# -- typo tolerance ---------------------------------------------------------------------

# Words shorter than this are never corrected (type-ahead is typo-tolerant from the third
# character too).
TYPO_FROM = 3


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with transpositions (optimal string alignment), or `limit + 1`
    as soon as it is known to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_typos(word: str) -> int:
    """One typo in words of up to five letters, two in longer ones."""
    return 1 if len(word) <= 5 else 2


def closest(word: str, options: Sequence[tuple[str, int]]) -> str | None:
    """The option (word, books) nearest to `word` within its allowed typos, the most used
    among equally near ones."""
    limit = allowed_typos(word)
    best: tuple[int, int, str] | None = None
    for term, books in options:
        distance = edit_distance(word, term, limit)
        if distance <= limit and (best is None or (distance, -books, term) < best):
            best = (distance, -books, term)
    return None if best is None else best[2]


async def corrected_listing(session: AsyncSession, listing: Listing) -> Listing | None:
    """The listing with its search's misspelt words replaced by the nearest words of the
    catalog's vocabulary, or None when there is nothing to correct. Asked only when the
    search found nothing, so a rare real word is never "corrected" into a common one."""
    search = listing.search
    if search is None or not search.plain or search.only_stop_words:
        return None
    fixable = [
        (position, word)
        for position, word in enumerate(search.words)
        if len(word) >= TYPO_FROM and word not in STOP_WORDS and not word.isdigit()
    ]
    if not fixable:
        return None
    found = await TermRepository(session).candidates([word for _, word in fixable])
    options: dict[int, list[repo.TermCandidate]] = {}
    for candidate in found:
        options.setdefault(candidate.position, []).append(candidate)
    words = list(search.words)
    for index, (position, word) in enumerate(fixable):
        near = options.get(index, [])
        stem = near[0].stem if near else None
        known = any(
            option.term.startswith(word) or option.lexeme == stem or option.lexeme.startswith(word)
            for option in near
        )
        if known:
            continue
        replacement = closest(word, [(option.term, option.books) for option in near])
        if replacement is not None:
            words[position] = replacement
    if words == search.words:
        return None
    term = " ".join(words)
    corrected = Search(term, include_archived=search.include_archived)
    criteria = replace(listing.criteria, search=term)
    return _listing(criteria, corrected, listing.order, listing.args)


# -- type-ahead ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestions:
    """What type-ahead shows for a partial query: `queries` to complete it with, and the
    `words` (the last one completed or corrected) that books, authors and genres match."""

    queries: list[str]
    words: tuple[str, ...]
    complete: bool  # the last word is a whole word (a completion), not a prefix


def _fuzzy_completions(prefix: str, options: Sequence[tuple[str, int]], limit: int) -> list[str]:
    """Words whose beginning is within the allowed typos of `prefix`, nearest first."""
    allowed = allowed_typos(prefix)
    ranked: list[tuple[int, int, str]] = []
    for term, books in options:
        distance = min(
            edit_distance(prefix, term[:length], allowed)
            for length in range(max(1, len(prefix) - 1), len(prefix) + 2)
        )
        if distance <= allowed:
            ranked.append((distance, -books, term))
    return [term for _, _, term in sorted(ranked)[:limit]]


async def suggest(session: AsyncSession, query: str, first: int) -> Suggestions:
    """Completions of the query's last word from the vocabulary, from the first character;
    misspelt prefixes are corrected from the third."""
    words = search_words(query)
    if not words:
        return Suggestions(queries=[], words=(), complete=False)
    context, last = words[:-1], words[-1]
    terms = TermRepository(session)
    completions = await terms.completions(last, first)
    if not completions and len(last) >= TYPO_FROM:
        completions = _fuzzy_completions(last, await terms.words_like(last), first)
    queries = [" ".join([*context, completion]) for completion in completions]
    if completions:
        return Suggestions(queries=queries, words=(*context, completions[0]), complete=True)
    return Suggestions(queries=queries, words=tuple(words), complete=False)


async def suggested_books(
    session: AsyncSession, suggestions: Suggestions, stock: Stock, first: int
) -> list[BookRow]:
    """The most popular books matching the suggestion's words (the best completion of the
    last one: a one-letter prefix would match most of the catalog)."""
    term = " ".join(suggestions.words)
    if not term:
        return []
    return await BookRepository(session).popular_matches(Search(term), stock, first)


async def suggested_authors(
    session: AsyncSession, suggestions: Suggestions, first: int
) -> list[AuthorRow]:
    words = [word for word in suggestions.words if word not in STOP_WORDS] or list(
        suggestions.words
    )
    if not words:
        return []
    return await AuthorRepository(session).by_name_prefixes(words, first)


async def suggested_genres(
    session: AsyncSession, suggestions: Suggestions, first: int
) -> list[GenreRow]:
    if not suggestions.words:
        return []
    return await GenreRepository(session).by_name_words(suggestions.words[-1:], first)


def nested_ordering(order: tuple[BookOrderField, bool] | None) -> Ordering:
    """Ordering of a book list inside an author or genre (no search there)."""
    field, descending = order or NESTED_ORDER
    if field is BookOrderField.RELEVANCE:
        raise ValidationFailed("RELEVANCE ordering needs a search", field="orderBy.field")
    return repo.book_ordering(field, descending=descending, search=None)


async def books_by_author(
    session: AsyncSession,
    author_ids: Sequence[int],
    ordering: Ordering,
    page: PageRequest,
    stock: Stock,
) -> dict[int, Page[BookRow]]:
    return await BookRepository(session).pages_by_author(author_ids, stock, ordering, page)


async def books_by_genre(
    session: AsyncSession,
    genre_ids: Sequence[int],
    ordering: Ordering,
    page: PageRequest,
    stock: Stock,
) -> dict[int, Page[BookRow]]:
    return await BookRepository(session).pages_by_genre(genre_ids, stock, ordering, page)


async def count_books_by_author(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    return await BookRepository(session).count_by_author(ids)


async def count_books_by_genre(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    return await BookRepository(session).count_by_genre(ids)


async def get_books(
    session: AsyncSession, ids: Sequence[int], stock: Stock, *, include_archived: bool
) -> dict[int, BookRow]:
    """Books by id (archived ones only for admins: `include_archived`)."""
    if not ids:
        return {}
    return await BookRepository(session).get_rows(ids, stock, include_archived=include_archived)


async def get_book(
    session: AsyncSession,
    book_id: int,
    stock: Stock,
    *,
    include_archived: bool,
    field: str = "id",
) -> BookRow:
    """The book, or BOOK_NOT_FOUND on `field` (the argument that named it)."""
    rows = await get_books(session, [book_id], stock, include_archived=include_archived)
    if book_id not in rows:
        raise book_not_found(field=field)
    return rows[book_id]


async def get_book_with(
    session: AsyncSession, book_id: int, stock: Stock, *, include_archived: bool, related: Related
) -> ListedBook | None:
    """The book with its `related` rows (one statement), or None."""
    return await BookRepository(session).get_with(
        book_id, stock, include_archived=include_archived, related=related
    )


async def get_book_by_isbn(
    session: AsyncSession, isbn13: str, stock: Stock, *, include_archived: bool
) -> BookRow:
    row = await BookRepository(session).get_row_by_isbn(
        isbn13, stock, include_archived=include_archived
    )
    if row is None:
        raise book_not_found(field="isbn")
    return row


async def authors_of_books(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[AuthorRow]]:
    return await BookRepository(session).authors_of_books(ids) if ids else {}


async def genres_of_books(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[GenreRow]]:
    return await BookRepository(session).genres_of_books(ids) if ids else {}


class Stocked(Protocol):
    @property
    def stock_quantity(self) -> int: ...
    @property
    def prebook_demand(self) -> int: ...


def sellable(book: Stocked) -> int:
    """Copies a shopper can buy now: none while prebooks wait (they are served first)."""
    return 0 if book.prebook_demand > 0 else int(book.stock_quantity)


# -- authors and genres -------------------------------------------------------------------


async def list_authors(session: AsyncSession, search: str, args: PageArgs) -> Page[AuthorRow]:
    repository = AuthorRepository(session)
    return await repository.list_page(search, args.request(AuthorRepository.ORDERING))


async def count_authors(session: AsyncSession, search: str) -> int:
    return await AuthorRepository(session).count(search)


async def get_authors(session: AsyncSession, ids: Sequence[int]) -> dict[int, AuthorRow]:
    return await AuthorRepository(session).get_rows(ids) if ids else {}


async def get_author(session: AsyncSession, author_id: int) -> AuthorRow:
    rows = await get_authors(session, [author_id])
    if author_id not in rows:
        raise author_not_found()
    return rows[author_id]


async def list_genres(session: AsyncSession) -> Sequence[GenreRow]:
    return await GenreRepository(session).list_all()


async def get_genres(session: AsyncSession, ids: Sequence[int]) -> dict[int, GenreRow]:
    return await GenreRepository(session).get_rows(ids) if ids else {}


async def get_genre_by_slug(session: AsyncSession, slug: str) -> GenreRow:
    row = await GenreRepository(session).get_by_slug(slug.lower())
    if row is None:
        raise genre_not_found(field="slug")
    return row


# -- admin changes ------------------------------------------------------------------------


async def _check_references(
    session: AsyncSession, author_ids: Sequence[int] | None, genre_ids: Sequence[int] | None
) -> None:
    if author_ids:
        known = await AuthorRepository(session).existing_ids(author_ids)
        for position, author_id in enumerate(author_ids):
            if author_id not in known:
                raise author_not_found(field=f"input.authorIds.{position}")
    if genre_ids:
        known = await GenreRepository(session).existing_ids(genre_ids)
        for position, genre_id in enumerate(genre_ids):
            if genre_id not in known:
                raise genre_not_found(field=f"input.genreIds.{position}")


def _isbn_taken() -> ConflictError:
    return ConflictError(
        "Another book has this ISBN", code=ErrorCode.BOOK_ISBN_TAKEN, field="input.isbn13"
    )


def _author_vanished() -> NotFoundError:
    return author_not_found(field="input.authorIds")


async def create_book(session: AsyncSession, data: BookCreateInput) -> int:
    await _check_references(session, data.author_ids, data.genre_ids)
    books = BookRepository(session)
    values = data.model_dump(exclude={"author_ids", "genre_ids"})
    values["cover_url"] = str(data.cover_url) if data.cover_url else None
    book_id = await books.insert(values)
    if book_id is None:
        raise _isbn_taken()
    if not await books.replace_authors(book_id, data.author_ids):
        raise _author_vanished()
    await books.replace_genres(book_id, data.genre_ids)
    return book_id


async def update_book(session: AsyncSession, book_id: int, data: BookUpdateInput) -> None:
    books = BookRepository(session)
    if await books.lock(book_id) is None:
        raise book_not_found()
    changes = data.given()
    author_ids = changes.pop("author_ids", None)
    genre_ids = changes.pop("genre_ids", None)
    await _check_references(session, author_ids, genre_ids)
    if "isbn13" in changes and await books.isbn_taken(changes["isbn13"], except_id=book_id):
        raise _isbn_taken()
    if changes.get("cover_url") is not None:
        changes["cover_url"] = str(changes["cover_url"])
    if not await books.update(book_id, changes):
        raise _isbn_taken()
    if author_ids is not None and not await books.replace_authors(book_id, author_ids):
        raise _author_vanished()
    if genre_ids is not None:
        await books.replace_genres(book_id, genre_ids)


async def adjust_rating(
    session: AsyncSession, *, book_id: int, before: int | None, after: int | None
) -> None:
    """A review's rating leaves (`before`) and/or enters (`after`) the book's rating
    summary, in the caller's transaction (None: it counted, or counts, nowhere)."""
    if before == after:
        return
    deltas = [0] * 5
    if before is not None:
        deltas[before - 1] -= 1
    if after is not None:
        deltas[after - 1] += 1
    await BookRepository(session).adjust_ratings([(book_id, deltas)])


async def released_books(session: AsyncSession, today: date) -> list[tuple[int, date]]:
    """(id, release date) of every live book released by `today`, by id (the demo seed)."""
    return await BookRepository(session).released(today)


async def add_ratings(session: AsyncSession, histograms: Mapping[int, Sequence[int]]) -> None:
    """Add whole histograms to books' rating summaries (the demo seed), one statement."""
    await BookRepository(session).adjust_ratings(list(histograms.items()))


async def set_archived(session: AsyncSession, book_id: int, *, archived: bool) -> None:
    books = BookRepository(session)
    if await books.lock(book_id) is None:
        raise book_not_found()
    await books.update(book_id, {"is_archived": archived})


async def create_author(session: AsyncSession, data: AuthorCreateInput) -> int:
    author = await AuthorRepository(session).add(name=data.name, bio=data.bio)
    return author.id


async def update_author(session: AsyncSession, author_id: int, data: AuthorUpdateInput) -> None:
    authors = AuthorRepository(session)
    author = await authors.get(author_id)
    if author is None:
        raise author_not_found()
    for name, value in data.given().items():
        setattr(author, name, value)
    await authors.flush(author)


async def delete_author(session: AsyncSession, author_id: int) -> None:
    authors = AuthorRepository(session)
    if await authors.get(author_id) is None:
        raise author_not_found()
    if not await authors.delete_unless_credited(author_id):
        raise AppError(
            "The author is credited on books; change those books first",
            code=ErrorCode.AUTHOR_HAS_BOOKS,
            field="id",
        )


def _genre_taken(which: str) -> ConflictError:
    return ConflictError(
        f"Another genre has this {which}",
        code=ErrorCode.GENRE_SLUG_TAKEN if which == "slug" else ErrorCode.GENRE_NAME_TAKEN,
        field=f"input.{which}",
    )


async def create_genre(session: AsyncSession, data: GenreCreateInput) -> int:
    genres = GenreRepository(session)
    slug = data.slug or slugify(data.name)
    if taken := await genres.taken(name=data.name, slug=slug, except_id=None):
        raise _genre_taken(taken)
    genre = Genre()
    if taken := await genres.save(
        genre, {"name": data.name, "slug": slug, "description": data.description}
    ):
        raise _genre_taken(taken)
    return genre.id


async def update_genre(session: AsyncSession, genre_id: int, data: GenreUpdateInput) -> None:
    genres = GenreRepository(session)
    genre = await genres.get(genre_id)
    if genre is None:
        raise genre_not_found()
    changes = data.given()
    if taken := await genres.taken(
        name=changes.get("name"), slug=changes.get("slug"), except_id=genre_id
    ):
        raise _genre_taken(taken)
    if taken := await genres.save(genre, changes):
        raise _genre_taken(taken)


async def delete_genre(session: AsyncSession, genre_id: int) -> None:
    """Books keep existing; they just lose this genre."""
    genres = GenreRepository(session)
    genre = await genres.get(genre_id)
    if genre is None:
        raise genre_not_found()
    await genres.delete(genre)
