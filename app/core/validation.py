"""Reusable Pydantic building blocks: every string input is trimmed, bounded and free of
control characters.

    Name = Annotated[str, bounded(200), SINGLE_LINE]
    Description = Annotated[str, bounded(5000), MULTI_LINE]

Every moment is a `Moment`: an aware UTC datetime within years 1-9999. The errors of an
input are `explained`: each message says what the field expects.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, StringConstraints, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


def bounded(max_length: int, *, min_length: int = 1) -> StringConstraints:
    """Trimmed, between `min_length` and `max_length` characters."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def _control_characters(value: str, allowed: str) -> bool:
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value)


# Embeddings, overrides and isolates (not the harmless LRM/RLM marks): text that shows in
# another order than it is stored ("Trojan Source"), a spoofing tool in text others read.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _no_bidi_controls(value: str) -> str:
    if not _BIDI_CONTROLS.isdisjoint(value):
        raise ValueError("must not contain bidirectional text controls")
    return value


def _single_line(value: str) -> str:
    if _control_characters(value, allowed=""):
        raise ValueError("must be a single line without control characters")
    return _no_bidi_controls(value)


def _multi_line(value: str) -> str:
    if _control_characters(value, allowed="\n\t"):
        raise ValueError("must not contain control characters")
    return _no_bidi_controls(value)


SINGLE_LINE = AfterValidator(_single_line)
MULTI_LINE = AfterValidator(_multi_line)


def _in_utc(moment: datetime) -> datetime:
    # A moment is compared and stored in UTC: "0001-01-01T00:00:00+14:00" falls before year
    # 1 there, which neither Python nor the database driver can represent.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "must fall between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC"
        ) from None


# A point in time: without an offset it is taken as UTC.
Moment = Annotated[datetime, AfterValidator(_in_utc)]


def explained(model: type[BaseModel], error: ValidationError) -> ValidationError:
    """`error` with every message saying what its field expects, in the words of the
    field's description ("expected recipient (1-200 characters)"), where Pydantic would
    state only the broken constraint ("String should have at least 1 character"). The
    messages of our own checks (value errors) say it already: they lose only Pydantic's
    "Value error, " prefix."""
    details: list[InitErrorDetails] = []
    for item in error.errors(include_url=False):
        message = item["msg"]
        if item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        elif (description := _description(model, item["loc"])) is not None:
            message = f"expected {_phrase(description)}"
        # The message goes in as context: a description may hold braces.
        kind = PydanticCustomError(item["type"], "{message}", {"message": message})
        details.append(InitErrorDetails(type=kind, loc=item["loc"], input=item["input"]))
    return ValidationError.from_exception_data(error.title, details)


def _description(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The description of the field at `loc` (the list's own for an item of a list)."""
    description = None
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None:
            return None
        by_alias = {info.alias or name: info for name, info in current.model_fields.items()}
        info = by_alias.get(part)
        if info is None:
            return None
        description = info.description
        current = _nested_model(info.annotation)
    return description


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type):
        return annotation if issubclass(annotation, BaseModel) else None
    for argument in get_args(annotation):  # Optional, list, Annotated
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


# The end of a description's first sentence (not of "e.g." or "i.e.").
_SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z`])")


def _phrase(description: str) -> str:
    """A description's first sentence as the object of "expected": "Recipient (1-200
    characters)." reads "recipient (1-200 characters)"; acronyms and digits keep their
    case."""
    text = _SENTENCE_END.split(description.strip(), maxsplit=1)[0].removesuffix(".")
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower():
        text = text[0].lower() + text[1:]
    return text
