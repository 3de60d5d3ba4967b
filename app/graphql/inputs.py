"""Turning GraphQL arguments into validated Pydantic models, with GraphQL field paths in
the errors (`input.fullName`)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel
from strawberry.types.unset import UnsetType

from app.graphql.errors import validation_failed

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def as_dict(value: object) -> Any:
    """A Strawberry input (nested too) as plain data with camelCase keys; fields the client
    left out (UNSET) are dropped, so partial updates can tell "absent" from "null"."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            to_camel(field.name): as_dict(item)
            for field in dataclasses.fields(value)
            if not isinstance(item := getattr(value, field.name), UnsetType)
        }
    if isinstance(value, list):
        return [as_dict(item) for item in value]
    return value


def parse_input(model: type[M], value: object, *, field: str = "input") -> M:
    """Validate the input argument `field` into `model` (VALIDATION_ERROR on failure)."""
    try:
        return model.model_validate(as_dict(value))
    except ValidationError as error:
        raise validation_failed(error, prefix=field) from None


def parse_arg(adapter: TypeAdapter[T], value: object, *, field: str) -> T:
    """Validate a scalar argument (`refreshToken`, `quantity`...) against `adapter`."""
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise validation_failed(error, prefix=field) from None
