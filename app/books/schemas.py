"""Validated catalog inputs: ISBNs, money, dates, bounded strings and lists."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    model_validator,
)
from pydantic.alias_generators import to_camel

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
from app.books.repository import Availability
from app.core.validation import MULTI_LINE, SINGLE_LINE, bounded
from app.graphql.ids import id_decoder

MAX_AUTHORS_PER_BOOK = 20
MAX_GENRES_PER_BOOK = 10
MAX_FILTER_GENRES = 20
SEARCH_MAX_LENGTH = 200


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
AuthorID = Annotated[int, BeforeValidator(id_decoder("Author"))]
GenreID = Annotated[int, BeforeValidator(id_decoder("Genre"))]


def _unique(values: list[int]) -> list[int]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an ID")
    return values


class _Input(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    def given(self) -> dict[str, Any]:
        """The fields the client sent (partial updates), by Python name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def _forbid_null(model: BaseModel, *names: str) -> None:
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"`{to_camel(name)}` cannot be null")


class BookFilterInput(_Input):
    search: Annotated[str, bounded(SEARCH_MAX_LENGTH, min_length=0), SINGLE_LINE] | None = None
    author_id: AuthorID | None = None
    genre_ids: Annotated[list[GenreID], Field(max_length=MAX_FILTER_GENRES)] | None = None
    min_price: PriceBound | None = None
    max_price: PriceBound | None = None
    in_stock: bool | None = None
    availability: Annotated[list[Availability], Field(max_length=4)] | None = None
    released_after: date | None = None
    released_before: date | None = None
    include_archived: bool = False

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        low, high = self.min_price, self.max_price
        if low is not None and high is not None and low > high:
            raise ValueError("`minPrice` must not exceed `maxPrice`")
        after, before = self.released_after, self.released_before
        if after is not None and before is not None and after > before:
            raise ValueError("`releasedAfter` must not be later than `releasedBefore`")
        return self


class BookCreateInput(_Input):
    title: Title
    subtitle: Title | None = None
    isbn13: Isbn
    description: LongText | None = None
    price: Price
    stock_quantity: Stock = 0
    release_date: date
    page_count: PageCount | None = None
    language: Language | None = None
    publisher: Name | None = None
    cover_url: CoverUrl | None = None
    author_ids: Annotated[
        list[AuthorID],
        Field(min_length=1, max_length=MAX_AUTHORS_PER_BOOK),
        AfterValidator(_unique),
    ]
    genre_ids: Annotated[
        list[GenreID], Field(max_length=MAX_GENRES_PER_BOOK), AfterValidator(_unique)
    ] = []


class BookUpdateInput(_Input):
    """Every field optional; a field sent as null clears it (where that is allowed)."""

    title: Title | None = None
    subtitle: Title | None = None
    isbn13: Isbn | None = None
    description: LongText | None = None
    price: Price | None = None
    release_date: date | None = None
    page_count: PageCount | None = None
    language: Language | None = None
    publisher: Name | None = None
    cover_url: CoverUrl | None = None
    author_ids: (
        Annotated[
            list[AuthorID],
            Field(min_length=1, max_length=MAX_AUTHORS_PER_BOOK),
            AfterValidator(_unique),
        ]
        | None
    ) = None
    genre_ids: (
        Annotated[list[GenreID], Field(max_length=MAX_GENRES_PER_BOOK), AfterValidator(_unique)]
        | None
    ) = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        _forbid_null(self, "title", "isbn13", "price", "release_date", "author_ids", "genre_ids")
        return self


class AuthorCreateInput(_Input):
    name: Name
    bio: LongText | None = None


class AuthorUpdateInput(_Input):
    name: Name | None = None
    bio: LongText | None = None

    @model_validator(mode="after")
    def _name_stays_set(self) -> Self:
        _forbid_null(self, "name")
        return self


class GenreCreateInput(_Input):
    name: GenreName
    slug: Slug | None = None
    description: LongText | None = None


class GenreUpdateInput(_Input):
    name: GenreName | None = None
    slug: Slug | None = None
    description: LongText | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        _forbid_null(self, "name", "slug")
        return self
