"""Input values checked against their GraphQL types, with errors that name the offending
path (`input.email`) and say what the type expects, never what was sent: a value may be a
password, and graphql-core's own messages quote it ("…found: {'password': …}").

Two kinds of input go through the same check: variable values before execution
(`VALIDATION_ERROR`, like any other bad input) and the literals of a document during
validation (`GRAPHQL_VALIDATION_FAILED`: the document itself is wrong).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graphql import (
    EnumValueNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLNamedType,
    GraphQLSchema,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    Undefined,
    ValidationContext,
    ValueNode,
    VariableNode,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_input_type,
    is_list_type,
    is_non_null_type,
    is_required_input_field,
    type_from_ast,
)
from graphql.language import SKIP, ArgumentNode, VariableDefinitionNode, VisitorAction
from graphql.pyutils import did_you_mean, suggestion_list
from graphql.validation import ValuesOfCorrectTypeRule

from app.core.errors import ErrorCode, ValidationFailed

# (location, message, kind) of one problem; the kinds follow Pydantic's where it has one.
Problem = tuple[list[str | int], str, str]

# What each scalar of the schema accepts, in the words a client needs.
_EXPECTED = {
    "Int": "an Int (a 32-bit integer)",
    "Float": "a Float (a number)",
    "String": "a String",
    "Boolean": "a Boolean (true or false)",
    "ID": "an ID (a string)",
    "Date": "a Date (YYYY-MM-DD)",
    "DateTime": "a DateTime (ISO 8601, e.g. 2026-01-31T09:30:00+01:00)",
    "Decimal": 'a Decimal (a number in a string, e.g. "12.50")',
}


def expected(type_: GraphQLInputType) -> str:
    """What a value of `type_` must be, as a phrase ("an Int (a 32-bit integer)")."""
    named: GraphQLNamedType = get_named_type(type_)
    if is_enum_type(named):
        return f"a {named.name} value"
    if is_input_object_type(named):
        return f"a {named.name} object"
    return _EXPECTED.get(named.name, f"a {named.name}")


def problems(
    value: Any, type_: GraphQLInputType, loc: list[str | int], *, suggest: bool
) -> Iterator[Problem]:
    """What is wrong with `value` as a `type_`: a Python value (variables) or the AST node
    of a literal (documents). A variable inside a literal is checked where it is defined.
    `suggest`: name the closest valid field or enum value (development only: they spell
    out the schema)."""
    if isinstance(value, VariableNode):
        return
    literal = isinstance(value, ValueNode)
    null = value is None or isinstance(value, NullValueNode)
    if is_non_null_type(type_):
        if value is Undefined:
            yield loc, "required", "missing"
        elif null:
            yield loc, "must not be null", "null"
        else:
            yield from problems(value, type_.of_type, loc, suggest=suggest)
        return
    if value is Undefined or null:
        return
    if is_list_type(type_):
        if isinstance(value, ListValueNode) or (not literal and isinstance(value, list)):
            items = value.values if isinstance(value, ListValueNode) else value
            for index, item in enumerate(items):
                yield from problems(item, type_.of_type, [*loc, index], suggest=suggest)
        else:  # a single value stands for a list of one
            yield from problems(value, type_.of_type, loc, suggest=suggest)
        return
    if is_input_object_type(type_):
        if isinstance(value, ObjectValueNode):
            given: Mapping[str, Any] = {field.name.value: field.value for field in value.fields}
        elif not literal and isinstance(value, dict):
            given = value
        else:
            yield loc, f"expected {expected(type_)}", "type_error"
            return
        for name, field in type_.fields.items():
            if name in given:
                yield from problems(given[name], field.type, [*loc, name], suggest=suggest)
            elif is_required_input_field(field):
                yield [*loc, name], "required", "missing"
        for name in given:
            if name not in type_.fields:
                hint = _did_you_mean(name, type_.fields) if suggest else ""
                yield [*loc, name], f"not a field of {type_.name}{hint}", "extra_forbidden"
        return
    if not _coerces(value, type_, literal=literal):
        hint = ""
        if suggest and is_enum_type(type_):
            name = value.value if isinstance(value, (EnumValueNode, StringValueNode)) else value
            hint = _did_you_mean(name, type_.values) if isinstance(name, str) else ""
        yield loc, f"expected {expected(type_)}{hint}", "type_error"


def _did_you_mean(name: str, options: Iterable[str]) -> str:
    return did_you_mean(suggestion_list(name, list(options))).replace(" Did", ". Did")


def _coerces(value: Any, type_: Any, *, literal: bool) -> bool:
    """Whether the scalar or enum `type_` takes `value` (as graphql-core coerces it)."""
    try:
        if not literal:
            result = (
                type_.coerce_input_value(value, True)  # True: no suggestions
                if is_enum_type(type_)
                else type_.coerce_input_value(value)
            )
        elif is_enum_type(type_):
            result = type_.coerce_input_literal(value, True)
        elif type_.coerce_input_literal is not None:
            result = type_.coerce_input_literal(value)
        else:
            result = type_.parse_literal(value, None)
    except Exception:  # a scalar's own parser failing is only "not this type"
        return False
    return result is not Undefined


def _path(loc: list[str | int]) -> str:
    return ".".join(map(str, loc))


def variable_errors(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    inputs: Mapping[str, Any],
    *,
    suggest: bool,
) -> list[GraphQLError]:
    """One `VALIDATION_ERROR` per variable whose value doesn't fit its declared type,
    `extensions.field` naming the first problem's path (the variable's name first)."""
    errors = []
    for definition in operation.variable_definitions or ():
        type_ = type_from_ast(schema, definition.type)
        if type_ is None or not is_input_type(type_):
            continue  # validation refused the document already
        name = definition.variable.name.value
        value = inputs.get(name, Undefined)
        if value is Undefined and definition.default_value is not None:
            continue
        found = list(problems(value, type_, [name], suggest=suggest))
        if found:
            errors.append(_variable_error(definition, found))
    return errors


def _variable_error(definition: VariableDefinitionNode, found: list[Problem]) -> GraphQLError:
    loc, msg, _ = found[0]
    field = _path(loc)
    failure = ValidationFailed(
        f"{field}: {msg}",
        field=field,
        errors=[{"loc": where, "msg": text, "type": kind} for where, text, kind in found],
    )
    return GraphQLError(failure.message, definition, original_error=failure)


class LiteralValues(ValuesOfCorrectTypeRule):
    """graphql-core's check of literal values (same visits), with this module's messages;
    `extensions.field` is the argument's path (or the variable's, for a default)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._prefix: list[str | int] = []  # the argument or variable the value is for

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        self._prefix = [node.name.value]

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: object) -> None:
        self._prefix = [node.variable.name.value]

    def is_valid_value_node(
        self, node: ValueNode, input_type: GraphQLInputType | None
    ) -> VisitorAction:
        if input_type is not None:
            suggest = not self.context.hide_suggestions
            for loc, msg, _ in problems(node, input_type, self._prefix, suggest=suggest):
                field = _path(loc)
                self.report_error(
                    GraphQLError(
                        f"{field}: {msg}",
                        node,
                        extensions={
                            "code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value,
                            "field": field,
                        },
                    )
                )
        return SKIP
