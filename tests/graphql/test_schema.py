"""The exported schema file, GraphiQL and introspection per environment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.cli.tools import SCHEMA_FILE, schema_sdl
from app.core.config import Environment, Settings
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
async def production(settings: Settings, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    production_settings = settings.model_copy(
        update={"env": Environment.PRODUCTION, "secret_key": settings.secret_key}
    )
    production_app = create_app(production_settings, database=app.state.database)
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
    typo = await client("{ apiInf { version } }")
    assert "Did you mean" not in typo["errors"][0]["message"]
    assert data(await client("{ apiInfo { environment } }")) == {
        "apiInfo": {"environment": "production"}
    }


async def test_typo_gets_suggestion_in_development(gql: GraphQL) -> None:
    result = await gql("{ apiInf { version } }")
    assert "Did you mean" in result["errors"][0]["message"]
