"""The README's API guide: its examples, and `poetry run example NAME`, which sends one to a
running API (`poetry run dev`) as the guide writes it.

An example is marked `<!-- example: NAME -->` and runs to the next marker or heading. Its
```graphql block is the operation (none: the operation of the example before), a ```json
block holding `data` or `errors` is the response, another ```json block the variables. In
the guide's JSON, "…" alone on a line in a list means "more items".

The guide is the `## API guide` section of README.md, or of the file named by the
environment variable README_GUIDE. The test suite replays it (tests/test_readme_examples.py).

    poetry run example --list                     # the examples, in the guide's order
    poetry run example hello                      # send one, print the response
    poetry run example add-to-cart --token T      # as a signed-in user (Authorization: Bearer T)
    poetry run example guest-add-to-cart --cart-token C   # on a guest cart (X-Cart-Token: C)
    poetry run example reset-password --email-token T     # T: the token= of the email's link
    poetry run example refresh --variables '{"refreshToken": "..."}'   # your own token
    poetry run example browse --curl              # print it as a one-line curl command
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.db.migrations import PROJECT_ROOT

ELLIPSIS = "…"
MARKER = re.compile(r"<!--\s*example:\s*([\w-]+)\s*-->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


class GuideError(ValueError):
    """The guide is missing or malformed."""


@dataclass
class Example:
    """One documented example: its operation, variables and response."""

    name: str
    query: str | None = None
    variables: Any = None
    response: Any = None


def blank_code(text: str) -> str:
    """`text` with its code blocks blanked (a `#` line inside one is no heading)."""
    return FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def guide_path() -> Path:
    override = os.environ.get("README_GUIDE")
    return Path(override) if override else PROJECT_ROOT / "README.md"


def guide_text() -> str:
    """The `## API guide` section, up to the next `## ` heading."""
    path = guide_path()
    text = path.read_text(encoding="utf-8")
    prose = blank_code(text)
    start = re.search(r"^## API guide[ \t]*$", prose, re.M)
    if start is None:
        raise GuideError(f"{path} has no '## API guide' section")
    end = re.search(r"^## ", prose[start.end() :], re.M)
    return text[start.start() : start.end() + end.start() if end else len(text)]


def _documented_json(text: str) -> Any:
    # A line holding only "…" stands for more list items: make it a string element.
    return json.loads(re.sub(r"^(\s*)…(\s*,?)\s*$", r'\1"…"\2', text, flags=re.M))


def read_guide(text: str) -> dict[str, Example]:
    """The guide's examples by name, in the guide's order."""
    prose = blank_code(text)
    markers = list(MARKER.finditer(text))
    found: dict[str, Example] = {}
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        heading = re.search(r"^#{1,6} ", prose[marker.end() : end], re.M)
        if heading:
            end = marker.end() + heading.start()
        name = marker.group(1)
        if name in found:
            raise GuideError(f"example {name!r} is marked twice")
        example = found[name] = Example(name)
        for fence in FENCE.finditer(text[marker.end() : end]):
            language, body = fence.group(1), fence.group(2)
            if language == "graphql" and example.query is None:
                example.query = body
            elif language == "json":
                try:
                    value = _documented_json(body)
                except json.JSONDecodeError as exc:
                    raise GuideError(
                        f"example {name!r}: a ```json block doesn't parse: {exc}"
                    ) from None
                is_response = isinstance(value, dict) and ("data" in value or "errors" in value)
                if is_response:
                    example.response = value
                else:
                    example.variables = value
        if example.query is None and index > 0:
            # No ```graphql block: "the same mutation" as the example before.
            example.query = found[markers[index - 1].group(1)].query
    return found


def _with(value: Any, name: str, token: str) -> Any:
    """`value` with every `name` in it (an input's field too) set to `token`."""
    if isinstance(value, dict):
        return {
            key: token if key == name else _with(item, name, token) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with(item, name, token) for item in value]
    return value


def request_body(
    example: Example,
    variables: dict[str, Any] | None = None,
    cart_token: str | None = None,
    email_token: str | None = None,
) -> dict[str, Any]:
    """The JSON body that sends `example`, its documented variables updated by `variables`,
    with `cart_token` (yours) in place of every documented `cartToken`, and `email_token`
    (the token of an email's link) in place of every documented `token`."""
    body: dict[str, Any] = {"query": " ".join((example.query or "").split())}
    sent = {**(example.variables or {}), **(variables or {})}
    if cart_token:
        sent = _with(sent, "cartToken", cart_token)
    if email_token:
        sent = _with(sent, "token", email_token)
    if sent:
        body["variables"] = sent
    return body


def request_headers(token: str | None, cart_token: str | None) -> dict[str, str]:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cart_token:
        headers["X-Cart-Token"] = cart_token
    return headers


def curl_command(url: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    words = ["curl", "-s", url, "-H", "Content-Type: application/json"]
    for name, value in headers.items():
        words += ["-H", f"{name}: {value}"]
    words += ["-d", json.dumps(body, ensure_ascii=False)]
    return " ".join(shlex.quote(word) for word in words)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="example",
        description="Send an example of the README's API guide to a running API.",
    )
    parser.add_argument("name", nargs="?", help="the example's name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the examples in order")
    parser.add_argument("--token", help="an access token: sent as Authorization: Bearer")
    parser.add_argument(
        "--cart-token",
        help="a guest cart's token (createGuestCart): sent as X-Cart-Token, and as the "
        "cartToken of the example's variables",
    )
    parser.add_argument(
        "--email-token",
        help="the token= of an email's link (the dev log line, or the .eml file in "
        ".data/mail/): sent as the example's token (verify-email, reset-password, unsubscribe)",
    )
    parser.add_argument("--variables", help="JSON object: variables to send instead")
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--curl", action="store_true", help="print a curl command, send nothing")
    args = parser.parse_args(argv)
    try:
        guide = read_guide(guide_text())
    except (OSError, GuideError) as error:
        sys.exit(f"Cannot read the guide: {error}")
    if args.list:
        print("\n".join(guide))
        return
    if args.name is None:
        parser.error("name an example (--list shows them)")
    example = guide.get(args.name)
    if example is None or example.query is None:
        parser.error(f"the guide has no example {args.name!r} (--list shows them)")
    try:
        variables = json.loads(args.variables) if args.variables else None
    except json.JSONDecodeError:
        parser.error("--variables is not valid JSON")
    if variables is not None and not isinstance(variables, dict):
        parser.error("--variables must be a JSON object")
    body = request_body(example, variables, args.cart_token, args.email_token)
    headers = request_headers(args.token, args.cart_token)
    if args.curl:
        print(curl_command(args.url, body, headers))
        return
    headers["Content-Type"] = "application/json"
    request = urllib.request.Request(  # noqa: S310  # the API's URL, http(s) by default
        args.url, json.dumps(body).encode(), headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            answer = response.read()
    except urllib.error.HTTPError as error:
        answer = error.read()
    except (urllib.error.URLError, OSError) as error:
        sys.exit(f"Cannot reach {args.url} ({error}): is `poetry run dev` running?")
    try:
        print(json.dumps(json.loads(answer), indent=2, ensure_ascii=False))
    except json.JSONDecodeError:
        print(answer.decode(errors="replace"))
