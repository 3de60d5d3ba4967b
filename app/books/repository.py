"""Every SQL statement of the catalog.

Reads select plain columns (rows, not ORM entities): the catalog is the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    Table,
    any_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from app.books.models import Author, Book, Genre, book_authors, book_genres
from app.books.schemas import AuthorRow, Availability, BookRow, GenreRow
from app.db.base import violated_constraint
from app.db.pagination import (
    Ordering,
    Page,
    PageRequest,
    SortKey,
    apply_keyset,
    apply_keyset_per_group,
    to_page,
    to_pages,
)
from app.db.rows import Shape


class BookOrderField(StrEnum):
    TITLE = "TITLE"
    PRICE = "PRICE"
    RELEASE_DATE = "RELEASE_DATE"
    CREATED_AT = "CREATED_AT"
    RELEVANCE = "RELEVANCE"


@dataclass(frozen=True)
class Stock:
    """What availability is computed against: today's date and the low-stock threshold."""

    today: date
    low_stock_threshold: int


@dataclass(frozen=True)
class BookCriteria:
    """Which books a listing shows (all optional)."""

    search: str | None = None
    author_id: int | None = None
    genre_ids: tuple[int, ...] = ()
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    availability: frozenset[Availability] = frozenset()
    released_after: date | None = None
    released_before: date | None = None
    include_archived: bool = False


def _id_array(ids: Sequence[int]) -> BindParameter[Any]:
    """`= ANY(:ids)` rather than `IN (...)`: one SQL text whatever the number of ids, so the
    compiled statement and the server's prepared statement are reused."""
    value: Any = list(ids)
    return bindparam("ids", value, type_=ARRAY(Integer))


def availability_of(stock: Stock) -> ColumnElement[str]:
    """The one definition of availability, used both to show it and to filter on it.
    Copies held for waiting prebooks are not for sale."""
    return case(
        (Book.release_date > stock.today, literal(Availability.PREORDER.value)),
        (
            or_(Book.stock_quantity == 0, Book.prebook_demand > 0),
            literal(Availability.OUT_OF_STOCK.value),
        ),
        (
            Book.stock_quantity <= stock.low_stock_threshold,
            literal(Availability.LOW_STOCK.value),
        ),
        else_=literal(Availability.IN_STOCK.value),
    )


BOOK = Shape(BookRow, Book, availability=None)
AUTHOR = Shape(AuthorRow, Author)
GENRE = Shape(GenreRow, Genre)


def book_columns(stock: Stock) -> list[Any]:
    """The select list of a BookRow (for other domains' joins too)."""
    return BOOK.columns(availability=availability_of(stock).label("availability"))


_SORT_COLUMNS: dict[BookOrderField, tuple[Any, str, type]] = {
    BookOrderField.TITLE: (Book.title, "sort_title", str),
    BookOrderField.PRICE: (Book.price, "sort_price", Decimal),
    BookOrderField.RELEASE_DATE: (Book.release_date, "sort_release_date", date),
    BookOrderField.CREATED_AT: (Book.created_at, "sort_created_at", datetime),
}
_BOOK_ID_KEY = SortKey(Book.id, "sort_id", int)
_WORDS = re.compile(r"\w+", re.UNICODE)
_PLAIN = re.compile(r"[\w\s.,:;'\u2019]+", re.UNICODE)


