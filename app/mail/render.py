"""Emails from their templates (templates/<name>.txt and .html, Jinja2): the plain text,
the HTML and the subject (the text template's `subject` block), with the shop's name and
links made absolute on PUBLIC_URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

import jinja2

from app.core.config import Settings
from app.mail import links
from app.mail.schemas import Template
from app.outbox.schemas import OutboxRow

TEMPLATES = Path(__file__).with_name("templates")

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,  # a value a template needs but didn't get is a bug
    trim_blocks=True,
    lstrip_blocks=True,
)


class Unrenderable(Exception):
    """A payload no template can make an email of (a bug: retrying won't help)."""


@dataclass(frozen=True, slots=True)
class Composed:
    message: EmailMessage
    template: str
    links: dict[str, str]


def compose(settings: Settings, row: OutboxRow) -> Composed:
    """The email of an outbox row. The same row always gives the same email, Message-ID
    and Date included, so a retried delivery is the same message."""
    try:
        payload = row.payload
        template = Template(payload["template"])
        urls = {name: _url(settings, spec) for name, spec in payload["links"].items()}
        values = {
            **payload["context"],
            "name": payload["name"],
            "links": urls,
            "shop_name": settings.shop_name,
            "shop_url": settings.link_base,
        }
        text_template = _environment.get_template(f"{template.value}.txt")
        subject = "".join(text_template.blocks["subject"](text_template.new_context(values)))
        text = text_template.render(values)
        html = _environment.get_template(f"{template.value}.html").render(values)
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = formataddr((payload["name"], payload["to"]))
        message["Subject"] = " ".join(subject.split())
        message["Date"] = format_datetime(row.created_at)
        message["Message-ID"] = f"<{row.uuid}@{_domain(settings.mail_from)}>"
        # RFC 3834: automatic mail; out-of-office replies should not answer it.
        message["Auto-Submitted"] = "auto-generated"
        if "unsubscribe" in urls:
            message["List-Unsubscribe"] = f"<{urls['unsubscribe']}>"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
    except (KeyError, TypeError, ValueError, AttributeError, jinja2.TemplateError) as error:
        raise Unrenderable(f"{type(error).__name__}: {error}") from error
    return Composed(message, template.value, urls)


def _url(settings: Settings, spec: dict[str, Any]) -> str:
    query = {str(key): str(value) for key, value in spec.get("query", {}).items()}
    if "sealed" in spec:
        query["token"] = links.sealed_token(settings, spec["sealed"])
    if "signed" in spec:
        signed = spec["signed"]
        query["token"] = links.signed_token(settings, signed["purpose"], signed["claims"])
    return links.link(settings, spec["path"], **query)


def _domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


LINK = re.compile(r"https?://[^\s<>\"]+")


def links_in(text: str) -> list[str]:
    return list(dict.fromkeys(LINK.findall(text)))
