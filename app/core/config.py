"""Application settings, read from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Literal, Self
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The shipped default and the `.env.example` placeholder. Either one in production is an
# error: anyone who has read this file could forge tokens.
DEFAULT_SECRET_KEY = "insecure-development-secret-key-change-me-0123456789"  # noqa: S105
PLACEHOLDER_SECRET_KEYS = frozenset({DEFAULT_SECRET_KEY, "change-me", "changeme", "secret"})
MIN_PRODUCTION_SECRET_LENGTH = 32
# What `poetry run dev` serves on by default, and so where development email links point.
DEVELOPMENT_URL = "http://127.0.0.1:8000"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where SMTP_URL says to deliver, and how."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool  # smtps://
    # ?starttls=true: upgrade or fail; false: never; absent: upgrade when the server offers.
    starttls: bool | None

    @property
    def where(self) -> str:
        """host:port, to name the server in logs (never the credentials)."""
        return f"{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpServer:
    """smtp://user:pass@host:port, smtps://... (implicit TLS), ?starttls=true (upgrade).
    Default ports: 465 for smtps, 587 with STARTTLS, 25 otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must be smtp://[user:pass@]host[:port] or smtps://...")
    query = {key: values[-1].lower() for key, values in parse_qs(parts.query).items()}
    if query.keys() - {"starttls"} or query.get("starttls", "false") not in ("true", "false"):
        raise ValueError("takes one option: ?starttls=true or ?starttls=false")
    implicit_tls = parts.scheme == "smtps"
    starttls = None if "starttls" not in query else query["starttls"] == "true"
    if implicit_tls and starttls:
        raise ValueError("smtps:// is TLS from the start: ?starttls=true is for smtp://")
    try:
        port = parts.port or (465 if implicit_tls else 587 if starttls else 25)
    except ValueError as error:
        raise ValueError("has an invalid port") from error
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit_tls,
        starttls=starttls,
    )


