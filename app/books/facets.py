"""The facet counts of a book listing (`BookConnection.facets`): one statement.

Built with SQLAlchemy once per shape of the listing (which filters are set, whether and
how it searches) and compiled to SQL text with named parameters (`statements.Prepared`),
then run on the session's asyncpg connection: a request only binds its values. Building
the statement per request (four grouped selects over a sample of five CTEs, each filter
again per facet) cost several times what PostgreSQL spends counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.books.models import Book, Genre, SearchTerm, book_genres
from app.books.repository import (
    LAST_CHARACTER,
    STOCK_PARAMETERS,
    BookCriteria,
    Search,
    Stock,
    availability_of,
    filter_conditions,
    named_value,
    search_query,
    search_tokens,
    wanted_availability,
)
from app.books.schemas import Availability, GenreRow
from app.db import statements

# Facets are counted over a sample of at most this many books, scaled up beyond.
FACET_SAMPLE = 1_000
# ... taken among this many most popular books (see `_statement`),
FACET_WINDOW = 2_000  # at most STOP_WORD_WINDOW (`Search.window_filter`)
# ... or among all matches of a rare search, when its words have at most this many postings
# in the search index (the vocabulary's counts): reading them costs about a page.
FACET_POSTINGS = 10_000
# ... each word of which reads at most this many words of the vocabulary (the words a prefix
# starts): a prefix with more is no rare search.
FACET_PREFIX_TERMS = 1_000
# Price bands of the price facet: [low, high), the last one open.
PRICE_RANGES: tuple[tuple[Decimal, Decimal | None], ...] = (
    (Decimal("0.00"), Decimal("10.00")),
    (Decimal("10.00"), Decimal("20.00")),
    (Decimal("20.00"), Decimal("30.00")),
    (Decimal("30.00"), Decimal("50.00")),
    (Decimal("50.00"), None),
)
_BOUNDED_RANGES = [(i, (low, high)) for i, (low, high) in enumerate(PRICE_RANGES) if high]


@dataclass(frozen=True)
class FacetCounts:
    genres: dict[int, int]
    availability: dict[Availability, int]
    languages: dict[str, int]
    prices: dict[tuple[Decimal, Decimal | None], int]
    exact: bool
    genre_rows: dict[int, GenreRow]  # the genres counted, read with the counts


@dataclass(frozen=True)
class _Shape:
    """What the facet statement's text depends on: which filters are set, and the search's
    kind (None; "words" with or without prefixes; a stop-word query's own titles test)."""

    search: tuple[object, ...] | None
    include_archived: bool
    author: bool
    shelf: bool
    released_after: bool
    released_before: bool
    min_rating: bool
    genres: bool
    min_price: bool
    max_price: bool
    languages: bool
    # The availabilities allowed: None when any, empty when none (`inStock` against
    # `availability`).
    availability: bool | None
    # FACET_WINDOW, FACET_SAMPLE, FACET_POSTINGS, FACET_PREFIX_TERMS
    limits: tuple[int, int, int, int]


def _parameter(name: str, kind: Any) -> Any:
    return bindparam(name, type_=kind)


def _filters(
    criteria: BookCriteria, book: Any, *, own: str | None = None
) -> list[ColumnElement[bool]]:
    """The facets' own filters of the listing on `book` (an alias of the sample), but the one
    of facet `own`, their values named (`_values`)."""
    return [
        condition
        for facet, condition in filter_conditions(
            criteria, STOCK_PARAMETERS, book, bind=named_value, facets=True
        )
        if facet != own
    ]


def _listed(criteria: BookCriteria) -> list[ColumnElement[bool]]:
    """The filters of the listing that are no facet's own, on the books table: every facet
    counts only the books they allow."""
    conditions: list[ColumnElement[bool]] = []
    if not criteria.include_archived:
        conditions.append(~Book.is_archived)
    conditions.extend(
        condition
        for _, condition in filter_conditions(
            criteria, STOCK_PARAMETERS, Book, bind=named_value, facets=False
        )
    )
    return conditions


def _search_parts(shape: _Shape, search: Search | None) -> tuple[Any, Any, Any]:
    """(the test of a walked row, the condition of every match, the words whose postings
    tell a rare search) of the search: parameters for plain full-text queries (`Search`'s
    query: the websearch query, or with every word also a prefix), the stop-word query's
    own expressions otherwise (their words are in the text: a stop-word query's shape holds
    its words, `search_tokens`)."""
    if search is None:
        return None, None, None
    if search.only_stop_words:
        return search.window_filter, search.condition, None
    query = search_query(shape.search == ("words", True))
    row_filter = Book.search_vector.op("@@")(select(query).scalar_subquery())
    return row_filter, Book.search_vector.op("@@")(query), _parameter("words", ARRAY(String))


# The planner's count of the books (kept by VACUUM and ANALYZE): what a walk's share scales to.
_LIVE_BOOKS: ColumnElement[Any] = literal_column(
    "(SELECT reltuples FROM pg_class WHERE oid = 'books'::regclass)"
)
_SUMMARY = {True: "sample:exact", False: "sample:estimated"}


def _rare(words: Any, prefixes: bool, limit: int, terms_read: int) -> Any:
    """A CTE of one row: are the search's words rare, with at most `limit` postings in the
    search index (the vocabulary's counts), counting the words they are prefixes of when the
    search uses prefixes (`Search.prefixes`), each vocabulary word once? Each distinct word
    reads at most FACET_PREFIX_TERMS vocabulary words along the prefix index: a prefix that
    has more is not rare, whatever their counts."""
    word = func.unnest(words).table_valued("word").render_derived(name="w")
    distinct = select(word.c.word.label("word")).distinct().cte("facet_words")
    if prefixes:
        matched = and_(
            SearchTerm.term.op("~>=~")(distinct.c.word),
            SearchTerm.term.op("~<~")(
                distinct.c.word.op("||")(_parameter("last_character", String))
            ),
        )
    else:
        matched = SearchTerm.term == distinct.c.word
    found = select(SearchTerm.term, SearchTerm.books).where(matched).limit(terms_read).lateral("s")
    read = (
        select(distinct.c.word, found.c.term, found.c.books)
        .select_from(distinct)
        .join(found, true())
        .cte("facet_vocabulary")
        .prefix_with("MATERIALIZED")
    )
    terms = select(read.c.term, read.c.books).distinct().subquery("t")
    postings = select(func.coalesce(func.sum(terms.c.books), 0)).scalar_subquery()
    capped = exists(select(read.c.word).group_by(read.c.word).having(func.count() >= terms_read))
    return select(and_(postings <= limit, ~capped).label("rare")).cte("facet_rare")


def _statement(shape: _Shape, criteria: BookCriteria, search: Search | None) -> Select[Any]:
    """The facet statement of `shape` (the shape of `criteria`): rows (facet, value, count,
    genre name, genre slug, genre description) and a summary row (_SUMMARY[exact?],
    estimated matches, sample size).

    The sample, bounded whatever the catalog and the term: the FACET_WINDOW most popular
    books are walked along the popularity index, each tested against the search and the
    filters that are no facet's own. Their matches are the sample, scaled by the share of
    the walk they are. When that share is small (at most 2 * FACET_SAMPLE matches in the
    catalog) and the search's words are rare too (at most FACET_POSTINGS postings to read),
    the sample is instead the first FACET_SAMPLE + 1 of all matches, read through the plan
    PostgreSQL picks for all of them (the search index) but only as far as needed: exact
    when that is all of them. A catalog no larger than the window is walked whole: exact.
    The walk holds no archived books: a listing with archived books (an admin's) takes all
    its matches instead when the walk is the whole catalog, and is estimated from the
    walk's live books otherwise.
    Each facet then applies the facets' filters but its own to the sample's rows."""
    window, sample_size, postings_limit, prefix_terms = shape.limits
    listed = _listed(criteria)
    row_filter, condition, words = _search_parts(shape, search)
    columns = [
        Book.id,
        Book.price,
        Book.language,
        Book.release_date,
        Book.stock_quantity,
        Book.prebook_demand,
    ]
    filtered = [row_filter] if row_filter is not None else []
    # The window and one book past it: is there more catalog than the window?
    walk = (
        select(*columns, func.coalesce(and_(true(), *listed, *filtered), False).label("hit"))
        .where(~Book.is_archived)
        .order_by(Book.popularity.desc(), Book.id.desc())
        .limit(window + 1)
        .cte("facet_walk")
        .prefix_with("MATERIALIZED")
    )
    walked = func.count()
    hits = func.count().filter(walk.c.hit)
    stats = (
        select(
            hits.label("hits"),
            (walked > window).label("more"),
            (hits * func.greatest(_LIVE_BOOKS, walked) / func.greatest(walked, 1)).label(
                "estimate"
            ),
        )
        .select_from(walk)
        .cte("facet_walk_stats")
    )
    few = [stats.c.more, stats.c.estimate <= 2 * sample_size]
    if words is not None:  # a stop-word query has a bounded window
        rare = _rare(words, shape.search == ("words", True), postings_limit, prefix_terms)
        few.append(select(rare.c.rare).scalar_subquery())  # read only when the rest holds
    use_every: ColumnElement[bool] = and_(*few)
    if shape.include_archived:
        # The walk (the popularity index) holds no archived book: a catalog it walks whole
        # is counted from all the matches instead, archived ones too.
        use_every = or_(use_every, ~stats.c.more)
    # Decided once (MATERIALIZED), read by the sample's two parts and by `exact`.
    decided = (
        select(use_every.label("use_all"))
        .select_from(stats)
        .cte("facet_use_all")
        .prefix_with("MATERIALIZED")
    )
    use_all = select(decided.c.use_all).scalar_subquery()
    matching = [*listed, condition] if condition is not None else listed
    # Planned for every match, read only as far as the sample needs (a CTE is read lazily).
    every = select(*columns).where(*matching).cte("facet_matches").prefix_with("MATERIALIZED")
    sample = (
        union_all(
            select(*(walk.c[c.key] for c in columns)).where(walk.c.hit, ~use_all),
            select(every).where(use_all).limit(sample_size + 1),
        )
        .cte("facet_sample")
        .prefix_with("MATERIALIZED")
    )
    book: Any = aliased(Book, sample)
    size = select(func.count()).select_from(sample).scalar_subquery()
    exact = case(
        (use_all, size <= sample_size),
        else_=select(~stats.c.more).select_from(stats).scalar_subquery(),
    )
    estimate = select(func.greatest(stats.c.estimate, size)).select_from(stats).scalar_subquery()
    no_text = null().cast(String)
    summary = select(
        case((exact, literal(_SUMMARY[True])), else_=literal(_SUMMARY[False])),
        func.cast(func.round(estimate), String),
        size,
        no_text,
        no_text,
        no_text,
    )
    # The genres counted, with their names (the facet shows them): joined after counting.
    shelves = book_genres.alias("facet_shelves")
    by_genre = (
        select(shelves.c.genre_id.label("genre_id"), func.count().label("books"))
        .select_from(book)
        .join(shelves, shelves.c.book_id == book.id)
        .where(*_filters(criteria, book, own="genre"))
        .group_by(shelves.c.genre_id)
        .subquery("facet_genres")
    )
    parts: list[Any] = [
        select(
            literal("genre"),
            func.cast(by_genre.c.genre_id, String),
            by_genre.c.books,
            Genre.name,
            Genre.slug,
            Genre.description,
        ).join_from(by_genre, Genre, Genre.id == by_genre.c.genre_id)
    ]
    bucket = case(
        *((book.price < high, literal(str(index))) for index, (_, high) in _BOUNDED_RANGES),
        else_=literal(str(len(PRICE_RANGES) - 1)),
    )
    values: dict[str, ColumnElement[Any]] = {
        "availability": availability_of(STOCK_PARAMETERS, book),
        "language": book.language,
        "price": bucket,
    }
    for facet, value in values.items():
        key = func.cast(value, String)
        grouped = (
            select(literal(facet), key, func.count(), no_text, no_text, no_text)
            .select_from(book)
            .where(*_filters(criteria, book, own=facet), value.is_not(None))
        )
        parts.append(grouped.group_by(key))
    parts.append(summary)
    return union_all(*parts)  # type: ignore[return-value]


# The compiled statements, the least recently used dropped first. Stop-word queries are
# compiled with their words (a handful of the few hundred stop words): at most this many
# shapes are kept.
_MAX_SHAPES = 512
_prepared: statements.Shapes[_Shape, statements.Prepared] = statements.Shapes(_MAX_SHAPES)


def _shape(criteria: BookCriteria, search: Search | None) -> _Shape:
    kind: tuple[object, ...] | None = None
    if search is not None:
        if search.only_stop_words:  # its words as the titles test reads them
            kind = ("titles", search_tokens(search.term))
        else:
            kind = ("words", search.prefixes)
    wanted = wanted_availability(criteria)
    return _Shape(
        search=kind,
        include_archived=criteria.include_archived,
        author=criteria.author_id is not None,
        shelf=criteria.shelf_genre_id is not None,
        released_after=criteria.released_after is not None,
        released_before=criteria.released_before is not None,
        min_rating=criteria.min_rating is not None,
        genres=bool(criteria.genre_ids),
        min_price=criteria.min_price is not None,
        max_price=criteria.max_price is not None,
        languages=bool(criteria.languages),
        availability=None if wanted is None else bool(wanted),
        limits=(FACET_WINDOW, FACET_SAMPLE, FACET_POSTINGS, FACET_PREFIX_TERMS),
    )


def _values(criteria: BookCriteria, stock: Stock, search: Search | None) -> dict[str, Any]:
    wanted = wanted_availability(criteria) or ()
    values: dict[str, Any] = {
        "today": stock.today,
        "low_stock_threshold": stock.low_stock_threshold,
        "author_id": criteria.author_id,
        "shelf_genre_id": criteria.shelf_genre_id,
        "released_after": criteria.released_after,
        "released_before": criteria.released_before,
        "min_rating": criteria.min_rating,
        "genre_ids": list(criteria.genre_ids),
        "min_price": criteria.min_price,
        "max_price": criteria.max_price,
        "languages": list(criteria.languages),
        "availability": [value.value for value in wanted],
        "last_character": LAST_CHARACTER,
    }
    if search is not None and not search.only_stop_words:
        values |= search.parameters
        values["words"] = search.words
    return values


class FacetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counts(
        self, criteria: BookCriteria, stock: Stock, search: Search | None
    ) -> FacetCounts:
        """Each facet's counts under the search and every other filter but its own, from
        one sample (see `_statement`): exact when the sample holds every match, else scaled
        to the estimated number of matches."""
        shape = _shape(criteria, search)
        prepared = _prepared.get(
            shape, lambda: statements.Prepared.of(_statement(shape, criteria, search))
        )
        rows = await statements.fetch(
            self.session, prepared.sql, *prepared.args(_values(criteria, stock, search))
        )
        counts: dict[str, dict[str, int]] = {
            "genre": {},
            "availability": {},
            "language": {},
            "price": {},
        }
        genre_rows: dict[int, GenreRow] = {}
        exact, scale = True, 1.0
        for facet, found, count, name, slug, description in rows:
            if facet == "genre":
                genre_rows[int(found)] = GenreRow(int(found), name, slug, description)
                counts[facet][found] = count
            elif facet in _SUMMARY.values():  # (exact?, estimated matches, sample size)
                exact = facet == _SUMMARY[True]
                scale = int(found) / max(1, count)
            else:
                counts[facet][found] = count
        if not exact:
            counts = {
                facet: {k: round(v * scale) for k, v in values_.items()}
                for facet, values_ in counts.items()
            }
        return FacetCounts(
            genres={int(k): v for k, v in counts["genre"].items()},
            availability={Availability(k): v for k, v in counts["availability"].items()},
            languages=counts["language"],
            prices={PRICE_RANGES[int(k)]: v for k, v in counts["price"].items()},
            exact=exact,
            genre_rows=genre_rows,
        )
