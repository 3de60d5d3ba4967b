"""Depth, alias, token, cost and mutation limits answer QUERY_TOO_COMPLEX, fragments included."""

from __future__ import annotations

import pytest

from app.core.config import Settings
from tests.support import GraphQL, StatementCounter, code, error


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


def fanned_out(levels: int, root: str = "Query", leaf: str = "apiInfo { version }") -> str:
    """Fragments each spreading the next four times: a few hundred bytes that expand to
    4^levels fields."""
    fragments = [
        f"fragment F{i} on {root} {{ {' '.join([f'...F{i + 1}'] * 4)} }}" for i in range(levels)
    ]
    fragments.append(f"fragment F{levels} on {root} {{ {leaf} }}")
    operation = "mutation" if root == "Mutation" else "query"
    return f"{operation} {{ ...F0 }}\n" + "\n".join(fragments)


@pytest.mark.parametrize(
    ("root", "leaf"), [("Query", "apiInfo { version }"), ("Mutation", "logoutAll")]
)
async def test_fragments_fanning_out_are_refused_without_expanding_them(
    gql: GraphQL, settings: Settings, customer_token: str, root: str, leaf: str
) -> None:
    # Four spreads per level, merged into one field: small documents are fine...
    assert "errors" not in await gql(fanned_out(3, root, leaf), token=customer_token)
    # ...but 4^10 fields would keep the limit rules busy for a minute before this check.
    refused = error(await gql(fanned_out(10, root, leaf), token=customer_token))
    assert refused["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": settings.graphql_max_cost,
    }


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


_CHAIN = ["books", "edges", "node", "authors"]
_LEAF = {"books": "totalCount", "edges": "cursor", "node": "id", "authors": "id"}
# Small pages keep these deep documents under the cost limit: depth is what they test.
_FIELD = {"books": "books(first: 1)", "edges": "edges", "node": "node", "authors": "authors"}


def nested(levels: int) -> str:
    """A query whose deepest field sits `levels` fields down (books > edges > node >
    authors > books > ...)."""
    names = [_CHAIN[i % len(_CHAIN)] for i in range(levels)]
    query = _LEAF[names[-1]]
    for name in reversed(names):
        query = f"{_FIELD[name]} {{ {query} }}"
    return f"{{ {query} }}"


async def test_depth_at_the_limit_runs(gql: GraphQL, settings: Settings) -> None:
    result = await gql(nested(settings.graphql_max_depth))
    assert "errors" not in result


async def test_depth_over_the_limit_is_refused(gql: GraphQL, settings: Settings) -> None:
    result = await gql(nested(settings.graphql_max_depth + 1))
    assert code(result) == "QUERY_TOO_COMPLEX"
    assert result["data"] is None


def fragmented(depth: int) -> str:
    # The same over-deep chain, each level hidden in its own fragment.
    fragments = [
        "fragment F0 on Query { books(first: 1) { ...F1 } }",
        *(
            f"fragment F{i} on {('BookConnection', 'BookEdge', 'Book', 'Author')[(i - 1) % 4]} "
            f"{{ {_FIELD[_CHAIN[i % 4]]} {{ ...F{i + 1} }} }}"
            for i in range(1, depth - 1)
        ),
    ]
    last_type = ("BookConnection", "BookEdge", "Book", "Author")[(depth - 2) % 4]
    last_field = _CHAIN[(depth - 1) % 4]
    fragments.append(
        f"fragment F{depth - 1} on {last_type} {{ {_FIELD[last_field]} {{ {_LEAF[last_field]} }} }}"
    )
    return "{ ...F0 }\n" + "\n".join(fragments)


async def test_depth_limit_sees_through_fragments(gql: GraphQL, settings: Settings) -> None:
    assert "errors" not in await gql(fragmented(settings.graphql_max_depth))
    assert code(await gql(fragmented(settings.graphql_max_depth + 1))) == "QUERY_TOO_COMPLEX"


EXPENSIVE = """query($n: Int) { books(first: $n) { edges { node {
  authors { books(first: $n) { edges { node { authors { books(first: $n) { totalCount } } } } } }
} } } }"""


