"""The HTTP front of `/graphql`, in plain ASGI ahead of FastAPI and Strawberry.

It checks the request the way the GraphQL-over-HTTP specification asks (size, media type,
JSON shape, no batching, no mutations over GET), resolves Automatic Persisted Queries
(Apollo's protocol), and serves anonymous queries from the response cache without
running GraphQL at all. What it parsed is handed on (`prepared_request`), so the JSON body
is decoded once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from graphql import GraphQLError, get_operation_ast, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.errors import ErrorCode
from app.core.request_context import current_record
from app.graphql.cache import ResponseCache

if TYPE_CHECKING:
    from app.graphql.fastpath import CatalogFastPath

GRAPHQL_PATH = "/graphql"
INVALID = "invalid"
# The request as decoded and checked here, for the router (same task, so a context
# variable reaches it without re-parsing the body).
prepared_request: ContextVar[dict[str, Any] | None] = ContextVar("prepared_request", default=None)
_JSON_TYPES = (b"application/json", b"application/graphql-response+json")
_HAS_ERRORS = b'"errors":'  # only ever a key: a JSON string value is never followed by ":"


JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


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


def _error_body(code: ErrorCode, message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code.value}}]})


async def _send(
    send: Send,
    body: bytes,
    *,
    status: int = 200,
    content_type: bytes = b"application/json; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> None:
    raw_headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        *((name.encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _content_type(scope: Scope) -> bytes:
    """The Content-Type to answer with, from the request's Accept header."""
    accept = _header(scope, b"accept")
    media_type = response_media_type(accept.decode("latin-1") if accept else None)
    return f"{media_type}; charset=utf-8".encode()


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class GraphQLHTTPMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        cache: ResponseCache | None,
        persisted: PersistedQueries,
        fast_path: CatalogFastPath | None,
    ) -> None:
        self.app = app
        self.cache = cache
        self.fast_path = fast_path
        self.persisted = persisted
        self.max_body = settings.max_request_body_bytes
        self.graphiql = settings.graphiql_enabled
        max_tokens = settings.graphql_max_tokens

        @lru_cache(maxsize=2048)
        def operation_of(query: str, operation_name: str | None) -> tuple[str | None, str | None]:
            """(kind, name): kind is "query", "mutation" or "subscription", "invalid" for a
            syntax error (GraphQL reports those itself), None when no operation matches
            `operationName`; name is the operation's own, if it has one."""
            try:
                document = parse(query, max_tokens=max_tokens)
            except GraphQLError:
                return INVALID, None
            operation = get_operation_ast(document, operation_name)
            if operation is None:
                return None, None
            return operation.operation.value, operation.name.value if operation.name else None

        self.operation_of: Callable[[str, str | None], tuple[str | None, str | None]] = operation_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        try:
            prepared = await self._prepare(scope, receive)
        except HTTPRefusal as refusal:
            record = current_record()
            if record is not None:
                record.error_codes.append(refusal.code.value)
            await _send(
                send,
                _error_body(refusal.code, refusal.message),
                status=refusal.status,
                content_type=_content_type(scope),
                headers=refusal.headers,
            )
            return
        if prepared is None:  # GraphiQL, OPTIONS, other methods: Strawberry's business
            await self.app(scope, receive, send)
            return
        data, body = prepared
        token = prepared_request.set(data)
        try:
            await self._respond(scope, receive, send, data, body)
        finally:
            prepared_request.reset(token)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, data: dict[str, Any], body: bytes
    ) -> None:
        key = self._cache_key(scope, data)
        if key is not None:
            assert self.cache is not None
            cached = self.cache.get(key)
            if cached is not None:
                content_type, cached_body = cached
                await _send(send, cached_body, content_type=content_type)
                return
        if self.fast_path is not None and _header(scope, b"authorization") is None:
            app_state = scope["app"].state
            fast = await self.fast_path.respond(
                data,
                database=app_state.database,
                features=app_state.features,
                wants_cost=_header(scope, b"x-query-cost") == b"1",
            )
            if fast is not None:
                content_type = _content_type(scope)
                await _send(send, fast, content_type=content_type)
                if _HAS_ERRORS in fast:  # an outage answer: logged, and never cached
                    record = current_record()
                    if record is not None:
                        record.error_codes.append(ErrorCode.SERVICE_UNAVAILABLE.value)
                elif key is not None and self.cache is not None:
                    self.cache.put(key, (content_type, fast))
                return
        replay = _Replay(body, receive)
        if key is None:
            await self.app(scope, replay, send)
            return
        await self.app(scope, replay, _Capture(send, self.cache, key))

    async def _prepare(self, scope: Scope, receive: Receive) -> tuple[dict[str, Any], bytes] | None:
        method = scope["method"]
        if method == "POST":
            body = await self._read_body(scope, receive)
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
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise HTTPRefusal(
                    400, ErrorCode.BAD_REQUEST, "The body is not valid JSON"
                ) from None
        elif method == "GET":
            try:
                params = dict(parse_qsl(scope["query_string"].decode("utf-8"), errors="strict"))
            except UnicodeError:
                raise HTTPRefusal(
                    400, ErrorCode.BAD_REQUEST, "The query string is not valid UTF-8"
                ) from None
            if "query" not in params and "extensions" not in params:
                self._refuse_without_query(scope)
                return None  # Strawberry serves GraphiQL
            data = dict(params)
            for name in ("variables", "extensions"):
                if data.get(name):
                    try:
                        data[name] = orjson.loads(data[name])
                    except orjson.JSONDecodeError:
                        raise HTTPRefusal(
                            400, ErrorCode.BAD_REQUEST, f"`{name}` is not valid JSON"
                        ) from None
            body = b""
        elif method == "OPTIONS":
            return None
        else:
            # Said here: Starlette would list only the methods of the first route it tried.
            raise HTTPRefusal(
                405,
                ErrorCode.METHOD_NOT_ALLOWED,
                "/graphql takes GET (queries) and POST",
                {"allow": "GET, POST"},
            )
        self._check_shape(data)
        had_query = data.get("query") is not None
        self.persisted.resolve(data)
        query = data.get("query")
        if not isinstance(query, str):
            raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The request has no GraphQL `query`")
        operation, operation_name = self.operation_of(query, data.get("operationName"))
        record = current_record()
        if record is not None:
            record.operation = operation_name or operation
        if operation is None:
            raise HTTPRefusal(
                400, ErrorCode.BAD_REQUEST, "No operation matches `operationName` in the document"
            )
        if method == "GET":
            if operation == "mutation":
                raise HTTPRefusal(
                    405,
                    ErrorCode.METHOD_NOT_ALLOWED,
                    "Mutations must be sent with POST",
                    {"allow": "POST"},
                )
            if not had_query:  # resolved from a persisted hash: let Strawberry see it
                params = dict(parse_qsl(scope["query_string"].decode("utf-8")))
                scope["query_string"] = urlencode({**params, "query": query}).encode()
        return data, body

    def _refuse_without_query(self, scope: Scope) -> None:
        """A GET without a query is a browser wanting GraphiQL (allowed when enabled), or a
        mistake."""
        wants_page = any(
            kind in (_header(scope, b"accept") or b"") for kind in (b"text/html", b"*/*")
        )
        if wants_page and self.graphiql:
            return
        if wants_page:
            raise HTTPRefusal(404, ErrorCode.NOT_FOUND, "GraphiQL is not available here")
        raise HTTPRefusal(400, ErrorCode.BAD_REQUEST, "The request has no GraphQL `query`")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
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
        return b"".join(chunks)

    def _too_large(self) -> str:
        return f"The request body exceeds {self.max_body} bytes"

    @staticmethod
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

    def _cache_key(self, scope: Scope, data: dict[str, Any]) -> tuple[object, ...] | None:
        """Only anonymous queries are cached: nothing in them depends on who asks. A guest
        cart token makes a request personal (its `cart`), though anonymous."""
        if self.cache is None or not self.cache.active:
            return None
        query = data.get("query")
        if not isinstance(query, str) or _header(scope, b"authorization") is not None:
            return None
        if _header(scope, b"x-cart-token") is not None:
            return None
        if self.operation_of(query, data.get("operationName"))[0] != "query":
            return None
        variables = orjson.dumps(data.get("variables") or {}, option=orjson.OPT_SORT_KEYS)
        return (
            query,
            variables,
            data.get("operationName"),
            _header(scope, b"accept"),
            _header(scope, b"x-query-cost"),
        )


class _Replay:
    """`receive` for the app: the body already read, then the real channel (disconnects)."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self._receive = receive

    async def __call__(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


class _Capture:
    """`send` that also keeps a successful, error-free response for the cache."""

    def __init__(self, send: Send, cache: ResponseCache | None, key: tuple[object, ...]) -> None:
        self._send = send
        self._cache = cache
        self._key = key
        self._status = 0
        self._content_type = b"application/json"
        self._chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._content_type = dict(message.get("headers", [])).get(
                b"content-type", b"application/json"
            )
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            finished = not message.get("more_body", False)
            if finished and self._status == 200 and self._cache is not None:
                body = b"".join(self._chunks)
                if _HAS_ERRORS not in body:
                    self._cache.put(self._key, (self._content_type, body))
        await self._send(message)
