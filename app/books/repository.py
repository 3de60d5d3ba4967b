"""Every SQL statement of the catalog.

Reads select plain columns (rows, not ORM entities): the catalog is the hot path.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Any
from typing import cast as cast_as

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    all_,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from app.books.models import Author, Book, Genre, book_authors, book_genres
from app.books.schemas import AuthorRow, Availability, BookRow, GenreRow
from app.db import statements
from app.db.base import violated_constraint
from app.db.pagination import (
    Ordering,
    Page,
    PageRequest,
    SortKey,
    apply_keyset,
    apply_keyset_per_group,
    keyset_template,
    keyset_values,
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
    RATING = "RATING"


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
    languages: tuple[str, ...] = ()
    min_rating: Decimal | None = None
    include_archived: bool = False
    # The genre a nested list belongs to (`Genre.books`): a scope, not a filter, so the
    # genre facet keeps it.
    shelf_genre_id: int | None = None


def _id_array(ids: Sequence[int]) -> BindParameter[Any]:
    """`= ANY(:ids)` rather than `IN (...)`: one SQL text whatever the number of ids, so the
    compiled statement and the server's prepared statement are reused."""
    value: Any = list(ids)
    return bindparam("ids", value, type_=ARRAY(Integer))


def availability_of(stock: Stock, book: Any = Book) -> ColumnElement[str]:
    """The one definition of availability, used both to show it and to filter on it.
    Copies held for waiting prebooks are not for sale."""
    return case(
        (book.release_date > stock.today, literal(Availability.PREORDER.value)),
        (
            or_(book.stock_quantity == 0, book.prebook_demand > 0),
            literal(Availability.OUT_OF_STOCK.value),
        ),
        (
            book.stock_quantity <= stock.low_stock_threshold,
            literal(Availability.LOW_STOCK.value),
        ),
        else_=literal(Availability.IN_STOCK.value),
    )


# A filter's value in its condition: bound (a statement built for the request), or only
# named (a statement compiled once per shape, given each request's values by name).
Bind = Callable[[str, Any, Any], BindParameter[Any]]


def bound_value(name: str, value: Any, type_: Any) -> BindParameter[Any]:
    return bindparam(name, value, type_=type_)


def named_value(name: str, value: Any, type_: Any) -> BindParameter[Any]:
    return bindparam(name, type_=type_)


_EVERY_AVAILABILITY = frozenset(Availability)
_BUYABLE = frozenset({Availability.IN_STOCK, Availability.LOW_STOCK})


def wanted_availability(criteria: BookCriteria) -> frozenset[Availability] | None:
    """The availabilities a listing allows (its `availability` and `inStock` together), None
    when it allows any (empty when none)."""
    wanted = frozenset(criteria.availability)
    if criteria.in_stock is not None:
        wanted = (wanted or _EVERY_AVAILABILITY) & (
            _BUYABLE if criteria.in_stock else _EVERY_AVAILABILITY - _BUYABLE
        )
        if not wanted:
            return frozenset()
    return wanted if wanted and wanted != _EVERY_AVAILABILITY else None


def filter_conditions(
    criteria: BookCriteria,
    stock: Stock,
    book: Any = Book,
    *,
    bind: Bind = bound_value,
    facets: bool | None = None,
) -> list[tuple[str | None, ColumnElement[bool]]]:
    """The criteria's filters (not the search, nor the archived books) as conditions on
    `book`, each with the facet it is the own filter of ("genre", "price", "language",
    "availability"; None for the filters that are no facet's), their values as `bind` puts
    them: the one definition of the listing's filters, for its statements and the facets'.
    `facets`: only the facets' own filters (True) or only the others (False), whose columns
    `book` may then lack (a sample of the facets' columns)."""
    made: list[tuple[str | None, Callable[[], ColumnElement[bool]]]] = []
    if criteria.author_id is not None:
        author = bind("author_id", criteria.author_id, Integer)
        made.append(
            (
                None,
                lambda: exists().where(
                    book_authors.c.book_id == book.id, book_authors.c.author_id == author
                ),
            )
        )
    if criteria.genre_ids:
        genres = bind("genre_ids", list(criteria.genre_ids), ARRAY(Integer))
        made.append(
            (
                "genre",
                lambda: exists().where(
                    book_genres.c.book_id == book.id, book_genres.c.genre_id == any_(genres)
                ),
            )
        )
    if criteria.shelf_genre_id is not None:
        shelf = bind("shelf_genre_id", criteria.shelf_genre_id, Integer)
        made.append(
            (
                None,
                lambda: exists().where(
                    book_genres.c.book_id == book.id, book_genres.c.genre_id == shelf
                ),
            )
        )
    if criteria.min_price is not None:
        low = bind("min_price", criteria.min_price, Book.price.type)
        made.append(("price", lambda: book.price >= low))
    if criteria.max_price is not None:
        high = bind("max_price", criteria.max_price, Book.price.type)
        made.append(("price", lambda: book.price <= high))
    if criteria.released_after is not None:
        after = bind("released_after", criteria.released_after, Date)
        made.append((None, lambda: book.release_date >= after))
    if criteria.released_before is not None:
        before = bind("released_before", criteria.released_before, Date)
        made.append((None, lambda: book.release_date <= before))
    if criteria.languages:
        languages = bind("languages", list(criteria.languages), ARRAY(String))
        made.append(("language", lambda: book.language == any_(languages)))
    if criteria.min_rating is not None:
        rating = bind("min_rating", criteria.min_rating, Book.rating_average.type)
        made.append((None, lambda: book.rating_average >= rating))
    wanted = wanted_availability(criteria)
    if wanted is not None:
        if wanted:
            allowed = bind("availability", [a.value for a in wanted], ARRAY(String))
            made.append(("availability", lambda: availability_of(stock, book) == any_(allowed)))
        else:
            made.append(("availability", false))
    return [
        (facet, make()) for facet, make in made if facets is None or facets == (facet is not None)
    ]


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
# Among equal averages, the book with more reviews first (in the ordering's direction).
_RATING_KEYS = (
    SortKey(Book.rating_average, "sort_rating", Decimal),
    SortKey(Book.rating_count, "sort_rating_count", int),
)
_BOOK_ID_KEY = SortKey(Book.id, "sort_id", int)
_WORDS = re.compile(r"\w+", re.UNICODE)
# Words with the minus that excludes them in web-search syntax (at a token's start).
_TOKENS = re.compile(r"(?:(?<!\S)(-))?(\w+)", re.UNICODE)
_PLAIN = re.compile(r"[\w\s.,:;'\u2019]+", re.UNICODE)
# PostgreSQL's English stop words (the Snowball list of `english_stem`): the full-text
# search drops them, so a query of nothing else is matched against titles instead. A test
# holds this list to the server's dictionary.
_STOP_WORD_LIST = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can did do does doing don down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself no nor not now of off on once only "
    "or other our ours ourselves out over own same she should so some such t than that the "
    "their theirs them themselves then there these they this those through to too under "
    "until up very was we were what when where which while who whom why will with you your "
    "yours yourself yourselves s"
)
STOP_WORDS = frozenset(_STOP_WORD_LIST.split())
# Prefix matching starts at this many characters: "c:*" would match most of the catalog's
# lexemes (type-ahead from the first character is `searchSuggestions`' job).
PREFIX_FROM = 3
# The end of a prefix's range in `text_pattern_ops` order: `~>=~ x AND ~<~ x || U+10FFFF`.
LAST_CHARACTER = "\U0010ffff"
# Relevance ranks at most this many matches: when a term is common, the most popular ones
# (taken along the popularity index), so a search costs what a page costs.
RELEVANCE_CANDIDATES = 200
# At most this many shapes of search (`Search.shape`) keep their compiled statements and
# relevance orderings, the least recently used dropped first.
SEARCH_STATEMENTS = 256
# A query made only of stop words looks at the titles of this many most popular books.
STOP_WORD_WINDOW = 5_000
# Weights of the search document's parts for ts_rank, in its order D, C, B, A:
# description, subtitle, authors, title.
_RANK_WEIGHTS: ColumnElement[Any] = literal_column("'{0.05, 0.2, 0.5, 1.0}'::float4[]")
EXACT_TITLE_BONUS = 10.0


