"""One definition per input: a Pydantic model carries the fields, their descriptions,
limits and normalisation, and `graphql_input` derives the Strawberry input from it. Parsing
turns the Strawberry value back into the model, with GraphQL field paths in the errors
(`input.fullName`).

    class BookCreateInput(Input):
        title: Title = Field(description="Title (1-300 characters).")

    @graphql_input(BookCreateInput, description="A new book.")
    class CreateBookInput: ...
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, ClassVar, Self, TypeVar, Union, get_args, get_origin

import strawberry
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from strawberry.types.unset import UnsetType

from app.core.validation import explained
from app.graphql.errors import validation_failed

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class Input(BaseModel):
    """Base of every input model: camelCase aliases, so that error locations name the
    GraphQL input fields; unknown fields refused; values frozen once validated."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )
    # Fields a partial update may leave out but not send as null (they are required).
    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _sent_not_null(self) -> Self:
        for name in self.not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"`{to_camel(name)}` cannot be null")
        return self

    def given(self) -> dict[str, Any]:
        """The fields the client sent (partial updates), by Python name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


@dataclasses.dataclass(frozen=True)
class GraphQLType:
    """`Annotated` marker: the field's GraphQL type when it differs from the validated
    Python one (a global ID arrives as `ID` and is validated into an int)."""

    type: Any


GLOBAL_ID = GraphQLType(strawberry.ID)
_AS_STRING = (EmailStr, HttpUrl)
_SCALARS = (str, bool, int, float, Decimal, datetime, date, Enum)
_INPUTS: dict[type[BaseModel], type] = {}
# Values `as_dict` passes through as they are (no Strawberry input is one).
_PLAIN_VALUES = (str, int, float, Decimal, type(None))


def _graphql_type(annotation: Any, metadata: list[Any]) -> Any:
    """The Strawberry annotation of a Pydantic field type (Optional, lists, nested inputs,
    Annotated constraints peeled off)."""
    for marker in metadata:
        if isinstance(marker, GraphQLType):
            return marker.type
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *more = get_args(annotation)
        return _graphql_type(inner, more)
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        (member,) = members  # unions of several types have no GraphQL input form
        return _graphql_type(member, []) | None
    if origin is list:
        (item,) = get_args(annotation)
        return list[_graphql_type(item, [])]  # type: ignore[misc]
    if isinstance(annotation, type):
        if annotation in _INPUTS:
            return _INPUTS[annotation]
        if issubclass(annotation, _AS_STRING):
            return str
        if issubclass(annotation, Enum) and not hasattr(annotation, "__strawberry_definition__"):
            # Strawberry would register a second, undescribed enum of the same name.
            raise TypeError(f"register {annotation.__name__} with graphql_enum first")
        if issubclass(annotation, _SCALARS):
            return annotation
    raise TypeError(f"no GraphQL input type for {annotation!r}")


def graphql_input(
    model: type[BaseModel],
    *,
    description: str,
    partial: bool = False,
    order: Sequence[str] | None = None,
) -> Callable[[type[T]], type[T]]:
    """Fill the (empty) decorated class with `model`'s fields and make it a Strawberry
    input named after the class. `partial`: every field defaults to UNSET, so an update
    tells a field left out from one sent as null. `order`: the GraphQL field order, when
    it is not the model's (which is the order validation reports errors in)."""
    names = list(order or model.model_fields)
    if sorted(names) != sorted(model.model_fields):
        raise TypeError(f"`order` must name every field of {model.__name__} once")

    def build(cls: type[T]) -> type[T]:
        annotations: dict[str, Any] = {}
        for name in names:
            info = model.model_fields[name]
            if not info.description:
                raise TypeError(f"{model.__name__}.{name} needs a description")
            annotations[name] = _graphql_type(info.annotation, info.metadata)
            if partial:
                field = strawberry.field(default=strawberry.UNSET, description=info.description)
            elif info.is_required():
                field = strawberry.field(description=info.description)
            elif isinstance(info.default, list):
                field = strawberry.field(default_factory=list, description=info.description)
            else:
                field = strawberry.field(default=info.default, description=info.description)
            setattr(cls, name, field)
        cls.__annotations__ = annotations
        graphql = strawberry.input(cls, description=description)
        _INPUTS[model] = graphql
        return graphql

    return build


_KEYS: dict[type, tuple[tuple[str, str], ...]] = {}


def _keys(cls: type) -> tuple[tuple[str, str], ...]:
    """(Python name, camelCase key) of each field of a Strawberry input class."""
    keys = _KEYS.get(cls)
    if keys is None:
        fields = dataclasses.fields(cls)
        keys = _KEYS[cls] = tuple((field.name, to_camel(field.name)) for field in fields)
    return keys


def as_dict(value: object) -> Any:
    """A Strawberry input (nested too) as plain data with camelCase keys; fields the client
    left out (UNSET) are dropped, so partial updates can tell "absent" from "null"."""
    if isinstance(value, _PLAIN_VALUES):
        return value
    if isinstance(value, list):
        return [as_dict(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            key: as_dict(item)
            for name, key in _keys(type(value))
            if not isinstance(item := getattr(value, name), UnsetType)
        }
    return value


def parse_input(model: type[M], value: object, *, field: str = "input") -> M:
    """Validate the input argument `field` into `model` (VALIDATION_ERROR on failure)."""
    try:
        return model.model_validate(as_dict(value))
    except ValidationError as error:
        raise validation_failed(explained(model, error), prefix=field) from None


def parse_arg(adapter: TypeAdapter[T], value: object, *, field: str) -> T:
    """Validate a scalar argument (`refreshToken`, `quantity`...) against `adapter`."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise validation_failed(error, prefix=field) from None
