"""`/graphql` over HTTP, bytes to bytes, in one place (after Saleor's `graphql/views.py`).

`GraphQLView` reads and checks the request the way the GraphQL-over-HTTP specification
asks (size, media type, JSON shape, no batching, no mutations over GET), resolves Automatic
Persisted Queries (Apollo's protocol), takes the parsed and validated document from the
schema's one cache, serves anonymous queries from the response cache, executes (the
fast path, else Strawberry) and answers in the media type and status the client
asked for. It is a Strawberry view in plain ASGI, reached through `GraphQLMount` ahead of
FastAPI's routing and dependency injection, which nothing here needs.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import orjson
from cross_web import HTTPException
from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from app.core.config import Settings
from app.core.cors import cors_options
from app.core.errors import INTERNAL_MESSAGE, ErrorCode, http_error_body
from app.core.request_context import current_record
from app.db.session import DeadlinePassed, client_timeout, within
from app.graphql import ide
from app.graphql.cache import ResponseCache
from app.graphql.context import Context
from app.graphql.documents import Operation
from app.graphql.errors import format_error, request_error_body
from app.graphql.executor import executor_class
from app.graphql.fastpath import FastPath, FastPathFailed
from app.graphql.schema import Schema
from app.graphql.websocket import Sockets, SubscriptionSocket

logger = logging.getLogger("app.graphql")

GRAPHQL_PATH = "/graphql"
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_JSON_TYPES = (JSON.encode(), GRAPHQL_RESPONSE.encode())

# What Strawberry's FastAPI router documented for `/graphql` (kept in /openapi.json).
OPENAPI_PATH_ITEM = {
    "get": {
        "summary": "Handle Http Get",
        "operationId": "handle_http_get_graphql_get",
        "responses": {
            "200": {
                "description": "The GraphiQL integrated development environment.",
                "content": {"application/json": {"schema": {}}},
            },
            "404": {"description": "Not found if GraphiQL or query via GET are not enabled."},
        },
    },
    "post": {
        "summary": "Handle Http Post",
        "operationId": "handle_http_post_graphql_post",
        "responses": {
            "200": {
                "description": "Successful Response",
                "content": {"application/json": {"schema": {}}},
            }
        },
    },
}


def response_media_type(accept: str | None) -> str:
    """The media type to answer with: application/graphql-response+json when the client
    prefers it (or takes either equally), application/json otherwise (the legacy default)."""
    best, best_q = JSON, -1.0
    for part in (accept or "").split(","):
        media_type, *parameters = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media_type in (GRAPHQL_RESPONSE, JSON) and (
            q > best_q or (q == best_q and media_type == GRAPHQL_RESPONSE)
        ):
            best, best_q = media_type, q
    return best


class HTTPRefusal(Exception):
    def __init__(
        self, status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class PersistedQueries:
    """sha256 → query text, learnt from clients (bounded LRU, per instance)."""

    def __init__(self, max_entries: int) -> None:
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._max_entries = max_entries

    def resolve(self, data: dict[str, Any]) -> None:
        """Fill in `data["query"]` from its hash, or remember a new query under its hash."""
        extensions = data.get("extensions") or {}
        if not isinstance(extensions, dict):
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "`extensions` must be an object")
        persisted = extensions.get("persistedQuery")
        if persisted is None:
            return
        if not isinstance(persisted, dict):
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "Unsupported persistedQuery extension")
        digest = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(digest, str) or len(digest) != 64:
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "Unsupported persistedQuery extension")
        query = data.get("query")
        if query is not None and not isinstance(query, str):
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "`query` must be a string")
        if query is None:
            known = self._queries.get(digest)
            if known is None:
                # Not an HTTP error in the protocol: the client retries with the text.
                raise HTTPRefusal(
                    200, ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound"
                )
            self._queries.move_to_end(digest)
            data["query"] = known
            return
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "provided sha does not match query")
        self._queries[digest] = query
        self._queries.move_to_end(digest)
        while len(self._queries) > self._max_entries:
            self._queries.popitem(last=False)


@dataclass(slots=True)
class Reply:
    """A whole response: the view decides it, then sends it in one go."""

    body: bytes
    status: int = 200
    content_type: bytes = b"application/json; charset=utf-8"
    headers: Sequence[tuple[bytes, bytes]] = ()
    # Token-issuing (any mutation): never stored by a browser or a proxy.
    private: bool = False
    # The regular path's context, closed once the response is out (as FastAPI closes a
    # dependency): the client doesn't wait for the session to go back to the pool.
    context: Context | None = None

    async def send(self, send: Send, *, private: bool) -> None:
        headers = [
            (b"content-type", self.content_type),
            (b"content-length", str(len(self.body)).encode()),
            *self.headers,
        ]
        if private or self.private:
            headers.append(_NO_STORE)
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


_INTERNAL_ERROR = Reply(
    orjson.dumps(request_error_body(ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)),
    500,
    b"application/json",
)


_IDE_HEADERS = ((b"content-security-policy", ide.CONTENT_SECURITY_POLICY.encode()),)

_NO_STORE = (b"cache-control", b"no-store")
# Request headers that make a request someone's own: its answer depends on who asks, so it
# is neither cached here nor stored by a browser or a proxy (`Cache-Control: no-store`).
# A guest cart token counts: an anonymous request, but its `cart` is the guest's own.
CREDENTIAL_HEADERS = (b"authorization", b"x-cart-token")


def _carries_credentials(scope: Scope) -> bool:
    return any(_header(scope, name) is not None for name in CREDENTIAL_HEADERS)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _media_type(scope: Scope) -> str:
    """The media type to answer with, from the request's Accept header."""
    accept = _header(scope, b"accept")
    return response_media_type(accept.decode("latin-1") if accept else None)