def search_words(term: str) -> list[str]:
    """The words of a search term, lower-cased, as search and correction see them."""
    return _WORDS.findall(term.lower())


def search_tokens(term: str) -> tuple[tuple[bool, str], ...]:
    """(excluded?, word) of each word of a search term, lower-cased: all a stop-word query's
    titles test depends on."""
    return tuple((m[1] is not None, m[2]) for m in _TOKENS.finditer(term.lower()))


def _text_query(term: Any, prefix_query: Any) -> ColumnElement[Any]:
    """The tsquery of a search: `term` in web-search syntax, or `prefix_query` (every word
    also a prefix) when given."""
    query: ColumnElement[Any] = func.websearch_to_tsquery("english", term)
    if prefix_query is not None:
        query = query.op("||")(func.to_tsquery("simple", prefix_query))
    return query


def search_query(prefixes: bool) -> ColumnElement[Any]:
    """`Search.query` with its parameters unbound, for statements compiled once with no
    search's values in them: a search's `parameters` give them."""
    prefix_query = bindparam("search_prefix_query", type_=String) if prefixes else None
    return _text_query(bindparam("search_term", type_=String), prefix_query)


class Search:
    """Full-text search (websearch syntax, English stemming, and prefixes of plain words
    for typing ahead) over the search document: title, authors, subtitle, description.

    Relevance: an exact title first, then `ts_rank` with the document's weights (title
    words over author names over the subtitle over the description). Ranking by relevance
    reads at most RELEVANCE_CANDIDATES matches, the most popular first, so a common word
    costs no more than a rare one. Typos are corrected before, against the vocabulary
    (`TermRepository`), not here."""

    def __init__(self, term: str, *, include_archived: bool = False) -> None:
        # Only the term's analysis here: the SQL expressions are built when a statement
        # asks for them (a search whose statement is already compiled for its shape,
        # `_search_statement`, needs none of them, only `parameters`).
        self.term = term
        self.include_archived = include_archived
        words = search_words(term)
        self.words = words
        # Prefixes only for plain words: with quotes, "-word" or "or" the client asked for
        # exactly that logic.
        self.plain = _PLAIN.fullmatch(term) is not None and "or" not in words
        self.only_stop_words = bool(words) and all(word in STOP_WORDS for word in words)
        prefixes = [word for word in words if len(word) >= PREFIX_FROM]
        self.prefixes = self.plain and bool(prefixes) and len(prefixes) == len(words)
        self._prefix_query = " & ".join(f"{word}:*" for word in prefixes)
        self.clauses = _clauses(term)
        # A stop-word query's alternatives (groups of words joined by "or") and exclusions.
        self._groups: list[list[str]] = [[]]
        self._excluded: list[str] = []
        if self.only_stop_words:
            tokens = search_tokens(term)
            for index, (minus, word) in enumerate(tokens):
                if word == "or" and not minus and 0 < index < len(tokens) - 1:
                    self._groups.append([])
                else:
                    (self._excluded if minus else self._groups[-1]).append(word)

    @property
    def shape(self) -> tuple[object, ...]:
        """What the text of a statement searching this way depends on (the words are
        parameters: `parameters`)."""
        if self.only_stop_words:
            return ("titles", tuple(len(group) for group in self._groups), len(self._excluded))
        return ("walk" if self.clauses else "popular", self.prefixes)

    @cached_property
    def parameters(self) -> dict[str, Any]:
        """The values of the search's named parameters, for a statement of its `shape`
        compiled once from another search of the same shape."""
        values: dict[str, Any] = {"search_exact": self.term.lower()}
        if self.only_stop_words:
            patterns = [*(w for group in self._groups for w in group), *self._excluded]
            values.update((f"search_title_{i}", rf"\m{w}\M") for i, w in enumerate(patterns))
            values["search_title_start"] = " ".join(w for group in self._groups for w in group)
            return values
        values["search_term"] = self.term
        if self.prefixes:
            values["search_prefix_query"] = self._prefix_query
        words = [(number, word) for number, group in enumerate(self.clauses) for word in group]
        values["walk_clauses"] = [number for number, _ in words]
        values["walk_words"] = [word for _, word in words]
        values["walk_prefixes"] = self.prefixes
        return values

    def _bound(self, name: str, type_: Any = String) -> BindParameter[Any]:
        """The named parameter `name` with this search's value (`parameters`)."""
        return bindparam(name, self.parameters[name], type_=type_)

    @cached_property
    def query(self) -> ColumnElement[Any]:
        prefix_query = self._bound("search_prefix_query") if self.prefixes else None
        return _text_query(self._bound("search_term"), prefix_query)

    def _title_words(self, title: ColumnElement[str]) -> list[ColumnElement[bool]]:
        """A stop-word query as conditions on a title: whole words, case-insensitively
        (the words are \\w+: no regex syntax), "-word" excluding, "or" joining
        alternatives (the web-search syntax holds here too)."""
        numbered = itertools.count()

        def has() -> ColumnElement[bool]:
            pattern = self._bound(f"search_title_{next(numbered)}")
            return title.op("~*", is_comparison=True)(pattern)

        alternatives = [and_(*(has() for _ in group)) for group in self._groups if group]
        conditions = [~has() for _ in self._excluded]
        if alternatives:
            conditions.append(or_(*alternatives))
        return conditions

    @cached_property
    def condition(self) -> ColumnElement[bool]:
        if self.only_stop_words:
            # Titles containing every word, among the most popular books: the search
            # vector has no stop words, and this keeps such a query's cost bounded.
            top = (
                select(Book.id.label("id"), Book.title.label("title"))
                .where(~Book.is_archived)
                .order_by(Book.popularity.desc(), Book.id.desc())
                .limit(STOP_WORD_WINDOW)
                .correlate(None)
                .subquery("most_popular")
            )
            # Inside the LIMIT's subquery, so only the window's titles are ever matched.
            window = select(top.c.id).where(*self._title_words(top.c.title))
            return Book.id.in_(window)
        return Book.search_vector.op("@@")(self.query)

    def window_candidates(self, limit: int, *, ranked: bool = False) -> Select[Any]:
        """A stop-word query's first `limit` matches in popularity order, the window's
        titles tested one by one along the popularity index only until `limit` match
        (`condition` tests the whole window). `ranked`: with each one's relevance, labelled
        "relevance" (`_ranked_listing`)."""
        assert self.only_stop_words
        top = (
            select(Book.id.label("id"), Book.title.label("title"), Book.popularity)
            .where(~Book.is_archived)
            .order_by(Book.popularity.desc(), Book.id.desc())
            .limit(STOP_WORD_WINDOW)
            .subquery("most_popular")
        )
        columns = [top.c.id]
        if ranked:
            columns.append(self._rank(top.c.title, None).cast(Float).label("relevance"))
        return (
            select(*columns)
            .where(*self._title_words(top.c.title))
            .order_by(top.c.popularity.desc(), top.c.id.desc())
            .limit(limit)
        )

    @cached_property
    def relevance(self) -> ColumnElement[float]:
        """Exact title, then ts_rank by the document's weights."""
        return self._rank(Book.title, Book.search_vector)

    def _rank(self, title: Any, vector: Any) -> ColumnElement[float]:
        """`relevance` of a row with these columns (a stop-word query needs no `vector`).
        The query is a scalar subquery, computed once per statement: a generic plan (a
        prepared statement run often) would otherwise parse it again for every row ranked."""
        exact = case(
            (func.lower(title) == self._bound("search_exact"), EXACT_TITLE_BONUS),
            else_=0.0,
        )
        if self.only_stop_words:
            start = func.lower(title).startswith(self._bound("search_title_start"))
            return exact + case((start, 1.0), else_=0.0)
        assert vector is not None
        query = select(self.query).scalar_subquery()
        return exact + func.ts_rank(_RANK_WEIGHTS, vector, query)

    @cached_property
    def filter(self) -> ColumnElement[bool]:
        """`condition` for testing given rows one by one (a walk's books) rather than for
        an index to answer: its query built once per statement, as `relevance`'s (a generic
        plan would otherwise parse it again for every row)."""
        if self.only_stop_words:
            return self.condition
        return Book.search_vector.op("@@")(select(self.query).scalar_subquery())

    @cached_property
    def window_filter(self) -> ColumnElement[bool]:
        """`filter` for rows that are among the STOP_WORD_WINDOW most popular books already
        (a walk along the popularity index no longer than that): a stop-word query's
        titles test alone, without `condition`'s window."""
        if self.only_stop_words:
            return and_(*self._title_words(Book.__table__.c.title))
        return self.filter


