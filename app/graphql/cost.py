"""Query cost: a bound on the work an operation can cause, checked before any resolver runs.

Every field costs 1 (some more, see `FIELD_WEIGHTS`). A connection multiplies the cost of
what it selects by `first`/`last` (the largest page when absent); a plain list by its
expected size (`LIST_SIZES`; `nodes` by the number of ids). Introspection is free: it is
off in production, and GraphiQL needs it.

The cost depends on variables (`first: $n`), so it is computed when they are known, right
before execution, rather than in (cached) document validation.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    value_from_ast_untyped,
)
from graphql.execution.values import get_variable_values
from graphql.type.definition import GraphQLInterfaceType
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from app.core.config import Environment
from app.core.errors import ErrorCode
from app.core.paging import MAX_PAGE_SIZE

# Fields dearer than the rest: name search (ILIKE), facets (four grouped samples) and
# type-ahead (vocabulary, books, authors, genres). Book search is priced by its words.
FIELD_WEIGHTS: Mapping[str, int] = {
    "Query.authors:search": 5,
    "BookConnection.facets": 50,
    "Query.searchSuggestions": 20,
}
# A book search: 10, and 5 per word after the first (each word is matched, ranked and
# possibly corrected; the input allows 16).
SEARCH_WEIGHT = 10
SEARCH_WEIGHT_PER_WORD = 5
_WORDS = re.compile(r"\w+", re.UNICODE)
# Fields of a connection computed once for the list, not once per item of the page.
ONCE_PER_LIST = frozenset({"BookConnection.facets", "BookConnection.correctedQuery"})
# Expected size of plain list fields (connections state theirs with first/last). Typical
# rather than worst case: a book may credit 20 authors, but pricing every page of books as
# if each did would refuse ordinary catalog queries.
LIST_SIZES: Mapping[str, int] = {
    "Book.authors": 3,
    "Book.genres": 3,
    "Cart.items": 50,
    "Cart.warnings": 10,
    "Order.items": 10,
    "BookFacets.genres": 20,
    "BookFacets.availability": 4,
    "BookFacets.languages": 10,
    "BookFacets.priceRanges": 5,
    "SearchSuggestions.queries": 20,
    "SearchSuggestions.books": 20,
    "SearchSuggestions.authors": 20,
    "SearchSuggestions.genres": 20,
    "Query.genres": 50,
    "RestockResult.fulfilledPrebooks": 20,
}
DEFAULT_LIST_SIZE = 100
# The only arguments a cost depends on (page sizes, ids, a search's words): the variables of
# other arguments (a checkout's idempotency key) change nothing.
COST_ARGUMENTS = frozenset({"first", "last", "ids", "filter"})


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection_cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> int:
        if selection_set is None:
            return 0
        return sum(
            self.field_cost(field, owner, fragments)
            for field, owner, fragments in self._fields(selection_set, parent, seen)
        )

    def _fields(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType, frozenset[str]]]:
        """The fields of a selection, fragments expanded (each fragment once per path)."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent, seen
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                owner = self.schema.get_type(condition.name.value) if condition else None
                yield from self._fields(selection.selection_set, owner or parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # cycles fail validation anyway
                    continue
                owner = self.schema.get_type(fragment.type_condition.name.value)
                yield from self._fields(fragment.selection_set, owner or parent, seen | {name})

    def field_cost(self, node: FieldNode, parent: GraphQLNamedType, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, (GraphQLObjectType, GraphQLInterfaceType)
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0  # unknown fields fail validation
        key = f"{parent.name}.{name}"
        arguments = {
            argument.name.value: value_from_ast_untyped(argument.value, dict(self.variables))
            for argument in node.arguments or ()
            if argument.name.value in COST_ARGUMENTS
        }
        child_type = get_named_type(definition.type)
        per_item, once = 0, 0
        if node.selection_set is not None:
            for field, owner, fragments in self._fields(node.selection_set, child_type, seen):
                cost = self.field_cost(field, owner, fragments)
                if f"{owner.name}.{field.name.value}" in ONCE_PER_LIST:
                    once += cost
                else:
                    per_item += cost
        multiplier = self._multiplier(key, definition.type, child_type, arguments)
        return self._own(key, arguments) + multiplier * per_item + once

    @staticmethod
    def _own(key: str, arguments: Mapping[str, Any]) -> int:
        filters = arguments.get("filter")
        search = filters.get("search") if isinstance(filters, dict) else None
        if key == "Query.books" and isinstance(search, str) and search.strip():
            words = max(1, len(_WORDS.findall(search)))
            return SEARCH_WEIGHT + SEARCH_WEIGHT_PER_WORD * (words - 1)
        if search:
            return FIELD_WEIGHTS.get(f"{key}:search", 1)
        return FIELD_WEIGHTS.get(key, 1)

    @staticmethod
    def _multiplier(
        key: str, field_type: Any, child_type: GraphQLNamedType, arguments: Mapping[str, Any]
    ) -> int:
        if child_type.name.endswith("Connection"):
            for name in ("first", "last"):
                size = arguments.get(name)
                if isinstance(size, int) and not isinstance(size, bool):
                    return max(0, min(size, MAX_PAGE_SIZE))
            return MAX_PAGE_SIZE
        if key.endswith("Connection.edges"):
            return 1  # the connection field already multiplied by the page size
        if isinstance(get_nullable_type(field_type), GraphQLList):
            ids = arguments.get("ids")
            if isinstance(ids, list):
                return len(ids)
            return LIST_SIZES.get(key, DEFAULT_LIST_SIZE)
        return 1


def _variables_in(node: Node, found: set[str]) -> None:
    if isinstance(node, VariableNode):
        found.add(node.name.value)
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            _variables_in(field.value, found)
    elif isinstance(node, ListValueNode):
        for item in node.values:
            _variables_in(item, found)


def _arguments_of(selection_set: SelectionSetNode | None) -> Iterator[ArgumentNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield from selection.arguments or ()
            yield from _arguments_of(selection.selection_set)
        elif isinstance(selection, InlineFragmentNode):
            yield from _arguments_of(selection.selection_set)


def cost_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """The variables the operation's cost may depend on: those in its `COST_ARGUMENTS`
    (its fragments' included), sorted."""
    found: set[str] = set()
    for selection_set in (operation.selection_set, *(f.selection_set for f in fragments.values())):
        for argument in _arguments_of(selection_set):
            if argument.name.value in COST_ARGUMENTS:
                _variables_in(argument.value, found)
    return tuple(sorted(found))


# Costs already computed, by schema, operation node and the values of the variables the
# cost depends on. A document is parsed once (the document cache keeps its AST) and a
# storefront sends the same few operations with plain variables again and again: the walk
# over their selections is done once. An entry keeps its schema and node, so an id reused by
# another object never matches.
_COSTS: dict[tuple[int, int, tuple[tuple[str, object], ...]], tuple[object, object, int]] = {}
_COSTS_KEPT = 4096
_PLAIN = (str, int, float, bool, type(None), enum.Enum)
# The variables each operation's cost depends on, by operation node (kept with it, as above).
_COST_VARIABLES: dict[int, tuple[object, tuple[str, ...]]] = {}
_MISSING = ("missing",)  # a variable not given (not the same as null to a default)
# Longer text is costed every time, not kept: every input's own limit is shorter (a search's
# is 200 characters), and 4,096 entries of request-sized strings would hold megabytes.
_KEPT_TEXT = 256


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    known_names = _COST_VARIABLES.get(id(operation))
    if known_names is not None and known_names[0] is operation:
        names = known_names[1]
    else:
        names = cost_variables(operation, fragments)
        if len(_COST_VARIABLES) >= _COSTS_KEPT:
            _COST_VARIABLES.clear()
        _COST_VARIABLES[id(operation)] = (operation, names)
    used = tuple((name, variables.get(name, _MISSING)) for name in names)
    plain = all(
        (isinstance(value, _PLAIN) and not (isinstance(value, str) and len(value) > _KEPT_TEXT))
        or value is _MISSING
        for _, value in used
    )
    key = (id(schema), id(operation), used if plain else ())
    known = _COSTS.get(key) if plain else None
    if known is not None and known[0] is schema and known[1] is operation:
        return known[2]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    cost = _Coster(schema, fragments, variables).selection_cost(
        operation.selection_set, root, frozenset()
    )
    if plain:
        if len(_COSTS) >= _COSTS_KEPT:
            _COSTS.clear()
        _COSTS[key] = (schema, operation, cost)
    return cost


def checked_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    limit: int,
) -> tuple[int | None, GraphQLError | None]:
    """(the operation's cost, QUERY_TOO_COMPLEX when it is over `limit`). Costed with the
    values execution will use (defaults filled in, as the fast path does); variables that
    don't coerce fail execution before any resolver (cost None)."""
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    if isinstance(coerced, list):
        return None, None
    cost = operation_cost(schema, operation, fragments, coerced.coerced)
    if cost <= limit:
        return cost, None
    refusal = GraphQLError(
        f"Query cost {cost} exceeds the limit of {limit}",
        extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, "cost": cost, "limit": limit},
    )
    return cost, refusal


class QueryCost(SchemaExtension):
    """Refuses an operation over the cost limit (QUERY_TOO_COMPLEX with `cost`, `limit`)
    before it runs, and reports `extensions.cost` when asked (header `X-Query-Cost: 1`,
    or always in development)."""

    def __init__(self, *, limit: int, environment: Environment) -> None:
        self.limit = limit
        self.environment = environment
        self.cost: int | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            operation = next(
                (
                    definition
                    for definition in document.definitions
                    if isinstance(definition, OperationDefinitionNode)
                    and (
                        context.operation_name is None
                        or (definition.name and definition.name.value == context.operation_name)
                    )
                ),
                None,
            )
            if operation is not None:
                fragments = {
                    definition.name.value: definition
                    for definition in document.definitions
                    if isinstance(definition, FragmentDefinitionNode)
                }
                self.cost, refusal = checked_cost(
                    context.schema._schema, operation, fragments, context.variables, self.limit
                )
                if refusal is not None:
                    # A result set here short-circuits execution: no resolver runs.
                    context.result = ExecutionResult(data=None, errors=[refusal])
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None or self.cost > self.limit:
            return {}
        request = getattr(self.execution_context.context, "request", None)
        asked = request is not None and request.headers.get("x-query-cost") == "1"
        if asked or self.environment is Environment.DEVELOPMENT:
            return {"cost": {"requested": self.cost, "limit": self.limit}}
        return {}
