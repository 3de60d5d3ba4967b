"""Relay pagination arguments (`first`/`after`/`last`/`before`), validated."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import ValidationFailed
from app.db.pagination import Ordering, PageRequest, decode_cursor

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def request(self, ordering: Ordering, *, default_size: int = DEFAULT_PAGE_SIZE) -> PageRequest:
        """The page these arguments ask for in `ordering`; VALIDATION_ERROR naming the
        argument when a size is out of range or a cursor is malformed or foreign."""
        if self.first is not None and self.last is not None:
            raise ValidationFailed("Pass either `first` or `last`, not both", field="last")
        for name, size in (("first", self.first), ("last", self.last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise ValidationFailed(
                    f"`{name}` must be between 0 and {MAX_PAGE_SIZE}", field=name
                )
        cursors = {}
        for name, cursor in (("after", self.after), ("before", self.before)):
            if cursor is not None:
                try:
                    cursors[name] = decode_cursor(ordering, cursor)
                except ValueError as error:
                    raise ValidationFailed(f"`{name}`: {error}", field=name) from None
        size = self.first if self.first is not None else self.last
        return PageRequest(
            limit=default_size if size is None else size,
            from_end=self.last is not None,
            after=cursors.get("after"),
            before=cursors.get("before"),
        )
