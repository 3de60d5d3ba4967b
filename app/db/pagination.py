"""Keyset (cursor) pagination: no OFFSET scans, stable under equal sort keys.

An `Ordering` names its sort keys; the last key is always the primary key, so every row has
a unique position. A cursor is the sort-key values of a row, and the next page is the rows
strictly after (or before) those values in that order.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Integer,
    Numeric,
    Select,
    SmallInteger,
    and_,
    bindparam,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import BindParameter, ColumnElement

T = TypeVar("T")


# eq=False: these hold SQL expressions, whose `==` builds SQL instead of comparing.
@dataclass(frozen=True, eq=False)
class SortKey:
    """A sort expression, the label under which queries select it, and its Python type
    (int, str, float, Decimal, date or datetime) for decoding cursors."""

    expression: ColumnElement[Any] | InstrumentedAttribute[Any]
    label: str
    kind: type


@dataclass(frozen=True, eq=False)
class Ordering:
    """A total order: `name` goes into cursors so a cursor from another order is refused."""

    name: str
    keys: tuple[SortKey, ...]
    descending: bool

    def columns(self) -> list[ColumnElement[Any]]:
        """The sort expressions, labelled, for the select list."""
        return [key.expression.label(key.label) for key in self.keys]


def column_ordering(name: str, *columns: InstrumentedAttribute[Any], descending: bool) -> Ordering:
    """An ordering by model columns (the last one unique), each selected as `sort_<column>`
    and read back from cursors as the column's Python type."""
    keys = (SortKey(column, f"sort_{column.key}", column.type.python_type) for column in columns)
    return Ordering(name, tuple(keys), descending)


@dataclass(frozen=True)
class PageRequest:
    """`limit` rows after `after` and/or before `before`, from the front (or, when
    `from_end`, the back) of the remaining range."""

    limit: int
    from_end: bool = False
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _after_and_before(statement: Select[Any], ordering: Ordering, page: PageRequest) -> Select[Any]:
    """Keep the rows strictly between the `after` and `before` cursors. A row-value
    comparison over the sort keys, which an index on those keys serves directly."""
    row = tuple_(*(key.expression for key in ordering.keys))
    conditions = []
    for values, later in ((page.after, True), (page.before, False)):
        if values is None:
            continue
        bound = tuple_(
            *(
                v if isinstance(v, BindParameter) else literal(v, type_=k.expression.type)
                for v, k in zip(values, ordering.keys, strict=True)
            )
        )
        # "Later" in the ordering means greater when ascending, smaller when descending.
        conditions.append(row > bound if later != ordering.descending else row < bound)
    return statement.where(and_(*conditions)) if conditions else statement


def apply_keyset(statement: Select[Any], ordering: Ordering, page: PageRequest) -> Select[Any]:
    """Add the cursor conditions, the order and the limit (one extra row tells whether
    there is more)."""
    statement = _after_and_before(statement, ordering, page)
    return statement.order_by(*_sort(ordering, page)).limit(page.limit + 1)


def keyset_template(
    statement: Select[Any], ordering: Ordering, *, from_end: bool, after: bool, before: bool
) -> Select[Any]:
    """`apply_keyset` with parameters in place of a page's values, for a statement compiled
    once (`app.db.statements.Prepared`): `keyset_values` gives them for a page."""

    def bound(side: str) -> tuple[BindParameter[Any], ...]:
        return tuple(
            bindparam(f"{side}_{index}", type_=key.expression.type)
            for index, key in enumerate(ordering.keys)
        )

    template = PageRequest(
        0,
        from_end,
        after=bound("after") if after else None,
        before=bound("before") if before else None,
    )
    statement = _after_and_before(statement, ordering, template)
    return statement.order_by(*_sort(ordering, template)).limit(bindparam("limit", type_=Integer))


def keyset_values(page: PageRequest) -> dict[str, Any]:
    """The parameters of a `keyset_template` statement for `page`."""
    values: dict[str, Any] = {"limit": page.limit + 1}
    for side, keys in (("after", page.after), ("before", page.before)):
        values.update((f"{side}_{index}", value) for index, value in enumerate(keys or ()))
    return values


def _sort(ordering: Ordering, page: PageRequest) -> list[ColumnElement[Any]]:
    """The ordering's keys, reversed for a page read from the end."""
    reverse = ordering.descending != page.from_end
    return [key.expression.desc() if reverse else key.expression.asc() for key in ordering.keys]


def to_page(
    rows: Sequence[Any],
    ordering: Ordering,
    page: PageRequest,
    make: Callable[[Any], T],
    sort_values: Callable[[Any], tuple[Any, ...]] | None = None,
) -> Page[T]:
    """Rows of a query built with `apply_keyset` as a page of `make(row)`, in the ordering's
    direction. `sort_values`: a row's sort-key values (default: its attributes named by the
    keys' labels)."""
    has_more = len(rows) > page.limit
    kept = list(rows[: page.limit])
    if page.from_end:
        kept.reverse()
    read = sort_values or (lambda row: tuple(getattr(row, k.label) for k in ordering.keys))
    cursors = [encode_cursor(ordering, read(row)) for row in kept]
    items = [make(row) for row in kept]
    if page.from_end:
        return Page(
            items, cursors, has_next_page=page.before is not None, has_previous_page=has_more
        )
    return Page(items, cursors, has_next_page=has_more, has_previous_page=page.after is not None)