# Hosts, e-mail addresses, paths and decimal numbers: the full-text parser reads
# "kyoto.lisbon" as one token, so its words are not what a match must have.
_ONE_TOKEN = re.compile(r"\w[./@]\w")
_SIGNED_WORDS = re.compile(r"(-)?(\w+)", re.UNICODE)
# Groups of words a walk tells apart (a bit each in an int4); leaving more out only widens it.
_MAX_GROUPS = 31


def _clauses(term: str) -> list[list[str]]:
    """What every match of `term` has, as far as its words tell: groups of alternatives
    (words joined by "or"), a match having one word of each group (its stem or, typing
    ahead, a completion). Words after a minus, stop words and their groups are left out,
    so a group is never asked for that the search does not need. [] when none is known."""
    if _ONE_TOKEN.search(term):
        return []
    tokens = [(m[1] is not None, m[2]) for m in _SIGNED_WORDS.finditer(term.lower())]
    groups: list[list[tuple[bool, str]]] = []
    joined = False
    for index, (minus, word) in enumerate(tokens):
        if word == "or" and not minus and 0 < index < len(tokens) - 1:
            joined = bool(groups)
            continue
        if joined:
            groups[-1].append((minus, word))
        else:
            groups.append([(minus, word)])
        joined = False
    needed = {
        tuple(sorted({word for _, word in group})): None
        for group in groups
        if not any(minus or word in STOP_WORDS for minus, word in group)
    }
    return [list(group) for group in needed][:_MAX_GROUPS]


# Relevance orderings by the shape of the search and the direction: building the
# expression was a fifth of a search's API CPU. Its parameters hold the values of the
# search it was built for, so a statement sorting by it runs with the request's search's
# `parameters` (`BookRepository.list_page`).
_relevance_orderings: statements.Shapes[tuple[object, ...], Ordering] = statements.Shapes(
    SEARCH_STATEMENTS
)


def book_ordering(field: BookOrderField, *, descending: bool, search: Search | None) -> Ordering:
    name = f"{field.value}:{'DESC' if descending else 'ASC'}"
    if field is BookOrderField.RELEVANCE:
        assert search is not None, "RELEVANCE needs a search term (checked by the service)"

        def build() -> Ordering:
            relevance = SortKey(search.relevance.cast(Float), "sort_relevance", float)
            return Ordering(name, (relevance, _BOOK_ID_KEY), descending)

        return _relevance_orderings.get((search.shape, descending), build)
    if field is BookOrderField.RATING:
        return Ordering(name, (*_RATING_KEYS, _BOOK_ID_KEY), descending)
    column, label, kind = _SORT_COLUMNS[field]
    return Ordering(name, (SortKey(column, label, kind), _BOOK_ID_KEY), descending)


COUNT_EXACT_UP_TO = 5_000


async def estimated_rows(session: AsyncSession, statement: Select[Any]) -> int:
    """The planner's estimate of the rows `statement` returns (EXPLAIN: nothing runs)."""
    connection = await session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters = compiled.construct_params()
    positions = compiled.positiontup or []
    result = await connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {compiled.string}",
        tuple(parameters[name] for name in positions),
    )
    plan = result.scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


# Of each lexeme, `search_postings` holds about this many books, its most popular (all of
# a rarer one's): the most books a search walks (`rebuild_search_postings`' default).
POSTINGS_HEAD = 2_000
# A word typed as a prefix brings at most this many completions (the most used) to the walk.
PREFIX_COMPLETIONS = 5
# A search whose words tell nothing a match must have ("-garden") walks at most this many
# of the most popular books.
POPULAR_WINDOW = 20_000
# A search ordered by anything but relevance sorts at most this many matches, the most
# popular ones, the same walk relevance takes its candidates from: all of them when the
# driving word's postings hold all its books (a rare word), so that order is exact then.
ORDERED_CANDIDATES = POSTINGS_HEAD

