"""Schema extensions: caches and the limits that keep hostile documents cheap to refuse."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from app.core.config import Settings
from app.core.errors import ErrorCode
from app.graphql.cost import QueryCost

ExtensionFactory = Callable[[], SchemaExtension]


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
                self.report_error(
                    GraphQLError(
                        f"At most {max_root_fields} mutations per request ({len(names)} sent)",
                        node,
                        extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
                    )
                )
            for name in sorted(ONCE_PER_REQUEST):
                if names.count(name) > 1:
                    self.report_error(
                        GraphQLError(
                            f"`{name}` may appear only once per request",
                            node,
                            extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
                        )
                    )

    return MutationLimits


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


class QueryLimits(AddValidationRules):
    """Depth and alias limits as validation rules.

    Strawberry's `QueryDepthLimiter`/`MaxAliasesLimiter` build a new rule class per instance.
    Extensions are instantiated per request, and `ValidationCache` keys on the rule classes,
    so per-request classes would make every validation a cache miss. The rule classes are
    therefore built once per schema and shared.
    """

    def __init__(self, rules: Sequence[type[ASTValidationRule]]) -> None:
        super().__init__(list(rules))


def limit_rules(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules that enforce the configured depth, alias and mutation limits."""
    return (
        depth_rule(settings.graphql_max_depth, None, None),
        aliases_rule(settings.graphql_max_aliases),
        mutation_limits_rule(settings.graphql_max_mutations),
    )


def build_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Extension factories, in the order they must run."""
    rules = limit_rules(settings)
    parser_cache_size = settings.graphql_parser_cache_size
    validation_cache_size = settings.graphql_validation_cache_size
    max_tokens = settings.graphql_max_tokens
    cost_limit = settings.graphql_max_cost
    environment = settings.env

    factories: list[ExtensionFactory] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=parser_cache_size),
        lambda: QueryLimits(rules),
        lambda: ValidationCache(maxsize=validation_cache_size),
        lambda: QueryCost(limit=cost_limit, environment=environment),
    ]
    if not settings.introspection_enabled:
        factories.append(DisableIntrospection)
    return factories