@dataclass(frozen=True, eq=False)
class KeysetList(Generic[T]):
    """A list as its repository defines it, once: `statement` selects the items' columns,
    filtered. Read a keyset page at a time, and counted over the same statement, so the
    count always agrees with the pages."""

    session: AsyncSession
    statement: Select[Any]
    ordering: Ordering
    make: Callable[[Any], T]

    async def page(self, page: PageRequest) -> Page[T]:
        statement = self.statement.add_columns(*self.ordering.columns())
        result = await self.session.execute(apply_keyset(statement, self.ordering, page))
        return to_page(result.all(), self.ordering, page, self.make)

    async def count(self) -> int:
        statement = self.statement.with_only_columns(func.count(), maintain_column_froms=True)
        return int(await self.session.scalar(statement) or 0)


def _encode_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


_BIGINT = 2**63


def _decode_value(value: Any, kind: type) -> Any:
    """A sort-key value from a cursor, only if PostgreSQL can compare it with the column:
    a forged cursor must be VALIDATION_ERROR, not a database error (NUL in text, integers
    beyond bigint, NaN, 1e999999)."""
    try:
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            if -_BIGINT <= value < _BIGINT:
                return value
        elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if math.isfinite(value):  # OverflowError for an int beyond any float
                return float(value)
        elif kind is str and isinstance(value, str):
            value.encode()  # UnicodeEncodeError for lone surrogates ("\ud800")
            if "\x00" not in value:
                return value
        elif isinstance(value, str):
            if kind is Decimal:
                number = Decimal(value)
                if number.is_finite() and -100 < number.adjusted() < 100:
                    return number
            if kind is datetime:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is not None:  # the server's cursors always carry one
                    return moment.astimezone(UTC)  # OverflowError past year 1 or 9999
            if kind is date:
                return date.fromisoformat(value)
    except (ValueError, InvalidOperation, OverflowError, UnicodeError):
        pass
    raise ValueError("malformed cursor")


def _fits(value: Any, sql_type: Any) -> bool:
    """Whether `value` can be bound as the sort key's own SQL type, as the server binds a
    cursor's values: 40000 is no smallint, 10 no numeric(3, 2)."""
    if isinstance(value, int) and isinstance(sql_type, Integer):
        bits = 16 if isinstance(sql_type, SmallInteger) else 32
        bits = 64 if isinstance(sql_type, BigInteger) else bits
        bound = 1 << (bits - 1)
        return -bound <= value < bound
    if isinstance(value, Decimal) and isinstance(sql_type, Numeric) and sql_type.precision:
        scale = sql_type.scale or 0
        digits = sql_type.precision - scale  # before the decimal point
        return value.adjusted() < digits and abs(round(value, scale)) < 10**digits
    return True


# What `json.dumps(..., separators=(",", ":"))` uses, built once (a page encodes a cursor
# per row).
_CURSOR_JSON = json.JSONEncoder(separators=(",", ":"))


def encode_cursor(ordering: Ordering, values: tuple[Any, ...]) -> str:
    payload = _CURSOR_JSON.encode([ordering.name, [_encode_value(v) for v in values]])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(ordering: Ordering, cursor: str) -> tuple[Any, ...]:
    """The sort-key values in `cursor`; ValueError when it is malformed or was made for
    another ordering."""
    if len(cursor) > 1024:
        raise ValueError("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, values = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise ValueError("malformed cursor") from error
    if name != ordering.name:
        raise ValueError("cursor belongs to another ordering")
    if not isinstance(values, list) or len(values) != len(ordering.keys):
        raise ValueError("malformed cursor")
    decoded = tuple(_decode_value(v, k.kind) for v, k in zip(values, ordering.keys, strict=True))
    if not all(_fits(v, k.expression.type) for v, k in zip(decoded, ordering.keys, strict=True)):
        raise ValueError("malformed cursor")
    return decoded


def apply_keyset_per_group(
    statement: Select[Any],
    group: ColumnElement[Any],
    ordering: Ordering,
    page: PageRequest,
) -> Select[Any]:
    """One page per value of `group` in a single query (a window over each group), for
    nested connections such as every listed author's first books. `statement` must select
    `group` labelled "group_key" and the ordering's columns."""
    statement = _after_and_before(statement, ordering, page)
    position = func.row_number().over(partition_by=group, order_by=_sort(ordering, page))
    ranked = statement.add_columns(position.label("position_in_group")).subquery()
    return (
        select(ranked)
        .where(ranked.c.position_in_group <= page.limit + 1)
        .order_by(ranked.c.group_key, ranked.c.position_in_group)
    )


def to_pages(
    rows: Sequence[Any],
    groups: Sequence[Any],
    ordering: Ordering,
    page: PageRequest,
    make: Callable[[Any], T],
) -> dict[Any, Page[T]]:
    """Split the rows of `apply_keyset_per_group` into one page per group (empty pages for
    groups without rows)."""
    grouped: dict[Any, list[Any]] = {group: [] for group in groups}
    for row in rows:
        grouped.setdefault(row.group_key, []).append(row)
    return {group: to_page(items, ordering, page, make) for group, items in grouped.items()}
