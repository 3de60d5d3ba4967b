"""The one place GraphQL errors are shaped for clients.

Every error leaves with `extensions.code` (an `ErrorCode`). Expected failures keep their
message; anything unexpected is logged with its traceback and masked as
"Internal server error" so no exception text, SQL or stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from graphql import GraphQLError, GraphQLSyntaxError
from pydantic import ValidationError

from app.core.errors import INTERNAL_MESSAGE, AppError, ErrorCode, GlobalRef, ValidationFailed
from app.db.session import is_database_unavailable
from app.graphql.enums import graphql_enum
from app.graphql.ids import encode_id

logger = logging.getLogger("app.graphql")

# Messages of the limit checks that Strawberry/graphql-core report as plain errors.
_TOO_COMPLEX = re.compile(
    r"exceeds maximum operation depth|aliases found\. Allowed|Document contains more than|"
    r"nested too deeply"
)

ErrorCodeType = graphql_enum(
    description="Machine-readable error codes, found in `errors[].extensions.code`.",
    values=lambda member: cast(ErrorCode, member).description,
)(ErrorCode)


def validation_failed(error: ValidationError, *, prefix: str | None) -> ValidationFailed:
    """A Pydantic error as `VALIDATION_ERROR`, its locations prefixed with the argument name.

    The submitted values are left out on purpose: they may be passwords.
    """
    base = [prefix] if prefix else []
    details = [
        {"loc": [*base, *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = details[0] if details else {"loc": base, "msg": "Invalid input"}
    field = ".".join(str(part) for part in first["loc"]) or None
    message = f"{field}: {first['msg']}" if field else str(first["msg"])
    return ValidationFailed(message, field=field, errors=details)


def format_error(error: GraphQLError) -> dict[str, Any]:
    """`error` as the JSON object clients receive."""
    original = error.original_error
    message = error.message
    extensions: dict[str, Any]

    if isinstance(original, ValidationError):
        original = validation_failed(original, prefix=None)

    if isinstance(original, AppError):
        message = original.message
        extensions = _with_global_ids(original.to_extensions())
    elif error.path is None and (
        original is None or isinstance(original, (GraphQLError, ValueError, TypeError))
    ):
        # Raised before execution: syntax, validation, limits, literal or variable values
        # that don't coerce. graphql-core (or our own rules) write these messages; they
        # quote only the client's own document.
        preset = error.extensions or {}
        if preset.get("code") in ErrorCode.__members__:
            extensions = dict(preset)
        else:
            extensions = {"code": _request_error_code(error)}
    elif original is not None and is_database_unavailable(original):
        logger.warning(
            "database unavailable while resolving %s",
            ".".join(map(str, error.path or [])),
            exc_info=original,
        )
        message = ErrorCode.SERVICE_UNAVAILABLE.description
        extensions = {"code": ErrorCode.SERVICE_UNAVAILABLE.value}
    else:
        logger.error(
            "unexpected error resolving %s",
            ".".join(map(str, error.path or [])) or "<operation>",
            exc_info=original or error,
        )
        return _plain_error(ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)

    formatted: dict[str, Any] = {"message": message}
    if error.locations is not None:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = error.path
    formatted["extensions"] = extensions
    return formatted


def request_error_body(code: ErrorCode, message: str) -> dict[str, Any]:
    """The body of a request refused before (or failing outside) GraphQL execution."""
    return {"errors": [_plain_error(code, message)]}


def _plain_error(code: ErrorCode, message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code.value}}


def _with_global_ids(value: Any) -> Any:
    if isinstance(value, GlobalRef):
        return encode_id(value.type_name, value.id)
    if isinstance(value, dict):
        return {key: _with_global_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_global_ids(item) for item in value]
    return value


def _request_error_code(error: GraphQLError) -> str:
    """Code of an error raised before execution (parsing, validation, variables)."""
    if _TOO_COMPLEX.search(error.message):
        return ErrorCode.QUERY_TOO_COMPLEX.value
    if isinstance(error, GraphQLSyntaxError):
        return ErrorCode.GRAPHQL_PARSE_FAILED.value
    return ErrorCode.GRAPHQL_VALIDATION_FAILED.value
