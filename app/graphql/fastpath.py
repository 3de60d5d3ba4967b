"""The catalog fast path: anonymous `books` queries that select only plain catalog data are
answered without graphql-core's field-by-field execution.

Profiles of a 20-book page (id, title, price, authors, genres: about 300 fields) put most
of the remaining time in per-field execution: a resolver call, an info object and value
completion for each field. For the shapes a storefront sends most (`books` with scalar
book fields, authors and genres, cursors, page info, total count), the work is known in
advance. Each valid operation (parsed and validated once, in the schema's document
cache) is compiled once into a plan; a request then runs the same service call as the
`books` resolver (the same SQL, three statements) and builds the data straight from the
result, in selection order, with the values Strawberry would serialize. The suite
compares it byte for byte with the regular path.

Anything else (another field, fragments, directives, a token, an error) takes the regular
path, which also produces every error response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import graphql
from graphql import FieldNode, GraphQLError, SelectionSetNode
from graphql.execution.values import get_argument_values, get_variable_values
from pydantic import ValidationError
from strawberry.types import ExecutionResult

from app.books import schemas as books_schemas
from app.books.resolvers import catalog_page
from app.core.config import Environment, Settings
from app.core.errors import AppError
from app.core.paging import PageArgs
from app.db.session import Database, DatabaseFeatures, is_database_unavailable
from app.graphql.context import Context
from app.graphql.cost import operation_cost
from app.graphql.documents import Operation
from app.graphql.enums import SortDirection

logger = logging.getLogger(__name__)

# What a plan step does with the object it is given: return a JSON-ready value.
Getter = Callable[[Any], Any]


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _text(value: Any) -> Any:
    return None if value is None else str(value)


# Plain fields per type, and how Strawberry serializes each (Decimal and dates as strings,
# enums by name).
_SCALARS: Mapping[str, Mapping[str, Getter]] = {
    "Book": {
        "id": lambda book: book.id,
        "title": lambda book: book.title,
        "subtitle": lambda book: book.subtitle,
        "isbn13": lambda book: book.isbn13,
        "description": lambda book: book.description,
        "price": lambda book: _text(book.price),
        "availability": lambda book: book.availability.name,
        "releaseDate": lambda book: _iso(book.release_date),
        "pageCount": lambda book: book.page_count,
        "language": lambda book: book.language,
        "publisher": lambda book: book.publisher,
        "coverUrl": lambda book: book.cover_url,
        "isArchived": lambda book: book.is_archived,
        "createdAt": lambda book: _iso(book.created_at),
        "updatedAt": lambda book: _iso(book.updated_at),
    },
    "Author": {
        "id": lambda author: author.id,
        "name": lambda author: author.name,
        "bio": lambda author: author.bio,
        "createdAt": lambda author: _iso(author.created_at),
        "updatedAt": lambda author: _iso(author.updated_at),
    },
    "Genre": {
        "id": lambda genre: genre.id,
        "name": lambda genre: genre.name,
        "slug": lambda genre: genre.slug,
        "description": lambda genre: genre.description,
    },
    "PageInfo": {
        "hasNextPage": lambda info: info.has_next_page,
        "hasPreviousPage": lambda info: info.has_previous_page,
        "startCursor": lambda info: info.start_cursor,
        "endCursor": lambda info: info.end_cursor,
    },
    "BookEdge": {"cursor": lambda edge: edge.cursor},
    "BookConnection": {"totalCount": lambda page: page.total_count},
}
# Object fields per type: (attribute, child type, is a list).
_OBJECTS: Mapping[str, Mapping[str, tuple[str, str, bool]]] = {
    "Book": {
        "authors": ("prefetched_authors", "Author", True),
        "genres": ("prefetched_genres", "Genre", True),
    },
    "BookEdge": {"node": ("node", "Book", False)},
    "BookConnection": {
        "edges": ("edges", "BookEdge", True),
        "pageInfo": ("page_info", "PageInfo", False),
    },
}


class NotFastPathable(Exception):
    """The document or request needs the regular path."""


@dataclass(frozen=True)
class Plan:
    field: FieldNode
    response_key: str
    render: Getter
    wanted: frozenset[str]  # the selected paths below `books`, e.g. "edges.node.authors"


def _compile_object(
    selection_set: SelectionSetNode | None, type_name: str, path: str, wanted: set[str]
) -> Getter:
    if selection_set is None:
        raise NotFastPathable
    steps: list[tuple[str, Getter]] = []
    keys: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            raise NotFastPathable
        name = selection.name.value
        key = selection.alias.value if selection.alias else name
        if key in keys:  # merging repeated keys is graphql-core's job
            raise NotFastPathable
        keys.add(key)
        child_path = f"{path}.{name}" if path else name
        wanted.add(child_path)
        if name == "__typename":
            steps.append((key, _constant(type_name)))
        elif name in _SCALARS.get(type_name, {}) and selection.selection_set is None:
            steps.append((key, _SCALARS[type_name][name]))
        elif name in _OBJECTS.get(type_name, {}):
            attribute, child_type, many = _OBJECTS[type_name][name]
            child = _compile_object(selection.selection_set, child_type, child_path, wanted)
            steps.append(
                (key, _list_getter(attribute, child) if many else _getter(attribute, child))
            )
        else:
            raise NotFastPathable

    def render(value: Any) -> dict[str, Any]:
        return {key: step(value) for key, step in steps}

    return render


def _constant(value: str) -> Getter:
    return lambda _: value


def _getter(attribute: str, child: Getter) -> Getter:
    return lambda value: child(getattr(value, attribute))


def _list_getter(attribute: str, child: Getter) -> Getter:
    def render(value: Any) -> list[Any]:
        items = getattr(value, attribute)
        if items is None:  # not prefetched: the plan always prefetches what it renders
            raise NotFastPathable
        return [child(item) for item in items]

    return render


def compile_plan(operation: Operation) -> Plan:
    node = operation.node
    if operation.kind != "query" or node.directives or len(node.selection_set.selections) != 1:
        raise NotFastPathable
    (root,) = node.selection_set.selections
    if not isinstance(root, FieldNode) or root.name.value != "books" or root.directives:
        raise NotFastPathable
    wanted: set[str] = set()
    render = _compile_object(root.selection_set, "BookConnection", "", wanted)
    return Plan(
        field=root,
        response_key=root.alias.value if root.alias else "books",
        render=render,
        wanted=frozenset(wanted),
    )


@dataclass(frozen=True)
class _Page:
    """What a `BookConnection` plan renders: the page, and its total when selected."""

    edges: list[Any]
    page_info: Any
    total_count: int | None


class CatalogFastPath:
    def __init__(self, schema: graphql.GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.cost_limit = settings.graphql_max_cost
        self.report_cost_always = settings.env is Environment.DEVELOPMENT
        self.books_field = schema.query_type.fields["books"]  # type: ignore[union-attr]

    def plan(self, operation: Operation) -> Plan | None:
        """The operation's plan, compiled on first use; None: the regular path answers."""
        try:
            plan: Plan | None = operation.derived[self]
        except KeyError:
            try:
                plan = compile_plan(operation) if operation.valid else None
            except NotFastPathable:
                plan = None
            operation.derived[self] = plan
        return plan

    async def execute(
        self,
        operation: Operation,
        variables: dict[str, Any],
        *,
        database: Database,
        features: DatabaseFeatures,
        wants_cost: bool,
    ) -> ExecutionResult | None:
        """The result, or None when the regular path must answer."""
        plan = self.plan(operation)
        if plan is None:
            return None
        try:
            return await self._answer(plan, operation, variables, database, features, wants_cost)
        except (AppError, ValidationError, NotFastPathable):
            return None  # the regular path answers with the proper error
        except Exception as failure:
            if is_database_unavailable(failure):
                # Answered here, as the regular path would: running it would only wait
                # for the same database (a statement timeout twice over).
                error = GraphQLError(
                    "", nodes=plan.field, path=[plan.response_key], original_error=failure
                )
                return ExecutionResult(data=None, errors=[error])
            # Anything unexpected: the regular path maps it to its error code (and logs it)
            # in one place.
            logger.debug("catalog fast path gave way to the regular path", exc_info=True)
            return None

    async def _answer(
        self,
        plan: Plan,
        operation: Operation,
        inputs: dict[str, Any],
        database: Database,
        features: DatabaseFeatures,
        wants_cost: bool,
    ) -> ExecutionResult | None:
        variables = get_variable_values(
            self.schema, operation.node.variable_definitions or (), inputs
        )
        if isinstance(variables, list):  # coercion errors: the regular path reports them
            return None
        cost = operation_cost(self.schema, operation.node, operation.fragments, variables.coerced)
        if cost > self.cost_limit:
            return None
        arguments = get_argument_values(self.books_field, plan.field, variables)
        context = Context(database=database, settings=self.settings, features=features)
        try:
            connection = await catalog_page(
                context,
                filters=_filters(arguments.get("filter")),
                order=_order(arguments.get("orderBy")),
                args=PageArgs(
                    arguments.get("first"),
                    arguments.get("after"),
                    arguments.get("last"),
                    arguments.get("before"),
                ),
                wanted=plan.wanted,
            )
            total = None
            if "totalCount" in plan.wanted:
                assert connection.count_loader is not None  # a top-level page can count
                total = await connection.count_loader()
        finally:
            await context.close()
        page = _Page(connection.edges, connection.page_info, total)
        extensions = None
        if wants_cost or self.report_cost_always:
            extensions = {"cost": {"requested": cost, "limit": self.cost_limit}}
        data = {plan.response_key: plan.render(page)}
        return ExecutionResult(data=data, errors=None, extensions=extensions)


def _filters(value: Any) -> books_schemas.BookFilterInput | None:
    if value is None:
        return None
    return books_schemas.BookFilterInput.model_validate(value)


def _order(value: Any) -> tuple[Any, bool] | None:
    if value is None:
        return None
    return value["field"], value["direction"] is SortDirection.DESC
