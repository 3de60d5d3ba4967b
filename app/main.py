"""The application factory: `create_app()` builds the FastAPI app with `/graphql` and health."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__, health
from app.core.config import Settings, get_settings
from app.core.cors import Cors, cors_options
from app.core.errors import INTERNAL_MESSAGE, AppError, ErrorCode, http_error_body
from app.core.logging import configure_logging
from app.core.request_context import RequestContextMiddleware
from app.core.security_headers import SecurityHeadersMiddleware
from app.db.session import Database, DatabaseFeatures, client_timeout
from app.graphql import ide
from app.graphql.cache import ResponseCache, invalidated_by
from app.graphql.fastpath import FastPath
from app.graphql.http import (
    GRAPHQL_PATH,
    OPENAPI_PATH_ITEM,
    GraphQLMount,
    GraphQLView,
    PersistedQueries,
)
from app.graphql.schema import build_schema
from app.mail import devlinks
from app.mail.sender import mail_sender
from app.realtime.hub import EventHub
from app.users.access import AccessCache

logger = logging.getLogger(__name__)

_STATUS_OF_CODE = {
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.VALIDATION_ERROR: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.AUTH_REQUIRED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.AUTH_INVALID_TOKEN: HTTPStatus.UNAUTHORIZED,
    ErrorCode.AUTH_FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.INTERNAL_SERVER_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
}
_CODE_OF_STATUS = {
    HTTPStatus.NOT_FOUND: ErrorCode.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED: ErrorCode.METHOD_NOT_ALLOWED,
}


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app. Without `database`, the lifespan opens one from the settings."""
    settings = settings or get_settings()
    configure_logging(settings)
    cache = (
        ResponseCache(
            max_entries=settings.response_cache_max_entries,
            ttl_seconds=settings.response_cache_ttl_seconds,
        )
        if settings.response_cache
        else None
    )

    access = (
        AccessCache(
            ttl_seconds=settings.access_cache_ttl_seconds,
            max_entries=settings.access_cache_max_entries,
        )
        if settings.access_cache_ttl_seconds
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = app.state.database is None
        if owned:
            app.state.database = Database.from_settings(settings)
        app.state.features = await _detect_features(app.state.database)
        listen_url: str | None = settings.database_listen_url
        if listen_url is None and not settings.db_pgbouncer:
            listen_url = app.state.database.engine.url.render_as_string(hide_password=False)
        # One LISTEN connection for the worker: the response cache, checked access tokens
        # and subscriptions.
        events = app.state.events = EventHub(listen_url, timeout=client_timeout(settings))
        if cache is not None:
            invalidated_by(cache, events)
        if access is not None:
            access.follow(events)
        events.start()
        # Development: the outbox's sender in this process (deployments run `mailer`).
        sender = mail_sender(app.state.database, settings) if settings.mail_sender_in_app else None
        sending = asyncio.create_task(sender.run()) if sender is not None else None
        # What exists now (modules, the schema, the pools) lives as long as the worker: out
        # of the collector's sight, a full collection walks only what requests and sockets
        # made. With 1,000 subscribers, those collections were the fan-out's slowest rounds
        # (p99 from restock to the last event 285 -> 180 ms, `python -m bench.fanout`).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if sender is not None and sending is not None:
                sender.stop()
                await sending
            await events.stop()
            if owned:
                await app.state.database.dispose()
                app.state.database = None

    app = FastAPI(
        title="Bookstore GraphQL API",
        version=__version__,
        # No `debug=`: Starlette's debug mode answers a 500 with the traceback, and no
        # client may ever see one (DEBUG means verbose logs here).
        lifespan=lifespan,
        # Starlette's trailing-slash redirect builds its absolute URL from the Host header,
        # which the client chooses: `/graphql/` is a 404 rather than a redirect to anywhere.
        redirect_slashes=False,
        docs_url=None if settings.is_production else "/docs",
        redoc_url=None,
        openapi_url=None if settings.is_production else "/openapi.json",
    )
    app.state.settings = settings
    app.state.database = database
    app.state.features = DatabaseFeatures()
    app.state.events = EventHub(None)  # the lifespan's replaces it
    app.state.access = access

    schema = build_schema(settings)
    app.state.graphql = view = GraphQLView(
        schema,
        settings,
        state=app.state,
        cache=cache,
        persisted=PersistedQueries(settings.persisted_queries_max_entries),
        fast_path=FastPath(schema._schema, settings) if settings.catalog_fast_path else None,
    )
    app.include_router(health.router)
    if settings.graphiql_enabled:
        app.mount(ide.ASSETS_PATH, ide.assets(), name="graphiql")
    if not settings.is_production:
        app.include_router(devlinks.router)  # email links, without a storefront
    _document_graphql(app)
    _install_error_handlers(app)

    app.add_middleware(GraphQLMount, view=view)
    app.add_middleware(Cors, **cors_options(settings))
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    # Outermost: it sees every response, the 500 the request context answers included.
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    return app


async def _detect_features(database: Database) -> DatabaseFeatures:
    try:
        trigram = await database.has_extension("pg_trgm")
    except Exception:
        logger.warning("could not inspect the database at start-up; typo-tolerant search is off")
        return DatabaseFeatures()
    if not trigram:
        logger.warning(
            "pg_trgm is not installed: search uses full-text and prefix matching only "
            "(no typo tolerance)"
        )
    return DatabaseFeatures(trigram=trigram)


def _document_graphql(app: FastAPI) -> None:
    """/openapi.json lists `/graphql`, which FastAPI's routing doesn't describe."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate()["paths"][GRAPHQL_PATH] = OPENAPI_PATH_ITEM
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    """The plain-HTTP side of the error convention (`/graphql` answers its own)."""

    @app.exception_handler(AppError)
    async def app_error(_: Request, error: AppError) -> JSONResponse:
        status = _STATUS_OF_CODE.get(error.code, HTTPStatus.BAD_REQUEST)
        return JSONResponse(http_error_body(error.message, error.code, error.field), status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        status = HTTPStatus(error.status_code)
        code = _CODE_OF_STATUS.get(status, ErrorCode.BAD_REQUEST)
        body = http_error_body(str(error.detail), code)
        return JSONResponse(body, status, headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        # Only what fails outside the request context (which answers the rest the same way).
        logger.error("unexpected error", exc_info=error)
        body = http_error_body(INTERNAL_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR)
        return JSONResponse(body, 500)
