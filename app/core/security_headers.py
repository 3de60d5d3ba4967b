"""The security headers of every response, added in one plain-ASGI layer from lists built
once (nothing is decided per request but whether the response brings its own policy).

- `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` on everything;
- `Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY` (no
  framing, no clickjacking) unless the response sets a `Content-Security-Policy` of its
  own: a page such as GraphiQL writes the one that fits what it loads;
- `Strict-Transport-Security` when `HSTS_MAX_AGE_SECONDS` is set (deployments behind TLS).

`Cache-Control: no-store` depends on the request (credentials, token-issuing mutations)
and is decided where the request is understood (`app.graphql.http`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings

Headers = list[tuple[bytes, bytes]]
_POLICY = b"content-security-policy"


def always(settings: Settings) -> Headers:
    """The headers every response gets."""
    headers = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
    if settings.hsts_max_age_seconds:
        value = f"max-age={settings.hsts_max_age_seconds}".encode()
        headers.append((b"strict-transport-security", value))
    return headers


NO_FRAMING: Headers = [(_POLICY, b"frame-ancestors 'none'"), (b"x-frame-options", b"DENY")]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.own_policy = always(settings)
        self.default = [*self.own_policy, *NO_FRAMING]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                has_policy = any(name.lower() == _POLICY for name, _ in headers)
                headers += self.own_policy if has_policy else self.default
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