class Settings(BaseSettings):
    """Every setting is an environment variable of the same name in upper case."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    env: Environment = Environment.DEVELOPMENT
    debug: bool = False
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://user:password@host:port/db; unset in development "
        "starts the embedded PostgreSQL.",
    )
    test_database_url: str | None = None
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_expire_days: int = Field(default=30, ge=1, le=365)
    jwt_issuer: str = "bookstore-api"
    jwt_audience: str = "bookstore-clients"

    # Password hashing (Argon2id). The defaults are argon2-cffi's RFC 9106 parameters; the
    # test suite lowers them, production should not.
    argon2_time_cost: int = Field(default=3, ge=1, le=20)
    argon2_memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=4, ge=1, le=64)

    # Login throttling: failures counted per (email, client IP) and per client IP.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)

    # Logs: JSON lines (production default) or text; one access line per request.
    log_format: Literal["json", "text"] | None = None
    access_log: bool = True

    # Database pool and timeouts.
    # Every request in flight holds a connection: size the pool for a worker's concurrency
    # (queued requests wait up to DB_POOL_TIMEOUT_SECONDS).
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=20, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(
        default=5000, ge=0, description="A query running longer is cancelled (0: no limit)."
    )
    db_pgbouncer: bool = Field(
        default=False,
        description="Connect through PgBouncer in transaction mode: no prepared-statement "
        "cache, no startup parameters (set them with ALTER DATABASE ... SET, see README).",
    )
    database_listen_url: str | None = Field(
        default=None,
        description="Direct (not pooled) URL for LISTEN/NOTIFY, needed with PgBouncer.",
    )
    db_echo: bool = False

    # GraphQL execution limits.
    graphql_max_depth: int = Field(default=12, ge=2, le=50)
    graphql_max_aliases: int = Field(default=30, ge=0, le=1000)
    graphql_max_tokens: int = Field(default=5000, ge=100, le=100_000)
    graphql_max_cost: int = Field(default=10_000, ge=100, le=10_000_000)
    graphql_max_mutations: int = Field(default=5, ge=1, le=100)
    # Distinct documents kept parsed and validated (one cache for every layer).
    graphql_parser_cache_size: int = Field(default=512, ge=1, le=100_000)

    # Subscriptions: WebSocket (graphql-transport-ws) on /graphql.
    ws_max_subscriptions_per_connection: int = Field(
        default=20, ge=1, le=1000, description="Beyond: the socket closes with 4429."
    )
    ws_max_connections_per_user: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Open sockets of one user, per worker process; beyond: 4429.",
    )
    ws_connection_init_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="A socket without `connection_init` by then: 4408."
    )
    ws_keepalive_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="The server pings this often; a client that hasn't answered (pong) by "
        "the next ping is disconnected (4408).",
    )

    # HTTP front of /graphql: request size, response cache, persisted queries.
    max_request_body_bytes: int = Field(default=100_000, ge=1_000, le=10_000_000)
    # Security headers (the rest are fixed, app/core/security_headers.py).
    hsts_max_age_seconds: int = Field(
        default=0,
        ge=0,
        le=2 * 365 * 24 * 3600,
        description="Send Strict-Transport-Security with this max-age (behind TLS only; "
        "0: not sent).",
    )
    response_cache: bool = Field(
        default=True,
        description="Cache anonymous query responses in process; invalidated on catalog "
        "changes by PostgreSQL LISTEN/NOTIFY. `off` for measuring.",
    )
    response_cache_ttl_seconds: float = Field(default=60.0, gt=0, le=3600)
    response_cache_max_entries: int = Field(default=1000, ge=1, le=1_000_000)
    access_cache_ttl_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="How long a worker trusts an access token it checked (its session and "
        "account), without reading them again; revocations reach every worker at once by "
        "LISTEN/NOTIFY. 0: every request reads them.",
    )
    access_cache_max_entries: int = Field(default=10_000, ge=1, le=1_000_000)
    persisted_queries_max_entries: int = Field(default=5000, ge=1, le=1_000_000)
    catalog_fast_path: bool = Field(
        default=True,
        description="Answer plain `books`, `book` and `cart` queries without per-field execution.",
    )

    # Catalog
    low_stock_threshold: int = Field(default=5, ge=0, le=10_000)
    seed_on_empty: bool = Field(
        default=True, description="`poetry run dev` loads the demo catalog into an empty one."
    )

    # Guest carts: a visitor's cart before signing in, opened by a token (X-Cart-Token).
    guest_cart_ttl_days: int = Field(
        default=30, ge=1, le=365, description="A guest cart unused this long expires."
    )
    guest_cart_create_limit: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Guest carts one client address may create per window (CART_LIMIT_EXCEEDED "
        "beyond). Generous: many visitors can share an address (offices, mobile carriers).",
    )
    guest_cart_create_window_minutes: int = Field(default=60, ge=1, le=24 * 60)

    # Reviews: writes (writeReview, updateReview, deleteReview) one user may make per window.
    review_write_limit: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Review writes one user may make per window (REVIEW_RATE_LIMITED beyond).",
    )
    review_write_window_minutes: int = Field(default=60, ge=1, le=24 * 60)

    # Orders
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")

    # Accounts: email verification and the limit on account emails asked for.
    require_verified_email_for_checkout: bool = Field(
        default=False,
        description="checkout and prebook refuse accounts whose email is not verified "
        "(ACCOUNT_EMAIL_NOT_VERIFIED).",
    )
    email_request_limit: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="Account emails of one kind (password reset, verification, email "
        "change) one address may be sent per window.",
    )
    email_request_limit_per_ip: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Account emails one client address may ask for per window, any kind.",
    )
    email_request_window_minutes: int = Field(default=60, ge=1, le=24 * 60)

    # Email: an outbox table written in the event's transaction, delivered by `mailer`.
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:pass@host:port (smtps:// for implicit TLS, ?starttls=true "
        "to upgrade); unset: messages are written to MAIL_DIR as .eml files.",
    )
    mail_from: str = Field(
        default="Bookstore <no-reply@bookstore.localhost>",
        max_length=320,
        description="The From header of every email: an address, with a display name.",
    )
    mail_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Deliveries tried before a message is dead."
    )
    mail_retry_seconds: float = Field(
        default=60.0,
        gt=0,
        le=24 * 3600,
        description="Wait before the first retry; it doubles with every attempt (at most 6 h).",
    )
    mail_dir: str = Field(
        default=".data/mail", description="Where messages go as .eml files without SMTP_URL."
    )
    mail_sender_in_app: bool = Field(
        default=False,
        description="Run a sender inside the API process (`poetry run dev` turns it on; "
        "deployments run `poetry run mailer`).",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the shop that email links point to (the storefront's "
        "pages); unset in development: the development server.",
    )
    shop_name: str = Field(default="Bookstore", min_length=1, max_length=100)

    # The embedded PostgreSQL (development only) keeps its data here.
    embedded_data_dir: str = ".data/postgres"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("database_url", "test_database_url", "database_listen_url")
    @classmethod
    def _asyncpg_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith(("postgres://", "postgresql://")):
            # Accept the libpq spelling most hosting providers hand out.
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must be a postgresql+asyncpg:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_smtp_url(value.get_secret_value())  # a bad URL fails at start-up, not at send
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(char in value for char in "\r\n"):
            raise ValueError("must be an email address, e.g. Bookstore <shop@example.com>")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s):// URL, e.g. https://shop.example.com")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _default_log_format(self) -> Self:
        if self.log_format is None:
            fmt = "json" if self.env is Environment.PRODUCTION else "text"
            object.__setattr__(self, "log_format", fmt)
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.env is not Environment.PRODUCTION:
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret in PLACEHOLDER_SECRET_KEYS or len(secret) < MIN_PRODUCTION_SECRET_LENGTH:
            problems.append(
                f"SECRET_KEY must be set to a random value of at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} characters"
            )
        if self.debug:
            problems.append("DEBUG must be off")
        if self.database_url is None:
            problems.append("DATABASE_URL must be set explicitly")
        if problems:
            raise ValueError("unsafe production configuration: " + "; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def link_base(self) -> str:
        """Where email links point: PUBLIC_URL, else the development server."""
        return self.public_url or DEVELOPMENT_URL

    @property
    def graphiql_enabled(self) -> bool:
        return not self.is_production

    @property
    def introspection_enabled(self) -> bool:
        return not self.is_production

    @property
    def suggestions_enabled(self) -> bool:
        """ "Did you mean ...?" in error messages (they name schema elements)."""
        return not self.is_production


@lru_cache
def get_settings() -> Settings:
    return Settings()
