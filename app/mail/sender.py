"""The mail sender: the consumer of the outbox's `mail` topic. `poetry run mailer` runs one
(one per instance: several never send a message twice), and so does `poetry run dev`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from app.core.config import Settings, parse_smtp_url
from app.db.session import Database
from app.mail.render import Unrenderable, compose
from app.mail.schemas import MAIL_TOPIC
from app.mail.transport import MailDirectory, SmtpTransport, Transport
from app.outbox.consumer import Backoff, Consumer, Deliver
from app.outbox.schemas import OutboxRow, Outcome


class MailHandler:
    def __init__(self, settings: Settings, transport: Transport) -> None:
        self.settings = settings
        self.transport = transport

    def describe(self, row: OutboxRow) -> str:
        return f"email {row.payload.get('template', '?')}"

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Deliver]:
        async with self.transport.open() as send:

            async def deliver(row: OutboxRow) -> Outcome:
                try:
                    composed = compose(self.settings, row)
                except Unrenderable as error:
                    return Outcome.dead(f"cannot be rendered ({error})")
                return await send(composed)

            yield deliver


def transport_of(settings: Settings) -> Transport:
    """SMTP_URL's server, else the development mailbox (MAIL_DIR)."""
    if settings.smtp_url is None:
        return MailDirectory(Path(settings.mail_dir))
    return SmtpTransport(parse_smtp_url(settings.smtp_url.get_secret_value()))


def where(settings: Settings) -> str:
    """Where mail goes, for the start-up line (no credentials)."""
    if settings.smtp_url is None:
        return f"the development mailbox {Path(settings.mail_dir).resolve()}"
    return f"SMTP server {parse_smtp_url(settings.smtp_url.get_secret_value()).where}"


def refuse_undeliverable(settings: Settings) -> None:
    """In production, mail that would stay on this machine's disk or link to localhost is
    refused before any is taken from the outbox."""
    if not settings.is_production:
        return
    missing = [
        name
        for name, value in (("SMTP_URL", settings.smtp_url), ("PUBLIC_URL", settings.public_url))
        if value is None
    ]
    if missing:
        raise ValueError(f"the mail sender needs {' and '.join(missing)} in production")


def mail_sender(
    database: Database, settings: Settings, transport: Transport | None = None
) -> Consumer:
    refuse_undeliverable(settings)
    return Consumer(
        database,
        MAIL_TOPIC,
        MailHandler(settings, transport or transport_of(settings)),
        max_attempts=settings.mail_max_attempts,
        backoff=Backoff(first=timedelta(seconds=settings.mail_retry_seconds)),
    )
