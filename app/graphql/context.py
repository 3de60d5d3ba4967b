"""Per-request GraphQL context: database access, settings and (lazily) the current user and
the request's cart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext

from app.books import service as books_service
from app.books.repository import Stock
from app.cart import service as cart_service
from app.cart.schemas import CartOwner
from app.core.config import Settings
from app.core.errors import AppError, AuthenticationError
from app.core.request_context import current_record
from app.core.security import InvalidToken
from app.db.session import Database, DatabaseFeatures
from app.users import service as users_service
from app.users.schemas import ClientInfo, Viewer

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.graphql.loaders import ContextLoader
    from app.realtime.hub import EventHub
    from app.users.access import AccessCache

L = TypeVar("L", bound="ContextLoader[Any, Any]")


class Context(BaseContext):
    """What every resolver gets as `info.context`.

    One `AsyncSession` serves the whole request. GraphQL resolves sibling fields
    concurrently and an `AsyncSession` must never run two statements at once, so every use
    goes through `session()` or `transaction()`, which take turns on a lock.
    """

    def __init__(
        self,
        *,
        database: Database,
        settings: Settings,
        features: DatabaseFeatures | None = None,
    ) -> None:
        super().__init__()
        self.database = database
        self.settings = settings
        self.features = features or DatabaseFeatures()
        self._loaders: dict[type[Any], Any] = {}
        self._session: AsyncSession | None = None
        self._closed = False
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None
        self._auth_lock = asyncio.Lock()
        self._auth: tuple[Viewer | None, AppError | None] | None = None
        self._guest_lock = asyncio.Lock()
        self._guest: tuple[int | None, AppError | None] | None = None
        # The worker's event hub (subscriptions) and checked access tokens; set by the view.
        self.events: EventHub | None = None
        self.access: AccessCache | None = None
        # What ends with the context (a subscription's watching), and who wants to know
        # that a subscription listens (the WebSocket, to take the next message).
        self._cleanups: list[Callable[[], None]] = []
        self.on_subscribed: Callable[[], None] | None = None

    # -- database -------------------------------------------------------------------------

    def _get_session(self) -> AsyncSession:
        if self._closed:
            # A resolver GraphQL gave up on (a sibling nulled the parent) finishing late.
            raise RuntimeError("the request is over; its session is closed")
        if self._session is None:
            self._session = self.database.sessionmaker()
        return self._session

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[AsyncSession]:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # Waiting for a lock we hold would hang the request forever.
            raise RuntimeError("the request session is already in use by this resolver")
        async with self._lock:
            self._holder = task
            try:
                yield self._get_session()
            finally:
                self._holder = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Exclusive use of the request's session for reading."""
        async with self._exclusive() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block succeeds, rolls back when it raises."""
        async with self._exclusive() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def close(self) -> None:
        """End of request: give the connection back (rolling back any read transaction).

        Takes the lock like every other user of the session: when a field error nulls a
        parent, GraphQL answers without waiting for the parent's other fields, which may
        still be running a statement on this session."""
        for cleanup in self._cleanups:
            cleanup()
        self._cleanups.clear()
        async with self._lock:
            self._closed = True
            session, self._session = self._session, None
            if session is None:
                return
            try:
                await session.close()
            except (DBAPIError, asyncpg.InterfaceError):
                # A connection a cancelled statement left unusable: drop it from the pool
                # rather than fail a response that has already been sent.
                logger.warning("discarding a broken connection at the end of a request")
                await session.invalidate()

    async def end_event(self) -> None:
        """A subscription's event is out: give the connection back and forget what the
        loaders read, so that the next event is read afresh (the context lives on)."""
        if self._session is None and not self._loaders:
            return  # the event read nothing through the context
        async with self._lock:
            session, self._session = self._session, None
            self._loaders.clear()
        if session is not None:
            try:
                await session.close()
            except (DBAPIError, asyncpg.InterfaceError):
                logger.warning("discarding a broken connection after a subscription event")
                await session.invalidate()

    def on_close(self, cleanup: Callable[[], None]) -> None:
        self._cleanups.append(cleanup)

    def subscribed(self) -> None:
        """A subscription's resolver is listening for events."""
        if self.on_subscribed is not None:
            self.on_subscribed()

    def identify(self, viewer: Viewer | None, cart_token: str | None) -> None:
        """Who is asking, established elsewhere (a WebSocket's `connection_init`): not
        read from request headers."""
        self._auth = (viewer, None)
        self.cart_token = cart_token

    def loader(self, loader_class: type[L]) -> L:
        """This request's instance of a batch loader (created on first use)."""
        loader = self._loaders.get(loader_class)
        if loader is None:
            loader = self._loaders[loader_class] = loader_class(self)
        return cast(L, loader)

    # -- who is asking ----------------------------------------------------------------------

    @cached_property
    def client(self) -> ClientInfo:
        request = self.request
        host = request.client.host if request is not None and request.client else "unknown"
        agent = request.headers.get("user-agent") if request is not None else None
        return ClientInfo(ip_address=host[:45], user_agent=agent[:300] if agent else None)

    async def _authenticate(self) -> tuple[Viewer | None, AppError | None]:
        """(viewer, why the presented token was refused), worked out once per request."""
        async with self._auth_lock:
            if self._auth is None:
                self._auth = await self._read_token()
            return self._auth

    async def _read_token(self) -> tuple[Viewer | None, AppError | None]:
        header = self.request.headers.get("authorization") if self.request else None
        if not header:
            return None, None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, InvalidToken("Authorization header must be `Bearer <token>`")
        token = token.strip()
        access = self.access
        viewer = access.get(token) if access is not None else None
        if viewer is None:
            try:
                viewer = await self._check_token(token)
            except AppError as error:
                return None, error
        record = current_record()
        if record is not None:
            record.user_id = viewer.id
        return viewer, None

    async def _check_token(self, token: str) -> Viewer:
        """The token's viewer, read from the database (and remembered, see AccessCache)."""
        access = self.access
        generation = access.generation if access is not None else 0
        async with self.session() as session:
            viewer, expires_at = await users_service.authenticate_until(
                session, self.settings, token
            )
        if access is not None:
            access.put(token, viewer, generation=generation, expires_at=expires_at)
        return viewer

    async def token_refused(self) -> bool:
        """Whether the request presented an access token that was refused (expired, revoked,
        malformed): the fast path leaves such a request to the regular path, whose fields
        answer it as they each do."""
        _, refusal = await self._authenticate()
        return refusal is not None

    async def optional_viewer(self) -> Viewer | None:
        """The signed-in user, or None. A bad token counts as anonymous here: public fields
        answer as they would without one."""
        viewer, _ = await self._authenticate()
        return viewer

    async def viewer_or_none(self) -> Viewer | None:
        """The signed-in user, or None when no token was sent; a refused token raises
        (AUTH_TOKEN_EXPIRED / AUTH_INVALID_TOKEN), because the client must refresh or sign
        in again rather than be taken for anonymous."""
        viewer, refusal = await self._authenticate()
        if refusal is not None:
            raise refusal
        return viewer

    async def require_viewer(self) -> Viewer:
        """The signed-in user; otherwise why not (expired/invalid token, or none sent)."""
        viewer = await self.viewer_or_none()
        if viewer is None:
            raise AuthenticationError()
        return viewer

    @property
    def viewer(self) -> Viewer:
        """The signed-in user, in a field under `IsAuthenticated`/`IsAdmin`: the permission
        already authenticated the request (and refused it otherwise), so no second call."""
        viewer = self._auth[0] if self._auth is not None else None
        if viewer is None:
            raise RuntimeError("`context.viewer` is for fields under IsAuthenticated or IsAdmin")
        return viewer

    async def is_admin(self) -> bool:
        viewer = await self.optional_viewer()
        return viewer is not None and viewer.is_admin

    # -- whose cart ---------------------------------------------------------------------------

    @cached_property
    def cart_token(self) -> str | None:
        """The guest cart token the client sent (`X-Cart-Token`), if any."""
        token = self.request.headers.get("x-cart-token") if self.request else None
        return (token.strip() or None) if token else None

    async def cart_owner(self) -> CartOwner | None:
        """Whose cart this request works on: the signed-in user's; else, for an anonymous
        request, the guest cart of `X-Cart-Token` (CART_TOKEN_INVALID for a token that opens
        none); None with neither. A refused access token raises, as on `me`.

        Resolving the guest token marks its cart used (it expires only when unused) in a
        unit of work of its own, so call this before opening the resolver's own."""
        viewer = await self.viewer_or_none()
        if viewer is not None:
            return CartOwner.of_user(viewer.id)
        token = self.cart_token
        if token is None:
            return None
        async with self._guest_lock:
            if self._guest is None:
                self._guest = await self._use_guest_cart(token)
        guest_cart, why_not = self._guest
        if why_not is not None:
            raise why_not
        assert guest_cart is not None
        return CartOwner.of_guest(guest_cart)

    async def _use_guest_cart(self, token: str) -> tuple[int | None, AppError | None]:
        """(the guest cart of `token`, why there is none), worked out once per request."""
        try:
            async with self.transaction() as session:
                return await cart_service.use_guest_cart(session, self.settings, token=token), None
        except AppError as refusal:
            return None, refusal

    @cached_property
    def stock(self) -> Stock:
        """The stock rules of this request (availability is judged against today, UTC)."""
        return books_service.stock_context(self.settings)
