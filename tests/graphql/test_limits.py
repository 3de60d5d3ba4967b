"""Depth, alias and token limits answer QUERY_TOO_COMPLEX, fragments included."""

from __future__ import annotations

from app.core.config import Settings
from tests.support import GraphQL, code


async def test_fragment_cycle_is_a_validation_error(gql: GraphQL) -> None:
    query = """
    { __schema { queryType { ...A } } }
    fragment A on __Type { ofType { ...B } }
    fragment B on __Type { ofType { ...A } }
    """
    result = await gql(query)
    assert result["errors"]
    codes = {e["extensions"]["code"] for e in result["errors"]}
    assert codes <= {"GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"}


async def test_alias_limit(gql: GraphQL, settings: Settings) -> None:
    allowed = " ".join(f"a{i}: apiInfo {{ version }}" for i in range(settings.graphql_max_aliases))
    assert "errors" not in await gql(f"{{ {allowed} }}")
    too_many = allowed + " extra: apiInfo { version }"
    assert code(await gql(f"{{ {too_many} }}")) == "QUERY_TOO_COMPLEX"


async def test_alias_limit_counts_aliases_inside_fragments(
    gql: GraphQL, settings: Settings
) -> None:
    aliases = " ".join(f"v{i}: version" for i in range(settings.graphql_max_aliases + 1))
    query = f"{{ apiInfo {{ ...F }} }} fragment F on ApiInfo {{ {aliases} }}"
    assert code(await gql(query)) == "QUERY_TOO_COMPLEX"


async def test_token_limit(gql: GraphQL, settings: Settings) -> None:
    fields = " ".join("version" for _ in range(settings.graphql_max_tokens))
    result = await gql(f"{{ apiInfo {{ {fields} }} }}")
    assert code(result) == "QUERY_TOO_COMPLEX"