# The walk of a search's rarest group of words through `search_postings`: the groups'
# lexemes (the stems of their words and, typing ahead, their most used completions), the
# rarest group by `search_lexemes`' counts, its lexemes' most popular books merged
# (POSTINGS_HEAD of them), and of those the books the other groups' postings do not rule
# out: a book at or above the popularity from which a group's postings hold every book of
# its lexemes (their cutoff, all of a rare lexeme's) that has no posting of that group's
# lexemes is no match (`clauses`). Each such test is one probe of the postings' primary key
# (lexeme, popularity, book), so the other groups' postings are never read, and the walk
# is not materialized past its merge: the caller reads it in popularity order only as far
# as it needs. Index-only; the books are read by the caller. The LIMITs are constants in
# the text so that the planner's estimates stay the size of the walk. The words are read
# through subqueries so that no plan knows how many there are: a custom plan (planned
# for the request's values, as PostgreSQL does for a prepared statement's first five runs
# and whenever one costs less than the generic plan) saw one word, estimated less than the
# generic plan and was planned anew on every run (0.6 to 1.4 ms each); both are estimated
# alike this way, and the generic plan, the same walk, is kept.
# After a `words` CTE (clause, word, lexeme): each clause's lexemes (`options`: its words'
# stems and, typing ahead, their PREFIX_COMPLETIONS most used completions) and the rarest
# clause by `search_lexemes`' counts (`driver`). The search's walk and type-ahead's books
# (`_SUGGESTED_HEADS`) both start from it.
_DRIVER = f"""options AS MATERIALIZED (
  SELECT clause, lexeme FROM words
  UNION
  SELECT w.clause, c.lexeme FROM words w CROSS JOIN LATERAL (
    SELECT lexeme FROM search_lexemes
    WHERE :walk_prefixes AND lexeme >= w.word AND lexeme < w.word || :walk_last
    ORDER BY books DESC LIMIT {PREFIX_COMPLETIONS}) AS c),
driver AS MATERIALIZED (
  SELECT o.clause FROM options o LEFT JOIN search_lexemes s ON s.lexeme = o.lexeme
  GROUP BY o.clause ORDER BY coalesce(sum(s.books), 0), o.clause LIMIT 1),
driving AS MATERIALIZED (
  SELECT lexeme, row_number() OVER (ORDER BY lexeme) AS slot FROM options
  WHERE clause = (SELECT clause FROM driver))"""  # noqa: S608 - the f-string holds constants
# A word's lexemes are at most its stem and its PREFIX_COMPLETIONS completions: the driving
# clause's first this many each get a branch of their own (below), the rest share one.
_HEAD_SLOTS = PREFIX_COMPLETIONS + 1
_SLOT = """(SELECT book_id, popularity FROM search_postings
    WHERE lexeme = (SELECT lexeme FROM driving WHERE slot = {slot})
    ORDER BY popularity DESC, book_id DESC LIMIT {limit})"""
# The driving clause's books (after `_DRIVER`): each of its lexemes' POSTINGS_HEAD most
# popular, merged in popularity order, POSTINGS_HEAD of them. Each lexeme is an ordered
# scan of its postings, merged (a Merge Append, DISTINCT ON keeping the order), so that the
# merge is read lazily: a caller that needs 200 books reads about 200 postings, not
# POSTINGS_HEAD of each lexeme then sorted. A clause of more lexemes than _HEAD_SLOTS (words
# joined by "or") has its others merged by a sort in one more branch, empty otherwise.
_SLOTS = "\n  UNION ALL\n  ".join(
    _SLOT.format(slot=slot, limit=POSTINGS_HEAD) for slot in range(1, _HEAD_SLOTS + 1)
)
_HEADS = f"""
  SELECT DISTINCT ON (u.popularity, u.book_id) u.book_id, u.popularity FROM (
  {_SLOTS}
  UNION ALL
  (SELECT p.book_id, p.popularity FROM driving d CROSS JOIN LATERAL (
    SELECT book_id, popularity FROM search_postings WHERE lexeme = d.lexeme
    ORDER BY popularity DESC, book_id DESC LIMIT {POSTINGS_HEAD}) AS p
    WHERE d.slot > {_HEAD_SLOTS} ORDER BY p.popularity DESC, p.book_id DESC LIMIT {POSTINGS_HEAD})
  ) AS u
  ORDER BY u.popularity DESC, u.book_id DESC LIMIT {POSTINGS_HEAD}"""  # noqa: S608 - the f-string holds constants
_WALK = f"""
WITH words AS (
  SELECT w.clause, w.word, t.lexeme COLLATE "C" AS lexeme
  FROM unnest((SELECT :walk_clauses), (SELECT :walk_words)) AS w(clause, word)
  CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('english', w.word))) AS t(lexeme)
  LIMIT 64),
{_DRIVER},
heads AS NOT MATERIALIZED ({_HEADS}),
known AS MATERIALIZED (
  SELECT o.clause, coalesce(max(s.cutoff), -2147483648) AS known_from
  FROM options o LEFT JOIN search_lexemes s ON s.lexeme = o.lexeme
  WHERE o.clause <> (SELECT clause FROM driver)
  GROUP BY o.clause)
SELECT h.book_id, h.popularity FROM heads h
WHERE NOT EXISTS (
  SELECT 1 FROM known k
  WHERE h.popularity >= k.known_from
    AND NOT EXISTS (
      SELECT 1 FROM options o JOIN search_postings p
        ON p.lexeme = o.lexeme AND p.popularity = h.popularity AND p.book_id = h.book_id
      WHERE o.clause = k.clause))
ORDER BY h.popularity DESC, h.book_id DESC
"""  # noqa: S608 - the f-string holds constants


def _candidates(
    conditions: list[ColumnElement[bool]],
    search: Search,
    limit: int = RELEVANCE_CANDIDATES,
    *,
    rank: Any = None,
) -> Select[Any]:
    """The ids relevance ranks: at most `limit` matches, the most popular, with `rank` (an
    expression on Book) labelled "relevance" when given (`_ranked_listing`).

    Taken along `search_postings` (see `_WALK`), which holds each lexeme's most popular
    books in popularity order: the rarest group of words (by `search_lexemes`' counts, so
    nothing is sampled) drives, the other groups' postings rule books out without reading
    them, and the books left are checked against `conditions` until `limit` match. A rare
    word's postings are all its books, so its matches are exact; a common word's are its
    POSTINGS_HEAD most popular. Either way the work is bounded by the constants, not by
    the number of matches."""
    newest = (Book.popularity.desc(), Book.id.desc())
    columns: list[Any] = [Book.id]
    if rank is not None:
        columns.append(rank.label("relevance"))
    if search.only_stop_words:  # already bounded by its window
        return select(*columns).where(*conditions).order_by(*newest).limit(limit)
    if not search.clauses:
        # coalesce(): the match stays a filter, so the search index cannot be chosen here.
        threshold = (
            select(Book.popularity)
            .where(~Book.is_archived)
            .order_by(Book.popularity.desc())
            .offset(POPULAR_WINDOW)
            .limit(1)
            .scalar_subquery()
        )
        matching = (search.condition, search.filter)
        walk = [func.coalesce(c, False) if any(c is m for m in matching) else c for c in conditions]
        walk.append(Book.popularity >= func.coalesce(threshold, 0))
        return select(*columns).where(*walk).order_by(*newest).limit(limit).correlate(None)
    values = search.parameters
    heads = (
        text(_WALK)
        .bindparams(
            bindparam("walk_clauses", values["walk_clauses"], type_=ARRAY(Integer)),
            bindparam("walk_words", values["walk_words"], type_=ARRAY(String)),
            bindparam("walk_prefixes", values["walk_prefixes"]),
            bindparam("walk_last", LAST_CHARACTER),
        )
        .columns(book_id=Integer, popularity=Integer)
        .subquery("walk")
    )
    return (
        select(*columns)
        .join(heads, heads.c.book_id == Book.id)
        .where(*conditions)
        .order_by(heads.c.popularity.desc(), heads.c.book_id.desc())
        .limit(limit)
        .correlate(None)
    )


