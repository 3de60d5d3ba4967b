"""Development only: the pages email links open, standing in for the storefront's. Each
opens GraphiQL with the mutation that page would call, its token filled in, so a password
reset can be clicked through with no storefront and no mail server (the links come from
the dev mailbox: the log line of each message lists them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from app.graphql.http import GRAPHQL_PATH
from app.mail import links

router = APIRouter(include_in_schema=False)

_PAGES: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    links.VERIFY_EMAIL: (
        "mutation VerifyEmail($token: String!) {\n  verifyEmail(token: $token) { id email "
        "emailVerified }\n}\n",
        lambda token: {"token": token},
    ),
    links.RESET_PASSWORD: (
        "mutation ResetPassword($input: ResetPasswordInput!) {\n  resetPassword(input: "
        "$input)\n}\n",
        lambda token: {"input": {"token": token, "newPassword": "type a new password here"}},
    ),
    links.UNSUBSCRIBE: (
        "mutation Unsubscribe($token: String!) {\n  unsubscribe(token: $token)\n}\n",
        lambda token: {"token": token},
    ),
}


def _stand_in(path: str) -> None:
    document, variables = _PAGES[path]

    async def page(token: str = "") -> RedirectResponse:
        query = {"q": document, "variables": json.dumps(variables(token[:300]), indent=2)}
        # The token is in both URLs: stored by no browser or proxy, like a token-issuing
        # answer (Referrer-Policy: no-referrer, on every response, keeps it from leaking).
        location = f"{GRAPHQL_PATH}?{urlencode(query)}"
        return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})

    router.add_api_route(path, page, methods=["GET"])


for _path in _PAGES:
    _stand_in(_path)
