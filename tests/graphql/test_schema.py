"""The exported schema file, GraphiQL and introspection per environment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.cli.tools import SCHEMA_FILE, schema_sdl
from app.core.config import Environment, Settings
from app.db.session import Database
from app.main import create_app
from tests.support import GraphQL, data


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), "run `poetry run export-schema`"


def test_every_type_and_field_is_described() -> None:
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

    from app.graphql.schema import build_schema

    schema = build_schema(Settings(_env_file=None))  # type: ignore[call-arg]
    undocumented = []
    for name, type_ in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not type_.description:
            undocumented.append(name)
        if isinstance(type_, (GraphQLObjectType, GraphQLInputObjectType)):
            undocumented += [
                f"{name}.{field}" for field, f in type_.fields.items() if not f.description
            ]
        if isinstance(type_, GraphQLEnumType):
            undocumented += [
                f"{name}.{v}" for v, value in type_.values.items() if not value.description
            ]
    assert undocumented == []


@pytest.fixture
async def production(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A production instance on the test's database (tokens of the test app hold there)."""
    production_settings = settings.model_copy(
        update={"env": Environment.PRODUCTION, "secret_key": settings.secret_key}
    )
    production_app = create_app(production_settings, database=database)
    transport = httpx.ASGITransport(app=production_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_graphiql_served_in_development(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_off_in_production(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_introspection_on_in_development(gql: GraphQL) -> None:
    assert data(await gql("{ __schema { queryType { name } } }")) == {
        "__schema": {"queryType": {"name": "Query"}}
    }


async def test_introspection_and_suggestions_off_in_production(
    production: httpx.AsyncClient,
) -> None:
    client = GraphQL(production)
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Query") { name } }'):
        result = await client(query)
        assert result["data"] is None
        assert {e["extensions"]["code"] for e in result["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert data(await client("{ apiInfo { environment } }")) == {
        "apiInfo": {"environment": "production"}
    }


# A typo of each kind of name: (document, variables).
TYPOS = {
    "field": ("{ apiInf { version } }", None),
    "argument": ("{ books(frist: 1) { totalCount } }", None),
    "enum value": ("{ books(orderBy: {field: TITEL, direction: ASC}) { totalCount } }", None),
    "enum value in a variable": (
        "query($o: BookOrder) { books(orderBy: $o) { totalCount } }",
        {"o": {"field": "TITEL", "direction": "ASC"}},
    ),
    "input field": ('{ books(filter: {serch: "x"}) { totalCount } }', None),
    "input field in a variable": (
        "query($f: BookFilter) { books(filter: $f) { totalCount } }",
        {"f": {"serch": "x"}},
    ),
    "type": ("query($f: BookFiltr) { books(filter: $f) { totalCount } }", None),
    "fragment type": ("{ ...F } fragment F on Quer { apiInfo { version } }", None),
}


@pytest.mark.parametrize("kind", TYPOS)
async def test_typo_gets_a_suggestion_in_development(gql: GraphQL, kind: str) -> None:
    result = await gql(*TYPOS[kind])
    assert "Did you mean" in result["errors"][0]["message"]


@pytest.mark.parametrize("kind", TYPOS)
@pytest.mark.parametrize("who", ["anonymous", "admin"])
async def test_no_suggestion_in_production(
    production: httpx.AsyncClient, admin_token: str, kind: str, who: str
) -> None:
    result = await GraphQL(production)(*TYPOS[kind], token=admin_token if who == "admin" else None)
    assert result["errors"]
    assert not any("Did you mean" in error["message"] for error in result["errors"]), result