def _among(ids: Select[Any]) -> ColumnElement[bool]:
    """`books.id = ANY(ARRAY(ids))`: the ids are computed once, then read by primary key
    (an `IN` would let the planner scan the books in the listing's order instead)."""
    return Book.id == any_(func.array(ids.scalar_subquery()))


def _by_rank(ordering: Ordering, source: Any) -> Ordering:
    """A relevance `ordering` on the columns "relevance" and "id" of `source` (a subquery)."""
    relevance, book_id = ordering.keys
    keys = (
        replace(relevance, expression=source.c.relevance),
        replace(book_id, expression=source.c.id),
    )
    return Ordering(ordering.name, keys, ordering.descending)


# Pages a statement by an ordering: `cursors` False for the outer statement of
# `_ranked_listing`, whose rows the inner one has already chosen.
Keyset = Callable[[Select[Any], Ordering, bool], Select[Any]]


def _ranked_listing(
    candidates: Select[Any], ordering: Ordering, related: Related, stock: Stock, keyset: Keyset
) -> Select[Any]:
    """A relevance-ordered listing of `candidates` (id and relevance, ranked as the walk
    reads each book): the page is chosen among them, then only its books are read whole,
    with the `related` rows, by primary key (`_among`), their relevance computed again for
    the page's order (the same expression: the same values). Reading the candidates' ids,
    then all their rows to rank them, read each candidate twice and the page's columns for
    200 rows instead of 20. A join of the page to the books instead was planned, at 10,000
    books, as a scan of all of them per page row: beside the walk's estimate the two plans'
    costs were within PostgreSQL's fuzz."""
    ranked = candidates.subquery("ranked")
    page = keyset(select(ranked.c.id), _by_rank(ordering, ranked), True)
    statement = _listing_select(stock, ordering, related).where(_among(page))
    return keyset(statement, ordering, False)


@dataclass(frozen=True, eq=False)
class AuthorBooks:
    """The first page of each author's (unarchived) books: `ordering` is a nested list's
    (no search), `page` has no cursor."""

    ordering: Ordering
    page: PageRequest


@dataclass(frozen=True)
class Related:
    """Which rows related to each book a read returns with it, in the same statement."""

    authors: bool = False
    genres: bool = False
    author_books: AuthorBooks | None = None  # with `authors`

    @property
    def shape(self) -> tuple[object, ...]:
        """What the statement's text depends on."""
        books = self.author_books
        nested = None if books is None else (books.ordering.name, books.page)
        return self.authors, self.genres, nested


@dataclass(frozen=True, slots=True)
class ListedBook:
    """A book with what `Related` asked for (else None): its authors (credit order), its
    genres (by name), and each author's first page of books (by author id)."""

    row: BookRow
    authors: list[AuthorRow] | None
    genres: list[GenreRow] | None
    author_books: dict[int, Page[BookRow]] | None = None


def _array(*columns: Any) -> Select[Any]:
    """A select of one row (record) of `columns`, to gather as an array (`_rows`)."""
    return select(func.row(*columns))


def _rows(statement: Select[Any]) -> ColumnElement[Any]:
    return func.array(statement.scalar_subquery())


def _related_columns(related: Related, stock: Stock) -> list[ColumnElement[Any]]:
    """The arrays of each book's authors and genres (records of AuthorRow's and GenreRow's
    fields; an author's first books follow its fields as an array of BookRow records with
    their sort keys)."""
    columns: list[ColumnElement[Any]] = []
    if related.authors:
        fields = AUTHOR.columns()
        if related.author_books is not None:
            ordering, page = related.author_books.ordering, related.author_books.page
            credits = book_authors.alias("author_credits")
            # The author's books: `books` again, inside the subquery (not the outer book).
            books = _array(*book_columns(stock), *(key.expression for key in ordering.keys))
            books = books.join_from(credits, Book, Book.id == credits.c.book_id)
            books = books.where(credits.c.author_id == Author.id, ~Book.is_archived)
            books = apply_keyset(books.correlate_except(Book, credits), ordering, page)
            fields.append(_rows(books))
        authors = (
            _array(*fields)
            .join_from(book_authors, Author, Author.id == book_authors.c.author_id)
            .where(book_authors.c.book_id == Book.id)
            .order_by(book_authors.c.position)
        )
        columns.append(_rows(authors).label("authors"))
    if related.genres:
        genres = (
            _array(*GENRE.columns())
            .join_from(book_genres, Genre, Genre.id == book_genres.c.genre_id)
            .where(book_genres.c.book_id == Book.id)
            .order_by(Genre.name)
        )
        columns.append(_rows(genres).label("genres"))
    return columns


def _listing_select(stock: Stock, ordering: Ordering, related: Related) -> Select[Any]:
    """A listing's select list: the BookRow, the related arrays, then the sort keys."""
    return select(*book_columns(stock), *_related_columns(related, stock), *ordering.columns())


def _listed(row: Any, related: Related) -> ListedBook:
    """The ListedBook of a row that starts with the BookRow and the related arrays."""
    at = width = BOOK.width
    authors = genres = author_books = None
    if related.authors:
        authors = [AuthorRow(*author[: AUTHOR.width]) for author in row[at]]
        if related.author_books is not None:
            ordering, page = related.author_books.ordering, related.author_books.page
            author_books = {
                author.id: to_page(
                    books,
                    ordering,
                    page,
                    lambda book: BookRow(*book[:width]),
                    sort_values=lambda book: tuple(book[width:]),
                )
                for author, (*_, books) in zip(authors, row[at], strict=True)
            }
        at += 1
    if related.genres:
        genres = [GenreRow(*genre) for genre in row[at]]
    return ListedBook(BookRow(*row[:width]), authors, genres, author_books)


def _listed_page(
    rows: Sequence[Any], ordering: Ordering, page: PageRequest, related: Related
) -> Page[ListedBook]:
    keys = BOOK.width + related.authors + related.genres  # where the sort keys start
    return to_page(
        rows,
        ordering,
        page,
        lambda row: _listed(row, related),
        sort_values=lambda row: tuple(row[keys:]),
    )


_WHOLE_CATALOG = BookCriteria()
# The request's Stock, as the parameters of statements compiled once.
STOCK_PARAMETERS = Stock(
    today=cast_as(Any, bindparam("today", type_=Date)),
    low_stock_threshold=cast_as(Any, bindparam("low_stock_threshold", type_=Integer)),
)
_catalog_statements: dict[tuple[object, ...], statements.Prepared] = {}
_book_statements: dict[tuple[object, ...], statements.Prepared] = {}


