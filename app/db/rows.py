"""Typed reads: each shape a repository returns is a frozen dataclass, and a `Shape` binds
it to the select expressions of its fields, in field order. A result row becomes the
dataclass positionally (cheap: no per-column lookups), so mypy checks what types build
from, and a field added to the dataclass but not selected fails at import, not at read.

    AUTHOR = Shape(AuthorRow, Author)            # every field a column of the model
    BOOK = Shape(BookRow, Book, availability=None)  # a field computed per query
    select(*BOOK.columns(availability=availability_of(stock).label("availability")))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Shape(Generic[R]):
    def __init__(self, row_type: type[R], model: Any, **expressions: Any) -> None:
        """`expressions`: the fields that are not the model's attribute of the same name;
        None for those given per query to `columns`."""
        self.row_type = row_type
        self.names = tuple(field.name for field in dataclasses.fields(row_type))  # type: ignore[arg-type]
        self._columns = {
            name: expressions[name] if name in expressions else getattr(model, name)
            for name in self.names
        }
        self.width = len(self.names)

    def columns(self, **given: Any) -> list[Any]:
        """The select list, with the per-query fields `given`; more columns (sort keys) may
        follow it in the statement."""
        return [given[name] if name in given else self._columns[name] for name in self.names]

    def of(self, row: Any) -> R:
        """The dataclass of a result row that starts with `columns()`."""
        return self.row_type(*row[: self.width])

    def all(self, rows: Iterable[Any]) -> list[R]:
        return [self.row_type(*row[: self.width]) for row in rows]
