"""The app-wide error convention: machine-readable codes and the exceptions that carry them.

Domains raise `AppError` (or a subclass); `app.graphql.errors` turns it into a GraphQL error
with `extensions.code` / `extensions.field`, and `http_error_body` into JSON for plain HTTP
routes. Nothing else formats errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every value a client can find in `errors[].extensions.code`."""

    description: str

    def __new__(cls, value: str, description: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    # Generic
    INTERNAL_SERVER_ERROR = (
        "INTERNAL_SERVER_ERROR",
        "An unexpected failure on the server. The message never says more; the request id "
        "in the X-Request-ID response header lets operators find the logged details.",
    )
    SERVICE_UNAVAILABLE = (
        "SERVICE_UNAVAILABLE",
        "A backing service (the database) is unreachable or too slow. Retry later.",
    )
    VALIDATION_ERROR = (
        "VALIDATION_ERROR",
        "An input failed validation: a value breaks a rule, or a variable's value doesn't "
        "fit its declared type. `extensions.field` names the input (for a variable, a path "
        "starting with the variable's name) and `extensions.errors` lists each problem "
        "(`loc`, `msg`, `type`).",
    )
    NOT_FOUND = ("NOT_FOUND", "The requested resource or route does not exist.")
    METHOD_NOT_ALLOWED = ("METHOD_NOT_ALLOWED", "The HTTP method is not allowed on this route.")
    BAD_REQUEST = ("BAD_REQUEST", "The HTTP request is malformed.")
    UNSUPPORTED_MEDIA_TYPE = (
        "UNSUPPORTED_MEDIA_TYPE",
        "POST /graphql needs `Content-Type: application/json`.",
    )
    REQUEST_TOO_LARGE = ("REQUEST_TOO_LARGE", "The request body exceeds the size limit.")
    CORS_NOT_ALLOWED = (
        "CORS_NOT_ALLOWED",
        "A browser's cross-origin preflight was refused: its origin is not in ALLOWED_ORIGINS, "
        "or it asked for a method or header the API doesn't take.",
    )
    PERSISTED_QUERY_NOT_FOUND = (
        "PERSISTED_QUERY_NOT_FOUND",
        "The server doesn't know this persisted-query hash yet: send the query text along "
        "with the hash once (Automatic Persisted Queries).",
    )
    # GraphQL request errors
    GRAPHQL_PARSE_FAILED = ("GRAPHQL_PARSE_FAILED", "The GraphQL document is not valid syntax.")
    GRAPHQL_VALIDATION_FAILED = (
        "GRAPHQL_VALIDATION_FAILED",
        "The document does not validate against the schema (unknown field, wrong argument "
        "type, a literal value of the wrong type: then `extensions.field` names it).",
    )
    QUERY_TOO_COMPLEX = (
        "QUERY_TOO_COMPLEX",
        "The operation exceeds a depth, alias, token or cost limit.",
    )
    SUBSCRIPTION_OVER_HTTP = (
        "SUBSCRIPTION_OVER_HTTP",
        "Subscriptions are served over WebSocket only (graphql-transport-ws on /graphql), "
        "not POST or GET.",
    )
    # Authentication and authorisation
    AUTH_REQUIRED = ("AUTH_REQUIRED", "The field needs a signed-in user; send a Bearer token.")
    AUTH_INVALID_TOKEN = (
        "AUTH_INVALID_TOKEN",
        "The token is malformed, forged, revoked or of the wrong kind. Sign in again.",
    )
    AUTH_FORBIDDEN = ("AUTH_FORBIDDEN", "The signed-in user may not do this (admins only).")
    AUTH_TOKEN_EXPIRED = (
        "AUTH_TOKEN_EXPIRED",
        "The access token has expired: get a new one with `refreshToken`.",
    )
    AUTH_INVALID_CREDENTIALS = (
        "AUTH_INVALID_CREDENTIALS",
        "Wrong email or password (the message is the same for both, on purpose).",
    )
    AUTH_TOO_MANY_ATTEMPTS = (
        "AUTH_TOO_MANY_ATTEMPTS",
        "Too many failed sign-ins; `extensions.retryAfter` says how many seconds to wait.",
    )
    AUTH_USER_INACTIVE = ("AUTH_USER_INACTIVE", "The account has been deactivated.")
    # Users
    USER_EMAIL_TAKEN = ("USER_EMAIL_TAKEN", "Another account already uses this email address.")
    ACCOUNT_EMAIL_NOT_VERIFIED = (
        "ACCOUNT_EMAIL_NOT_VERIFIED",
        "This shop orders only for verified email addresses: follow the link sent at sign-up, "
        "or ask for a new one with `resendVerificationEmail`.",
    )
    ACCOUNT_TOKEN_INVALID = (
        "ACCOUNT_TOKEN_INVALID",
        "The token of an email link is unknown, used, replaced by a newer link, or expired. "
        "Ask for a new link.",
    )
    ACCOUNT_TOO_MANY_EMAILS = (
        "ACCOUNT_TOO_MANY_EMAILS",
        "Too many account emails were asked for; `extensions.retryAfter` says how many seconds "
        "to wait.",
    )
    # Saved addresses
    ADDRESS_NOT_FOUND = ("ADDRESS_NOT_FOUND", "No such saved address (or it is not yours).")
    ADDRESS_LIMIT_EXCEEDED = (
        "ADDRESS_LIMIT_EXCEEDED",
        "An address book holds at most 20 addresses.",
    )
    # Catalog
    BOOK_NOT_FOUND = (
        "BOOK_NOT_FOUND",
        "No such book, or it has been archived (archived books are visible to admins only).",
    )
    AUTHOR_NOT_FOUND = ("AUTHOR_NOT_FOUND", "No such author.")
    GENRE_NOT_FOUND = ("GENRE_NOT_FOUND", "No such genre.")
    BOOK_ISBN_TAKEN = ("BOOK_ISBN_TAKEN", "Another book already has this ISBN.")
    GENRE_SLUG_TAKEN = ("GENRE_SLUG_TAKEN", "Another genre already has this slug.")
    GENRE_NAME_TAKEN = ("GENRE_NAME_TAKEN", "Another genre already has this name.")
    BOOK_NOT_RELEASED = (
        "BOOK_NOT_RELEASED",
        "The book is not released yet: it can be pre-ordered with `prebook` instead.",
    )
    # Cart and orders
    CART_QUANTITY_INVALID = ("CART_QUANTITY_INVALID", "A cart line holds 1 to 99 copies.")
    CART_OUT_OF_STOCK = (
        "CART_OUT_OF_STOCK",
        "Not enough copies in stock: `extensions.availableQuantity` (cart) or "
        "`extensions.lines` (checkout) says how many there are.",
    )
    CART_LIMIT_EXCEEDED = (
        "CART_LIMIT_EXCEEDED",
        "A cart holds at most 50 different books; or (`createGuestCart`) this client address "
        "created too many guest carts: `extensions.retryAfter` says how many seconds to wait.",
    )
    CART_TOKEN_INVALID = (
        "CART_TOKEN_INVALID",
        "No guest cart for this token (`X-Cart-Token`, or `cartToken`): none was sent, or it "
        "is unknown, expired or merged. Create a new one with `createGuestCart`.",
    )
    CART_GUEST_NOT_MERGED = (
        "CART_GUEST_NOT_MERGED",
        "Warning: a signed-in request also carries a guest cart token whose cart is not merged "
        "into yours: merge it with `mergeGuestCart`, or stop sending `X-Cart-Token`.",
    )
    CART_EMPTY = ("CART_EMPTY", "Checkout needs a cart with at least one book.")
    CART_PRICE_CHANGED = (
        "CART_PRICE_CHANGED",
        "Warning: the price changed since the book was put in the cart.",
    )
    IDEMPOTENCY_KEY_REUSED = (
        "IDEMPOTENCY_KEY_REUSED",
        "This idempotency key was already used for a different checkout (other address or "
        "cart). Use a new key for a new order.",
    )
    ORDER_NOT_FOUND = ("ORDER_NOT_FOUND", "No such order (or it is not yours).")
    ORDER_INVALID_STATUS_TRANSITION = (
        "ORDER_INVALID_STATUS_TRANSITION",
        "The order cannot go from its status to the requested one "
        "(`extensions.from`/`extensions.to`).",
    )
    ORDER_NOT_CANCELLABLE = (
        "ORDER_NOT_CANCELLABLE",
        "The order has shipped (or been delivered) and can no longer be cancelled.",
    )
    # Wishlist and prebooks
    WISHLIST_ITEM_NOT_FOUND = ("WISHLIST_ITEM_NOT_FOUND", "The book is not in your wishlist.")
    WISHLIST_LIMIT_EXCEEDED = ("WISHLIST_LIMIT_EXCEEDED", "A wishlist holds at most 500 books.")
    PREBOOK_NOT_ALLOWED = (
        "PREBOOK_NOT_ALLOWED",
        "The book can be bought now (released, enough stock): add it to the cart instead.",
    )
    PREBOOK_ALREADY_EXISTS = (
        "PREBOOK_ALREADY_EXISTS",
        "You already have a waiting prebook for this book (`extensions.prebookId`).",
    )
    PREBOOK_NOT_FOUND = ("PREBOOK_NOT_FOUND", "No such prebook (or it is not yours).")
    PREBOOK_NOT_CANCELLABLE = (
        "PREBOOK_NOT_CANCELLABLE",
        "Only a waiting (PENDING) prebook can be cancelled.",
    )
    PREBOOK_QUANTITY_INVALID = ("PREBOOK_QUANTITY_INVALID", "A prebook is for 1 to 10 copies.")
    AUTHOR_HAS_BOOKS = (
        "AUTHOR_HAS_BOOKS",
        "The author is credited on books and cannot be deleted; change those books first.",
    )
    # Reviews
    REVIEW_NOT_FOUND = (
        "REVIEW_NOT_FOUND",
        "No such review, or not one you may change (only your own; hidden ones only yours).",
    )
    REVIEW_ALREADY_EXISTS = (
        "REVIEW_ALREADY_EXISTS",
        "You already reviewed this book (`extensions.reviewId`): change it with `updateReview`.",
    )
    REVIEW_NOT_ALLOWED = (
        "REVIEW_NOT_ALLOWED",
        "The book is not released yet (no one can have read it), or (`markReviewHelpful`) "
        "the review is your own.",
    )
    REVIEW_RATE_LIMITED = (
        "REVIEW_RATE_LIMITED",
        "Too many review changes in a short time; `extensions.retryAfter` says how many "
        "seconds to wait.",
    )


INTERNAL_MESSAGE = "Internal server error"


def http_error_body(detail: str, code: ErrorCode, field: str | None = None) -> dict[str, object]:
    """An error of a plain HTTP route (every route but `/graphql`), as clients receive it."""
    return {"detail": detail, "code": code.value, "field": field}


@dataclass(frozen=True, slots=True)
class GlobalRef:
    """A reference to an object in an error's extensions; clients receive it as the same
    global ID the API uses everywhere else."""

    type_name: str
    id: int


class AppError(Exception):
    """An expected failure that the client should see, with its code."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR
    default_message = INTERNAL_MESSAGE

    def __init__(
        self,
        message: str | None = None,
        *,
        code: ErrorCode | None = None,
        field: str | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.field = field
        self.extensions: dict[str, Any] = dict(extensions or {})
        super().__init__(self.message)

    def to_extensions(self) -> dict[str, Any]:
        """The `extensions` object of this error as the client sees it."""
        return {"code": self.code.value, "field": self.field, **self.extensions}


class NotFoundError(AppError):
    code = ErrorCode.NOT_FOUND
    default_message = "Not found"


class ValidationFailed(AppError):
    """Bad input. `errors` follows Pydantic's shape so clients parse one format."""

    code = ErrorCode.VALIDATION_ERROR
    default_message = "Invalid input"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        code: ErrorCode | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        if errors is None:
            loc = field.split(".") if field else []
            errors = [{"loc": loc, "msg": message or self.default_message, "type": "value_error"}]
        super().__init__(
            message, code=code, field=field, extensions={**(extensions or {}), "errors": errors}
        )


class ConflictError(AppError):
    """The request is well-formed but clashes with what is stored (taken, in use, ...)."""

    default_message = "Conflict"


class AuthenticationError(AppError):
    code = ErrorCode.AUTH_REQUIRED
    default_message = "Authentication required"


class PermissionDenied(AppError):
    code = ErrorCode.AUTH_FORBIDDEN
    default_message = "You are not allowed to do this"


class QueryTooComplex(AppError):
    code = ErrorCode.QUERY_TOO_COMPLEX
    default_message = "Query is too complex"


class ServiceUnavailable(AppError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    default_message = "Service temporarily unavailable, please retry"
