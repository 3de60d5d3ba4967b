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


SECRET = "hunter2-Secret"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }"
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"


@pytest.mark.parametrize(
    ("operation", "variables", "field", "message", "problems"),
    [
        (
            LOGIN,
            {"input": {"password": SECRET}},
            "input.email",
            "input.email: required",
            [{"loc": ["input", "email"], "msg": "required", "type": "missing"}],
        ),
        (
            REGISTER,
            {"input": {"email": "a@b.co", "password": SECRET, "fullName": "A", "role": "ADMIN"}},
            "input.role",
            "input.role: not a field of RegisterInput",
            [
                {
                    "loc": ["input", "role"],
                    "msg": "not a field of RegisterInput",
                    "type": "extra_forbidden",
                }
            ],
        ),
        (
            REGISTER,
            {"input": {"email": 12345, "password": None, "fullName": [SECRET]}},
            "input.email",
            "input.email: expected a String",
            [
                {"loc": ["input", "email"], "msg": "expected a String", "type": "type_error"},
                {"loc": ["input", "password"], "msg": "must not be null", "type": "null"},
                {"loc": ["input", "fullName"], "msg": "expected a String", "type": "type_error"},
            ],
        ),
        (
            LOGIN,
            {"input": SECRET},
            "input",
            "input: expected a LoginInput object",
            [{"loc": ["input"], "msg": "expected a LoginInput object", "type": "type_error"}],
        ),
        (
            "query($first: Int) { books(first: $first) { totalCount } }",
            {"first": SECRET},
            "first",
            "first: expected an Int (a 32-bit integer)",
            [{"loc": ["first"], "msg": "expected an Int (a 32-bit integer)", "type": "type_error"}],
        ),
        (
            "query($f: BookFilter) { books(filter: $f) { totalCount } }",
            {"f": {"genreIds": ["R2VucmU6MQ==", {"x": SECRET}]}},
            "f.genreIds.1",
            "f.genreIds.1: expected an ID (a string)",
            [
                {
                    "loc": ["f", "genreIds", 1],
                    "msg": "expected an ID (a string)",
                    "type": "type_error",
                }
            ],
        ),
    ],
)
async def test_a_variable_that_does_not_coerce_is_a_validation_error_without_the_value(
    gql: GraphQL,
    operation: str,
    variables: dict[str, object],
    field: str,
    message: str,
    problems: list[dict[str, object]],
) -> None:
    result = await gql(operation, variables)
    assert result["data"] is None
    failure = error(result)
    assert failure["message"] == message
    assert failure["extensions"] == {
        "code": "VALIDATION_ERROR",
        "field": field,
        "errors": problems,
    }
    assert SECRET not in str(result)
    assert "12345" not in str(result)


async def test_a_literal_of_the_wrong_type_names_its_field_without_the_value(gql: GraphQL) -> None:
    result = await gql(f'mutation {{ login(input: {{password: "{SECRET}"}}) {{ accessToken }} }}')
    assert error(result)["message"] == "input.email: required"
    assert error(result)["extensions"] == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "field": "input.email",
    }
    wrong = await gql(f'{{ books(first: "{SECRET}") {{ totalCount }} }}')
    assert error(wrong)["message"] == "first: expected an Int (a 32-bit integer)"
    assert SECRET not in str(result) + str(wrong)


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