class Search:
    """Full-text search (websearch syntax, English stemming, and prefixes for typing
    ahead), falling back to trigram word similarity for typos where the server has pg_trgm
    (only when full-text finds nothing, so typo matches never crowd out exact ones, and only
    for plain words: it can't honour search operators)."""

    def __init__(self, term: str, *, trigram: bool, include_archived: bool = False) -> None:
        words = _WORDS.findall(term.lower())[:20]
        # One text configuration on both sides (the search vector is English throughout):
        # mixing configurations made "-word" unreliable, since the other one's lexemes
        # never contain the excluded stem.
        query: ColumnElement[Any] = func.websearch_to_tsquery("english", term)
        # Prefixes only for plain words: with quotes, "-word" or "or" the client asked for
        # exactly that logic.
        plain = _PLAIN.fullmatch(term) is not None and "or" not in words
        if words and plain:
            prefixes = " & ".join(f"{word}:*" for word in words)
            query = query.op("||")(func.to_tsquery("simple", prefixes))
        full_text = Book.search_vector.op("@@")(query)
        rank = func.ts_rank_cd(Book.search_vector, query)
        # Fuzzy matching knows nothing of quotes, "-word" or "or": only for plain words.
        if not trigram or not plain:
            self.condition: ColumnElement[bool] = full_text
            self.relevance: ColumnElement[float] = rank
            return
        # One branch per index (GIN on the search vector, trigram GIN on titles and on
        # names): a single OR over them would scan the whole table. The fuzzy branches run
        # only when the exact one found nothing.
        # "Exact matches exist" must mean listable ones: archived books count only when listed.
        listable = [full_text] if include_archived else [full_text, ~Book.is_archived]
        exact = select(Book.id.label("id")).where(*listable).cte("exact")
        nothing_exact = ~exists(select(1).select_from(exact))
        close_title = select(Book.id).where(nothing_exact, literal(term).op("<%")(Book.title))
        close_author = (
            select(book_authors.c.book_id)
            .join(Author, Author.id == book_authors.c.author_id)
            .where(nothing_exact, literal(term).op("<%")(Author.name))
        )
        self.condition = Book.id.in_(union_all(select(exact.c.id), close_title, close_author))
        # Exact matches rank above fuzzy ones; the similarity is computed for fuzzy ones only.
        self.relevance = case((full_text, rank + 1.0), else_=func.word_similarity(term, Book.title))


def book_ordering(field: BookOrderField, *, descending: bool, search: Search | None) -> Ordering:
    name = f"{field.value}:{'DESC' if descending else 'ASC'}"
    if field is BookOrderField.RELEVANCE:
        assert search is not None, "RELEVANCE needs a search term (checked by the service)"
        relevance = SortKey(search.relevance.cast(Float), "sort_relevance", float)
        return Ordering(name, (relevance, _BOOK_ID_KEY), descending)
    column, label, kind = _SORT_COLUMNS[field]
    return Ordering(name, (SortKey(column, label, kind), _BOOK_ID_KEY), descending)


class BookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- reading ----------------------------------------------------------------------

    def _conditions(
        self, criteria: BookCriteria, stock: Stock, search: Search | None
    ) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if not criteria.include_archived:
            conditions.append(~Book.is_archived)
        if search is not None:
            conditions.append(search.condition)
        if criteria.author_id is not None:
            conditions.append(
                exists().where(
                    book_authors.c.book_id == Book.id,
                    book_authors.c.author_id == criteria.author_id,
                )
            )
        if criteria.genre_ids:
            conditions.append(
                exists().where(
                    book_genres.c.book_id == Book.id,
                    book_genres.c.genre_id.in_(criteria.genre_ids),
                )
            )
        if criteria.min_price is not None:
            conditions.append(Book.price >= criteria.min_price)
        if criteria.max_price is not None:
            conditions.append(Book.price <= criteria.max_price)
        if criteria.released_after is not None:
            conditions.append(Book.release_date >= criteria.released_after)
        if criteria.released_before is not None:
            conditions.append(Book.release_date <= criteria.released_before)
        wanted = set(criteria.availability)
        if criteria.in_stock is not None:
            buyable = {Availability.IN_STOCK, Availability.LOW_STOCK}
            wanted = (wanted or set(Availability)) & (
                buyable if criteria.in_stock else set(Availability) - buyable
            )
            if not wanted:
                conditions.append(literal(False))
        if wanted and wanted != set(Availability):
            conditions.append(availability_of(stock).in_([a.value for a in wanted]))
        return conditions

    def _book_select(self, stock: Stock) -> Select[Any]:
        return select(*book_columns(stock))

    async def list_page(
        self,
        criteria: BookCriteria,
        stock: Stock,
        ordering: Ordering,
        page: PageRequest,
        search: Search | None,
    ) -> Page[BookRow]:
        statement = self._book_select(stock).add_columns(*ordering.columns())
        statement = statement.where(*self._conditions(criteria, stock, search))
        rows = (await self.session.execute(apply_keyset(statement, ordering, page))).all()
        return to_page(rows, ordering, page, BOOK.of)

    async def count(self, criteria: BookCriteria, stock: Stock, search: Search | None) -> int:
        statement = select(func.count()).select_from(Book)
        statement = statement.where(*self._conditions(criteria, stock, search))
        return int(await self.session.scalar(statement) or 0)

    async def pages_by_author(
        self, author_ids: Sequence[int], stock: Stock, ordering: Ordering, page: PageRequest
    ) -> dict[int, Page[BookRow]]:
        return await self._pages_by(book_authors, "author_id", author_ids, stock, ordering, page)

    async def pages_by_genre(
        self, genre_ids: Sequence[int], stock: Stock, ordering: Ordering, page: PageRequest
    ) -> dict[int, Page[BookRow]]:
        return await self._pages_by(book_genres, "genre_id", genre_ids, stock, ordering, page)

    async def count_by_author(self, author_ids: Sequence[int]) -> dict[int, int]:
        return await self._count_by(book_authors, "author_id", author_ids)

    async def count_by_genre(self, genre_ids: Sequence[int]) -> dict[int, int]:
        return await self._count_by(book_genres, "genre_id", genre_ids)

    async def _pages_by(
        self,
        link: Table,
        owner_column: str,
        owner_ids: Sequence[int],
        stock: Stock,
        ordering: Ordering,
        page: PageRequest,
    ) -> dict[int, Page[BookRow]]:
        """A page of unarchived books for each owner (author or genre) linked by `link`."""
        owner = link.c[owner_column]
        statement = (
            self._book_select(stock)
            .add_columns(*ordering.columns(), owner.label("group_key"))
            .join(link, link.c.book_id == Book.id)
            .where(owner.in_(owner_ids), ~Book.is_archived)
        )
        query = apply_keyset_per_group(statement, owner, ordering, page)
        rows = (await self.session.execute(query)).all()
        return to_pages(rows, owner_ids, ordering, page, BOOK.of)

    async def _count_by(
        self, link: Table, owner_column: str, owner_ids: Sequence[int]
    ) -> dict[int, int]:
        owner = link.c[owner_column]
        statement = (
            select(owner, func.count())
            .join(Book, Book.id == link.c.book_id)
            .where(owner.in_(owner_ids), ~Book.is_archived)
            .group_by(owner)
        )
        counts = {row[0]: row[1] for row in await self.session.execute(statement)}
        return {owner_id: counts.get(owner_id, 0) for owner_id in owner_ids}

    async def get_rows(
        self, book_ids: Sequence[int], stock: Stock, *, include_archived: bool
    ) -> dict[int, BookRow]:
        statement = self._book_select(stock).where(Book.id.in_(book_ids))
        if not include_archived:
            statement = statement.where(~Book.is_archived)
        return {row.id: row for row in BOOK.all(await self.session.execute(statement))}

    async def get_row_by_isbn(
        self, isbn13: str, stock: Stock, *, include_archived: bool
    ) -> BookRow | None:
        statement = self._book_select(stock).where(Book.isbn13 == isbn13)
        if not include_archived:
            statement = statement.where(~Book.is_archived)
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else BOOK.of(row)

    async def authors_of_books(self, book_ids: Sequence[int]) -> dict[int, list[AuthorRow]]:
        """Each book's authors in credit order."""
        statement = (
            select(*AUTHOR.columns(), book_authors.c.book_id.label("book_id"))
            .join(Author, Author.id == book_authors.c.author_id)
            .where(book_authors.c.book_id == any_(_id_array(book_ids)))
            .order_by(book_authors.c.book_id, book_authors.c.position)
        )
        result: dict[int, list[AuthorRow]] = {book_id: [] for book_id in book_ids}
        for row in await self.session.execute(statement):
            result[row.book_id].append(AUTHOR.of(row))
        return result

    async def genres_of_books(self, book_ids: Sequence[int]) -> dict[int, list[GenreRow]]:
        statement = (
            select(*GENRE.columns(), book_genres.c.book_id.label("book_id"))
            .join(Genre, Genre.id == book_genres.c.genre_id)
            .where(book_genres.c.book_id == any_(_id_array(book_ids)))
            .order_by(book_genres.c.book_id, Genre.name)
        )
        result: dict[int, list[GenreRow]] = {book_id: [] for book_id in book_ids}
        for row in await self.session.execute(statement):
            result[row.book_id].append(GENRE.of(row))
        return result

    async def isbn_taken(self, isbn13: str, *, except_id: int | None = None) -> bool:
        statement = select(Book.id).where(Book.isbn13 == isbn13)
        if except_id is not None:
            statement = statement.where(Book.id != except_id)
        return await self.session.scalar(statement.limit(1)) is not None

    # -- writing ----------------------------------------------------------------------

    async def lock(self, book_id: int) -> Book | None:
        result = await self.session.scalars(
            select(Book).where(Book.id == book_id).with_for_update()
        )
        return result.one_or_none()

    async def insert(self, values: dict[str, Any]) -> int | None:
        """The new book's id, or None when the ISBN is taken (also by a concurrent insert)."""
        statement = (
            pg_insert(Book)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Book.isbn13])
            .returning(Book.id)
        )
        return await self.session.scalar(statement)

    async def update(self, book_id: int, values: dict[str, Any]) -> bool:
        """False (nothing changed) when the new ISBN is another book's, also one given to
        it by a concurrent update after the service's check (the constraint decides)."""
        if not values:
            return True
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    update(Book).where(Book.id == book_id).values(**values, updated_at=func.now())
                )
        except IntegrityError as error:
            if violated_constraint(error) != "uq_books_isbn13":
                raise
            return False
        return True

    async def replace_authors(self, book_id: int, author_ids: Sequence[int]) -> bool:
        """Credit exactly `author_ids`, in order; False (nothing changed) when one of them
        no longer exists (deleted concurrently)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    delete(book_authors).where(book_authors.c.book_id == book_id)
                )
                if author_ids:
                    await self.session.execute(
                        insert(book_authors),
                        [
                            {"book_id": book_id, "author_id": author_id, "position": position}
                            for position, author_id in enumerate(author_ids)
                        ],
                    )
        except IntegrityError:
            return False
        return True

    async def replace_genres(self, book_id: int, genre_ids: Sequence[int]) -> None:
        await self.session.execute(delete(book_genres).where(book_genres.c.book_id == book_id))
        if genre_ids:
            await self.session.execute(
                insert(book_genres),
                [{"book_id": book_id, "genre_id": genre_id} for genre_id in genre_ids],
            )


class AuthorRepository:
    ORDERING = Ordering(
        "NAME:ASC",
        (SortKey(Author.name, "sort_name", str), SortKey(Author.id, "sort_id", int)),
        descending=False,
    )

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _search(self, search: str | None) -> list[ColumnElement[bool]]:
        if not search:
            return []
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [Author.name.ilike(pattern, escape="\\")]

    async def list_page(self, search: str | None, page: PageRequest) -> Page[AuthorRow]:
        statement = select(*AUTHOR.columns(), *self.ORDERING.columns()).where(*self._search(search))
        rows = (await self.session.execute(apply_keyset(statement, self.ORDERING, page))).all()
        return to_page(rows, self.ORDERING, page, AUTHOR.of)

    async def count(self, search: str | None) -> int:
        statement = select(func.count()).select_from(Author).where(*self._search(search))
        return int(await self.session.scalar(statement) or 0)

    async def get_rows(self, author_ids: Sequence[int]) -> dict[int, AuthorRow]:
        statement = select(*AUTHOR.columns()).where(Author.id.in_(author_ids))
        return {row.id: row for row in AUTHOR.all(await self.session.execute(statement))}

    async def existing_ids(self, author_ids: Sequence[int]) -> set[int]:
        result = await self.session.scalars(select(Author.id).where(Author.id.in_(author_ids)))
        return set(result)

    async def get(self, author_id: int) -> Author | None:
        return await self.session.get(Author, author_id)

    async def add(self, *, name: str, bio: str | None) -> Author:
        author = Author(name=name, bio=bio)
        self.session.add(author)
        await self.session.flush()
        await self.session.refresh(author)
        return author

    async def delete_unless_credited(self, author_id: int) -> bool:
        """Delete the author; False (nothing deleted) when a book credits them, including
        a book created concurrently (the foreign key refuses, a savepoint absorbs it)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(delete(Author).where(Author.id == author_id))
        except IntegrityError:
            return False
        return True

    async def flush(self, author: Author) -> None:
        await self.session.flush()
        await self.session.refresh(author)


class GenreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_all(self) -> list[GenreRow]:
        return GENRE.all(await self.session.execute(select(*GENRE.columns()).order_by(Genre.name)))

    async def get_by_slug(self, slug: str) -> GenreRow | None:
        statement = select(*GENRE.columns()).where(Genre.slug == slug)
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else GENRE.of(row)

    async def get_rows(self, genre_ids: Sequence[int]) -> dict[int, GenreRow]:
        statement = select(*GENRE.columns()).where(Genre.id.in_(genre_ids))
        return {row.id: row for row in GENRE.all(await self.session.execute(statement))}

    async def existing_ids(self, genre_ids: Sequence[int]) -> set[int]:
        result = await self.session.scalars(select(Genre.id).where(Genre.id.in_(genre_ids)))
        return set(result)

    async def get(self, genre_id: int) -> Genre | None:
        return await self.session.get(Genre, genre_id)

    async def taken(
        self, *, name: str | None, slug: str | None, except_id: int | None
    ) -> str | None:
        """Which of `name`/`slug` another genre already has ("name", "slug" or None)."""
        # The name first: a slug derived from a taken name is taken because of the name.
        for attribute, value, label in ((Genre.name, name, "name"), (Genre.slug, slug, "slug")):
            if value is None:
                continue
            statement = select(Genre.id).where(func.lower(attribute) == value.lower())
            if except_id is not None:
                statement = statement.where(Genre.id != except_id)
            if await self.session.scalar(statement.limit(1)) is not None:
                return label
        return None

    async def save(self, genre: Genre, changes: dict[str, Any]) -> str | None:
        """Insert or update `genre` with `changes`; None, or which of "name"/"slug" a
        concurrent write took after the service's check (nothing is changed then)."""
        try:
            async with self.session.begin_nested():
                self.session.add(genre)
                for name, value in changes.items():
                    setattr(genre, name, value)
                await self.session.flush()
        except IntegrityError as error:
            taken = _GENRE_UNIQUE.get(violated_constraint(error) or "")
            if taken is None:
                raise
            return taken
        return None

    async def delete(self, genre: Genre) -> None:
        await self.session.delete(genre)
        await self.session.flush()


