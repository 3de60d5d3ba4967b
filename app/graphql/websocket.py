"""`/graphql` over WebSocket: the graphql-transport-ws protocol (the `graphql-ws` client's),
on Strawberry's handler, for subscriptions only (queries and mutations go over HTTP).

- `connection_init` carries who is asking: `{"authorization": "Bearer …"}` and/or
  `{"cartToken": "…"}`. A refused token or cart token closes the socket with 4403, an
  expired access token with 4401 (refresh, then reconnect); so does the token's expiry
  later: the socket closes with 4401 when the access token it signed in with expires.
- The end of the sign-in session (logout, logoutAll, a password change) or a change of
  the account's access (deactivated, role) closes its sockets with 4403 on every instance:
  the event hub hears it from PostgreSQL.
- Limits: `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION` and `WS_MAX_CONNECTIONS_PER_USER` (per
  worker) close with 4429; no `connection_init` within `WS_CONNECTION_INIT_TIMEOUT_SECONDS`
  closes with 4408, and so does a client that doesn't answer the server's pings. Each
  subscription document passes the same validation, depth, alias and cost limits as HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import Executor, GraphQLError, GraphQLSchema, parse
from graphql.execution import create_source_event_stream, execute_subscription_event
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    PongMessage,
    SubscribeMessage,
)
from strawberry.utils.aio import aclosing

from app.cart import service as cart_service
from app.core.config import Settings
from app.core.errors import AppError, ErrorCode
from app.core.security import TokenExpired
from app.db.session import Database, DeadlinePassed, client_timeout, is_database_unavailable, within
from app.graphql.context import Context
from app.graphql.cost import checked_cost
from app.graphql.documents import DocumentCache
from app.graphql.errors import format_error
from app.realtime.hub import EventHub, Notice, Topic
from app.users import service as users_service
from app.users.schemas import Viewer

if TYPE_CHECKING:
    from app.graphql.http import GraphQLView

logger = logging.getLogger("app.graphql.websocket")

# Close codes (graphql-transport-ws's, and this API's 4401/4403/4429 meanings).
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401  # the access token expired: refresh it and reconnect
CLOSE_FORBIDDEN = 4403  # a refused token, or the session/account ended meanwhile
CLOSE_TIMEOUT = 4408  # no connection_init in time, or no pong in time
CLOSE_TOO_MANY = 4429  # too many connections of one user, or subscriptions on one socket
CLOSE_UNAVAILABLE = 1011  # the database can't say who is asking right now


_MESSAGE_TYPES = frozenset(("connection_init", "ping", "pong", "subscribe", "complete"))


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a socket's `connection_init` said it is."""

    viewer: Viewer | None = None
    token: str | None = None
    expires_at: float | None = None  # when the access token expires (epoch seconds)
    cart_token: str | None = None


async def identify(database: Database, settings: Settings, payload: dict[str, Any]) -> Identity:
    """The identity of a `connection_init` payload; Refused (4401/4403) for a bad one."""
    # Also as HTTP headers, any case: GraphiQL sends its Headers tab as the payload.
    lowered = {key.lower(): value for key, value in payload.items() if isinstance(key, str)}
    header = lowered.get("authorization")
    cart_token = payload.get("cartToken", lowered.get("x-cart-token"))
    if cart_token is not None and (not isinstance(cart_token, str) or not cart_token.strip()):
        raise Refused(CLOSE_FORBIDDEN, "Forbidden: invalid cart token")
    viewer = token = expires_at = None
    if header is not None:
        if not isinstance(header, str):
            raise Refused(CLOSE_FORBIDDEN, "Forbidden: invalid token")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Refused(CLOSE_FORBIDDEN, "Forbidden: `authorization` must be `Bearer <token>`")
        try:
            async with database.sessionmaker() as session:
                viewer, expires_at = await users_service.authenticate_until(
                    session, settings, token
                )
        except TokenExpired:
            raise Refused(CLOSE_UNAUTHORIZED, "Unauthorized: the access token expired") from None
        except AppError:
            raise Refused(CLOSE_FORBIDDEN, "Forbidden: invalid or revoked token") from None
    if cart_token is not None and viewer is None:
        try:
            async with database.sessionmaker() as session, session.begin():
                await cart_service.use_guest_cart(session, settings, token=cart_token.strip())
        except AppError:
            raise Refused(CLOSE_FORBIDDEN, "Forbidden: invalid cart token") from None
    return Identity(
        viewer=viewer,
        token=token,
        expires_at=expires_at,
        cart_token=cart_token.strip() if cart_token else None,
    )


