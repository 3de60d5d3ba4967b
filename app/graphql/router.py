"""The `/graphql` endpoint: Strawberry's FastAPI router with our context, JSON and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter
from fastapi import Request, Response
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from app.core.config import Settings
from app.core.request_context import current_record
from app.graphql.context import Context
from app.graphql.errors import format_error
from app.graphql.http import GRAPHQL_RESPONSE, JSON, prepared_request, response_media_type

_media_type: ContextVar[str] = ContextVar("graphql_media_type", default=JSON)


async def get_context(request: Request) -> AsyncIterator[Context]:
    context = Context(
        database=request.app.state.database,
        settings=request.app.state.settings,
        features=request.app.state.features,
    )
    try:
        yield context
    finally:
        await context.close()


class BookstoreGraphQLRouter(GraphQLRouter[Context, None]):
    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> Any:
        # orjson.JSONDecodeError subclasses json.JSONDecodeError, which the base class
        # turns into a 400.
        return orjson.loads(data)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        """The HTTP front (`app.graphql.http`) already decoded and checked the request."""
        prepared = prepared_request.get()
        if prepared is None:
            return cast(GraphQLRequestData, await super().parse_http_body(request))
        return GraphQLRequestData(
            query=prepared.get("query"),
            variables=prepared.get("variables"),
            operation_name=prepared.get("operationName"),
            extensions=prepared.get("extensions"),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        media_type = response_media_type(request.headers.get("accept"))
        _media_type.set(media_type)
        response: GraphQLHTTPResponse = {}
        request_error = result.data is None and any(e.path is None for e in result.errors or ())
        if not (request_error and media_type == GRAPHQL_RESPONSE):
            # application/graphql-response+json: a request that never executed (syntax,
            # validation, variables) has no `data` key and answers 400.
            response["data"] = result.data
        if result.errors:
            errors = [format_error(error) for error in result.errors]
            response["errors"] = list(errors)
            record = current_record()
            if record is not None:
                record.error_codes = [error["extensions"]["code"] for error in errors]
        if result.extensions:
            response["extensions"] = result.extensions
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = _media_type.get()
        status = sub_response.status_code or 200
        if media_type == GRAPHQL_RESPONSE and "data" not in response_data:
            status = 400
        response = Response(
            self.encode_json(response_data),
            status_code=status,
            media_type=f"{media_type}; charset=utf-8",
        )
        response.headers.raw.extend(sub_response.headers.raw)
        return response


def build_router(schema: BaseSchema, settings: Settings) -> BookstoreGraphQLRouter:
    return BookstoreGraphQLRouter(
        schema,
        path="/graphql",
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        # A FastAPI dependency with `yield`, which Strawberry's annotation doesn't foresee.
        context_getter=cast("Callable[..., Context]", get_context),
        allow_queries_via_get=True,
    )
