"""CORS: which browser origins may call the API, and refused preflights in the error
convention (Starlette's middleware answers them with plain text and no code)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from app.core.config import Environment, Settings
from app.core.errors import ErrorCode, http_error_body

# A frontend's development server on this machine, on any port (Vite, Next.js, ...).
LOCAL_ORIGINS = r"http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"
_FAILURES_PREFIX = "Disallowed CORS "


def cors_options(settings: Settings) -> dict[str, Any]:
    """The origins to allow: ALLOWED_ORIGINS when set; in development, local ones without it."""
    local = not settings.allowed_origins and settings.env is Environment.DEVELOPMENT
    return {
        "allow_origins": settings.allowed_origins,
        "allow_origin_regex": LOCAL_ORIGINS if local else None,
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "X-Request-ID",
            "X-Query-Cost",
            "X-Cart-Token",
        ],
        "expose_headers": ["X-Request-ID"],
        "max_age": 600,
    }


class Cors(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        body = bytes(response.body)
        if response.status_code != 400 or not body.startswith(_FAILURES_PREFIX.encode()):
            return response
        # What was refused ("origin, headers"), never the values the browser sent.
        refused = body.decode()[len(_FAILURES_PREFIX) :]
        detail = f"This cross-origin request is not allowed (refused: {refused})"
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-type", "content-length")
        }
        return Response(
            orjson.dumps(http_error_body(detail, ErrorCode.CORS_NOT_ALLOWED)),
            400,
            headers,
            media_type="application/json",
        )
