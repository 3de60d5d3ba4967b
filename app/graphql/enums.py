"""Python enums exposed as GraphQL enums, with a description on every value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=type[Enum])


def graphql_enum(
    *, description: str, values: Mapping[str, str] | Callable[[Enum], str], name: str | None = None
) -> Callable[[E], E]:
    """Register `enum_cls` as a GraphQL enum; `values` describes each member (a mapping
    from member name, or a function of the member)."""

    def decorate(enum_cls: E) -> E:
        strawberry.enum(enum_cls, name=name, description=description)
        for value in enum_cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
            member = enum_cls[value.name]
            value.description = values(member) if callable(values) else values[member.name]
        return enum_cls

    return decorate


@strawberry.enum(description="Direction of an ordering.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest (or earliest, or A) first.")
    DESC = strawberry.enum_value("DESC", description="Largest (or latest, or Z) first.")
