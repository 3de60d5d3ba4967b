"""The validation rules that keep hostile documents cheap to refuse: depth, aliases, fragment
expansion and mutations per request (run once per distinct document, see `documents`)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from app.core.config import Settings
from app.core.errors import ErrorCode

# Sign-in mutations are where password guessing happens: one of each per request, so
# aliases can't batch guesses past the throttle.
ONCE_PER_REQUEST = frozenset({"login", "register", "refreshToken"})


def mutation_limits_rule(max_root_fields: int) -> type[ASTValidationRule]:
    class MutationLimits(ValidationRule):
        """At most `max_root_fields` root mutation fields (aliases and fragments counted)."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            if node.operation is not OperationType.MUTATION:
                return
            names = list(_root_fields(node.selection_set, self.context, set()))
            if len(names) > max_root_fields:
                message = f"At most {max_root_fields} mutations per request ({len(names)} sent)"
                self.report_error(_too_complex(message, node))
            for name in sorted(ONCE_PER_REQUEST):
                if names.count(name) > 1:
                    message = f"`{name}` may appear only once per request"
                    self.report_error(_too_complex(message, node))

    return MutationLimits


def _too_complex(message: str, node: Node | None = None, **extensions: object) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, **extensions}
    )


def _root_fields(
    selection_set: SelectionSetNode, context: ValidationContext, seen: set[str]
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, context, seen)


def expanded_fields(document: DocumentNode, *, cap: int) -> int:
    """How many fields the largest operation has once every fragment spread is replaced by
    its fragment, counted up to `cap + 1`. Each fragment is sized once (memoised), so this is
    linear in the document even when fragments spread each other many times over; unknown
    fragments and cycles count nothing here (other rules report them)."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}
    open_fragments: set[str] = set()

    def size(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + size(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += size(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in sizes and name in fragments and name not in open_fragments:
                    open_fragments.add(name)
                    sizes[name] = size(fragments[name].selection_set)
                    open_fragments.discard(name)
                total += sizes.get(name, 0)
            total = min(total, cap + 1)
        return total

    operations = (d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return max((size(operation.selection_set) for operation in operations), default=0)


def document_limits_rule(settings: Settings) -> type[ASTValidationRule]:
    depth = depth_rule(settings.graphql_max_depth, None, None)
    aliases = aliases_rule(settings.graphql_max_aliases)
    limit = settings.graphql_max_cost

    class DocumentLimits(ValidationRule):
        """The depth and alias limits, behind a check that the document's fragments don't
        expand it past the cost limit (each field costs at least 1, so such a document is
        refused anyway). Strawberry's depth and alias rules walk every spread of every
        fragment: a few hundred bytes of fragments each spreading the next four times would
        keep them, and the event loop, busy for minutes (4^n fields)."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            if expanded_fields(context.document, cap=limit) > limit:
                message = f"The query is too large: its fragments expand to over {limit} fields"
                self.report_error(_too_complex(message, limit=limit))
                return
            depth(context)  # these rules do their whole check when they are created
            aliases(context)

    return DocumentLimits


def limit_rules(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules that enforce the configured size, depth, alias and mutation
    limits."""
    return (document_limits_rule(settings), mutation_limits_rule(settings.graphql_max_mutations))
