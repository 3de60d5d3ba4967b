"""Settings: parsing, and refusing unsafe production configurations."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import DEFAULT_SECRET_KEY, Environment, Settings

GOOD_SECRET = "x" * 48
URL = "postgresql+asyncpg://app@db:5432/bookstore"


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_production_with_safe_values_starts() -> None:
    settings = make(env="production", secret_key=GOOD_SECRET, database_url=URL)
    assert settings.is_production
    assert not settings.graphiql_enabled
    assert not settings.introspection_enabled


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"secret_key": DEFAULT_SECRET_KEY, "database_url": URL}, "SECRET_KEY"),
        ({"secret_key": "change-me", "database_url": URL}, "SECRET_KEY"),
        ({"secret_key": "short", "database_url": URL}, "SECRET_KEY"),
        ({"secret_key": GOOD_SECRET, "database_url": URL, "debug": True}, "DEBUG"),
        ({"secret_key": GOOD_SECRET}, "DATABASE_URL"),
    ],
)
def test_production_refuses_unsafe_values(values: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        make(env="production", **values)


def test_development_defaults_are_permissive() -> None:
    settings = make()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.graphiql_enabled and settings.introspection_enabled
    assert settings.database_url is None


def test_allowed_origins_is_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example,")
    assert make().allowed_origins == ["https://a.example", "https://b.example"]


def test_libpq_urls_are_converted_and_others_refused() -> None:
    assert make(database_url="postgres://u@h/db").database_url == "postgresql+asyncpg://u@h/db"
    with pytest.raises(ValidationError, match="postgresql\\+asyncpg"):
        make(database_url="mysql://u@h/db")


def test_smtp_url_forms() -> None:
    from app.core.config import SmtpServer, parse_smtp_url

    assert parse_smtp_url("smtp://user%40corp:p%2Fss@mail.example.com:2525?starttls=true") == (
        SmtpServer("mail.example.com", 2525, "user@corp", "p/ss", implicit_tls=False, starttls=True)
    )
    assert parse_smtp_url("smtps://mail.example.com") == SmtpServer(
        "mail.example.com", 465, None, None, implicit_tls=True, starttls=None
    )
    assert parse_smtp_url("smtp://localhost").port == 25
    assert parse_smtp_url("smtp://localhost?starttls=true").port == 587
    assert parse_smtp_url("smtp://localhost?starttls=false").starttls is False


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.com",
        "smtp://",
        "smtps://mail.example.com?starttls=true",
        "smtp://mail.example.com?tls=yes",
        "smtp://mail.example.com:99999",
    ],
)
def test_a_bad_smtp_url_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValidationError, match="smtp_url"):
        Settings(_env_file=None, smtp_url=url)  # type: ignore[call-arg]


def test_mail_from_and_public_url_are_checked() -> None:
    with pytest.raises(ValidationError, match="mail_from"):
        Settings(_env_file=None, mail_from="not an address")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="public_url"):
        Settings(_env_file=None, public_url="shop.example.com")  # type: ignore[call-arg]
    settings = Settings(_env_file=None, public_url="https://shop.example.com/")  # type: ignore[call-arg]
    assert settings.link_base == "https://shop.example.com"
    assert Settings(_env_file=None).link_base == "http://127.0.0.1:8000"  # type: ignore[call-arg]
