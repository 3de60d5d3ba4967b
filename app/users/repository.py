"""Every SQL statement of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.mail.repository import Rows
from app.users.models import (
    AccountToken,
    EmailRequest,
    LoginFailure,
    RefreshToken,
    TokenPurpose,
    User,
    UserRole,
)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_id(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_with_session(
        self, user_id: int, family_id: uuid.UUID | None
    ) -> tuple[User | None, bool]:
        """The user, and whether the sign-in session `family_id` is still open (one
        statement: this runs on every authenticated request)."""
        open_session = (
            exists()
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .correlate(None)
            if family_id is not None
            else literal(True)
        )
        row = (
            await self.session.execute(
                select(User, open_session.label("session_open")).where(User.id == user_id)
            )
        ).one_or_none()
        if row is None:
            return None, False
        return row[0], bool(row[1])

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.scalars(select(User).where(User.email == email))
        return result.one_or_none()

    async def list_by_ids(self, user_ids: Sequence[int]) -> Sequence[User]:
        result = await self.session.scalars(select(User).where(User.id.in_(user_ids)))
        return result.all()

    async def insert_unless_email_taken(
        self, *, email: str, full_name: str, password_hash: str, role: UserRole
    ) -> User | None:
        """The new user, or None when the email is taken — also when a concurrent
        registration wins the race (ON CONFLICT instead of a failed transaction)."""
        statement = (
            insert(User)
            .values(email=email, full_name=full_name, password_hash=password_hash, role=role)
            .on_conflict_do_nothing(index_elements=[User.email])
            .returning(User)
        )
        result = await self.session.scalars(
            statement, execution_options={"populate_existing": True}
        )
        return result.one_or_none()

    async def change_email(self, user: User, email: str) -> bool:
        """Set `user`'s email; False (and nothing changed) when another account has it,
        including one that took it concurrently (a savepoint absorbs the violation)."""
        try:
            async with self.session.begin_nested():
                user.email = email
                await self.session.flush()
        except IntegrityError:
            await self.session.refresh(user)
            return False
        return True

    async def flush(self) -> None:
        await self.session.flush()


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        user_id: int,
        token_hash: str,
        family_id: uuid.UUID,
        expires_at: datetime,
        user_agent: str | None,
        ip_address: str | None,
    ) -> RefreshToken:
        token = RefreshToken(
            user_id=user_id,
            token_hash=token_hash,
            family_id=family_id,
            expires_at=expires_at,
            user_agent=user_agent,
            ip_address=ip_address,
        )
        self.session.add(token)
        await self.session.flush()
        return token

    async def lock_by_hash(self, token_hash: str) -> RefreshToken | None:
        """The token row, locked: concurrent refreshes of one token take turns."""
        result = await self.session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )
        return result.one_or_none()

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def revoke_all_of_user(
        self, user_id: int, now: datetime, *, except_family: uuid.UUID | None = None
    ) -> int:
        statement = update(RefreshToken).where(
            RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
        )
        if except_family is not None:
            statement = statement.where(RefreshToken.family_id != except_family)
        result = await self.session.execute(statement.values(revoked_at=now))
        return int(result.rowcount)  # type: ignore[attr-defined]


class LoginFailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, *, email: str, ip_address: str) -> int:
        failure = LoginFailure(email=email, ip_address=ip_address)
        self.session.add(failure)
        await self.session.flush()
        return failure.id

    async def forget(self, failure_id: int) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.id == failure_id))

    async def take_turn(self, ip_address: str) -> None:
        """Wait for the other attempts from `ip_address` to be recorded (a transaction-level
        advisory lock: the commit releases it)."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended("sign-in " + ip_address, 0)))
        )

    async def blocked_until(
        self, *, email: str | None, ip_address: str, limit: int, window: timedelta, up_to: int
    ) -> datetime | None:
        """When the `limit`-th most recent failure within `window`, among those recorded up
        to failure `up_to`, leaves the window (the moment another attempt is allowed), or
        None when there are fewer than `limit`."""
        statement = select(LoginFailure.created_at).where(
            LoginFailure.ip_address == ip_address,
            LoginFailure.created_at > func.now() - window,
            LoginFailure.id <= up_to,
        )
        if email is not None:
            statement = statement.where(LoginFailure.email == email)
        nth_latest = await self.session.scalar(
            statement.order_by(LoginFailure.created_at.desc()).offset(limit - 1).limit(1)
        )
        return None if nth_latest is None else nth_latest + window

    async def clear(self, *, email: str, ip_address: str) -> None:
        await self.session.execute(
            delete(LoginFailure).where(
                LoginFailure.email == email, LoginFailure.ip_address == ip_address
            )
        )

    async def purge_older_than(self, window: timedelta) -> None:
        await self.session.execute(
            delete(LoginFailure).where(LoginFailure.created_at < func.now() - window)
        )


class AccountTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _spend_others(self, purpose: TokenPurpose, user_ids: Any) -> Any:
        return (
            update(AccountToken)
            .where(
                AccountToken.user_id.in_(user_ids),
                AccountToken.purpose == purpose,
                AccountToken.spent_at.is_(None),
            )
            .values(spent_at=func.now())
        )

    async def issue(
        self,
        *,
        user_id: int,
        purpose: TokenPurpose,
        email: str,
        token_hash: str,
        lifetime: timedelta,
    ) -> None:
        """A new token; the user's earlier ones of the same purpose are spent (only the
        newest link works)."""
        await self.session.execute(self._spend_others(purpose, [user_id]))
        await self.session.execute(
            insert(AccountToken).values(
                user_id=user_id,
                purpose=purpose,
                token_hash=token_hash,
                email=email,
                expires_at=func.now() + lifetime,
            )
        )

    def issue_to_account_of(
        self, email: str, *, purpose: TokenPurpose, token_hash: str, lifetime: timedelta
    ) -> Rows:
        """The active account of `email` as a recipient (`to`, `name`), if there is one,
        carrying the statements that spend its earlier tokens and issue a new one (CTEs).
        Queued as one statement, this is the same work, statement for statement, whether
        the account exists or not."""
        target = (
            select(User.id, User.email, User.full_name)
            .where(User.email == email, User.is_active)
            .cte("target")
        )
        spent = (
            self._spend_others(purpose, select(target.c.id)).returning(AccountToken.id).cte("spent")
        )
        issued = (
            insert(AccountToken)
            .from_select(
                ["user_id", "purpose", "token_hash", "email", "expires_at"],
                select(
                    target.c.id,
                    literal(purpose.value),
                    literal(token_hash),
                    target.c.email,
                    func.now() + lifetime,
                ),
            )
            .returning(AccountToken.user_id)
            .cte("issued")
        )
        return (
            select(target.c.email.label("to"), target.c.full_name.label("name"))
            .join(issued, issued.c.user_id == target.c.id)
            .add_cte(spent)
        )

    async def lock_live(
        self, token_hash: str, purposes: Sequence[TokenPurpose]
    ) -> AccountToken | None:
        """The unspent, unexpired token, locked (two uses of one link take turns)."""
        result = await self.session.scalars(
            select(AccountToken)
            .where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose.in_(purposes),
                AccountToken.spent_at.is_(None),
                AccountToken.expires_at > func.now(),
            )
            .with_for_update()
        )
        return result.one_or_none()

    async def spend(self, token: AccountToken, *also: TokenPurpose) -> None:
        """Spend `token`, and the user's other live tokens of the purposes `also`."""
        token.spent_at = datetime.now(UTC)
        await self.session.flush()
        for purpose in also:
            await self.session.execute(self._spend_others(purpose, [token.user_id]))

    async def pending_emails(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The new address awaiting confirmation, per user (issuing a change spends the
        earlier ones, so there is one at most)."""
        result = await self.session.execute(
            select(AccountToken.user_id, AccountToken.email)
            .where(
                AccountToken.user_id.in_(user_ids),
                AccountToken.purpose == TokenPurpose.CHANGE_EMAIL,
                AccountToken.spent_at.is_(None),
                AccountToken.expires_at > func.now(),
            )
            .order_by(AccountToken.id)
        )
        return {row.user_id: row.email for row in result}


class EmailRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def take_turn(self, *keys: str) -> None:
        """Wait for the other requests of the same client address and email (transaction
        advisory locks, always taken in this order, released by the commit)."""
        for key in keys:
            await self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended("email " + key, 0)))
            )

    async def record(self, *, purpose: TokenPurpose, email: str, ip_address: str) -> int:
        result = await self.session.execute(
            insert(EmailRequest)
            .values(purpose=purpose, email=email, ip_address=ip_address)
            .returning(EmailRequest.id)
        )
        return int(result.scalar_one())

    async def forget(self, request_id: int) -> None:
        await self.session.execute(delete(EmailRequest).where(EmailRequest.id == request_id))

    async def blocked_until(
        self,
        *,
        limit: int,
        window: timedelta,
        purpose: TokenPurpose | None = None,
        email: str | None = None,
        ip_address: str | None = None,
    ) -> datetime | None:
        """When the `limit`-th most recent request within `window` of that purpose, to that
        address, from that client address (those given) leaves the window, or None when
        there are fewer."""
        matching = {"purpose": purpose, "email": email, "ip_address": ip_address}
        statement = select(EmailRequest.created_at).where(
            EmailRequest.created_at > func.now() - window,
            *(getattr(EmailRequest, name) == value for name, value in matching.items() if value),
        )
        nth_latest = await self.session.scalar(
            statement.order_by(EmailRequest.created_at.desc()).offset(limit - 1).limit(1)
        )
        return None if nth_latest is None else nth_latest + window

    async def purge_older_than(self, window: timedelta) -> None:
        await self.session.execute(
            delete(EmailRequest).where(EmailRequest.created_at < func.now() - window)
        )
