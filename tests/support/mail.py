"""A real SMTP server in the test process (aiosmtpd, in a thread of its own) and helpers to
run the mail sender against it and read what arrived."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from app.core.config import Settings, SmtpServer
from app.db.session import Database
from app.mail.render import links_in
from app.mail.sender import mail_sender
from app.mail.transport import SmtpTransport


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Catcher:
    """The SMTP server's handler: keeps every message it accepts, or refuses with `refuse`
    (an SMTP reply such as "451 try later")."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return self.refuse
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 OK"


class SmtpCatcher:
    """An SMTP server on 127.0.0.1 that can be taken down and brought back on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.catcher = Catcher()
        self._controller: Controller | None = None
        self.start()

    @property
    def server(self) -> SmtpServer:
        return SmtpServer("127.0.0.1", self.port, None, None, implicit_tls=False, starttls=False)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return self.catcher.messages

    def start(self) -> None:
        self._controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]

    def one_to(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert len(found) == 1, (
            f"{len(found)} messages to {address}: {[m['Subject'] for m in found]}"
        )
        return found[0]


async def deliver(database: Database, settings: Settings, smtp: SmtpCatcher) -> int:
    """Run the mail sender until nothing is due: how many messages it handled."""
    sender = mail_sender(database, settings, SmtpTransport(smtp.server, timeout=5))
    handled = 0
    while count := await sender.run_once():
        handled += count
    return handled


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content: str = body.get_content()
    return content.replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    content: str = body.get_content()
    return content


def link_to(message: EmailMessage, path: str) -> str:
    """The one link of the message's text to `path` (on PUBLIC_URL)."""
    found = [url for url in links_in(text_of(message)) if urlsplit(url).path == path]
    assert len(found) == 1, f"links to {path}: {found}"
    return found[0]


def token_in(message: EmailMessage, path: str) -> str:
    return parse_qs(urlsplit(link_to(message, path)).query)["token"][0]
