"""Catalog tables. Authors and genres live in this domain: they exist for the books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin

TITLE_MAX_LENGTH = 300
NAME_MAX_LENGTH = 200
GENRE_NAME_MAX_LENGTH = 100
SLUG_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 10_000
URL_MAX_LENGTH = 2048
LANGUAGE_MAX_LENGTH = 35
MAX_PRICE = Decimal("99999999.99")  # NUMERIC(10, 2)
TERM_MAX_LENGTH = 100
NOT_ARCHIVED = text("NOT is_archived")


class Author(TimestampMixin, Base):
    __tablename__ = "authors"
    __table_args__ = (
        Index(None, "name", "id"),
        # Type-ahead finds authors by the start of any word of their name.
        Index(
            "ix_authors_name_words",
            text("to_tsvector('simple'::regconfig, name::text)"),
            postgresql_using="gin",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    bio: Mapped[str | None] = mapped_column(Text)


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(GENRE_NAME_MAX_LENGTH), unique=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX_LENGTH), unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class Book(TimestampMixin, Base):
    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
        CheckConstraint("prebook_demand >= 0", name="prebook_demand_not_negative"),
        CheckConstraint("page_count IS NULL OR page_count > 0", name="page_count_positive"),
        # One index per sort order of the public listing, over live books only: every
        # `books` page is an index range scan whatever the order.
        Index("ix_books_created_at_id", "created_at", "id", postgresql_where=NOT_ARCHIVED),
        Index("ix_books_price_id", "price", "id", postgresql_where=NOT_ARCHIVED),
        Index("ix_books_title_id", "title", "id", postgresql_where=NOT_ARCHIVED),
        Index("ix_books_release_date_id", "release_date", "id", postgresql_where=NOT_ARCHIVED),
        Index("ix_books_search_vector", "search_vector", postgresql_using="gin"),
        # The order searches take their candidates in when a term is common (see
        # `repository.Search`): the best-selling matches first, a bounded number of them.
        Index("ix_books_popularity_id", "popularity", "id", postgresql_where=NOT_ARCHIVED),
        # The RATING order (books without reviews sort as 0, below every rated book; among
        # equal averages, the more reviewed first).
        Index(
            "ix_books_rating_id",
            "rating_average",
            "rating_count",
            "id",
            postgresql_where=NOT_ARCHIVED,
        ),
        CheckConstraint(
            "cardinality(rating_histogram) = 5 AND 0 <= ALL(rating_histogram)",
            name="rating_histogram_five_counts",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    subtitle: Mapped[str | None] = mapped_column(String(TITLE_MAX_LENGTH))
    isbn13: Mapped[str] = mapped_column(String(13), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    stock_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Copies waited for by pending prebooks. While anyone waits, the stock is theirs: a
    # released book with waiting prebooks sells nothing until the queue is served.
    prebook_demand: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    release_date: Mapped[date] = mapped_column(Date)
    page_count: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_MAX_LENGTH))
    publisher: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH))
    cover_url: Mapped[str | None] = mapped_column(String(URL_MAX_LENGTH))
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A static popularity signal (a sales rank in a live shop; the seed draws one): search
    # ranks only the most popular matches of a common term, so its cost follows the page.
    popularity: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Maintained by database triggers (see the migration) over the title, subtitle,
    # description and the authors' names, so it is right whichever code path writes.
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR)
    # The rating summary of the published reviews, kept by the transaction that writes a
    # review (app.reviews): how many gave 1, 2, 3, 4 and 5 stars, their average rounded to
    # two decimals (0 without reviews) and their number, the sort keys of the RATING order.
    rating_histogram: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{0,0,0,0,0}'")
    )
    rating_average: Mapped[Decimal] = mapped_column(Numeric(3, 2), server_default=text("0"))
    rating_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))


book_authors = Table(
    "book_authors",
    Base.metadata,
    Column("book_id", ForeignKey("books.id", ondelete="CASCADE"), primary_key=True),
    Column("author_id", ForeignKey("authors.id", ondelete="RESTRICT"), primary_key=True),
    Column("position", SmallInteger, nullable=False),
    Index(None, "author_id", "book_id"),
)

book_genres = Table(
    "book_genres",
    Base.metadata,
    Column("book_id", ForeignKey("books.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "genre_id", "book_id"),
)


class SearchTerm(Base):
    """The catalog's vocabulary: each distinct word of titles, subtitles, author and genre
    names, with its stem and about how many books use it. Typo correction and type-ahead
    read this small table instead of the books (pg_trgm's own advice for spelling
    suggestions). Triggers add the words of new books and names; `rebuild_search_terms()`
    (run by the seed) recounts."""

    __tablename__ = "search_terms"
    __table_args__ = (
        Index("ix_search_terms_term_prefix", "term", postgresql_ops={"term": "text_pattern_ops"}),
        Index(
            "ix_search_terms_lexeme_prefix", "lexeme", postgresql_ops={"lexeme": "text_pattern_ops"}
        ),
    )

    term: Mapped[str] = mapped_column(String(TERM_MAX_LENGTH), primary_key=True)
    lexeme: Mapped[str] = mapped_column(String(TERM_MAX_LENGTH))
    books: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class SearchLexeme(Base):
    """Each lexeme of the search documents (stemmed, as the search index holds them) with
    about how many books have it, and where its postings stop: `search_postings` holds
    every book with the lexeme whose popularity is at least `cutoff` (every book with it
    when `cutoff` is null). Search reads this table instead of the search index to learn
    which word of a query is rarest. Kept by triggers; `rebuild_search_postings()` (run by
    the seed) recounts and recomputes the cutoffs."""

    __tablename__ = "search_lexemes"

    lexeme: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    books: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    cutoff: Mapped[int | None] = mapped_column(Integer)


class SearchPosting(Base):
    """The most popular books of each lexeme, in the order a common term's candidates are
    taken in (popularity, then id, both descending): one index range scan of bounded length
    instead of the search index's whole posting list. Archived books keep their postings
    (search filters them out)."""

    __tablename__ = "search_postings"
    __table_args__ = (Index(None, "book_id"),)

    lexeme: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    popularity: Mapped[int] = mapped_column(Integer, primary_key=True)
    book_id: Mapped[int] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), primary_key=True
    )
