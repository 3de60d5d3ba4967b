"""Schema extensions: caches and the limits that keep hostile documents cheap to refuse."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphql import ASTValidationRule
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

ExtensionFactory = Callable[[], SchemaExtension]


class QueryLimits(AddValidationRules):
    """Depth and alias limits as validation rules.

    Strawberry's `QueryDepthLimiter`/`MaxAliasesLimiter` build a new rule class per instance.
    Extensions are instantiated per request, and `ValidationCache` keys on the rule classes,
    so per-request classes would make every validation a cache miss. The rule classes are
    therefore built once per schema and shared.
    """

    def __init__(self, rules: Sequence[type[ASTValidationRule]]) -> None:
        super().__init__(list(rules))


def build_extensions(settings: Settings) -> list[ExtensionFactory]:
    """Extension factories, in the order they must run."""
    rules: tuple[type[ASTValidationRule], ...] = (
        depth_rule(settings.graphql_max_depth, None, None),
        aliases_rule(settings.graphql_max_aliases),
    )
    parser_cache_size = settings.graphql_parser_cache_size
    validation_cache_size = settings.graphql_validation_cache_size
    max_tokens = settings.graphql_max_tokens

    factories: list[ExtensionFactory] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=parser_cache_size),
        lambda: QueryLimits(rules),
        lambda: ValidationCache(maxsize=validation_cache_size),
    ]
    if not settings.introspection_enabled:
        factories.append(DisableIntrospection)
    return factories