def _catalog_statement(
    ordering: Ordering, page: PageRequest, related: Related
) -> statements.Prepared:
    """The whole catalog's listing statement of this shape (compiled on first use)."""
    shape = (ordering.name, page.from_end, page.after is None, page.before is None, related.shape)
    prepared = _catalog_statements.get(shape)
    if prepared is None:
        statement = _listing_select(STOCK_PARAMETERS, ordering, related)
        statement = keyset_template(
            statement.where(*BookRepository._conditions(_WHOLE_CATALOG, STOCK_PARAMETERS, None)),
            ordering,
            from_end=page.from_end,
            after=page.after is not None,
            before=page.before is not None,
        )
        prepared = _catalog_statements[shape] = statements.Prepared.of(statement)
    return prepared


def _book_statement(include_archived: bool, related: Related) -> statements.Prepared:
    """A book by id, with the `related` rows (compiled on first use)."""
    shape = (include_archived, related.shape)
    prepared = _book_statements.get(shape)
    if prepared is None:
        statement = select(
            *book_columns(STOCK_PARAMETERS), *_related_columns(related, STOCK_PARAMETERS)
        ).where(Book.id == bindparam("id", type_=Book.id.type))
        if not include_archived:
            statement = statement.where(~Book.is_archived)
        prepared = _book_statements[shape] = statements.Prepared.of(statement)
    return prepared


# Search statements by shape: the text depends on the shape of the words (`Search.shape`),
# not on them, so the few shapes a storefront sends are compiled once.
_search_statements: statements.Shapes[tuple[object, ...], statements.Prepared] = statements.Shapes(
    SEARCH_STATEMENTS
)


def _search_statement(
    search: Search, ordering: Ordering, page: PageRequest, related: Related
) -> statements.Prepared:
    """The listing statement of a search of the whole catalog of this shape: the walk's
    candidates (`_candidates`), sorted and paged, with the `related` rows. The words are
    parameters (`Search.parameters`); compiled on first use."""
    # Any order sorts a bounded candidate set: walking another order's index while
    # matching every book along it costs what the matches cost.
    ranked = ordering.name.startswith(BookOrderField.RELEVANCE.value)
    limit = RELEVANCE_CANDIDATES if ranked else ORDERED_CANDIDATES
    shape = (
        search.shape,
        search.include_archived,
        limit,
        ordering.name,
        page.from_end,
        page.after is None,
        page.before is None,
        related.shape,
    )

    def keyset(statement: Select[Any], by: Ordering, cursors: bool) -> Select[Any]:
        return keyset_template(
            statement,
            by,
            from_end=page.from_end,
            after=cursors and page.after is not None,
            before=cursors and page.before is not None,
        )

    def build() -> statements.Prepared:
        conditions = (
            [search.filter] if search.include_archived else [~Book.is_archived, search.filter]
        )
        rank = ordering.keys[0].expression if ranked else None
        if search.only_stop_words:
            candidates = search.window_candidates(limit, ranked=ranked)
        else:
            candidates = _candidates(conditions, search, limit, rank=rank)
        if ranked:
            statement = _ranked_listing(candidates, ordering, related, STOCK_PARAMETERS, keyset)
        else:
            statement = _listing_select(STOCK_PARAMETERS, ordering, related)
            statement = keyset(statement.where(_among(candidates)), ordering, True)
        # Built from this request's search: its words are not kept for the next one's.
        return statements.Prepared.of(statement, per_request=search.parameters)

    return _search_statements.get(shape, build)


def _stock_values(stock: Stock) -> dict[str, Any]:
    return {"today": stock.today, "low_stock_threshold": stock.low_stock_threshold}


# Type-ahead's books: the postings of the query's rarest word, most popular first, at most
# POSTINGS_HEAD of them (a rare word's postings are all its books, a common one's its most
# popular); the caller tests each book against the whole query and stops at the page. A
# word's lexemes are its stems and, typing ahead, its PREFIX_COMPLETIONS most used
# completions, as the search's walk (`_WALK`) has them: a word still typed as a prefix
# ("gard" of "gardens") has no postings of its own, but its completions have.
_SUGGESTED_HEADS = f"""
WITH words AS (
  SELECT w.word, w.clause, t.lexeme COLLATE "C" AS lexeme
  FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(word, clause)
  CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('english', w.word))) AS t(lexeme)),
{_DRIVER}
{_HEADS}
"""  # noqa: S608 - the f-string holds constants
_suggested_statements: dict[tuple[bool, int], statements.Prepared] = {}


def _suggested_statement(prefixes: bool, first: int) -> statements.Prepared:
    """The `first` most popular books matching a plain search of whole words (type-ahead's
    books), walking the postings of its rarest word: bounded by POSTINGS_HEAD whatever the
    catalog, and stopping at `first` matches. `first` is a constant of the text, so that the
    planner reads the walk lazily (compiled on first use)."""
    shape = (prefixes, first)
    prepared = _suggested_statements.get(shape)
    if prepared is None:
        heads = (
            text(_SUGGESTED_HEADS)
            .bindparams(
                bindparam("words", type_=ARRAY(String)),
                bindparam("walk_prefixes", type_=Boolean),
                bindparam("walk_last", type_=String),
            )
            .columns(book_id=Integer, popularity=Integer)
            .subquery("heads")
        )
        statement = (
            select(*book_columns(STOCK_PARAMETERS))
            .join_from(heads, Book, Book.id == heads.c.book_id)
            # coalesce(): a filter of the walked books, never the search index (the planner
            # would read every match of a prefix there to join the few it needs).
            .where(
                ~Book.is_archived,
                func.coalesce(Book.search_vector.op("@@")(search_query(prefixes)), False),
            )
            .order_by(heads.c.popularity.desc(), heads.c.book_id.desc())
            .limit(literal_column(str(int(first))))
        )
        prepared = _suggested_statements[shape] = statements.Prepared.of(statement)
    return prepared


class BookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- reading ----------------------------------------------------------------------

    @staticmethod
    def _conditions(
        criteria: BookCriteria,
        stock: Stock,
        search: Search | None,
        book: Any = Book,
        *,
        row_by_row: bool = False,
    ) -> list[ColumnElement[bool]]:
        """The criteria as conditions on `book` (the books table, or an alias of it).
        `row_by_row`: the search tested on given rows (a walk's candidates), its query
        built once per statement (`Search.filter`), rather than the condition an index
        may answer."""
        conditions: list[ColumnElement[bool]] = []
        if not criteria.include_archived:
            conditions.append(~book.is_archived)
        if search is not None:
            conditions.append(search.filter if row_by_row else search.condition)
        conditions.extend(condition for _, condition in filter_conditions(criteria, stock, book))
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
        *,
        related: Related = Related(),
    ) -> Page[ListedBook]:
        """A page of books, with the `related` rows of each in the same statement. The
        whole catalog (no filter, no search) is a statement compiled once per shape and
        run on the session's asyncpg connection: the storefront's pages."""
        if criteria == _WHOLE_CATALOG and search is None:
            prepared = _catalog_statement(ordering, page, related)
            values = _stock_values(stock) | keyset_values(page)
            rows: Sequence[Any] = await statements.fetch(
                self.session, prepared.sql, *prepared.args(values)
            )
        elif search is not None and criteria == BookCriteria(
            search=criteria.search, include_archived=search.include_archived
        ):
            # A search box's query: no other filter. Compiled once per shape, likewise.
            prepared = _search_statement(search, ordering, page, related)
            values = _stock_values(stock) | keyset_values(page) | search.parameters
            rows = await statements.fetch(self.session, prepared.sql, *prepared.args(values))
        else:
            conditions = self._conditions(criteria, stock, search, row_by_row=True)
            ranked = search is not None and ordering.name.startswith(BookOrderField.RELEVANCE.value)
            if ranked:
                assert search is not None

                def keyset(statement: Select[Any], by: Ordering, cursors: bool) -> Select[Any]:
                    return apply_keyset(
                        statement, by, page if cursors else PageRequest(page.limit, page.from_end)
                    )

                rank = ordering.keys[0].expression
                candidates = _candidates(conditions, search, RELEVANCE_CANDIDATES, rank=rank)
                statement = _ranked_listing(candidates, ordering, related, stock, keyset)
            else:
                if search is not None:
                    # Any order sorts a bounded candidate set: walking another order's
                    # index while matching every book along it costs what the matches cost.
                    conditions = [_among(_candidates(conditions, search, ORDERED_CANDIDATES))]
                statement = _listing_select(stock, ordering, related).where(*conditions)
                statement = apply_keyset(statement, ordering, page)
            # The search's values, over those a relevance ordering was built with.
            parameters = search.parameters if search is not None else None
            rows = (await self.session.execute(statement, parameters)).all()
        return _listed_page(rows, ordering, page, related)

    async def count(
        self, criteria: BookCriteria, stock: Stock, search: Search | None
    ) -> tuple[int, bool]:
        """(number of matching books, exact?): exact up to COUNT_EXACT_UP_TO, the planner's
        estimate above (counting a million matches would cost what reading them does)."""
        matching = select(literal(1)).select_from(Book)
        matching = matching.where(*self._conditions(criteria, stock, search))
        capped = select(func.count()).select_from(matching.limit(COUNT_EXACT_UP_TO + 1).subquery())
        found = int(await self.session.scalar(capped) or 0)
        if found <= COUNT_EXACT_UP_TO:
            return found, True
        return max(found, await estimated_rows(self.session, matching)), False

    async def popular_matches(self, search: Search, stock: Stock, limit: int) -> list[BookRow]:
        """The `limit` most popular books matching `search` (type-ahead): along the
        postings of its rarest word (see `_suggested_statement`), stopping at `limit`."""
        if search.only_stop_words or not search.plain or not search.clauses:
            # A window of titles, an "or" that no one word decides, or words the parser
            # reads as one token ("kyoto.lisbon"): the search's walk.
            candidates = _candidates([~Book.is_archived, search.condition], search, limit)
            statement = (
                self._book_select(stock)
                .where(_among(candidates))
                .order_by(Book.popularity.desc(), Book.id.desc())
            )
            return BOOK.all(await self.session.execute(statement))
        prepared = _suggested_statement(search.prefixes, limit)
        values = _stock_values(stock) | search.parameters
        values |= {
            # A plain search's groups are its words but its stop words (`_clauses`).
            "words": [word for group in search.clauses for word in group],
            "walk_prefixes": search.prefixes,
            "walk_last": LAST_CHARACTER,
        }
        rows = await statements.fetch(self.session, prepared.sql, *prepared.args(values))
        return BOOK.all(rows)

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

    async def get_with(
        self, book_id: int, stock: Stock, *, include_archived: bool, related: Related
    ) -> ListedBook | None:
        """The book with its `related` rows, in one statement compiled once per shape."""
        prepared = _book_statement(include_archived, related)
        values = _stock_values(stock) | {"id": book_id}
        row = await statements.fetchrow(self.session, prepared.sql, *prepared.args(values))
        return None if row is None else _listed(row, related)

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

    async def released(self, today: date) -> list[tuple[int, date]]:
        statement = (
            select(Book.id, Book.release_date)
            .where(~Book.is_archived, Book.release_date <= today)
            .order_by(Book.id)
        )
        return [(row.id, row.release_date) for row in await self.session.execute(statement)]

    async def adjust_ratings(self, changes: Sequence[tuple[int, Sequence[int]]]) -> None:
        """Add to each book's rating histogram (book id, five deltas: 1 to 5 stars) and
        recompute its average in the same statement. The UPDATE takes the row's lock and
        reads the row it changes: concurrent writers of one book queue on the row, and each
        adds to what the one before it committed, never to a stale read."""
        if not changes:
            return
        books: Table = Book.__table__  # type: ignore[assignment]  # a plain table UPDATE: not the ORM's by-primary-key bulk mode
        histogram = books.c.rating_histogram
        counts = [histogram[star] + bindparam(f"d{star}", type_=Integer) for star in range(1, 6)]
        count = sum(counts[1:], counts[0])
        total = sum((star * c for star, c in enumerate(counts[1:], start=2)), counts[0])
        average = func.coalesce(func.round(cast(total, Numeric) / func.nullif(count, 0), 2), 0)
        statement = (
            update(books)
            .where(books.c.id == bindparam("book"))
            # A review is not a change of the catalog record: its updated_at stays.
            .values(
                rating_histogram=array(counts),
                rating_average=average,
                rating_count=count,
                updated_at=books.c.updated_at,
            )
        )
        await self.session.execute(
            statement,
            [
                {"book": book_id, **{f"d{star}": delta for star, delta in enumerate(deltas, 1)}}
                for book_id, deltas in changes
            ],
        )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
AUTHOR_MATCHES = 1_000


