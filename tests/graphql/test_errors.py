"""The error convention: every error carries `extensions.code`; unexpected ones leak nothing."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, Field

from app.core.errors import AppError, ErrorCode, NotFoundError
from app.graphql.schema import ApiInfo
from tests.support import GraphQL, code, error


async def test_parse_error_has_parse_code(gql: GraphQL) -> None:
    result = await gql("{ apiInfo { version }")
    assert code(result) == "GRAPHQL_PARSE_FAILED"
    assert result.get("data") is None
    assert error(result)["locations"] == [{"line": 1, "column": 22}]


async def test_unknown_field_has_validation_code(gql: GraphQL) -> None:
    result = await gql("{ apiInfo { nope } }")
    assert code(result) == "GRAPHQL_VALIDATION_FAILED"
    assert "nope" in error(result)["message"]


async def test_bad_variable_value_has_validation_code(gql: GraphQL) -> None:
    result = await gql(
        "query($n: Int!) { apiInfo @include(if: $n) { version } }", {"n": "not a number"}
    )
    assert result["errors"]
    assert {e["extensions"]["code"] for e in result["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_app_error_keeps_message_code_and_field(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    def raise_not_found(_: object) -> ApiInfo:
        raise NotFoundError("No such thing", field="input.id", extensions={"hint": 3})

    monkeypatch.setattr(ApiInfo, "of", staticmethod(raise_not_found))
    result = await gql("{ apiInfo { version } }")
    assert error(result) == {
        "message": "No such thing",
        "locations": [{"line": 1, "column": 3}],
        "path": ["apiInfo"],
        "extensions": {"code": "NOT_FOUND", "field": "input.id", "hint": 3},
    }


async def test_pydantic_error_becomes_validation_error_without_the_input(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Secretive(BaseModel):
        password: str = Field(min_length=20)

    def validate(_: object) -> ApiInfo:
        Secretive.model_validate({"password": "hunter2-secret"})
        raise AssertionError("unreachable")

    monkeypatch.setattr(ApiInfo, "of", staticmethod(validate))
    result = await gql("{ apiInfo { version } }")
    failure = error(result)
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == "password"
    assert failure["extensions"]["errors"][0]["loc"] == ["password"]
    assert failure["extensions"]["errors"][0]["type"] == "string_too_short"
    assert "hunter2" not in str(result)


async def test_unexpected_exception_is_masked_and_logged(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(_: object) -> ApiInfo:
        raise RuntimeError('relation "users" password_hash SELECT * FROM secrets')

    monkeypatch.setattr(ApiInfo, "of", staticmethod(explode))
    with caplog.at_level(logging.ERROR, logger="app.graphql"):
        result = await gql("{ apiInfo { version } }")
    assert result == {
        "data": None,
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ],
    }
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "password_hash" in str(logged[0].exc_info[1])


async def test_app_error_without_code_override_uses_class_default() -> None:
    assert AppError("x").to_extensions() == {"code": "INTERNAL_SERVER_ERROR", "field": None}
    assert NotFoundError().message == "Not found"


def test_every_error_code_is_described() -> None:
    assert all(member.description for member in ErrorCode)