def _content_type(media_type: str) -> bytes:
    return f"{media_type}; charset=utf-8".encode()


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        *,
        state: State,
        cache: ResponseCache | None,
        persisted: PersistedQueries,
        fast_path: FastPath | None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(
                seconds=settings.ws_connection_init_timeout_seconds
            ),
            max_subscriptions_per_connection=None,  # SubscriptionSocket closes with 4429
        )
        self.sockets = Sockets()
        options = cors_options(settings)
        self.allowed_origins = list(options["allow_origins"])
        self._origin_pattern = (
            re.compile(options["allow_origin_regex"]) if options["allow_origin_regex"] else None
        )
        self.documents = schema.documents
        self.graphql_schema = schema._schema
        self.executor_class = executor_class(settings)
        self.settings = settings
        self.state = state  # the app's: the database is looked up per request
        self.cache = cache
        self.persisted = persisted
        self.fast_path = fast_path
        self.max_body = settings.max_request_body_bytes
        self.deadline = client_timeout(settings)

    graphql_transport_ws_handler_class = SubscriptionSocket

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A browser page on another origin opens a socket as CORS would let it call."""
        if origin in self.allowed_origins:
            return True
        return self._origin_pattern is not None and bool(self._origin_pattern.fullmatch(origin))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.run(WebSocket(scope, receive=receive, send=send))
            return
        try:
            reply = await self._respond(scope, receive)
        except HTTPRefusal as refusal:
            record = current_record()
            if record is not None:
                record.error_codes.append(refusal.code.value)
            body = orjson.dumps(request_error_body(refusal.code, refusal.message))
            headers = [(name.encode(), value.encode()) for name, value in refusal.headers.items()]
            reply = Reply(body, refusal.status, _content_type(_media_type(scope)), headers)
        except HTTPException as refusal:  # Strawberry's own (an empty query): as its routers say
            reply = Reply(
                refusal.reason.encode(), refusal.status_code, b"text/plain; charset=utf-8"
            )
        except Exception:
            logger.exception("unexpected error answering /graphql")
            reply = _INTERNAL_ERROR
        try:
            await reply.send(send, private=_carries_credentials(scope))
        finally:
            if reply.context is not None:
                await reply.context.close()

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL from the project's own files (Strawberry's page needs a CDN)."""
        return ide.PAGE

    async def get_context(self, request: Request | WebSocket, response: object = None) -> Context:
        context = Context(
            database=self.state.database, settings=self.settings, features=self.state.features
        )
        context.request = request
        context.events = self.state.events
        context.access = self.state.access
        return context

    async def _respond(self, scope: Scope, receive: Receive) -> Reply:
        method = scope["method"]
        if method == "POST":
            data = await self._read_post(scope, receive)
        elif method == "GET":
            data = self._read_get(scope)
            if data is None:  # a browser wanting GraphiQL
                return Reply(
                    self.graphql_ide_html.encode(),
                    content_type=b"text/html; charset=utf-8",
                    headers=_IDE_HEADERS,
                )
        elif method == "OPTIONS":
            # Not a CORS preflight (the CORS middleware answers those): answered as
            # Starlette's routing answered it before `/graphql` had a view of its own.
            body = orjson.dumps(http_error_body("Method Not Allowed", ErrorCode.METHOD_NOT_ALLOWED))
            return Reply(body, 405, b"application/json", [(b"allow", b"GET")])
        else:
            # Said here: Starlette would list only the methods of the first route it tried.
            raise HTTPRefusal(
                405,
                ErrorCode.METHOD_NOT_ALLOWED,
                "/graphql takes GET (queries) and POST",
                {"allow": "GET, POST"},
            )
        _check_shape(data)
        self.persisted.resolve(data)
        query = data.get("query")
        if not isinstance(query, str):
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The request has no GraphQL `query`")
        operation = self._operation(query, data.get("operationName"), method)
        anonymous = not _carries_credentials(scope)
        key = None
        if self.cache is not None and self.cache.active and anonymous:
            key = self._cache_key(scope, data, operation)
        if key is not None:
            assert self.cache is not None
            cached = self.cache.get(key)
            if cached is not None:  # costed and checked when it was stored
                content_type, body = cached
                return Reply(body, content_type=content_type)
        try:
            # However many statements it runs, and whatever the database does (frozen,
            # unreachable): answered by the deadline.
            return await within(self.deadline, self._execute(scope, data, query, operation, key))
        except DeadlinePassed:
            raise HTTPRefusal(
                503, ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE.description
            ) from None

    async def _execute(
        self,
        scope: Scope,
        data: dict[str, Any],
        query: str,
        operation: Operation | None,
        key: tuple[object, ...] | None,
    ) -> Reply:
        """The answer of the fast path or Strawberry (stored in the cache under `key`)."""
        request = Request(scope)
        context = await self.get_context(request)
        try:
            result = None
            # A guest cart token makes `cart` the guest's (a unit of work of its own to
            # mark it used): left to the regular path.
            if (
                self.fast_path is not None
                and operation is not None
                and _header(scope, b"x-cart-token") is None
            ):
                try:
                    result = await self.fast_path.execute(
                        operation,
                        data.get("variables") or {},
                        context=context,
                        wants_cost=_header(scope, b"x-query-cost") == b"1",
                    )
                except FastPathFailed:
                    await context.close()
                    context = await self.get_context(request)
            if result is None:  # the regular path
                result = await self.execute_single(
                    request=request,
                    request_adapter=self.request_adapter_class(request),
                    sub_response=None,  # type: ignore[arg-type]  # not used by `execute_single`
                    context=context,
                    root_value=None,
                    request_data=GraphQLRequestData(
                        query=query,
                        variables=data.get("variables"),
                        operation_name=data.get("operationName"),
                        extensions=data.get("extensions"),
                    ),
                )
            reply = self._reply(result, _media_type(scope))
            reply.private = operation is not None and operation.kind == "mutation"
        except BaseException:
            await context.close()
            raise
        reply.context = context
        if key is not None and reply.status == 200 and not result.errors:
            assert self.cache is not None
            self.cache.put(key, (reply.content_type, reply.body))
        return reply

    def _operation(self, query: str, name: str | None, method: str) -> Operation | None:
        """The operation to run (None when the document doesn't parse: execution reports
        the syntax error)."""
        document = self.documents.get(query)
        operation = document.operation(name)
        record = current_record()
        if record is not None:  # the operation's own name, else its kind
            record.operation = (operation.name or operation.kind) if operation else None
        if document.node is None:
            if record is not None:
                record.operation = "invalid"
            return None
        if operation is None:
            if name is None and document.several_operations:
                message = (
                    "The document holds several operations: `operationName` is required "
                    "to say which one to run"
                )
            else:
                message = "No operation matches `operationName` in the document"
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, message)
        if operation.kind == "subscription":
            raise HTTPRefusal(
                400,
                ErrorCode.SUBSCRIPTION_OVER_HTTP,
                "Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql",
            )
        if method == "GET" and operation.kind == "mutation":
            raise HTTPRefusal(
                405,
                ErrorCode.METHOD_NOT_ALLOWED,
                "Mutations must be sent with POST",
                {"allow": "POST"},
            )
        return operation

    def _reply(self, result: ExecutionResult, media_type: str) -> Reply:
        response: dict[str, Any] = {}
        modern = media_type == GRAPHQL_RESPONSE
        request_error = result.data is None and any(e.path is None for e in result.errors or ())
        if not (request_error and modern):
            # application/graphql-response+json: a request that never executed (syntax,
            # validation, variables) has no `data` key and answers 400.
            response["data"] = result.data
        if result.errors:
            errors = [format_error(error) for error in result.errors]
            response["errors"] = errors
            record = current_record()
            if record is not None:
                record.error_codes = [error["extensions"]["code"] for error in errors]
        if result.extensions:
            response["extensions"] = result.extensions
        status = 400 if modern and "data" not in response else 200
        return Reply(orjson.dumps(response), status, _content_type(media_type))

    async def _read_post(self, scope: Scope, receive: Receive) -> Any:
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise HTTPRefusal(413, ErrorCode.REQUEST_TOO_LARGE, self._too_large())
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # stop reading: the rest is never buffered
                raise HTTPRefusal(413, ErrorCode.REQUEST_TOO_LARGE, self._too_large())
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        media_type, *parameters = (_header(scope, b"content-type") or b"").lower().split(b";")
        charsets = [
            value.strip(b' "')
            for name, _, value in (p.partition(b"=") for p in parameters)
            if name.strip() == b"charset"
        ]
        if media_type.strip() not in _JSON_TYPES or any(
            charset not in (b"utf-8", b"utf8") for charset in charsets
        ):
            raise HTTPRefusal(
                415,
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "Send the request as Content-Type: application/json (UTF-8)",
            )
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError:
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The body is not valid JSON") from None

    def _too_large(self) -> str:
        return f"The request body exceeds {self.max_body} bytes"

    def _read_get(self, scope: Scope) -> dict[str, Any] | None:
        """The request in the query string; None for a browser wanting GraphiQL."""
        try:
            data: dict[str, Any] = dict(
                parse_qsl(scope["query_string"].decode("utf-8"), errors="strict")
            )
        except UnicodeError:
            raise HTTPRefusal(
                400, ErrorCode.BAD_REQUEST, "The query string is not valid UTF-8"
            ) from None
        if "query" not in data and "extensions" not in data:
            wants_page = any(
                kind in (_header(scope, b"accept") or b"") for kind in (b"text/html", b"*/*")
            )
            if wants_page and self.graphql_ide:
                blank = parse_qsl(scope["query_string"].decode("utf-8"), keep_blank_values=True)
                if any(name == "query" for name, _ in blank):  # `?query=`: as Strawberry says
                    raise HTTPException(400, "No GraphQL query found in the request")
                return None
            if wants_page:
                raise HTTPRefusal(404, ErrorCode.NOT_FOUND, "GraphiQL is not available here")
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The request has no GraphQL `query`")
        for name in ("variables", "extensions"):
            if data.get(name):
                try:
                    data[name] = orjson.loads(data[name])
                except orjson.JSONDecodeError:
                    raise HTTPRefusal(
                        400, ErrorCode.BAD_REQUEST, f"`{name}` is not valid JSON"
                    ) from None
        return data

    @staticmethod
    def _cache_key(
        scope: Scope, data: dict[str, Any], operation: Operation | None
    ) -> tuple[object, ...] | None:
        """Only anonymous queries are cached: nothing in them depends on who asks."""
        if operation is None or operation.kind != "query":
            return None
        variables = orjson.dumps(data.get("variables") or {}, option=orjson.OPT_SORT_KEYS)
        return (
            data["query"],
            variables,
            data.get("operationName"),
            _header(scope, b"accept"),
            _header(scope, b"x-query-cost"),
        )


def _check_shape(data: object) -> None:
    if isinstance(data, list):
        raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "Batched requests are not supported")
    if not isinstance(data, dict):
        raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The body must be a JSON object")
    expected = {"query": str, "operationName": str, "variables": dict, "extensions": dict}
    for name, kind in expected.items():
        value = data.get(name)
        if value is not None and not isinstance(value, kind):
            article = "an object" if kind is dict else "a string"
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, f"`{name}` must be {article}")


class GraphQLMount:
    """Sends `/graphql` requests and WebSockets straight to the view, ahead of FastAPI's
    routing (about 20 µs a request)."""

    def __init__(self, app: ASGIApp, *, view: GraphQLView) -> None:
        self.app = app
        self.view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] == GRAPHQL_PATH:
            await self.view(scope, receive, send)
        else:
            await self.app(scope, receive, send)