def _authors_by_prefixes() -> statements.Prepared:
    # A generous inner limit: with `limit` (5) the planner would rather scan the table for
    # the few rows it expects early, which for a rare prefix is every author.
    query = func.to_tsquery(_SIMPLE, bindparam("query", type_=String))
    matches = func.to_tsvector(_SIMPLE, Author.name).op("@@")(query)
    found = select(*AUTHOR.columns()).where(matches).limit(literal_column(str(AUTHOR_MATCHES)))
    found_cte = found.cte()
    statement = (
        select(found_cte)
        .order_by(found_cte.c.name, found_cte.c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    return statements.Prepared.of(statement)


# Type-ahead's statements, compiled once (`$1` the query or patterns, `$2` the limit).
_AUTHORS_BY_PREFIXES = _authors_by_prefixes()
# (LIKE's default escape character is the backslash `_escape_like` uses; `ILIKE ALL`
# takes no ESCAPE clause.)
_GENRES_BY_WORDS = statements.Prepared.of(
    select(*GENRE.columns())
    .where(Genre.name.ilike(all_(bindparam("patterns", type_=ARRAY(String)))))
    .order_by(Genre.name)
    .limit(bindparam("limit", type_=Integer))
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
        pattern = "%" + _escape_like(search) + "%"
        return [Author.name.ilike(pattern, escape="\\")]

    async def list_page(self, search: str | None, page: PageRequest) -> Page[AuthorRow]:
        statement = select(*AUTHOR.columns(), *self.ORDERING.columns()).where(*self._search(search))
        rows = (await self.session.execute(apply_keyset(statement, self.ORDERING, page))).all()
        return to_page(rows, self.ORDERING, page, AUTHOR.of)

    async def count(self, search: str | None) -> int:
        statement = select(func.count()).select_from(Author).where(*self._search(search))
        return int(await self.session.scalar(statement) or 0)

    async def by_name_prefixes(self, words: Sequence[str], limit: int) -> list[AuthorRow]:
        """Up to `limit` authors with a name word starting with each of `words`, by name
        (through the name-words index: bounded whatever the number of authors)."""
        query = " & ".join(f"{word}:*" for word in words)
        rows = await statements.fetch(self.session, _AUTHORS_BY_PREFIXES.sql, query, limit)
        return AUTHOR.all(rows)

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

    async def by_name_words(self, words: Sequence[str], limit: int) -> list[GenreRow]:
        """Genres whose name contains each of `words` (a handful of rows: no index)."""
        patterns = [f"%{_escape_like(word)}%" for word in words]
        rows = await statements.fetch(self.session, _GENRES_BY_WORDS.sql, patterns, limit)
        return GENRE.all(rows)

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


@dataclass(frozen=True)
class TermCandidate:
    """A vocabulary word close to word number `position` of a search (its stem: `stem`,
    None for a stop word)."""

    position: int
    stem: str | None
    term: str
    lexeme: str
    books: int


class TermRepository:
    """The search vocabulary (`search_terms`): typo candidates and completions. Every
    statement reads a bounded slice of it through its prefix index, never the books."""

    CANDIDATES_PER_WORD = 300

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def candidates(self, words: Sequence[str]) -> list[TermCandidate]:
        """For each word, the most used vocabulary words with its first letter and a
        length within two of its own (typos rarely touch the first letter)."""
        statement = text(
            """
            SELECT w.position, (ts_lexize('english_stem', w.word))[1] AS stem,
                   t.term, t.lexeme, t.books
            FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(word, position)
            CROSS JOIN LATERAL (
              SELECT term, lexeme, books FROM search_terms
              WHERE term ~>=~ left(w.word, 1) AND term ~<~ (left(w.word, 1) || :last)
                AND char_length(term) BETWEEN char_length(w.word) - 2
                                          AND char_length(w.word) + 2
              ORDER BY books DESC, term
              LIMIT :limit) AS t
            """
        )
        rows = await self.session.execute(
            statement,
            {"words": list(words), "last": LAST_CHARACTER, "limit": self.CANDIDATES_PER_WORD},
        )
        return [
            TermCandidate(row.position - 1, row.stem, row.term, row.lexeme, row.books)
            for row in rows
        ]

    async def completions(self, prefix: str, limit: int) -> list[str]:
        """The most used words starting with `prefix`."""
        rows = await statements.fetch(self.session, _COMPLETIONS, prefix, LAST_CHARACTER, limit)
        return [row[0] for row in rows]

    async def words_like(self, prefix: str) -> list[tuple[str, int]]:
        """(word, books) of the most used words with `prefix`'s first letter that are at
        least as long as it less one: where a misspelt prefix's completions are."""
        rows = await statements.fetch(
            self.session, _WORDS_LIKE, prefix, LAST_CHARACTER, self.CANDIDATES_PER_WORD
        )
        return [(row[0], row[1]) for row in rows]


# Type-ahead's vocabulary reads, run as they are on the session's asyncpg connection.
_COMPLETIONS = """
SELECT term FROM search_terms
WHERE term ~>=~ $1 AND term ~<~ ($1 || $2)
ORDER BY books DESC, term LIMIT $3
"""
_WORDS_LIKE = """
SELECT term, books FROM search_terms
WHERE term ~>=~ left($1, 1) AND term ~<~ (left($1, 1) || $2)
  AND char_length(term) >= char_length($1) - 1
ORDER BY books DESC, term LIMIT $3
"""


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
        """Stage books (`seq` first: 0, 1, 2, ... in the order of their ids to be, then
        `BOOK_COLUMNS`) with their credits and shelves, which refer to them by `seq`."""
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
        the vocabulary and the search postings, the triggers back on, fresh planner
        statistics, and one change notification for the response caches."""
        indexes = await self._secondary_indexes() if rebuild_indexes else []
        for name, _ in indexes:
            await self._run(f'DROP INDEX "{name}"')
        staged = await (await self._driver()).fetchval("SELECT count(*) FROM seed_books")
        steps: list[str] = []
        first = 0
        if staged:
            # Ids reserved in one go (the table is locked by the ALTER TABLEs): a staged
            # book's id is `first + seq`, so credits and shelves need no join to find it.
            # Rows are written most popular first: search walks the popularity index for
            # common terms, and reads neighbouring pages instead of one page per row (what
            # `CLUSTER books USING ix_books_popularity_id` does for a live catalog).
            first = await (await self._driver()).fetchval(
                "SELECT nextval(pg_get_serial_sequence('books', 'id'))"
            )
            await self._run(
                "SELECT setval(pg_get_serial_sequence('books', 'id'), $1::bigint)",
                first + staged - 1,
            )
            steps = [
                f"""
                INSERT INTO books (id, {", ".join(self.BOOK_COLUMNS)}, search_vector)
                SELECT $1::bigint + s.seq,
                       {", ".join(f"s.{column}" for column in self.BOOK_COLUMNS)},
                       book_search_document(s.title, s.subtitle, s.description, n.names)
                FROM seed_books s
                LEFT JOIN (SELECT c.seq, string_agg(a.name, ' ' ORDER BY c.position) AS names
                           FROM seed_credits c JOIN authors a ON a.id = c.author_id
                           GROUP BY c.seq) n ON n.seq = s.seq
                ORDER BY s.popularity DESC, s.seq DESC
                """,  # noqa: S608 - column names are constants
                "INSERT INTO book_authors (book_id, author_id, position) "
                "SELECT $1::bigint + seq, author_id, position FROM seed_credits",
                "INSERT INTO book_genres (book_id, genre_id) "
                "SELECT $1::bigint + seq, genre_id FROM seed_shelves",
            ]
        if indexes:
            await self._run("SET LOCAL maintenance_work_mem = '256MB'")
        total = len(steps) + len(indexes) + 3
        for done, statement in enumerate(steps, start=1):
            await self._run(statement, first)
            progress("search data and indexes", done, total)
        for done, (_, definition) in enumerate(indexes, start=len(steps) + 1):
            await self._run(definition)
            progress("search data and indexes", done, total)
        await self.end_load()
        await self._run("SELECT rebuild_search_terms()")
        progress("search data and indexes", total - 2, total)
        await self._run("SELECT rebuild_search_postings()")
        progress("search data and indexes", total - 1, total)
        analyzed = (
            *self.LOAD_TABLES,
            "genres",
            "search_terms",
            "search_lexemes",
            "search_postings",
        )
        await self._run(f"ANALYZE {', '.join(analyzed)}")
        await self._run("SELECT pg_notify('catalog_changed', '')")
        progress("search data and indexes", total, total)

    async def end_load(self) -> None:
        """The staging tables gone and the triggers back on."""
        await self._run("DROP TABLE seed_books, seed_credits, seed_shelves")
        for table in self.LOAD_TABLES:
            await self._run(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    async def catalog_is_empty(self) -> bool:
        return await self.session.scalar(select(Book.id).limit(1)) is None
