"""Catalog read shapes, and inputs each defined once (GraphQL shape, description, limits,
normalisation): ISBNs, money, dates, bounded strings and lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, HttpUrl, model_validator

from app.books.models import (
    DESCRIPTION_MAX_LENGTH,
    GENRE_NAME_MAX_LENGTH,
    LANGUAGE_MAX_LENGTH,
    MAX_PRICE,
    NAME_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    URL_MAX_LENGTH,
)
from app.core.validation import MULTI_LINE, SINGLE_LINE, bounded
from app.graphql.enums import graphql_enum
from app.graphql.ids import id_decoder
from app.graphql.inputs import GLOBAL_ID, GraphQLType, Input, graphql_input


class Availability(StrEnum):
    IN_STOCK = "IN_STOCK"
    LOW_STOCK = "LOW_STOCK"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PREORDER = "PREORDER"


graphql_enum(
    description="Whether a book can be bought now.",
    values={
        "IN_STOCK": "Released and in stock.",
        "LOW_STOCK": "Released, only a few copies left.",
        "OUT_OF_STOCK": "Released but sold out; it can be pre-ordered (prebooked).",
        "PREORDER": "Not released yet; it can be pre-ordered (prebooked).",
    },
)(Availability)


# -- what the repository reads --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookRow:
    id: int
    title: str
    subtitle: str | None
    isbn13: str
    description: str | None
    price: Decimal
    stock_quantity: int
    prebook_demand: int
    release_date: date
    page_count: int | None
    language: str | None
    publisher: str | None
    cover_url: str | None
    is_archived: bool
    created_at: datetime
    updated_at: datetime
    availability: str  # an Availability, computed against the request's Stock
    rating_histogram: list[int]  # published reviews giving 1..5 stars (app.reviews keeps it)
    rating_average: Decimal  # rounded to two decimals; 0 without reviews


@dataclass(frozen=True, slots=True)
class AuthorRow:
    id: int
    name: str
    bio: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GenreRow:
    id: int
    name: str
    slug: str
    description: str | None


# -- inputs ---------------------------------------------------------------------------------

MAX_AUTHORS_PER_BOOK = 20
MAX_GENRES_PER_BOOK = 10
MAX_FILTER_GENRES = 20
SEARCH_MAX_LENGTH = 200
# Every word of a search is matched, ranked and possibly corrected: a bound on the words
# bounds that work (and the cost model prices a search by its words).
SEARCH_MAX_WORDS = 16
MAX_FILTER_LANGUAGES = 10
_SEARCH_WORDS = re.compile(r"\w+", re.UNICODE)


def _few_words(value: str) -> str:
    if len(_SEARCH_WORDS.findall(value)) > SEARCH_MAX_WORDS:
        raise ValueError(f"must have at most {SEARCH_MAX_WORDS} words")
    return value


SearchText = Annotated[
    str, bounded(SEARCH_MAX_LENGTH, min_length=0), SINGLE_LINE, AfterValidator(_few_words)
]


def isbn13_of(value: str) -> str:
    """The ISBN-13 of an ISBN-13 or ISBN-10 (hyphens and spaces ignored), checksum verified."""
    digits = re.sub(r"[\s-]", "", value).upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        weights = range(10, 0, -1)
        total = sum(w * (10 if c == "X" else int(c)) for w, c in zip(weights, digits, strict=True))
        if total % 11:
            raise ValueError("is not a valid ISBN-10 (checksum)")
        digits = "978" + digits[:9]
        return digits + str(
            (10 - sum((1, 3)[i % 2] * int(c) for i, c in enumerate(digits)) % 10) % 10
        )
    if not re.fullmatch(r"\d{13}", digits):
        raise ValueError("must be an ISBN-13 (13 digits) or ISBN-10")
    if sum((1, 3)[i % 2] * int(c) for i, c in enumerate(digits)) % 10:
        raise ValueError("is not a valid ISBN-13 (checksum)")
    return digits


def _slug(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", value):
        raise ValueError("must be lower-case letters, digits and single hyphens")
    return value


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:SLUG_MAX_LENGTH] or "genre"


Title = Annotated[str, bounded(TITLE_MAX_LENGTH), SINGLE_LINE]
Name = Annotated[str, bounded(NAME_MAX_LENGTH), SINGLE_LINE]
GenreName = Annotated[str, bounded(GENRE_NAME_MAX_LENGTH), SINGLE_LINE]
Slug = Annotated[str, bounded(SLUG_MAX_LENGTH), AfterValidator(_slug)]
LongText = Annotated[str, bounded(DESCRIPTION_MAX_LENGTH, min_length=0), MULTI_LINE]
Isbn = Annotated[str, Field(max_length=17), AfterValidator(isbn13_of)]
Price = Annotated[Decimal, Field(gt=0, le=MAX_PRICE, max_digits=10, decimal_places=2)]
PriceBound = Annotated[Decimal, Field(ge=0, le=MAX_PRICE, decimal_places=2)]
Language = Annotated[
    str,
    bounded(LANGUAGE_MAX_LENGTH, min_length=2),
    Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"),
]
CoverUrl = Annotated[HttpUrl, Field(max_length=URL_MAX_LENGTH)]
PageCount = Annotated[int, Field(gt=0, le=100_000)]
MAX_STOCK = 1_000_000  # copies of one book; far from the column's int4 limit
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK)]
AuthorID = Annotated[int, BeforeValidator(id_decoder("Author")), GLOBAL_ID]
GenreID = Annotated[int, BeforeValidator(id_decoder("Genre")), GLOBAL_ID]
AuthorSearch = Annotated[str, bounded(NAME_MAX_LENGTH, min_length=0), SINGLE_LINE]
# A Float in GraphQL (as `RatingSummary.average`), compared exactly (as the stored average).
MinRating = Annotated[Decimal, Field(ge=1, le=5, decimal_places=2), GraphQLType(float)]


def _unique(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an ID")
    return values


AuthorIDs = Annotated[
    list[AuthorID],
    Field(min_length=1, max_length=MAX_AUTHORS_PER_BOOK),
    AfterValidator(_unique),
]
GenreIDs = Annotated[list[GenreID], Field(max_length=MAX_GENRES_PER_BOOK), AfterValidator(_unique)]


class BookFilterInput(Input):
    search: SearchText | None = Field(
        default=None,
        description="Words to look for in titles, authors and descriptions (at most 200 "
        'characters and 16 words; web-search syntax: "exact phrase", -exclude, or). When '
        "nothing matches, misspelt words are corrected from the catalog's vocabulary "
        "(`correctedQuery` tells).",
    )
    author_id: AuthorID | None = Field(default=None, description="By this author.")
    genre_ids: Annotated[list[GenreID], Field(max_length=MAX_FILTER_GENRES)] | None = Field(
        default=None, description="In any of these genres (at most 20)."
    )
    min_price: PriceBound | None = Field(
        default=None, description="Price at least (0 or more, two decimals at most)."
    )
    max_price: PriceBound | None = Field(
        default=None, description="Price at most (0 or more, two decimals at most)."
    )
    in_stock: bool | None = Field(
        default=None, description="true: can be bought now (IN_STOCK, LOW_STOCK); false: cannot."
    )
    availability: Annotated[list[Availability], Field(max_length=4)] | None = Field(
        default=None, description="Any of these availabilities (at most 4)."
    )
    released_after: date | None = Field(default=None, description="Released on or after this date.")
    released_before: date | None = Field(
        default=None, description="Released on or before this date."
    )
    languages: Annotated[list[Language], Field(max_length=MAX_FILTER_LANGUAGES)] | None = Field(
        default=None, description='In any of these languages (BCP 47 tags, e.g. "fr"; at most 10).'
    )
    min_rating: MinRating | None = Field(
        default=None,
        description="Average rating at least this (1 to 5, two decimals at most); books "
        "without reviews are left out.",
    )
    include_archived: bool = Field(
        default=False, description="Admins only: include archived books."
    )

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        low, high = self.min_price, self.max_price
        if low is not None and high is not None and low > high:
            raise ValueError("`minPrice` must not exceed `maxPrice`")
        after, before = self.released_after, self.released_before
        if after is not None and before is not None and after > before:
            raise ValueError("`releasedAfter` must not be later than `releasedBefore`")
        return self


@graphql_input(
    BookFilterInput, description="Which books to list; every condition is optional (AND-ed)."
)
class BookFilter: ...


class AuthorFilterInput(Input):
    search: AuthorSearch | None = Field(
        default=None, description="Part of the name (at most 200 characters)."
    )


@graphql_input(AuthorFilterInput, description="Which authors to list.")
class AuthorFilter: ...


# Validation runs (and reports errors) in field order; the GraphQL inputs list their fields
# in another order, given to `graphql_input`.
_CREATE_ORDER = ("title", "isbn13", "price", "release_date", "author_ids", "genre_ids")
_OPTIONAL_ORDER = ("subtitle", "description", "page_count", "language", "publisher", "cover_url")


class BookCreateInput(Input):
    title: Title = Field(description="Title (1-300 characters).")
    subtitle: Title | None = Field(default=None, description="Subtitle (1-300 characters).")
    isbn13: Isbn = Field(description="ISBN-13, or an ISBN-10 (converted).")
    description: LongText | None = Field(
        default=None, description="Blurb (up to 10,000 characters)."
    )
    price: Price = Field(description="Price (more than 0, two decimals at most).")
    stock_quantity: Stock = Field(default=0, description="Initial stock (0 to 1,000,000).")
    release_date: date = Field(description="Release date (future = pre-order).")
    page_count: PageCount | None = Field(
        default=None, description="Number of pages (1 to 100,000)."
    )
    language: Language | None = Field(default=None, description="BCP 47 tag, e.g. en.")
    publisher: Name | None = Field(default=None, description="Publisher (1-200 characters).")
    cover_url: CoverUrl | None = Field(
        default=None, description="http(s) URL of the cover (at most 2,048 characters)."
    )
    author_ids: AuthorIDs = Field(description="Authors in credit order (1-20).")
    genre_ids: GenreIDs = Field(default=[], description="Genres (at most 10).")


@graphql_input(
    BookCreateInput,
    description="A new book.",
    order=(*_CREATE_ORDER, "stock_quantity", *_OPTIONAL_ORDER),
)
class CreateBookInput: ...


class BookUpdateInput(Input):
    """Every field optional; a field sent as null clears it (where that is allowed)."""

    title: Title | None = Field(default=None, description="New title (1-300 characters).")
    subtitle: Title | None = Field(
        default=None, description="New subtitle (1-300 characters; null clears it)."
    )
    isbn13: Isbn | None = Field(default=None, description="New ISBN-13 or ISBN-10.")
    description: LongText | None = Field(
        default=None, description="New blurb (up to 10,000 characters; null clears it)."
    )
    price: Price | None = Field(
        default=None, description="New price (more than 0, two decimals at most)."
    )
    release_date: date | None = Field(default=None, description="New release date.")
    page_count: PageCount | None = Field(
        default=None, description="New number of pages (1 to 100,000; null clears it)."
    )
    language: Language | None = Field(
        default=None, description="New BCP 47 tag, e.g. en (null clears it)."
    )
    publisher: Name | None = Field(
        default=None, description="New publisher (1-200 characters; null clears it)."
    )
    cover_url: CoverUrl | None = Field(
        default=None,
        description="New http(s) URL of the cover (at most 2,048 characters; null clears it).",
    )
    author_ids: AuthorIDs | None = Field(
        default=None, description="Replaces the authors (1-20, in credit order)."
    )
    genre_ids: GenreIDs | None = Field(
        default=None, description="Replaces the genres (at most 10)."
    )

    not_null = _CREATE_ORDER


@graphql_input(
    BookUpdateInput,
    description="Changes to a book: omitted fields stay, null clears an optional field. "
    "Stock is changed by restocking and sales, not here.",
    partial=True,
    order=(*_CREATE_ORDER, *_OPTIONAL_ORDER),
)
class UpdateBookInput: ...


class AuthorCreateInput(Input):
    name: Name = Field(description="Name (1-200 characters).")
    bio: LongText | None = Field(
        default=None, description="Short biography (up to 10,000 characters)."
    )


@graphql_input(AuthorCreateInput, description="A new author.")
class CreateAuthorInput: ...


class AuthorUpdateInput(Input):
    name: Name | None = Field(default=None, description="Name (1-200 characters).")
    bio: LongText | None = Field(
        default=None, description="Biography (up to 10,000 characters; null clears it)."
    )

    not_null = ("name",)


@graphql_input(
    AuthorUpdateInput, description="Changes to an author; omitted fields stay.", partial=True
)
class UpdateAuthorInput: ...


class GenreCreateInput(Input):
    name: GenreName = Field(description="Name (1-100 characters, unique).")
    slug: Slug | None = Field(
        default=None,
        description="Unique URL name (1-100 lower-case letters, digits and single hyphens); "
        "derived from the name when omitted.",
    )
    description: LongText | None = Field(
        default=None, description="What it covers (up to 10,000 characters)."
    )


@graphql_input(GenreCreateInput, description="A new genre.")
class CreateGenreInput: ...


class GenreUpdateInput(Input):
    name: GenreName | None = Field(default=None, description="Name (1-100 characters).")
    slug: Slug | None = Field(
        default=None,
        description="Slug (1-100 lower-case letters, digits and single hyphens).",
    )
    description: LongText | None = Field(
        default=None, description="Description (up to 10,000 characters)."
    )

    not_null = ("name", "slug")


@graphql_input(
    GenreUpdateInput, description="Changes to a genre; omitted fields stay.", partial=True
)
class UpdateGenreInput: ...
