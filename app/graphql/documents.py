"""Documents parsed and validated once per distinct query text, for every layer that reads
them: the HTTP view (which operation, for the GraphQL-over-HTTP rules and the cache), the
fast path (its plan) and Strawberry's execution (through `SharedDocuments`).

Validation runs the schema's rules plus the limits (depth, aliases, fragment expansion,
mutations per request) and, where introspection is off, the introspection ban; parsing
stops at the token limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule, ValuesOfCorrectTypeRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from app.core.config import Settings
from app.graphql.extensions import limit_rules
from app.graphql.variables import LiteralValues


@dataclass(eq=False, slots=True)
class Operation:
    """One operation of a parsed document, with what execution needs to know about it."""

    node: OperationDefinitionNode
    fragments: Mapping[str, FragmentDefinitionNode]
    valid: bool  # the whole document passed validation
    # What other layers derive from the operation, once, keyed by who derived it (the
    # fast path's plan).
    derived: dict[object, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """Its type: "query", "mutation" or "subscription"."""
        return self.node.operation.value

    @property
    def name(self) -> str | None:
        return self.node.name.value if self.node.name else None


class Document:
    """A query text, parsed (`node` is None when it doesn't parse) and validated (`errors`:
    the validation errors, empty when valid)."""

    __slots__ = ("_operations", "errors", "fragments", "node")

    def __init__(self, node: DocumentNode | None, errors: list[GraphQLError]) -> None:
        self.node = node
        self.errors = errors
        self.fragments = {
            definition.name.value: definition
            for definition in (node.definitions if node is not None else ())
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._operations: dict[str | None, Operation] = {}

    @property
    def several_operations(self) -> bool:
        """Whether the document holds more than one operation (then `operationName` is
        required)."""
        definitions = self.node.definitions if self.node is not None else ()
        return sum(isinstance(d, OperationDefinitionNode) for d in definitions) > 1

    def operation(self, name: str | None) -> Operation | None:
        """The operation `operationName` picks (None: no such operation, or an ambiguous
        choice). Only found operations are remembered: the names come from clients."""
        found = self._operations.get(name)
        if found is None and self.node is not None:
            node = get_operation_ast(self.node, name)
            if node is not None:
                # The same operation by its name and as the only one: one record, one plan.
                found = next((op for op in self._operations.values() if op.node is node), None)
                if found is None:
                    found = Operation(node, self.fragments, valid=not self.errors)
                self._operations[name] = found
        return found


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.max_tokens = settings.graphql_max_tokens
        rules: tuple[type[ASTValidationRule], ...] = (
            # Literal values are checked with messages that never quote them.
            *(
                LiteralValues if rule is ValuesOfCorrectTypeRule else rule
                for rule in specified_rules
            ),
            # Strawberry's own, which its `validate_document` adds.
            MaybeNullValidationRule,
            OneOfInputValidationRule,
            *limit_rules(settings),
        )
        if not settings.introspection_enabled:
            rules = (*rules, NoSchemaIntrospectionCustomRule)
        # "Did you mean ...?" spells out the schema that production keeps to itself
        # (field, argument, type, enum value and input field names alike).
        hide_suggestions = not settings.suggestions_enabled

        @lru_cache(maxsize=settings.graphql_parser_cache_size)
        def get(query: str) -> Document:
            try:
                node = parse(query, max_tokens=self.max_tokens)
            except GraphQLError:
                return Document(None, [])  # Strawberry parses it again to report the error
            return Document(node, validate(schema, node, rules, hide_suggestions=hide_suggestions))

        self.get = get


class SharedDocuments(SchemaExtension):
    """Strawberry's parsing and validation steps, answered from the `DocumentCache`."""

    def __init__(self, documents: DocumentCache) -> None:
        self.documents = documents
        self.document: Document | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.documents.max_tokens
        if context.query:
            self.document = self.documents.get(context.query)
            context.graphql_document = self.document.node
        yield

    def on_validate(self) -> Iterator[None]:
        if self.document is not None:  # Strawberry validates nothing that is already set
            self.execution_context.pre_execution_errors = list(self.document.errors)
        yield
