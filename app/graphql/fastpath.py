"""The fast path: queries of one root field (`books`, `book`, `cart`) that select only plain
data are answered without graphql-core's field-by-field execution.

Profiles of a 20-book page (id, title, price, authors, genres: about 300 fields) put most
of the remaining time in per-field execution: a resolver call, an info object and value
completion for each field. For the shapes a storefront sends most (`books` with book
fields, authors and genres, cursors, page info, total count; a book's page; a cart), the
work is known in advance. Each valid operation is compiled once into a plan; a request
then runs the same call as the root field's resolver (`ROOTS`: the same service code and
SQL) and builds the data straight from the result, in selection order. The suite compares
it byte for byte with the regular path.

What a plan renders is derived from the schema, never restated: each field is read as
Strawberry reads it (`_Compiler.field`) and completed by its GraphQL type; a field with a
resolver only where its type keeps the value read ahead (`prefetched_<name>`: a book's
authors, their first books on a book's page) and the root field's fetch reads it there
(`Root.read_ahead`): a plan never reads only to give way. Anything else (other arguments below the
root field, permission checks, fragments, directives, interfaces, an access token that is
refused, a guest cart token, any other error) takes the regular path, which produces those
error responses. The root field's own errors (its resolver's: no such book, a page too
large) and a database that is down are answered here, as graphql-core answers them. It runs
on the request's own context, authentication included: when it gives way, the regular path
goes on with what it found (a token is checked once per request).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    SelectionSetNode,
    Undefined,
)
from graphql.execution.values import get_argument_values, get_variable_values
from pydantic import ValidationError
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField

from app.books import schemas as books_schemas
from app.books.resolvers import (
    author_books_selection,
    book_detail,
    catalog_page,
    detail_related,
)
from app.books.types import author_books
from app.cart.resolvers import request_cart
from app.core.config import Environment, Settings
from app.core.errors import AppError
from app.core.paging import PageArgs
from app.db.session import is_database_unavailable
from app.graphql.connection import RELAY_ARGUMENTS
from app.graphql.context import Context
from app.graphql.cost import operation_cost
from app.graphql.documents import Operation
from app.graphql.enums import SortDirection
from app.graphql.ids import decode_id

logger = logging.getLogger(__name__)

# What a plan step does with the object it is given: return a JSON-ready value.
Getter = Callable[[Any], Any]
# A field of the plan: its response key, its getter, and the resolver to await first (the
# getter then completes what that returns) or None.
Step = tuple[str, Getter, Callable[[Any], Any] | None]
_STRAWBERRY = "strawberry-definition"  # where Strawberry links a GraphQL field to its own


class NotFastPathable(Exception):
    """The document or request needs the regular path."""


class FastPathFailed(Exception):
    """Something unexpected: the regular path answers, with a context of its own (this one's
    session may be unusable)."""


def _give_way() -> NoReturn:
    raise NotFastPathable


@dataclass(frozen=True, slots=True)
class Call:
    """What a root field is asked for: its selection, its arguments, the operation's
    variables (as graphql-core coerced them) and the paths selected below it."""

    schema: GraphQLSchema
    node: FieldNode
    arguments: dict[str, Any]
    variables: Any
    wanted: frozenset[str]


# What a root field's resolver does: the object the field answers (None: null).
Fetch = Callable[[Context, Call], Awaitable[Any]]


@dataclass(frozen=True)
class Plan:
    field: FieldNode
    response_key: str
    fetch: Fetch
    graphql_field: GraphQLField
    nullable: bool
    steps: tuple[Step, ...]  # the fields of the root field's object
    # Their selections by response key, and whether each is nullable (for their errors).
    step_fields: Mapping[str, tuple[FieldNode, bool]]
    wanted: frozenset[str]  # the selected paths below the root, e.g. "edges.node.authors"


# graphql-core's own output coercion returns values of these exact types unchanged (the
# GraphQL specification's String, ID and Boolean): the plan skips the call for them.
_UNCHANGED: dict[GraphQLLeafType, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


class _Compiler:
    def __init__(self, read_ahead: Mapping[str, bool]) -> None:
        self.read_ahead = read_ahead
        self.wanted: set[str] = set()

    def steps(
        self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType, path: str
    ) -> list[Step]:
        if selection_set is None:
            _give_way()
        steps: list[Step] = []
        for selection in selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                _give_way()
            name = selection.name.value
            key = selection.alias.value if selection.alias else name
            if any(key == seen for seen, _, _ in steps):  # merging keys is graphql-core's job
                _give_way()
            child_path = f"{path}.{name}" if path else name
            self.wanted.add(child_path)
            if name == "__typename":
                steps.append((key, _constant(parent.name), None))
                continue
            field = parent.fields[name]
            steps.append((key, *self.field(parent, field, selection, child_path, at_root=not path)))
        return steps

    def field(
        self,
        parent: GraphQLObjectType,
        field: GraphQLField,
        selection: FieldNode,
        path: str,
        *,
        at_root: bool,
    ) -> tuple[Getter, Callable[[Any], Any] | None]:
        """The field's getter, reading its value as Strawberry would, and the resolver to
        await first, if any."""
        definition = field.extensions.get(_STRAWBERRY)
        if not isinstance(definition, StrawberryField) or definition.extensions:
            _give_way()  # permission checks and other field extensions run per field
        resolver = definition.base_resolver
        if resolver is None:
            return self.completer(field.type, selection, path, read=definition.python_name), None
        prefetched = f"prefetched_{definition.python_name}"
        attributes = dataclasses.fields(parent.extensions[_STRAWBERRY].origin)
        if any(attribute.name == prefetched for attribute in attributes):
            pair = self.read_ahead.get(path)
            if pair is None:
                _give_way()  # the root field's fetch doesn't read it ahead here
            # Required: None means this object's fetch didn't read it ahead.
            if not pair:
                if selection.arguments:
                    _give_way()
                complete = self.completer(
                    field.type, selection, path, read=prefetched, required=True
                )
                return complete, None
            # Read ahead as (the selection it was read for, the value), whatever the
            # arguments: only for this very node. By identity: an AST node's hash walks its
            # whole subtree.
            complete = self.completer(field.type, selection, path, required=True)

            def read_ahead(value: Any) -> Any:
                found = getattr(value, prefetched)
                return complete(found[1] if found is not None and found[0] is selection else None)

            return read_ahead, None
        if selection.arguments:
            _give_way()  # the resolver's arguments are graphql-core's to coerce and pass
        if len(resolver.signature.parameters) != 1 or resolver.self_parameter is None:
            _give_way()  # it needs `info` or arguments
        complete = self.completer(field.type, selection, path)
        if resolver.is_async:
            if not at_root:
                _give_way()
            return complete, resolver
        return lambda value: complete(resolver(value)), None

    def completer(
        self,
        type_: GraphQLOutputType,
        selection: FieldNode,
        path: str,
        *,
        read: str | None = None,
        required: bool = False,
    ) -> Getter:
        """Completes a value of `type_` the way graphql-core does, or gives way where it
        would report an error. With `read`, it is given the object and reads that attribute
        first (one call per field: a page has hundreds). `required`: None gives way."""
        nullable = not isinstance(type_, GraphQLNonNull) and not required
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            item = self.completer(type_.of_type, selection, path)

            def complete(value: Any) -> Any:
                if read is not None:
                    value = getattr(value, read)
                if value is None:
                    return _null(nullable)
                return [item(v) for v in value]

        elif isinstance(type_, GraphQLLeafType):
            coerce, unchanged = type_.coerce_output_value, _UNCHANGED.get(type_)

            def complete(value: Any) -> Any:
                if read is not None:
                    value = getattr(value, read)
                if value is None:
                    return _null(nullable)
                if type(value) is unchanged:
                    return value
                coerced = coerce(value)
                if coerced is None or coerced is Undefined:
                    _give_way()  # graphql-core reports this as a field error
                return coerced

        elif isinstance(type_, GraphQLObjectType):
            steps = [(key, get) for key, get, _ in self.steps(selection.selection_set, type_, path)]

            def complete(value: Any) -> Any:
                if read is not None:
                    value = getattr(value, read)
                if value is None:
                    return _null(nullable)
                return {key: get(value) for key, get in steps}

        else:
            _give_way()  # interfaces and unions: resolving the type is graphql-core's job
        return complete


def _constant(value: str) -> Getter:
    return lambda _: value


def _null(nullable: bool) -> None:
    """The value of a null field, if it may be null (graphql-core reports it otherwise)."""
    if not nullable:
        _give_way()


def compile_plan(schema: GraphQLSchema, operation: Operation) -> Plan:
    node = operation.node
    if operation.kind != "query" or node.directives or len(node.selection_set.selections) != 1:
        _give_way()
    (root,) = node.selection_set.selections
    if not isinstance(root, FieldNode) or root.directives or root.name.value not in ROOTS:
        _give_way()
    name = root.name.value
    fetch, read_ahead, check = ROOTS[name]
    assert schema.query_type is not None
    field = schema.query_type.fields[name]
    definition = field.extensions.get(_STRAWBERRY)
    if not isinstance(definition, StrawberryField) or definition.extensions:
        _give_way()  # a permission check on the root field runs per field
    type_ = field.type
    nullable = not isinstance(type_, GraphQLNonNull)
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if not isinstance(type_, GraphQLObjectType):
        _give_way()
    compiler = _Compiler(read_ahead)
    steps = compiler.steps(root.selection_set, type_, "")
    assert root.selection_set is not None  # `steps` gives way without one
    if check is not None:
        check(schema, root, compiler.wanted)
    return Plan(
        field=root,
        response_key=root.alias.value if root.alias else name,
        fetch=fetch,
        graphql_field=field,
        nullable=nullable,
        steps=tuple(steps),
        step_fields={
            selection.alias.value if selection.alias else selection.name.value: (
                selection,
                selection.name.value == "__typename"
                or not isinstance(type_.fields[selection.name.value].type, GraphQLNonNull),
            )
            for selection in root.selection_set.selections
            if isinstance(selection, FieldNode)
        },
        wanted=frozenset(compiler.wanted),
    )


async def _books(context: Context, call: Call) -> Any:
    arguments = call.arguments
    return await catalog_page(
        context,
        filters=_filters(arguments.get("filter")),
        order=_order(arguments.get("orderBy")),
        args=PageArgs(*(arguments.get(name) for name in RELAY_ARGUMENTS)),
        wanted=call.wanted,
    )


async def _cart(context: Context, call: Call) -> Any:
    return await request_cart(context)


async def _book(context: Context, call: Call) -> Any:
    book_id = decode_id(call.arguments["id"], "Book", field="id")
    related = detail_related(call.schema, call.node, call.variables.coerced)
    if "authors.books" in call.wanted and (related is None or related.author_books is None):
        _give_way()  # before reading: the variables ask for what isn't read ahead
    book, pages = await book_detail(context, book_id, related)
    if pages is not None:
        selection = author_books_selection(call.node)
        for author in book.prefetched_authors or ():
            page = pages.get(author.pk)
            if page is not None:
                author.prefetched_books = (selection, author_books(context, author, page))
    return book


def _book_reads_ahead(schema: GraphQLSchema, node: FieldNode, wanted: set[str]) -> None:
    """Gives way where the book's fetch can't read its authors' books ahead whatever the
    variables (another order, two pages, a literal page too large): the plan would only
    read the book to give way. With the variables left out, an argument in a variable
    counts as not given, which `detail_related` accepts."""
    if "authors.books" in wanted:
        related = detail_related(schema, node, {})
        if related is None or related.author_books is None:
            _give_way()


class Root(NamedTuple):
    """A root field a plan may answer."""

    fetch: Fetch  # its resolver's call (the resolver itself needs graphql-core's `info`)
    # What the fetch reads ahead: the paths below the root field where it sets
    # `prefetched_<field>`, each True where it holds a (selection, value) pair, False where
    # it holds the value. A field with a resolver elsewhere gives way.
    read_ahead: Mapping[str, bool]
    # Gives way at compile time for a selection the fetch can't read ahead.
    check: Callable[[GraphQLSchema, FieldNode, set[str]], None] | None = None


ROOTS: Mapping[str, Root] = {
    # The page's books, with their authors and genres where selected (`catalog_page`).
    "books": Root(_books, {"edges.node.authors": False, "edges.node.genres": False}),
    # Its lines' books, without authors nor genres.
    "cart": Root(_cart, {}),
    # The book with its authors, and their first books (`detail_related`).
    "book": Root(_book, {"authors": False, "authors.books": True}, _book_reads_ahead),
}


class FastPath:
    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.cost_limit = settings.graphql_max_cost
        self.report_cost_always = settings.env is Environment.DEVELOPMENT

    def plan(self, operation: Operation) -> Plan | None:
        """The operation's plan, compiled on first use; None: the regular path answers."""
        try:
            plan: Plan | None = operation.derived[self]
        except KeyError:
            try:
                plan = compile_plan(self.schema, operation) if operation.valid else None
            except NotFastPathable:
                plan = None
            operation.derived[self] = plan
        return plan

    async def execute(
        self,
        operation: Operation,
        variables: dict[str, Any],
        *,
        context: Context,
        wants_cost: bool,
    ) -> ExecutionResult | None:
        """The result, or None when the regular path must answer (with this context);
        FastPathFailed when it must answer with a new one."""
        plan = self.plan(operation)
        if plan is None:
            return None
        try:
            return await self._answer(plan, operation, variables, context, wants_cost)
        except (AppError, ValidationError, NotFastPathable):
            return None  # the regular path answers with the proper error
        except Exception as failure:
            if is_database_unavailable(failure):
                # Answered here, as the regular path would: running it would only wait
                # for the same database (a statement timeout twice over).
                return _root_error(plan, failure)
            # Anything unexpected: the regular path maps it to its error code (and logs it)
            # in one place.
            logger.debug("the fast path gave way to the regular path", exc_info=True)
            raise FastPathFailed from failure

    async def _answer(
        self,
        plan: Plan,
        operation: Operation,
        inputs: dict[str, Any],
        context: Context,
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
        extensions = None
        if wants_cost or self.report_cost_always:
            extensions = {"cost": {"requested": cost, "limit": self.cost_limit}}
        try:
            refused = await context.token_refused()
        except Exception as failure:
            if not is_database_unavailable(failure):
                raise
            return _root_error(plan, failure, extensions)
        if refused:
            return None  # each field answers a refused token its own way
        arguments = get_argument_values(plan.graphql_field, plan.field, variables)
        call = Call(self.schema, plan.field, arguments, variables, plan.wanted)
        try:
            value = await plan.fetch(context, call)
        except AppError as refusal:
            # The root field's own error (no such book, a page too large, a bad cursor): the
            # regular path would only read it again to report it the same way.
            return _root_error(plan, refusal, extensions)
        except Exception as failure:
            if not is_database_unavailable(failure):
                raise
            return _root_error(plan, failure, extensions)
        if value is None:
            _null(plan.nullable)
            page = None
        else:
            awaited: dict[object, Any] = {}
            errors: list[GraphQLError] = []
            for _, _, resolve in plan.steps:
                if resolve is not None and resolve not in awaited:  # once, whatever the aliases
                    try:
                        awaited[resolve] = await resolve(value)
                    except Exception as failure:
                        if not is_database_unavailable(failure):
                            raise
                        # As graphql-core answers it: the error at the field's own path, the
                        # field null if it may be, else the root field (else `data`).
                        for key, _, other in plan.steps:
                            if other is resolve:
                                node, nullable = plan.step_fields[key]
                                path = [plan.response_key, key]
                                errors.append(
                                    GraphQLError("", node, path=path, original_error=failure)
                                )
                                if not nullable:
                                    return _root_error(plan, None, extensions, errors[-1:])
                        awaited[resolve] = None
            page = {
                key: get(value if resolve is None else awaited[resolve])
                for key, get, resolve in plan.steps
            }
            if errors:
                return ExecutionResult(
                    data={plan.response_key: page}, errors=errors, extensions=extensions
                )
        return ExecutionResult(data={plan.response_key: page}, errors=None, extensions=extensions)


def _root_error(
    plan: Plan,
    failure: Exception | None,
    extensions: dict[str, Any] | None = None,
    errors: list[GraphQLError] | None = None,
) -> ExecutionResult:
    """What graphql-core answers when the root field's resolver raises `failure` (or a
    non-null field below it, `errors`): the root field null if it may be (else `data`),
    and the error at its path (formatted, like every error, by `app.graphql.errors`)."""
    if errors is None:
        path = [plan.response_key]
        errors = [GraphQLError("", nodes=plan.field, path=path, original_error=failure)]
    data = {plan.response_key: None} if plan.nullable else None
    return ExecutionResult(data=data, errors=errors, extensions=extensions)


def _filters(value: Any) -> books_schemas.BookFilterInput | None:
    if value is None:
        return None
    return books_schemas.BookFilterInput.model_validate(value)


def _order(value: Any) -> tuple[Any, bool] | None:
    if value is None:
        return None
    return value["field"], value["direction"] is SortDirection.DESC
