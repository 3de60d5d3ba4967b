"""Validation messages through the endpoint: each says what its field expects, in the
words of the field's description, whichever rule the value broke."""

from __future__ import annotations

from typing import Any

import pytest

from tests.books.factory import Catalog
from tests.support import ADDRESS, REGISTER, GraphQL, checkout, error

CREATE_BOOK = "mutation($i: CreateBookInput!) { createBook(input: $i) { id } }"
UPDATE_ME = "mutation($i: UpdateMeInput!) { updateMe(input: $i) { id } }"
CREATE_GENRE = "mutation($i: CreateGenreInput!) { createGenre(input: $i) { id } }"


def problems(result: dict[str, Any]) -> dict[str, str]:
    """Each failing field's path and message."""
    found = error(result)["extensions"]
    assert found["code"] == "VALIDATION_ERROR", found
    return {".".join(map(str, item["loc"])): item["msg"] for item in found["errors"]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "XX"}, "country", "must be an ISO 3166-1 alpha-2 country code, e.g. DE or US"),
        # Too long for a code: the same message, not a length rule's.
        (
            {"country": "Germany"},
            "country",
            "must be an ISO 3166-1 alpha-2 country code, e.g. DE or US",
        ),
        ({"fullName": "   "}, "fullName", "expected recipient (1-200 characters)"),
        ({"line1": "x" * 201}, "line1", "expected street and number (1-200 characters)"),
        ({"city": ""}, "city", "expected city (1-100 characters)"),
        (
            {"postalCode": "1" * 21},
            "postalCode",
            "expected postal code (1-20 letters, digits, spaces or hyphens)",
        ),
    ],
)
async def test_address_messages_say_what_is_expected(
    gql: GraphQL, customer_token: str, change: dict[str, str], field: str, message: str
) -> None:
    result = await checkout(gql, customer_token, address={**ADDRESS, **change})
    assert problems(result) == {f"input.shippingAddress.{field}": message}
    assert error(result)["message"] == f"input.shippingAddress.{field}: {message}"


async def test_account_messages_say_what_is_expected(gql: GraphQL, customer_token: str) -> None:
    sign_up = {"email": "ada@example.com", "password": "short", "fullName": ""}
    assert problems(await gql(REGISTER, {"input": sign_up})) == {
        "input.password": "expected 8 to 128 characters, not only whitespace, not the email "
        "address",
        "input.fullName": "expected your name (1 to 200 characters)",
    }
    blank = await gql(UPDATE_ME, {"i": {"fullName": " "}}, token=customer_token)
    assert problems(blank) == {"input.fullName": "expected new name (1 to 200 characters)"}


async def test_catalog_messages_say_what_is_expected(catalog: Catalog, gql: GraphQL) -> None:
    book = {
        "title": "",
        "subtitle": "x" * 301,
        "isbn13": "9780306406157",
        "price": "0",
        "stockQuantity": -1,
        "releaseDate": "2020-01-01",
        "pageCount": 0,
        "language": "not a language tag",
        "publisher": " ",
        "coverUrl": "ftp://example.com/cover.png",
        "authorIds": [],
        "genreIds": [],
    }
    assert problems(await gql(CREATE_BOOK, {"i": book}, token=catalog.token)) == {
        "input.title": "expected title (1-300 characters)",
        "input.subtitle": "expected subtitle (1-300 characters)",
        "input.price": "expected price (more than 0, two decimals at most)",
        "input.stockQuantity": "expected initial stock (0 to 1,000,000)",
        "input.pageCount": "expected number of pages (1 to 100,000)",
        "input.language": "expected BCP 47 tag, e.g. en",
        "input.publisher": "expected publisher (1-200 characters)",
        "input.coverUrl": "expected http(s) URL of the cover (at most 2,048 characters)",
        "input.authorIds": "expected authors in credit order (1-20)",
    }
    genre = await gql(CREATE_GENRE, {"i": {"name": "", "slug": "x" * 101}}, token=catalog.token)
    assert problems(genre) == {
        "input.name": "expected name (1-100 characters, unique)",
        "input.slug": "expected unique URL name (1-100 lower-case letters, digits and single "
        "hyphens); derived from the name when omitted",
    }
    prices = await gql('{ books(filter: {minPrice: "-1", maxPrice: "1.001"}) { totalCount } }')
    assert problems(prices) == {
        "filter.minPrice": "expected price at least (0 or more, two decimals at most)",
        "filter.maxPrice": "expected price at most (0 or more, two decimals at most)",
    }
    # A rule across fields speaks for itself, without Pydantic's "Value error, " prefix.
    crossed = await gql('{ books(filter: {minPrice: "5", maxPrice: "1"}) { totalCount } }')
    assert problems(crossed) == {"filter": "`minPrice` must not exceed `maxPrice`"}
