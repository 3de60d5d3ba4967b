"""The mail path, end to end: outbox rows written in the transaction of their cause,
delivered by the sender over SMTP to a real server (aiosmtpd) in the test process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.config import Environment, Settings
from app.db.session import Database, client_timeout
from app.mail.links import VERIFY_EMAIL
from app.mail.render import Composed
from app.mail.sender import mail_sender, refuse_undeliverable
from app.mail.transport import MailDirectory, SmtpTransport
from app.outbox.schemas import Outcome
from tests.books.factory import Catalog
from tests.proxy import DatabaseProxy
from tests.support import GraphQL, add_to_cart, checkout, data, register, unique_email
from tests.support.mail import SmtpCatcher, deliver, html_of, link_to, text_of

MESSAGE_ID = re.compile(r"^<[0-9a-f-]{36}@bookstore\.localhost>$")


async def outbox(database: Database, where: str = "true") -> list[dict[str, object]]:
    async with database.sessionmaker() as session:
        query = "SELECT id, status, attempts, uuid, payload FROM outbox_messages WHERE "
        rows = await session.execute(text(query + where + " ORDER BY id"))
        return [dict(row._mapping) for row in rows]


async def test_a_registration_email_arrives_once_with_its_headers_and_link(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    email = unique_email()
    await register(gql, email, full_name="Ada Reader")
    assert await deliver(database, settings, smtp) == 1
    message = smtp.one_to(email)
    assert parseaddr(message["To"]) == ("Ada Reader", email)
    assert message["From"] == settings.mail_from
    assert message["Subject"] == "Confirm your email address for Bookstore"
    assert MESSAGE_ID.match(message["Message-ID"])
    assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    link = link_to(message, VERIFY_EMAIL)
    assert link.startswith("http://127.0.0.1:8000/verify-email?token=")
    assert link in html_of(message)  # the HTML part carries the same link
    assert "Hello Ada Reader," in text_of(message)
    [row] = await outbox(database)
    assert message["Message-ID"] == f"<{row['uuid']}@bookstore.localhost>"
    assert (row["status"], row["attempts"]) == ("DONE", 1)
    # Delivered once: nothing is left to send.
    assert await deliver(database, settings, smtp) == 0
    assert len(smtp.messages) == 1


async def test_the_shop_name_and_link_base_come_from_settings(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    shop = settings.model_copy(
        update={"shop_name": "Tidewater Books", "public_url": "https://shop.example"}
    )
    email = unique_email()
    await register(gql, email)
    await deliver(database, shop, smtp)
    message = smtp.one_to(email)
    assert message["Subject"] == "Confirm your email address for Tidewater Books"
    assert link_to(message, VERIFY_EMAIL).startswith("https://shop.example/verify-email?token=")
    assert "Tidewater Books\nhttps://shop.example" in text_of(message)


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_is_dead(
    gql: GraphQL,
    database: Database,
    settings: Settings,
    smtp: SmtpCatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quick = settings.model_copy(update={"mail_retry_seconds": 0.01, "mail_max_attempts": 3})
    email = unique_email()
    await register(gql, email)
    smtp.catcher.refuse = "451 4.3.0 try again later"
    # Each attempt once its backoff (about 10, then 20 ms) has passed. On a loaded machine
    # one run may already find the next attempt due (and make it), so the test waits for
    # the outcome rather than counting runs.
    for _ in range(1000):  # up to ~10 s
        await deliver(database, quick, smtp)
        [row] = await outbox(database)
        if row["status"] == "DEAD":
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the retries never came due")
    assert (row["status"], row["attempts"]) == ("DEAD", 3)
    assert await deliver(database, quick, smtp) == 0  # dead messages are left alone
    dead = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert dead == [
        f"outbox message {row['id']} (email verify_email) is dead after 3 attempts: SMTP 451: refused"
    ]
    assert email not in "".join(r.getMessage() for r in caplog.records)  # no addresses in logs

    other = unique_email()
    await register(gql, other)
    smtp.catcher.refuse = "550 5.1.1 no such mailbox"
    assert await deliver(database, quick, smtp) == 1
    [_, refused] = await outbox(database)
    assert (refused["status"], refused["attempts"]) == ("DEAD", 1)  # 5xx: not retried


async def test_without_smtp_url_messages_are_files_and_the_log_gives_the_link(
    gql: GraphQL,
    database: Database,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email = unique_email()
    await register(gql, email)
    caplog.set_level(logging.INFO, logger="app.mail")
    sender = mail_sender(database, settings, MailDirectory(tmp_path / "mail"))
    assert await sender.run_once() == 1
    [file] = list((tmp_path / "mail").glob("*-verify_email-*.eml"))
    saved = message_from_bytes(file.read_bytes(), policy=policy.default)
    assert isinstance(saved, EmailMessage)
    assert parseaddr(saved["To"]) == ("Ada Reader", email)
    [line] = [r.getMessage() for r in caplog.records if r.name == "app.mail"]
    assert str(file) in line and email in line
    logged = [url for url in line.split() if url.startswith("http")]
    assert logged == [link_to(saved, VERIFY_EMAIL), "http://127.0.0.1:8000"]


async def test_the_production_sender_needs_smtp_and_a_public_url(settings: Settings) -> None:
    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    with pytest.raises(ValueError, match="SMTP_URL and PUBLIC_URL"):
        refuse_undeliverable(production)
    configured = production.model_copy(
        update={"smtp_url": "smtp://mail:25", "public_url": "https://shop.example"}
    )
    refuse_undeliverable(configured)


@pytest.mark.committing
async def test_a_transaction_that_fails_at_commit_sends_nothing_and_a_committed_one_sends(
    catalog: Catalog, gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    book = await catalog.book(stock=5)
    customer_email = unique_email()
    customer = (await register(gql, customer_email))["accessToken"]
    await deliver(database, settings, smtp)  # the verification email
    async with database.engine.begin() as connection:
        # Fails every order at COMMIT, after every statement of the checkout (its email's
        # outbox row included) has run.
        await connection.execute(
            text(
                "CREATE FUNCTION refuse_order() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"
            )
        )
        await connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_order AFTER INSERT ON orders "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_order()"
            )
        )
    try:
        await add_to_cart(gql, customer, book["id"])
        failed = await checkout(gql, customer, key="key-refused-at-commit")
        assert failed["data"] == {"checkout": None}
        assert await outbox(database, "payload->>'template' = 'order_placed'") == []
    finally:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER refuse_order ON orders"))
            await connection.execute(text("DROP FUNCTION refuse_order()"))
    placed = data(await checkout(gql, customer, key="key-committed"))["checkout"]
    assert await deliver(database, settings, smtp) == 1
    [sent] = smtp.to(customer_email)[1:]
    assert sent["Subject"] == f"Your Bookstore order {_number(placed['id'])}"


def _number(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


@contextlib.asynccontextmanager
async def running(
    sender_settings: Settings, database: Database, smtp: SmtpCatcher
) -> AsyncIterator[None]:
    sender = mail_sender(database, sender_settings, SmtpTransport(smtp.server, timeout=2))
    task = asyncio.create_task(sender.run(poll_seconds=0.02))
    try:
        yield
    finally:
        sender.stop()
        await task


async def wait_for(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll `condition` (the state of other tasks and threads) for up to 20 s."""
    async with asyncio.timeout(20):
        while not await condition():  # noqa: ASYNC110 - no event to wait on across threads
            await asyncio.sleep(0.02)