async def test_cost_over_the_limit_is_refused_before_anything_runs(
    gql: GraphQL, statements: StatementCounter
) -> None:
    statements.statements.clear()
    result = await gql(EXPENSIVE, {"n": 100})
    failure = error(result)
    assert failure["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert failure["extensions"]["limit"] == 10_000
    assert failure["extensions"]["cost"] > 10_000
    assert result["data"] is None
    assert statements.count == 0  # no resolver ran


async def test_cost_follows_variables_and_is_reported_on_request(gql: GraphQL) -> None:
    cheap = await gql(EXPENSIVE, {"n": 2}, headers={"X-Query-Cost": "1"})
    assert "errors" not in cheap
    assert cheap["extensions"]["cost"]["limit"] == 10_000
    assert 0 < cheap["extensions"]["cost"]["requested"] < 200
    assert "extensions" not in await gql(EXPENSIVE, {"n": 2})  # only when asked (or in dev)


async def test_variable_defaults_are_costed_the_same_signed_in_or_not(
    gql: GraphQL, customer_token: str
) -> None:
    query = "query($n: Int = 2) { books(first: $n) { edges { node { id } } } }"
    anonymous = await gql(query, {}, headers={"X-Query-Cost": "1"})  # the fast path
    signed_in = await gql(query, {}, token=customer_token, headers={"X-Query-Cost": "1"})
    assert anonymous["extensions"]["cost"] == signed_in["extensions"]["cost"]
    assert signed_in["extensions"]["cost"]["requested"] < 10


async def test_a_missing_variable_is_reported_as_such_not_as_cost(gql: GraphQL) -> None:
    query = """query($n: Int!) { books(first: $n) { edges { node {
        authors { books(first: $n) { edges { node { id } } } } } } } }"""
    assert code(await gql(query, {"n": 100})) == "QUERY_TOO_COMPLEX"
    missing = error(await gql(query, {}))
    assert missing["extensions"]["code"] == "VALIDATION_ERROR"
    assert missing["extensions"]["field"] == "n"


async def test_search_costs_more(gql: GraphQL) -> None:
    query = "query($f: BookFilter) { books(first: 1, filter: $f) { totalCount } }"
    plain = await gql(query, {}, headers={"X-Query-Cost": "1"})
    searching = await gql(query, {"f": {"search": "dune"}}, headers={"X-Query-Cost": "1"})
    assert searching["extensions"]["cost"]["requested"] > plain["extensions"]["cost"]["requested"]


async def test_at_most_five_mutations_per_request(gql: GraphQL) -> None:
    five = " ".join(f'm{i}: logout(refreshToken: "x{i}")' for i in range(5))
    assert "errors" not in await gql(f"mutation {{ {five} }}")
    six = five + ' m5: logout(refreshToken: "x5")'
    assert code(await gql(f"mutation {{ {six} }}")) == "QUERY_TOO_COMPLEX"
    hidden = (
        f'mutation {{ ...M m5: logout(refreshToken: "x") }} fragment M on Mutation {{ {five} }}'
    )
    assert code(await gql(hidden)) == "QUERY_TOO_COMPLEX"


@pytest.mark.parametrize("field", ["login", "register", "refreshToken"])
async def test_sign_in_mutations_once_per_request(gql: GraphQL, field: str) -> None:
    arguments = {
        "login": '(input: {email: "a@example.com", password: "guess"}) { accessToken }',
        "register": '(input: {email: "a@example.com", password: "guessguess", fullName: "A"}) { accessToken }',
        "refreshToken": '(refreshToken: "guess") { accessToken }',
    }[field]
    result = await gql(f"mutation {{ a: {field}{arguments} b: {field}{arguments} }}")
    assert code(result) == "QUERY_TOO_COMPLEX"
    assert result["data"] is None


async def test_one_document_is_costed_by_each_requests_variables(gql: GraphQL) -> None:
    """Costs are remembered per operation and variables (app.graphql.cost): the same
    document with other values is costed again."""
    for n, refused in ((2, False), (100, True), (2, False)):
        result = await gql(EXPENSIVE, {"n": n})
        assert ("errors" in result and code(result) == "QUERY_TOO_COMPLEX") is refused, result


async def test_a_cost_remembered_across_other_variables_still_follows_its_own(
    gql: GraphQL,
) -> None:
    """A cost is remembered by the variables it depends on only (page sizes, ids, search
    words: a fresh idempotency key doesn't defeat the memory), and those are found in
    fragments and inside input objects too."""
    query = """query($n: Int, $id: ID!, $q: String) { book(id: $id) { id } ...Page }
    fragment Page on Query { books(first: $n, filter: { search: $q }) { edges { node {
      authors { books(first: $n) { edges { node { authors { books(first: $n) {
        totalCount } } } } } } } } } }"""

    async def cost(n: int, book: str, q: str | None = None) -> int | str:
        result = await gql(query, {"n": n, "id": book, "q": q}, headers={"X-Query-Cost": "1"})
        if code(result) == "QUERY_TOO_COMPLEX":
            return "refused"
        requested: int = result["extensions"]["cost"]["requested"]
        return requested

    small = await cost(2, "Qm9vazox")
    assert await cost(100, "Qm9vazox") == "refused"
    assert await cost(2, "Qm9vazoy") == small
    searching = await cost(2, "Qm9vazox", "dune")
    assert isinstance(small, int) and isinstance(searching, int) and searching > small