_GENRE_UNIQUE = {"uq_genres_name": "name", "uq_genres_slug": "slug"}


class SeedRepository:
    """The demo catalog's bulk load: staged with `COPY`, inserted in one statement per
    table, each step skipping what already exists. Runs on the session's connection, in
    the caller's transaction, without statement timeouts (a million books take minutes)."""

    LOAD_TABLES = ("books", "book_authors", "book_genres", "authors")
    BOOK_COLUMNS = (
        "title",
        "subtitle",
        "isbn13",
        "description",
        "price",
        "stock_quantity",
        "release_date",
        "page_count",
        "language",
        "publisher",
        "cover_url",
        "created_at",
        "updated_at",
        "popularity",
    )
    _STAGING = (
        """CREATE TEMP TABLE IF NOT EXISTS seed_books (
             seq int, title text, subtitle text, isbn13 text, description text,
             price numeric, stock_quantity int, release_date date, page_count int,
             language text, publisher text, cover_url text, created_at timestamptz,
             updated_at timestamptz, popularity int) ON COMMIT DROP""",
        "CREATE TEMP TABLE IF NOT EXISTS seed_credits (seq int, author_id bigint, position "
        "smallint) ON COMMIT DROP",
        "CREATE TEMP TABLE IF NOT EXISTS seed_shelves (seq int, genre_id bigint) ON COMMIT DROP",
        "TRUNCATE seed_books, seed_credits, seed_shelves",
    )
    # No client-side deadline either: index builds at a million books take a while.
    _NO_DEADLINE = 3600.0

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _driver(self) -> Any:
        connection = await self.session.connection()
        return (await connection.get_raw_connection()).driver_connection

    async def _run(self, sql: str, *args: Any) -> None:
        await (await self._driver()).execute(sql, *args, timeout=self._NO_DEADLINE)

    async def begin_load(self) -> None:
        """Turn the catalog's triggers off for this transaction (search documents, the
        vocabulary and change notifications are built once, by `load_staged`) and create
        the staging tables."""
        # Through the session first: that begins the transaction on the driver's
        # connection, which everything below must run in (else ALTER TABLE would commit
        # alone and the ON COMMIT DROP tables vanish at once).
        await self.session.execute(text("SET LOCAL statement_timeout = 0"))
        for table in self.LOAD_TABLES:
            await self._run(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in self._STAGING:
            await self._run(statement)

    async def ensure_genres(self, genres: list[dict[str, Any]]) -> int:
        result = await self.session.execute(
            pg_insert(Genre).values(genres).on_conflict_do_nothing().returning(Genre.id)
        )
        return len(result.all())

    async def genre_ids(self, slugs: list[str]) -> list[int]:
        result = await self.session.scalars(
            select(Genre.id).where(Genre.slug.in_(slugs)).order_by(Genre.id)
        )
        return list(result)

    async def ensure_authors(self, bios: dict[str, str]) -> tuple[int, list[int]]:
        """(authors added, ids in the order of `bios`). Authors have no natural key, so
        existing ones are matched by name; new ones get ids in the order of `bios`."""
        driver = await self._driver()
        names = list(bios)
        ids: dict[str, int] = {}

        async def found() -> None:
            rows = await driver.fetch(
                "SELECT name, id FROM authors WHERE name = ANY($1::text[])",
                names,
                timeout=self._NO_DEADLINE,
            )
            ids.update((row["name"], row["id"]) for row in rows)

        await found()
        missing = [name for name in names if name not in ids]
        if missing:
            await driver.copy_records_to_table(
                "authors",
                records=[(name, bios[name]) for name in missing],
                columns=("name", "bio"),
                timeout=self._NO_DEADLINE,
            )
            await found()
        return len(missing), [ids[name] for name in names]

    async def book_count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Book)) or 0)

    async def existing_isbns(self, isbns: list[str]) -> set[str]:
        rows = await (await self._driver()).fetch(
            "SELECT isbn13 FROM books WHERE isbn13 = ANY($1::text[])",
            isbns,
            timeout=self._NO_DEADLINE,
        )
        return {row["isbn13"] for row in rows}

    async def stage(
        self,
        books: list[tuple[Any, ...]],
        credits: list[tuple[int, int, int]],
        shelves: list[tuple[int, int]],
    ) -> None:
        """Stage books (`seq` first, then `BOOK_COLUMNS`) with their credits and shelves,
        which refer to them by `seq`."""
        driver = await self._driver()
        for table, records in (
            ("seed_books", books),
            ("seed_credits", credits),
            ("seed_shelves", shelves),
        ):
            if records:
                await driver.copy_records_to_table(
                    table, records=records, timeout=self._NO_DEADLINE
                )

    async def _secondary_indexes(self) -> list[tuple[str, str]]:
        """(name, definition) of the load tables' indexes that back no constraint."""
        rows = await (await self._driver()).fetch(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                              WHERE c.conindid = format('%I.%I', i.schemaname,
                                                        i.indexname)::regclass)
            ORDER BY i.indexname
            """,
            list(self.LOAD_TABLES),
            timeout=self._NO_DEADLINE,
        )
        return [(row["indexname"], row["indexdef"]) for row in rows]

    async def load_staged(self, *, rebuild_indexes: bool, progress: Any) -> None:
        """Insert the staged books with their search documents, credits and shelves; then
        the vocabulary, the triggers back on, fresh planner statistics, and one change
        notification for the response caches."""
        indexes = await self._secondary_indexes() if rebuild_indexes else []
        for name, _ in indexes:
            await self._run(f'DROP INDEX "{name}"')
        steps = [
            f"""
            INSERT INTO books ({", ".join(self.BOOK_COLUMNS)}, search_vector)
            SELECT {", ".join(f"s.{column}" for column in self.BOOK_COLUMNS)},
                   book_search_document(s.title, s.subtitle, s.description, n.names)
            FROM seed_books s
            LEFT JOIN (SELECT c.seq, string_agg(a.name, ' ' ORDER BY c.position) AS names
                       FROM seed_credits c JOIN authors a ON a.id = c.author_id
                       GROUP BY c.seq) n ON n.seq = s.seq
            ORDER BY s.seq
            """,  # noqa: S608 - column names are constants
            """
            INSERT INTO book_authors (book_id, author_id, position)
            SELECT b.id, c.author_id, c.position
            FROM seed_credits c JOIN seed_books s ON s.seq = c.seq
            JOIN books b ON b.isbn13 = s.isbn13
            """,
            """
            INSERT INTO book_genres (book_id, genre_id)
            SELECT b.id, g.genre_id
            FROM seed_shelves g JOIN seed_books s ON s.seq = g.seq
            JOIN books b ON b.isbn13 = s.isbn13
            """,
        ]
        if indexes:
            await self._run("SET LOCAL maintenance_work_mem = '256MB'")
        total = len(steps) + len(indexes) + 2
        for done, statement in enumerate(steps, start=1):
            await self._run(statement)
            progress("search data and indexes", done, total)
        for done, (_, definition) in enumerate(indexes, start=len(steps) + 1):
            await self._run(definition)
            progress("search data and indexes", done, total)
        await self._run("DROP TABLE seed_books, seed_credits, seed_shelves")
        for table in self.LOAD_TABLES:
            await self._run(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        await self._run("SELECT rebuild_search_terms()")
        progress("search data and indexes", total - 1, total)
        await self._run(f"ANALYZE {', '.join((*self.LOAD_TABLES, 'genres', 'search_terms'))}")
        await self._run("SELECT pg_notify('catalog_changed', '')")
        progress("search data and indexes", total, total)

    async def catalog_is_empty(self) -> bool:
        return await self.session.scalar(select(Book.id).limit(1)) is None