@pytest.mark.committing
async def test_mail_queued_while_the_smtp_server_is_down_arrives_exactly_once_when_it_is_back(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    quick = settings.model_copy(update={"mail_retry_seconds": 0.05})
    smtp.stop()
    emails = [unique_email() for _ in range(5)]
    async with running(quick, database, smtp):
        for email in emails:
            await register(gql, email)

        async def all_tried() -> bool:
            rows = await outbox(database)
            return len(rows) == 5 and all(int(r["attempts"]) >= 2 for r in rows)  # type: ignore[call-overload]

        await wait_for(all_tried)
        assert smtp.messages == []
        smtp.start()

        async def all_sent() -> bool:
            return all(r["status"] == "DONE" for r in await outbox(database))

        await wait_for(all_sent)
        await asyncio.sleep(0.2)  # time for a duplicate to show, if there were one
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(emails)
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(set(ids)) == 5
    assert set(ids) == {f"<{r['uuid']}@bookstore.localhost>" for r in await outbox(database)}


class Rendezvous:
    """A transport that holds the first sender's first message until the second sender
    has delivered one: both must hold claimed batches at the same time."""

    def __init__(self, smtp: SmtpCatcher) -> None:
        self.inner = SmtpTransport(smtp.server, timeout=5)
        self.second_delivered = asyncio.Event()

    def for_sender(self, first: bool) -> object:
        rendezvous = self

        class Transport:
            @contextlib.asynccontextmanager
            async def open(self) -> AsyncIterator[object]:
                async with rendezvous.inner.open() as send:

                    async def deliver(composed: Composed) -> Outcome:
                        if first:
                            await asyncio.wait_for(rendezvous.second_delivered.wait(), 10)
                        outcome = await send(composed)
                        if not first:
                            rendezvous.second_delivered.set()
                        return outcome

                    yield deliver

        return Transport()


@pytest.mark.committing
async def test_two_senders_at_once_deliver_every_message_exactly_once(
    database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    from app.mail import service as mail
    from app.mail.schemas import Template

    async with database.sessionmaker() as session, session.begin():
        for i in range(40):
            await mail.to_address(
                session,
                Template.EMAIL_CHANGED,
                to=f"reader{i}@example.com",
                name=f"Reader {i}",
                context={"new_email": "new@example.com"},
            )
    rendezvous = Rendezvous(smtp)
    senders = [
        mail_sender(database, settings, rendezvous.for_sender(first))  # type: ignore[arg-type]
        for first in (True, False)
    ]
    for sender in senders:
        sender.batch_size = 5

    async def drain(index: int) -> int:
        if index == 1:
            await asyncio.sleep(0.05)  # the first claims its batch first
        handled = 0
        while count := await senders[index].run_once():
            handled += count
        return handled

    first, second = await asyncio.gather(drain(0), drain(1))
    assert first > 0 and second > 0 and first + second == 40
    recipients = [m["X-Envelope-To"] for m in smtp.messages]
    assert sorted(recipients) == sorted(f"reader{i}@example.com" for i in range(40))
    assert len({m["Message-ID"] for m in smtp.messages}) == 40


@pytest.mark.committing
async def test_the_mailer_command_delivers_and_stops_cleanly_on_sigterm(
    gql: GraphQL, settings: Settings, smtp: SmtpCatcher, database: Database
) -> None:
    email = unique_email()
    await register(gql, email)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "SMTP_URL": smtp.url,
        "ENV": "test",
        "LOG_FORMAT": "text",
    }
    mailer = subprocess.Popen(  # noqa: ASYNC220 - the command's own process, watched below
        [sys.executable, "-c", "from app.cli.mailer import main; main()"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        async def arrived() -> bool:
            return len(smtp.to(email)) == 1

        await wait_for(arrived)
        mailer.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(mailer.wait, 15)
    finally:
        if mailer.poll() is None:
            mailer.kill()
    log = mailer.stderr.read() if mailer.stderr else ""
    assert code == 0, log
    assert f"mailer started: delivering to SMTP server 127.0.0.1:{smtp.port}" in log
    assert "mailer stopped" in log
    assert len(smtp.messages) == 1


# The sender under hardening's deadlines (app/db/session.py): it is no request, so no
# request deadline (`within`) wraps its claiming transaction, which stays open while SMTP
# takes a batch; each of its statements is bounded by `command_timeout` all the same.
STATEMENT_TIMEOUT_MS = 300


def impatient(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "db_statement_timeout_ms": STATEMENT_TIMEOUT_MS,
            "db_connect_timeout_seconds": 1.0,
            "mail_retry_seconds": 0.05,
        }
    )


class Slow:
    """SMTP that takes `seconds` per message, and may freeze the database on the first."""

    def __init__(
        self, smtp: SmtpCatcher, seconds: float, freeze: DatabaseProxy | None = None
    ) -> None:
        self.inner = SmtpTransport(smtp.server, timeout=5)
        self.seconds = seconds
        self.freeze = freeze

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Callable[[Composed], Awaitable[Outcome]]]:
        async with self.inner.open() as send:

            async def deliver(composed: Composed) -> Outcome:
                await asyncio.sleep(self.seconds)
                outcome = await send(composed)
                if self.freeze is not None:
                    self.freeze.freeze()  # sent, and the database stops answering
                    self.freeze = None
                return outcome

            yield deliver


@pytest.mark.committing
async def test_a_batch_that_takes_longer_than_the_statement_timeout_is_recorded_once(
    gql: GraphQL, database: Database, settings: Settings, smtp: SmtpCatcher
) -> None:
    # Deadlines with room for a loaded machine: the test is about the batch outlasting
    # them, not about how fast PostgreSQL answers (with 30 busy processes on the machine a
    # connection and its first claim took 0.34 s, against `impatient`'s 300 ms a statement
    # and 1 s a connection). Each message takes as long as the client's deadline of a
    # statement (client_timeout: 2 s), so the batch's transaction stays open for three
    # times that: only its statements are bounded.
    patient = settings.model_copy(update={"db_statement_timeout_ms": 1000})
    emails = [unique_email() for _ in range(3)]
    for email in emails:
        await register(gql, email)
    own = Database.from_settings(patient)
    try:
        seconds = client_timeout(patient)
        assert seconds is not None
        sender = mail_sender(own, patient, Slow(smtp, seconds))  # type: ignore[arg-type]
        assert await sender.run_once() == 3
    finally:
        await own.dispose()
    rows = await outbox(database)
    assert [(r["status"], r["attempts"]) for r in rows] == [("DONE", 1)] * 3
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(emails)


@pytest.mark.committing
async def test_a_database_that_freezes_mid_batch_does_not_hang_the_sender(
    gql: GraphQL,
    database: Database,
    settings: Settings,
    smtp: SmtpCatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quick = impatient(settings)
    email = unique_email()
    await register(gql, email)
    proxy = DatabaseProxy(settings.database_url or "")
    await proxy.start()
    own = Database.from_settings(quick, url=proxy.url)
    # The message goes out, then the database stops answering before the batch is recorded.
    sender = mail_sender(own, quick, Slow(smtp, 0, freeze=proxy))  # type: ignore[arg-type]
    task = asyncio.create_task(sender.run(poll_seconds=0.05))
    try:

        async def given_up() -> bool:
            return any("database unavailable" in r.getMessage() for r in caplog.records)

        await wait_for(given_up)  # its statements timed out: the sender goes on
        assert not task.done()
        proxy.thaw()

        async def recorded() -> bool:
            return [r["status"] for r in await outbox(database)] == ["DONE"]

        await wait_for(recorded)
    finally:
        sender.stop()
        proxy.thaw()
        async with asyncio.timeout(20):
            await task
        await proxy.stop()
        await own.dispose()
    # Unrecorded, the batch went again: at least once, as the same message.
    sent = smtp.to(email)
    assert len(sent) == 2 and sent[0]["Message-ID"] == sent[1]["Message-ID"]