class Sockets:
    """The open sockets of the worker by user (for WS_MAX_CONNECTIONS_PER_USER)."""

    def __init__(self) -> None:
        self.by_user: dict[int, set[SubscriptionSocket]] = {}

    def count(self, user_id: int) -> int:
        return len(self.by_user.get(user_id, ()))

    def add(self, user_id: int, socket: SubscriptionSocket) -> None:
        self.by_user.setdefault(user_id, set()).add(socket)

    def remove(self, user_id: int, socket: SubscriptionSocket) -> None:
        sockets = self.by_user.get(user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.by_user[user_id]


class SubscriptionSocket(BaseGraphQLTransportWSHandler[Context, None]):
    """One WebSocket (see the module docstring)."""

    view: GraphQLView

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.identity = Identity()
        self._topics: list[Topic] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._expiry: asyncio.TimerHandle | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._pong_due = False
        self._closing = False
        self._starting: dict[str, asyncio.Event] = {}

    @property
    def _settings(self) -> Settings:
        return self.view.settings

    @property
    def _events(self) -> EventHub:
        events: EventHub = self.view.state.events
        return events

    # -- connection -------------------------------------------------------------------------

    async def handle_message(self, message: Message) -> None:
        """Strawberry's dispatch, once the message has the protocol's shape: an object with
        a known `type`, a string `id` and an object `payload` where the type has them.
        Anything else closes with 4400 and a fixed reason (nothing of the message echoed)."""
        if not isinstance(message, dict) or message.get("type") not in _MESSAGE_TYPES:
            await self.handle_invalid_message("Invalid message: unknown type")
            return
        kind = message["type"]
        if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
            await self.handle_invalid_message("Invalid message: `id` must be a string")
            return
        if kind == "subscribe" and not isinstance(message.get("payload"), dict):
            await self.handle_invalid_message("Invalid message: `payload` must be an object")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self._close(CLOSE_BAD_REQUEST, "Invalid connection init payload")
            return
        if self.connection_init_received:
            await self._close(CLOSE_TOO_MANY, "Too many initialisation requests")
            return
        self.connection_init_received = True
        try:
            identity = await within(
                client_timeout(self._settings),
                identify(self.view.state.database, self._settings, payload),
            )
        except Refused as refusal:
            await self._close(refusal.code, refusal.reason)
            return
        except Exception as error:
            if not isinstance(error, DeadlinePassed) and not is_database_unavailable(error):
                raise
            await self._close(CLOSE_UNAVAILABLE, ErrorCode.SERVICE_UNAVAILABLE.description)
            return
        viewer = identity.viewer
        if viewer is not None:
            sockets = self.view.sockets
            if sockets.count(viewer.id) >= self._settings.ws_max_connections_per_user:
                await self._close(CLOSE_TOO_MANY, "Too many connections of this user")
                return
            sockets.add(viewer.id, self)
            self._watch(("user", viewer.id))
            if viewer.session_id is not None:
                self._watch(("session", viewer.session_id))
            if identity.expires_at is not None:
                delay = identity.expires_at - time.time()
                self._expiry = asyncio.get_running_loop().call_later(max(delay, 0), self._expire)
        self.identity = identity
        self.context.identify(viewer, identity.cart_token)
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        self._keepalive = asyncio.create_task(self._keep_alive())

    def _expire(self) -> None:
        self._spawn(self._close(CLOSE_UNAUTHORIZED, "Unauthorized: the access token expired"))

    def _watch(self, topic: Topic) -> None:
        self._topics.append(topic)
        self._events.watch(topic, self._on_access_change)

    def _on_access_change(self, _: Notice) -> None:
        """The user's session or account changed somewhere: still signed in?"""
        self._spawn(self._recheck())

    async def _recheck(self) -> None:
        token, before = self.identity.token, self.identity.viewer
        if token is None or before is None:
            return
        try:
            async with self.view.state.database.sessionmaker() as session:
                viewer = await within(
                    client_timeout(self._settings),
                    users_service.authenticate(session, self._settings, token),
                )
        except TokenExpired:
            await self._close(CLOSE_UNAUTHORIZED, "Unauthorized: the access token expired")
            return
        except AppError:
            await self._close(CLOSE_FORBIDDEN, "Forbidden: the session has ended")
            return
        except Exception as error:
            if not isinstance(error, DeadlinePassed) and not is_database_unavailable(error):
                raise
            logger.warning("could not re-check a WebSocket's session: the database is unreachable")
            return
        if viewer.role != before.role:
            await self._close(CLOSE_FORBIDDEN, "Forbidden: the account's access changed")

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._settings.ws_keepalive_seconds)
            if self._pong_due:
                await self._close(CLOSE_TIMEOUT, "Keep-alive timeout")
                return
            self._pong_due = True
            try:
                await self.send_message({"type": "ping"})
            except WebSocketDisconnected:
                return  # the peer left; the handler shuts down

    async def handle_pong(self, message: PongMessage) -> None:
        self._pong_due = False

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a WebSocket's background work failed", exc_info=task.exception())

    async def _close(self, code: int, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(Exception):  # the peer may be gone already
            await self.websocket.close(code=code, reason=reason)

    async def shutdown(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._expiry is not None:
            self._expiry.cancel()
        for topic in self._topics:
            self._events.unwatch(topic, self._on_access_change)
        if self.identity.viewer is not None:
            self.view.sockets.remove(self.identity.viewer.id, self)
        for task in list(self._tasks):
            task.cancel()
        await super().shutdown()

    # -- operations -------------------------------------------------------------------------

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and len(self.operations) >= self._settings.ws_max_subscriptions_per_connection
        ):
            await self._close(CLOSE_TOO_MANY, "Too many subscriptions on this connection")
            return
        # Messages are taken in order, the next one once this subscription listens (or
        # has failed): a client that gets the pong of a ping sent after `subscribe` knows
        # that no event from then on can be missed.
        started = self._starting[message["id"]] = asyncio.Event()
        try:
            await super().handle_subscribe(message)
            if message["id"] in self.operations:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(client_timeout(self._settings) or 10):
                        await started.wait()
        finally:
            self._starting.pop(message["id"], None)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Checks the document as HTTP does, then streams its events, each formatted by the
        error convention. Each operation has a context of its own."""
        assert self.context.request is not None
        context = await self.view.get_context(self.context.request)
        context.identify(self.identity.viewer, self.identity.cart_token)
        context.connection_params = self.context.connection_params
        started = self._starting.get(operation.id)
        if started is not None:
            context.on_subscribed = started.set
        try:
            refusal = subscription_refusal(
                self.view.documents,
                self.view.graphql_schema,
                self._settings,
                query=operation.query,
                operation_name=operation.operation_name,
                variables=operation.variables,
            )
            if refusal:
                await self._send_errors(operation, refusal)
                return
            await self._stream(operation, context)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("unexpected error in a subscription")
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
        finally:
            if started is not None:
                started.set()
            await context.close()

    async def _stream(self, operation: Operation[Context, None], context: Context) -> None:
        """graphql-core's subscription algorithm, driven by the events: the resolver gives
        the source stream, each event is executed against the operation's selection and
        sent. No per-subscription pipeline waits between events (an idle subscription is
        its inbox, its source generator and this task), and an event that looks the same
        to everyone who may see it is rendered once for all (`SharedRendering`)."""
        document = self.view.documents.get(operation.query).node
        assert document is not None  # checked by `subscription_refusal`
        built = self.view.executor_class.build(
            self.view.graphql_schema,
            document,
            None,
            context,
            operation.variables,
            operation.operation_name,
        )
        if isinstance(built, list):  # variables that don't coerce
            await self._send_errors(operation, built)
            return
        source = create_source_event_stream(built)
        if built.is_awaitable(source):
            source = await source
        if isinstance(source, GraphQLExecutionResult):  # the resolver refused
            await self._send_errors(operation, list(source.errors or ()))
            return
        # Who asks changes nothing for an anonymous socket: same document, same answer.
        key = (
            (operation.query, operation.operation_name, orjson.dumps(operation.variables or {}))
            if self.identity.viewer is None and self.identity.cart_token is None
            else None
        )
        prefix = '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":'
        async with aclosing(source):
            async for event in source:  # type: ignore[union-attr]
                renderings = getattr(event, "renderings", None) if key is not None else None
                if renderings is None:
                    payload = await _render(built, event)
                else:
                    payload = await _shared_rendering(renderings, key, built, event)
                if operation.completed:
                    return
                await self.websocket.ws.send_text(prefix + payload + "}")  # type: ignore[attr-defined]

    async def _send_errors(
        self, operation: Operation[Context, None], errors: list[GraphQLError]
    ) -> None:
        payload = [format_error(error) for error in errors]
        await operation.send_operation_message(
            cast(Message, {"id": operation.id, "type": "error", "payload": payload})
        )


async def _render(built: Executor[Any], event: object) -> str:
    """The `payload` of the `next` message of `event`, as JSON."""
    result = execute_subscription_event(built.build_per_event_executor(event))
    if built.is_awaitable(result):
        result = await result
    return _payload(result)  # type: ignore[arg-type]


async def _shared_rendering(
    renderings: dict[Hashable, asyncio.Future[str | None]],
    key: Hashable,
    built: Executor[Any],
    event: object,
) -> str:
    """The payload rendered by the first subscriber who needs it, awaited by the others
    (who render it themselves should that fail)."""
    pending = renderings.get(key)
    if pending is not None:
        payload = pending.result() if pending.done() else await asyncio.shield(pending)
        return payload if payload is not None else await _render(built, event)
    pending = renderings[key] = asyncio.get_running_loop().create_future()
    try:
        payload = await _render(built, event)
    except BaseException:
        pending.set_result(None)
        raise
    pending.set_result(payload)
    return payload


def _payload(result: GraphQLExecutionResult) -> str:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [format_error(error) for error in result.errors]
    return orjson.dumps(body).decode()


def subscription_refusal(
    documents: DocumentCache,
    schema: GraphQLSchema,
    settings: Settings,
    *,
    query: object,
    operation_name: object,
    variables: object,
) -> list[GraphQLError]:
    """Why a `subscribe` message's operation is not run (empty: run it)."""
    if not isinstance(query, str):
        return [_request_error(ErrorCode.BAD_REQUEST, "The subscribe message has no `query`")]
    if operation_name is not None and not isinstance(operation_name, str):
        return [_request_error(ErrorCode.BAD_REQUEST, "`operationName` must be a string")]
    if variables is not None and not isinstance(variables, dict):
        return [_request_error(ErrorCode.BAD_REQUEST, "`variables` must be an object")]
    document = documents.get(query)
    if document.node is None:
        try:  # parsed again for the syntax error (the cache keeps only the outcome)
            parse(query, max_tokens=documents.max_tokens)
        except GraphQLError as error:
            return [error]
    if document.errors:
        return list(document.errors)
    operation = document.operation(operation_name)
    if operation is None:
        message = "No operation matches `operationName` in the document"
        return [_request_error(ErrorCode.BAD_REQUEST, message)]
    if operation.kind != "subscription":
        message = "Only subscriptions go over the WebSocket: send queries and mutations with POST"
        return [_request_error(ErrorCode.BAD_REQUEST, message)]
    _, refusal = checked_cost(
        schema, operation.node, operation.fragments, variables, settings.graphql_max_cost
    )
    return [refusal] if refusal is not None else []


def _request_error(code: ErrorCode, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})
