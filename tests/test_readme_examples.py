"""The README's API guide, replayed: it must tell the truth.

Every worked example of the guide (marked `<!-- example: NAME -->`) runs against the app in
process, in the order of the guide's story, with the GraphQL document written in the guide
(an example without a ```graphql block runs the operation of the example before it). Its
documented variables and response must have the shape of what was sent and received: every
documented key exists, with a value of the same kind (a global ID of the same type, a Decimal
string, a date-time, a cursor of the same ordering, the same enum value, a boolean, null,
...), and error messages read the same up to numbers and quoted titles. Values that change
from run to run (IDs, timestamps, tokens, amounts) are compared by kind only. In the guide's
JSON, "…" alone on a line in a list means "more items", and "…" in a string means
"shortened". Along the way, the claims the prose makes are checked (a retried checkout
returns the same order, the prebook queue is served in order at the guaranteed price, copies
are held for waiting prebooks, ...).

The guide is the `## API guide` section of README.md, or of the file named by the
environment variable README_GUIDE. README_TRANSCRIPT=PATH writes every example's variables
and response there (JSON), to refresh the guide's responses after a change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.books.seed import seed_catalog
from app.db.migrations import PROJECT_ROOT
from app.db.session import Database
from tests.support import (
    RESTOCK,
    GraphQL,
    add_to_cart,
    checkout,
    data,
    login,
    prebook,
    register,
)

ELLIPSIS = "…"
SECTIONS = ("Conventions", "Accounts", "Shopping", "Wishlist", "Prebooks", "Admin")

# ---------------------------------------------------------------------------------------
# Reading the guide
# ---------------------------------------------------------------------------------------

MARKER = re.compile(r"<!--\s*example:\s*([\w-]+)\s*-->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass
class Example:
    """One documented example: its operation, variables and response."""

    name: str
    query: str | None = None
    variables: Any = None
    response: Any = None


def _blank_code(text: str) -> str:
    """`text` with its code blocks blanked (a `#` line inside one is no heading)."""
    return FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def guide_path() -> Path:
    override = os.environ.get("README_GUIDE")
    return Path(override) if override else PROJECT_ROOT / "README.md"


def guide_text() -> str:
    """The `## API guide` section, up to the next `## ` heading."""
    path = guide_path()
    text = path.read_text(encoding="utf-8")
    prose = _blank_code(text)
    start = re.search(r"^## API guide[ \t]*$", prose, re.M)
    if start is None:
        pytest.fail(f"{path} has no '## API guide' section")
    end = re.search(r"^## ", prose[start.end() :], re.M)
    return text[start.start() : start.end() + end.start() if end else len(text)]


def _documented_json(text: str) -> Any:
    # A line holding only "…" stands for more list items: make it a string element.
    return json.loads(re.sub(r"^(\s*)…(\s*,?)\s*$", r'\1"…"\2', text, flags=re.M))


def read_guide(text: str) -> dict[str, Example]:
    prose = _blank_code(text)
    markers = list(MARKER.finditer(text))
    found: dict[str, Example] = {}
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        heading = re.search(r"^#{1,6} ", prose[marker.end() : end], re.M)
        if heading:
            end = marker.end() + heading.start()
        name = marker.group(1)
        assert name not in found, f"example {name!r} is marked twice"
        example = found[name] = Example(name)
        for fence in FENCE.finditer(text[marker.end() : end]):
            language, body = fence.group(1), fence.group(2)
            if language == "graphql" and example.query is None:
                example.query = body
            elif language == "json":
                try:
                    value = _documented_json(body)
                except json.JSONDecodeError as exc:
                    pytest.fail(f"example {name!r}: a ```json block doesn't parse: {exc}")
                is_response = isinstance(value, dict) and ("data" in value or "errors" in value)
                if is_response:
                    example.response = value
                else:
                    example.variables = value
        if example.query is None and index > 0:
            # No ```graphql block: "the same mutation" as the example before.
            example.query = found[markers[index - 1].group(1)].query
    return found


# ---------------------------------------------------------------------------------------
# Comparing documented values with live ones
# ---------------------------------------------------------------------------------------

DECIMAL = re.compile(r"^-?\d+\.\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ENUM = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
COMPARED_TEXTS = ("message", "msg")  # keys whose text must match (numbers aside)


def global_id_type(value: str) -> str | None:
    """ "Book" for a global ID of a Book ("Qm9vazox" is base64 "Book:1"), else None."""
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value):
        return None
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    match = re.fullmatch(r"([A-Z][A-Za-z]+):(\d+)", decoded)
    return match.group(1) if match else None


def cursor_ordering(value: str) -> str | None:
    """ "PRICE:ASC" for a cursor of that ordering (base64url JSON [ordering, keys])."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value) or len(value) < 12:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (ValueError, binascii.Error):
        return None
    if isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[0], str):
        return decoded[0]
    return None


def kind(value: str) -> tuple[str, str | None]:
    if ELLIPSIS in value:
        return ("shortened", None)
    if DECIMAL.match(value):
        return ("decimal", None)
    if DATETIME.match(value):
        return ("datetime", None)
    if DATE.match(value):
        return ("date", None)
    if (type_name := global_id_type(value)) is not None:
        return ("global id", type_name)
    if (ordering := cursor_ordering(value)) is not None:
        return ("cursor", ordering)
    if ENUM.match(value) and len(value) > 1:
        return ("enum", value)
    return ("text", None)


def _text_form(text: str) -> str:
    """A message up to the numbers and quoted titles in it."""
    return re.sub(r"\d+", "N", re.sub(r"“[^”]*”", "“T”", text))


def same_shape(documented: Any, live: Any, path: str = "$") -> list[str]:
    """Where `live` differs from what the guide documents (empty when it matches)."""
    shown = json.dumps(live, ensure_ascii=False)[:100]
    if isinstance(documented, dict):
        if not isinstance(live, dict):
            return [f"{path}: documented an object, got {shown}"]
        problems = []
        for key, value in documented.items():
            if key not in live:
                problems.append(f"{path}.{key}: documented but absent")
            else:
                problems += same_shape(value, live[key], f"{path}.{key}")
        return problems
    if isinstance(documented, list):
        if not isinstance(live, list):
            return [f"{path}: documented a list, got {shown}"]
        more = bool(documented) and documented[-1] == ELLIPSIS
        items = documented[:-1] if more else documented
        if len(live) < len(items) or (not more and len(live) != len(items)):
            return [f"{path}: documented {len(items)}{'+' if more else ''} items, got {shown}"]
        problems = []
        for index, item in enumerate(items):
            problems += same_shape(item, live[index], f"{path}[{index}]")
        return problems
    if documented is None:
        return [] if live is None else [f"{path}: documented null, got {shown}"]
    if isinstance(documented, bool):
        return [] if live is documented else [f"{path}: documented {documented}, got {shown}"]
    if isinstance(documented, int):
        ok = isinstance(live, int) and not isinstance(live, bool)
        return [] if ok else [f"{path}: documented an integer, got {shown}"]
    if isinstance(documented, float):
        ok = isinstance(live, (int, float)) and not isinstance(live, bool)
        return [] if ok else [f"{path}: documented a number, got {shown}"]
    if not isinstance(documented, str):
        return [f"{path}: cannot compare {documented!r}"]
    if not isinstance(live, str):
        return [f"{path}: documented a string, got {shown}"]
    if path.rsplit(".", 1)[-1] in COMPARED_TEXTS and ELLIPSIS not in documented:
        if _text_form(documented) != _text_form(live):
            return [f"{path}: documented {documented!r}, got {live!r}"]
        return []
    want = kind(documented)
    if want[0] in ("shortened", "text"):
        return []
    got = kind(live)
    if want != got:
        described = [" ".join(part for part in k if part) for k in (want, got)]
        return [
            f"{path}: documented {documented!r} ({described[0]}), got {live!r} ({described[1]})"
        ]
    return []


# ---------------------------------------------------------------------------------------
# Replaying
# ---------------------------------------------------------------------------------------


@dataclass
class Run:
    variables: dict[str, Any]
    response: dict[str, Any]


def code_of(result: dict[str, Any]) -> str | None:
    errors = result.get("errors") or []
    return str(errors[0]["extensions"]["code"]) if errors else None


def first_error(result: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = result["errors"][0]
    return found


@dataclass
class Story:
    """Runs the guide's examples and checks the claims its prose makes."""

    gql: GraphQL
    guide: dict[str, Example]
    runs: dict[str, Run] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def document(self, name: str) -> str:
        example = self.guide.get(name)
        assert example is not None, f"the guide has no example {name!r}"
        assert example.query is not None, f"example {name!r} has no ```graphql block"
        return example.query

    async def example(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        """Run example `name` with the guide's document; `error`: the code it answers."""
        assert name not in self.runs, f"example {name!r} run twice"
        result = await self.gql(self.document(name), variables, token=token, headers=headers)
        self.runs[name] = Run(variables or {}, result)
        if error is None:
            assert "errors" not in result, f"{name}: unexpected errors {result['errors']}"
        else:
            assert code_of(result) == error, f"{name}: expected {error}, got {result}"
        return result

    async def again(
        self, name: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The operation of example `name` once more (not recorded)."""
        return await self.gql(self.document(name), variables, token=token)

    def claim(self, condition: bool, message: str) -> None:
        if not condition:
            self.failures.append(f"claim failed: {message}")

    def compare(self) -> list[str]:
        problems = list(self.failures)
        for name, documented in self.guide.items():
            run = self.runs.get(name)
            if run is None:
                problems.append(f"{name}: documented in the guide, but this test doesn't run it")
                continue
            found = [
                f"variables {p}" for p in same_shape(documented.variables or {}, run.variables)
            ]
            if documented.response is None:
                found.append("no documented response")
            else:
                found += same_shape(documented.response, run.response)
            problems += [f"{name}: {problem}" for problem in found]
        return problems


# Operations the story needs besides the guide's own.
STOCK = "query($id: ID!) { book(id: $id) { stockQuantity pendingPrebookQuantity availability } }"
ME = "{ me { id email } }"
CART = "{ cart { id items { id quantity unitPrice book { id } } warnings { code bookId } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
REFRESH = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) }"
LOGOUT_ALL = "mutation { logoutAll }"
UPDATE_BOOK = (
    "mutation($id: ID!, $input: UpdateBookInput!) { updateBook(id: $id, input: $input) { id } }"
)
ARCHIVE = "mutation($id: ID!) { archiveBook(id: $id) { id isArchived } }"
BOOK = "query($id: ID!) { book(id: $id) { id title isArchived } }"
CANCEL_ORDER = "mutation($id: ID!) { cancelOrder(id: $id) { id status cancelledAt } }"
ORDER = "query($id: ID!) { order(id: $id) { id status } }"
ORDER_USER = "query($id: ID!) { order(id: $id) { id status user { id } } }"
UPDATE_CART_ITEM = """mutation($id: ID!, $q: Int!) {
  updateCartItem(bookId: $id, quantity: $q) { totalQuantity warnings { code } } }"""
REMOVE_FROM_CART = "mutation($id: ID!) { removeFromCart(bookId: $id) { id } }"
REMOVE_FROM_WISHLIST = "mutation($id: ID!) { removeFromWishlist(bookId: $id) }"
CREATE_GENRE = "mutation($input: CreateGenreInput!) { createGenre(input: $input) { id } }"
CREATE_BOOK = "mutation($input: CreateBookInput!) { createBook(input: $input) { id availability } }"
SEARCH = """query($search: String!) { books(first: 20, filter: {search: $search}) {
  totalCount edges { node { id title description availability } } } }"""
CHANGE_PASSWORD = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) }"
SERVED = """{ myPrebooks(first: 10, status: FULFILLED) {
  edges { node { id status queuePosition order { id status items { unitPrice } } } } } }"""
PREBOOK_STATUS = "query($id: ID!) { node(id: $id) { ... on Prebook { status queuePosition } } }"

ADA_PASSWORD = "correct horse battery staple"
ADA_NEW_PASSWORD = "a longer passphrase of mine"
BEA_PASSWORD = "another good passphrase"
ADA_ADDRESS = {
    "fullName": "Ada Reader",
    "line1": "Kastanienallee 12",
    "city": "Berlin",
    "postalCode": "10435",
    "country": "DE",
}
BEA_ADDRESS = {
    "fullName": "Bea Booker",
    "line1": "12 Harbour Road",
    "city": "Cork",
    "postalCode": "T12 X2YZ",
    "country": "IE",
}


def decimal(value: str) -> Decimal:
    assert DECIMAL.match(value), f"not a Decimal string: {value!r}"
    return Decimal(value)


def isbn13(number: int) -> str:
    digits = f"9798{number:08d}"
    check = (10 - sum((1, 3)[i % 2] * int(c) for i, c in enumerate(digits)) % 10) % 10
    return digits + str(check)


@dataclass
class Cast:
    """Who acts in the story, and what they made."""

    admin: str
    ada: str = ""
    ada_id: str = ""
    ada_email: str = ""
    bea: str = ""
    refs: dict[str, Any] = field(default_factory=dict)


async def stock_of(story: Story, cast: Cast, book_id: str) -> dict[str, Any]:
    book: dict[str, Any] = data(await story.gql(STOCK, {"id": book_id}, token=cast.admin))["book"]
    return book


async def conventions(story: Story, http: httpx.AsyncClient) -> None:
    hello = await story.example("hello", headers={"X-Query-Cost": "1"})
    cost = hello.get("extensions", {}).get("cost", {})
    story.claim(
        isinstance(cost.get("requested"), int) and cost.get("limit") == 10000,
        "X-Query-Cost: 1 reports extensions.cost (limit 10000)",
    )
    await check_http(story, http)
    costly = await story.example("too-costly", error="QUERY_TOO_COMPLEX")
    extensions = first_error(costly)["extensions"]
    story.claim(
        costly["data"] is None
        and "path" not in first_error(costly)
        and extensions["cost"] > extensions["limit"],
        "an operation over the cost limit doesn't run, and says its cost and the limit",
    )
    six = "mutation { " + " ".join(f"m{i}: logoutAll" for i in range(6)) + " }"
    story.claim(code_of(await story.gql(six)) == "QUERY_TOO_COMPLEX", "at most 5 mutations")
    two_logins = """mutation {
      a: login(input: {email: "a@example.com", password: "one guess"}) { accessToken }
      b: login(input: {email: "a@example.com", password: "two guesses"}) { accessToken }
    }"""
    story.claim(
        code_of(await story.gql(two_logins)) == "QUERY_TOO_COMPLEX", "login once per request"
    )
    anonymous = await story.example("auth-required", error="AUTH_REQUIRED")
    story.claim(anonymous["data"] is None, "cart is non-null: the error nulls the whole data")
    too_many = await story.gql("{ books(first: 101) { edges { cursor } } }")
    story.claim(
        code_of(too_many) == "VALIDATION_ERROR"
        and first_error(too_many)["extensions"]["field"] == "first",
        "pages hold at most 100 items",
    )
    both = await story.gql("{ books(first: 2, last: 2) { edges { cursor } } }")
    story.claim(code_of(both) == "VALIDATION_ERROR", "first and last can't be combined")


async def check_http(story: Story, http: httpx.AsyncClient) -> None:
    """The HTTP rules of the Conventions section."""
    hello = {"query": story.document("hello")}

    def refused(response: httpx.Response, status: int, code: str) -> bool:
        try:
            body = response.json()
        except ValueError:
            return False
        return (
            response.status_code == status
            and "data" not in body
            and body["errors"][0]["extensions"]["code"] == code
        )

    wrong_type = await http.post(
        "/graphql", content=json.dumps(hello), headers={"Content-Type": "text/plain"}
    )
    story.claim(refused(wrong_type, 415, "UNSUPPORTED_MEDIA_TYPE"), "POST needs JSON: 415")
    batch = await http.post("/graphql", json=[hello, hello])
    story.claim(refused(batch, 400, "BAD_REQUEST"), "no batching: 400")
    big = await http.post("/graphql", json={**hello, "variables": {"x": "y" * 100_001}})
    story.claim(refused(big, 413, "REQUEST_TOO_LARGE"), "bodies over 100 kB: 413")
    get = await http.get("/graphql", params=hello)
    story.claim(
        get.status_code == 200 and bool(get.json()["data"]["apiInfo"]["version"]),
        "queries over GET",
    )
    mutation = await http.get("/graphql", params={"query": LOGOUT_ALL})
    story.claim(refused(mutation, 405, "METHOD_NOT_ALLOWED"), "no mutations over GET: 405")
    spec = {"Accept": "application/graphql-response+json"}
    broken = await http.post("/graphql", json={"query": "{ apiInfo {"}, headers=spec)
    story.claim(
        refused(broken, 400, "GRAPHQL_PARSE_FAILED")
        and broken.headers["content-type"].startswith("application/graphql-response+json"),
        "application/graphql-response+json: a request that can't run is a 400 without data",
    )
    fine = await http.post("/graphql", json=hello, headers=spec)
    story.claim(
        fine.status_code == 200
        and fine.headers["content-type"].startswith("application/graphql-response+json"),
        "application/graphql-response+json is answered in kind",
    )
    legacy = await http.post("/graphql", json={"query": "{ apiInfo {"})
    story.claim(
        legacy.status_code == 200
        and legacy.headers["content-type"].startswith("application/json")
        and legacy.json()["data"] is None,
        "application/json: the same request is a 200 with data: null",
    )
    query = "# the README's persisted query\n{ genres { slug } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    first = await http.post("/graphql", json=persisted)
    taught = await http.post("/graphql", json={"query": query, **persisted})
    then = await http.post("/graphql", json=persisted)
    if first.json().get("data") is None:  # a hash this app instance hasn't seen yet
        story.claim(
            first.status_code == 200
            and first.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND",
            "persisted queries: an unknown hash is PERSISTED_QUERY_NOT_FOUND",
        )
    story.claim(
        taught.json().get("data") is not None and then.json().get("data") == taught.json()["data"],
        "persisted queries: sent once with the query, then the hash alone is enough",
    )


async def accounts(story: Story, cast: Cast) -> None:
    gql = story.gql
    bad = await story.example(
        "register-invalid",
        {"input": {"email": "ada@", "password": "short", "fullName": "Ada Reader"}},
        error="VALIDATION_ERROR",
    )
    extensions = first_error(bad)["extensions"]
    story.claim(
        extensions["field"] == "input.email"
        and [e["loc"] for e in extensions["errors"]] == [["input", "email"], ["input", "password"]],
        "VALIDATION_ERROR names the first field and lists every problem",
    )
    story.claim(bad["data"] is None, "register is non-null: the error nulls the whole data")

    registered = (
        await story.example(
            "register",
            {
                "input": {
                    "email": "Ada@Example.com",
                    "password": ADA_PASSWORD,
                    "fullName": "Ada Reader",
                }
            },
        )
    )["data"]["register"]
    cast.ada_email, cast.ada_id = registered["user"]["email"], registered["user"]["id"]
    story.claim(cast.ada_email == "ada@example.com", "emails are stored lower-cased")
    story.claim(
        registered["tokenType"] == "Bearer"
        and registered["user"]["role"] == "CUSTOMER"
        and registered["expiresIn"] == 900,
        "register signs a CUSTOMER in, with a 15-minute access token",
    )
    again = await gql(
        story.document("register"),
        {"input": {"email": "ADA@example.com", "password": ADA_PASSWORD, "fullName": "Ada"}},
    )
    story.claim(code_of(again) == "USER_EMAIL_TAKEN", "emails compare case-insensitively")

    signed_in = (
        await story.example("login", {"input": {"email": cast.ada_email, "password": ADA_PASSWORD}})
    )["data"]["login"]
    me = data(await gql(ME, token=signed_in["accessToken"]))["me"]
    story.claim(me["id"] == cast.ada_id, "me is the signed-in user")

    # Refresh, then reuse the old refresh token: the session ends, access tokens included.
    old_refresh = signed_in["refreshToken"]
    rotated = (await story.example("refresh", {"refreshToken": old_refresh}))["data"][
        "refreshToken"
    ]
    story.claim(rotated["refreshToken"] != old_refresh, "each refresh returns a new refresh token")
    story.claim(
        "errors" not in await gql(ME, token=rotated["accessToken"]), "the new access token works"
    )
    reuse = await story.again("refresh", {"refreshToken": old_refresh})
    story.claim(
        code_of(reuse) == "AUTH_INVALID_TOKEN"
        and first_error(reuse)["extensions"]["field"] == "refreshToken",
        "a refresh token used before is refused",
    )
    story.claim(
        code_of(await gql(REFRESH, {"t": rotated["refreshToken"]})) == "AUTH_INVALID_TOKEN",
        "reusing a refresh token ends the session: its newest refresh token is refused too",
    )
    story.claim(
        code_of(await gql(ME, token=rotated["accessToken"])) == "AUTH_INVALID_TOKEN"
        and code_of(await gql(ME, token=signed_in["accessToken"])) == "AUTH_INVALID_TOKEN",
        "... and so are the access tokens of that session, at once",
    )

    # logout: the session's access token stops working at once.
    session = data(await login(gql, cast.ada_email, ADA_PASSWORD))["login"]
    out = data(await gql(LOGOUT, {"t": session["refreshToken"]}))
    story.claim(out["logout"] is True, "logout answers true")
    story.claim(
        data(await gql(LOGOUT, {"t": session["refreshToken"]}))["logout"] is False,
        "logout of an ended session answers false",
    )
    ended = await story.example(
        "session-ended", token=session["accessToken"], error="AUTH_INVALID_TOKEN"
    )
    story.claim(ended["data"] is None, "an ended session's access token is refused")

    # logoutAll: every session, on every device.
    here = data(await login(gql, cast.ada_email, ADA_PASSWORD))["login"]
    there = data(await login(gql, cast.ada_email, ADA_PASSWORD))["login"]
    story.claim(
        data(await gql(LOGOUT_ALL, token=here["accessToken"]))["logoutAll"] is True,
        "logoutAll answers true",
    )
    story.claim(
        [code_of(await gql(ME, token=tokens["accessToken"])) for tokens in (here, there)]
        == ["AUTH_INVALID_TOKEN"] * 2
        and code_of(await gql(REFRESH, {"t": there["refreshToken"]})) == "AUTH_INVALID_TOKEN",
        "logoutAll ends every session, access tokens included",
    )

    # Profile and password, from one session while another device is signed in.
    current = data(await login(gql, cast.ada_email, ADA_PASSWORD))["login"]
    other = data(await login(gql, cast.ada_email, ADA_PASSWORD))["login"]
    renamed = (
        await story.example(
            "update-me", {"input": {"fullName": "Ada R. Reader"}}, token=current["accessToken"]
        )
    )["data"]["updateMe"]
    story.claim(
        renamed["fullName"] == "Ada R. Reader" and renamed["email"] == cast.ada_email,
        "updateMe changes only the fields sent",
    )
    no_password = await gql(
        story.document("update-me"),
        {"input": {"email": "ada.reader@example.com"}},
        token=current["accessToken"],
    )
    story.claim(
        code_of(no_password) == "AUTH_INVALID_CREDENTIALS"
        and first_error(no_password)["extensions"]["field"] == "input.currentPassword",
        "changing the email needs the current password",
    )
    changed = await story.example(
        "change-password",
        {"input": {"currentPassword": ADA_PASSWORD, "newPassword": ADA_NEW_PASSWORD}},
        token=current["accessToken"],
    )
    story.claim(changed["data"]["changePassword"] is True, "changePassword answers true")
    story.claim(
        code_of(await gql(REFRESH, {"t": other["refreshToken"]})) == "AUTH_INVALID_TOKEN"
        and code_of(await gql(ME, token=other["accessToken"])) == "AUTH_INVALID_TOKEN",
        "changePassword signs the other sessions out, access tokens included",
    )
    story.claim(
        "errors" not in await gql(ME, token=current["accessToken"]),
        "the session changePassword was called from goes on",
    )
    kept = await gql(REFRESH, {"t": current["refreshToken"]})
    story.claim("errors" not in kept, "... and can still refresh")
    fresh = await login(gql, cast.ada_email, ADA_NEW_PASSWORD)
    story.claim("errors" not in fresh, "the new password works")
    cast.ada = data(fresh)["login"]["accessToken"]
    cast.bea = (await register(gql, "bea@example.com", BEA_PASSWORD, "Bea Booker"))["accessToken"]


async def shopping(story: Story, cast: Cast) -> None:
    gql, ada, bea = story.gql, cast.ada, cast.bea
    fantasy = data(await gql('{ genre(slug: "fantasy") { id name } }'))["genre"]
    browse = {
        "filter": {"genreIds": [fantasy["id"]], "inStock": True, "maxPrice": "20.00"},
        "orderBy": {"field": "PRICE", "direction": "ASC"},
    }
    page = (await story.example("browse", browse))["data"]["books"]
    prices = [decimal(edge["node"]["price"]) for edge in page["edges"]]
    story.claim(
        len(prices) == 3 and page["pageInfo"]["hasNextPage"] is True,
        "the first page has 3 books, and more to come",
    )
    story.claim(
        prices == sorted(prices) and all(price <= 20 for price in prices),
        "cheapest first, at most 20.00",
    )
    story.claim(
        all(edge["node"]["availability"] in ("IN_STOCK", "LOW_STOCK") for edge in page["edges"]),
        "inStock: true keeps IN_STOCK and LOW_STOCK",
    )
    story.claim(
        page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"],
        "endCursor is the last edge's cursor",
    )
    following = data(
        await story.again("browse", {**browse, "after": page["pageInfo"]["endCursor"]})
    )["books"]
    seen = {edge["node"]["id"] for edge in page["edges"]}
    story.claim(
        following["pageInfo"]["hasPreviousPage"] is True
        and bool(following["edges"])
        and decimal(following["edges"][0]["node"]["price"]) >= prices[-1]
        and not seen & {edge["node"]["id"] for edge in following["edges"]}
        and following["totalCount"] == page["totalCount"],
        "`after: endCursor` continues the list; totalCount counts all of it",
    )
    other_order = await story.again(
        "browse",
        {
            **browse,
            "orderBy": {"field": "TITLE", "direction": "ASC"},
            "after": page["pageInfo"]["endCursor"],
        },
    )
    story.claim(
        code_of(other_order) == "VALIDATION_ERROR", "a cursor used with another orderBy is refused"
    )

    search = (await story.example("search", {"filter": {"search": "kyoto library"}}))["data"][
        "books"
    ]
    top = search["edges"][0]["node"]
    story.claim(
        "kyoto" in top["title"].lower() and "library" in top["title"].lower(),
        "the best match comes first",
    )
    book_id = top["id"]
    cast.refs["kyoto"] = book_id
    phrase = data(await gql(SEARCH, {"search": '"library in kyoto"'}))["books"]
    story.claim(
        bool(phrase["edges"])
        and all(
            "library in kyoto" in f"{e['node']['title']} {e['node']['description']}".lower()
            for e in phrase["edges"]
        ),
        "quoted phrases match as phrases",
    )
    story.claim(
        data(await gql(SEARCH, {"search": "kyoto -kyoto"}))["books"]["totalCount"] == 0,
        "an excluded word stays excluded when nothing else matches (no typo fallback)",
    )

    detail = await story.example("book", {"id": book_id}, token=ada, error="AUTH_FORBIDDEN")
    shown = detail["data"]["book"]
    story.claim(
        shown is not None
        and shown["id"] == book_id
        and shown["stockQuantity"] is None
        and shown["inWishlist"] is False
        and first_error(detail)["path"] == ["book", "stockQuantity"],
        "stockQuantity answers AUTH_FORBIDDEN to customers; the rest of the book is there",
    )
    anonymous = await gql(
        "query($id: ID!) { book(id: $id) { title stockQuantity pendingPrebookQuantity inWishlist } }",
        {"id": book_id},
    )
    story.claim(
        sorted(e["extensions"]["code"] for e in anonymous.get("errors", []))
        == ["AUTH_REQUIRED", "AUTH_REQUIRED"]
        and anonymous["data"]["book"]["title"] == top["title"]
        and anonymous["data"]["book"]["inWishlist"] is None,
        "admin-only fields answer AUTH_REQUIRED anonymously; inWishlist is null",
    )

    author_id = data(
        await gql("query($id: ID!) { book(id: $id) { authors { id } } }", {"id": book_id})
    )["book"]["authors"][0]["id"]
    unknown = base64.b64encode(b"Book:999999").decode()
    nodes = (
        await story.example(
            "nodes",
            {"id": book_id, "ids": [search["edges"][1]["node"]["id"], author_id, unknown]},
        )
    )["data"]
    story.claim(
        nodes["node"]["id"] == book_id
        and [n and n["__typename"] for n in nodes["nodes"]] == ["Book", "Author", None],
        "node fetches by global ID; nodes keeps the order, null for unknown IDs",
    )
    wrong_type = await gql(story.document("book"), {"id": author_id}, token=ada)
    story.claim(code_of(wrong_type) == "VALIDATION_ERROR", "an Author ID where a Book ID goes")

    stock = (await stock_of(story, cast, book_id))["stockQuantity"]
    assert stock >= 2, f"the story needs 2+ copies of {top['title']}, there are {stock}"
    added = (await story.example("add-to-cart", {"bookId": book_id, "quantity": 2}, token=ada))[
        "data"
    ]["addToCart"]
    line = added["items"][0]
    story.claim(
        added["totalQuantity"] == 2
        and decimal(line["lineTotal"]) == 2 * decimal(line["unitPrice"])
        and added["warnings"] == [],
        "addToCart answers the whole cart",
    )
    await node_claims(story, cast, added["id"])

    # Meanwhile Bea buys all copies but one.
    await add_to_cart(gql, bea, book_id, stock - 1)
    bea_order = data(await checkout(gql, bea, address=BEA_ADDRESS))["checkout"]
    cast.refs["bea_order"], cast.refs["kyoto_stock"] = bea_order["id"], stock

    cart = (await story.example("cart-warning", token=ada))["data"]["cart"]
    story.claim(
        [(w["code"], w["bookId"], w["availableQuantity"]) for w in cart["warnings"]]
        == [("CART_OUT_OF_STOCK", book_id, 1)],
        "the cart warns that only 1 copy is left",
    )
    key = f"order-{uuid.uuid4()}"
    order_input = {"input": {"idempotencyKey": key, "shippingAddress": ADA_ADDRESS}}
    short = await story.example(
        "checkout-out-of-stock", order_input, token=ada, error="CART_OUT_OF_STOCK"
    )
    story.claim(
        first_error(short)["extensions"]["lines"]
        == [{"bookId": book_id, "requested": 2, "available": 1}],
        "checkout refuses, saying what is short, by global ID",
    )
    fixed = data(await gql(UPDATE_CART_ITEM, {"id": book_id, "q": 1}, token=ada))
    story.claim(
        fixed["updateCartItem"]["totalQuantity"] == 1 and fixed["updateCartItem"]["warnings"] == [],
        "updateCartItem: the warning is gone",
    )

    order = (await story.example("checkout", order_input, token=ada))["data"]["checkout"]
    story.claim(
        order["status"] == "PENDING"
        and order["total"] == order["subtotal"] == line["unitPrice"]
        and order["currency"] == "EUR",
        "checkout creates a PENDING order at the current price, total = subtotal, in EUR",
    )
    story.claim((await stock_of(story, cast, book_id))["stockQuantity"] == 0, "stock taken")
    story.claim(data(await gql(CART, token=ada))["cart"]["items"] == [], "the cart is emptied")
    retry = (await story.example("checkout-retry", order_input, token=ada))["data"]["checkout"]
    story.claim(retry["id"] == order["id"], "a retry with the same key returns the same order")
    story.claim(
        (await stock_of(story, cast, book_id))["stockQuantity"] == 0, "a retry buys nothing"
    )
    elsewhere = {
        "input": {"idempotencyKey": key, "shippingAddress": {**ADA_ADDRESS, "city": "Potsdam"}}
    }
    story.claim(
        code_of(await story.again("checkout-retry", elsewhere, token=ada))
        == "IDEMPOTENCY_KEY_REUSED",
        "the same key with another address is IDEMPOTENCY_KEY_REUSED",
    )
    story.claim(
        code_of(
            await story.again(
                "checkout-retry",
                {"input": {**order_input["input"], "idempotencyKey": f"order-{uuid.uuid4()}"}},
                token=ada,
            )
        )
        == "CART_EMPTY",
        "checking out an empty cart is CART_EMPTY",
    )

    mine = (await story.example("my-orders", token=ada))["data"]["myOrders"]
    story.claim(
        [edge["node"]["id"] for edge in mine["edges"]] == [order["id"]] and mine["totalCount"] == 1,
        "myOrders lists the order",
    )
    story.claim(
        code_of(await gql(ORDER, {"id": order["id"]}, token=bea)) == "ORDER_NOT_FOUND",
        "another customer's order is ORDER_NOT_FOUND",
    )
    as_customer = await gql(ORDER_USER, {"id": order["id"]}, token=ada)
    story.claim(
        code_of(as_customer) == "AUTH_FORBIDDEN"
        and first_error(as_customer)["path"] == ["order", "user"]
        and as_customer["data"]["order"] == {"id": order["id"], "status": "PENDING", "user": None},
        "Order.user answers AUTH_FORBIDDEN to customers, the order intact",
    )
    cancelled = (await story.example("cancel-order", {"id": order["id"]}, token=ada))["data"][
        "cancelOrder"
    ]
    story.claim(
        cancelled["status"] == "CANCELLED" and bool(cancelled["cancelledAt"]), "order cancelled"
    )
    story.claim(
        (await stock_of(story, cast, book_id))["stockQuantity"] == 1, "its copy is back in stock"
    )
    twice = data(await gql(CANCEL_ORDER, {"id": order["id"]}, token=ada))["cancelOrder"]
    story.claim(twice["cancelledAt"] == cancelled["cancelledAt"], "cancelling twice: no change")


async def node_claims(story: Story, cast: Cast, cart_id: str) -> None:
    """Carts and cart lines are nodes, for their owner only."""
    gql = story.gql
    item_id = data(await gql(CART, token=cast.ada))["cart"]["items"][0]["id"]
    for node_id, type_name in ((cart_id, "Cart"), (item_id, "CartItem")):
        own = data(await gql(NODE, {"id": node_id}, token=cast.ada))["node"]
        story.claim(own == {"__typename": type_name, "id": node_id}, f"node({type_name}) works")
        story.claim(
            data(await gql(NODE, {"id": node_id}, token=cast.bea))["node"] is None
            and data(await gql(NODE, {"id": node_id}))["node"] is None,
            f"someone else's {type_name} resolves to null",
        )


async def wishlist(story: Story, cast: Cast) -> None:
    gql, ada = story.gql, cast.ada
    results = data(await gql(SEARCH, {"search": "kyoto library"}))["books"]["edges"]
    others = [edge["node"] for edge in results if edge["node"]["id"] != cast.refs["kyoto"]]
    buyable = next(b for b in others if b["availability"] in ("IN_STOCK", "LOW_STOCK"))
    sold_out = next(b for b in others if b["availability"] == "OUT_OF_STOCK")
    cast.refs.update(buyable=buyable["id"], sold_out=sold_out["id"])
    saved = (await story.example("add-to-wishlist", {"bookId": sold_out["id"]}, token=ada))["data"][
        "addToWishlist"
    ]
    story.claim(saved["book"]["inWishlist"] is True, "the saved book says inWishlist: true")
    await gql(story.document("add-to-wishlist"), {"bookId": buyable["id"]}, token=ada)
    twice = await gql(story.document("add-to-wishlist"), {"bookId": sold_out["id"]}, token=ada)
    story.claim(
        data(twice)["addToWishlist"]["id"] == saved["id"], "adding twice returns the same item"
    )
    listed = (await story.example("wishlist", token=ada))["data"]["wishlist"]
    story.claim(
        [edge["node"]["book"]["id"] for edge in listed["edges"]] == [buyable["id"], sold_out["id"]],
        "the wishlist lists newest first",
    )
    refused = await story.again("move-to-cart", {"bookId": sold_out["id"]}, token=ada)
    story.claim(code_of(refused) == "CART_OUT_OF_STOCK", "a sold-out book can't move to the cart")
    moved = (await story.example("move-to-cart", {"bookId": buyable["id"]}, token=ada))["data"][
        "moveWishlistItemToCart"
    ]
    story.claim(
        [(i["book"]["id"], i["book"]["inWishlist"]) for i in moved["items"]]
        == [(buyable["id"], False)],
        "the moved book is in the cart and out of the wishlist",
    )
    left = data(await story.again("wishlist", token=ada))["wishlist"]
    story.claim(
        [edge["node"]["book"]["id"] for edge in left["edges"]] == [sold_out["id"]],
        "a book the cart refused stays in the wishlist",
    )
    story.claim(
        code_of(await gql(REMOVE_FROM_WISHLIST, {"id": buyable["id"]}, token=ada))
        == "WISHLIST_ITEM_NOT_FOUND",
        "removing a book that isn't there is WISHLIST_ITEM_NOT_FOUND",
    )
    await gql(REMOVE_FROM_CART, {"id": buyable["id"]}, token=ada)


async def admin_catalog(story: Story, cast: Cast) -> None:
    """The admin examples the prebook story needs (the guide shows them under Admin)."""
    gql, admin = story.gql, cast.admin
    created = (
        await story.example(
            "create-author-genre",
            {
                "author": {"name": "Maren Holt", "bio": "Writes about the sea."},
                "genre": {"name": "Nautical Fiction", "description": "Ships, sailors and the sea."},
            },
            token=admin,
        )
    )["data"]
    author, genre = created["createAuthor"], created["createGenre"]
    story.claim(genre["slug"] == "nautical-fiction", "the slug is derived from the name")
    taken = await gql(
        CREATE_GENRE, {"input": {"name": "Nautical Fiction", "slug": "sea-stories"}}, token=admin
    )
    story.claim(
        code_of(taken) == "GENRE_NAME_TAKEN"
        and first_error(taken)["extensions"]["field"] == "input.name",
        "a taken genre name is GENRE_NAME_TAKEN on input.name",
    )
    harbour_input = {
        "title": "The Harbour Keeper",
        "isbn13": "978-0-306-40615-7",
        "price": "18.00",
        "releaseDate": "2025-09-18",
        "authorIds": [author["id"]],
        "genreIds": [genre["id"]],
        "stockQuantity": 0,
        "publisher": "Tidewater Press",
    }
    harbour = (await story.example("create-book", {"input": harbour_input}, token=admin))["data"][
        "createBook"
    ]
    story.claim(harbour["isbn13"] == "9780306406157", "the ISBN is stored as 13 digits")
    story.claim(
        harbour["availability"] == "OUT_OF_STOCK" and harbour["pendingPrebookQuantity"] == 0,
        "released without stock: OUT_OF_STOCK",
    )
    story.claim(
        code_of(
            await gql(
                CREATE_BOOK, {"input": {**harbour_input, "isbn13": "0306406152"}}, token=admin
            )
        )
        == "BOOK_ISBN_TAKEN",
        "an ISBN-10 of a book already there is BOOK_ISBN_TAKEN",
    )
    tide = data(
        await gql(
            CREATE_BOOK,
            {
                "input": {
                    "title": "The Tide Tables",
                    "isbn13": isbn13(1),
                    "price": "24.00",
                    "releaseDate": (date.today() + timedelta(days=90)).isoformat(),
                    "authorIds": [author["id"]],
                }
            },
            token=admin,
        )
    )["createBook"]
    story.claim(tide["availability"] == "PREORDER", "a future release date makes a PREORDER")
    cast.refs.update(author=author["id"], harbour=harbour["id"], tide=tide["id"])


async def prebooks(story: Story, cast: Cast) -> None:
    gql, ada, bea, admin = story.gql, cast.ada, cast.bea, cast.admin
    harbour, tide = cast.refs["harbour"], cast.refs["tide"]

    def wanted(book_id: str, quantity: int = 1) -> dict[str, Any]:
        return {"input": {"bookId": book_id, "quantity": quantity, "shippingAddress": ADA_ADDRESS}}

    await story.example(
        "prebook-not-allowed", wanted(cast.refs["buyable"]), token=ada, error="PREBOOK_NOT_ALLOWED"
    )
    bea_first = data(await prebook(gql, bea, harbour, 3, city="Cork"))["prebook"]
    queued = (await story.example("prebook", wanted(harbour), token=ada))["data"]["prebook"]
    story.claim(bea_first["queuePosition"] == 1, "Bea, who came first, is first")
    story.claim(
        (queued["status"], queued["queuePosition"], queued["priceAtPrebook"])
        == ("PENDING", 2, "18.00"),
        "Ada is second in the queue, at 18.00",
    )
    exists = await story.example(
        "prebook-exists", wanted(harbour, 2), token=ada, error="PREBOOK_ALREADY_EXISTS"
    )
    story.claim(
        first_error(exists)["extensions"]["prebookId"] == queued["id"],
        "PREBOOK_ALREADY_EXISTS names the waiting prebook by global ID",
    )
    early = data(await story.again("prebook", wanted(tide), token=ada))["prebook"]
    bea_tide = data(await prebook(gql, bea, tide, 2, city="Cork"))["prebook"]
    cast.refs["bea_tide"] = bea_tide["id"]
    story.claim(
        early["book"]["availability"] == "PREORDER" and bea_tide["queuePosition"] == 2,
        "an unreleased book can be prebooked",
    )
    story.claim(
        code_of(await add_to_cart(gql, ada, tide)) == "BOOK_NOT_RELEASED",
        "an unreleased book can't go in the cart",
    )
    waiting = (await story.example("my-prebooks", token=ada))["data"]["myPrebooks"]
    story.claim(
        [(e["node"]["id"], e["node"]["queuePosition"]) for e in waiting["edges"]]
        == [(early["id"], 1), (queued["id"], 2)],
        "myPrebooks: newest first, with live queue positions",
    )
    dropped = (await story.example("cancel-prebook", {"id": early["id"]}, token=ada))["data"][
        "cancelPrebook"
    ]
    story.claim(
        dropped["status"] == "CANCELLED" and dropped["queuePosition"] is None, "prebook cancelled"
    )
    moved_up = data(await gql(PREBOOK_STATUS, {"id": bea_tide["id"]}, token=bea))["node"]
    story.claim(moved_up["queuePosition"] == 1, "the queue moves up")

    dearer = (
        await story.example(
            "update-book",
            {"id": harbour, "input": {"price": "21.00", "subtitle": "A Novel"}},
            token=admin,
        )
    )["data"]["updateBook"]
    story.claim(
        (dearer["price"], dearer["subtitle"], dearer["publisher"])
        == ("21.00", "A Novel", "Tidewater Press"),
        "updateBook changes only the fields sent",
    )

    partial = (
        await story.example("restock-partial", {"bookId": harbour, "quantity": 2}, token=admin)
    )["data"]["restockBook"]
    story.claim(
        partial["fulfilledPrebooks"] == []
        and (partial["book"]["stockQuantity"], partial["book"]["pendingPrebookQuantity"]) == (2, 4)
        and partial["book"]["availability"] == "OUT_OF_STOCK",
        "2 copies don't cover Bea's 3: nobody is served, nobody jumps the queue",
    )
    held = await story.example(
        "held-copies", {"bookId": harbour, "quantity": 1}, token=ada, error="CART_OUT_OF_STOCK"
    )
    story.claim(
        first_error(held)["extensions"]["availableQuantity"] == 0,
        "copies held for the queue are not for sale",
    )
    restocked = (await story.example("restock", {"bookId": harbour, "quantity": 2}, token=admin))[
        "data"
    ]["restockBook"]
    served = restocked["fulfilledPrebooks"]
    story.claim(
        [(p["id"], p["status"], p["order"]["status"]) for p in served]
        == [(bea_first["id"], "FULFILLED", "CONFIRMED"), (queued["id"], "FULFILLED", "CONFIRMED")],
        "4 copies serve Bea, then Ada, as CONFIRMED orders",
    )
    story.claim(
        all(p["order"]["items"][0]["unitPrice"] == "18.00" for p in served)
        and [p["order"]["total"] for p in served] == ["54.00", "18.00"],
        "both pay the price when they prebooked (18.00), not today's 21.00",
    )
    story.claim(
        (restocked["book"]["stockQuantity"], restocked["book"]["pendingPrebookQuantity"]) == (0, 0),
        "the queue took every copy",
    )
    mine = data(await gql(SERVED, token=ada))["myPrebooks"]["edges"]
    node = mine[0]["node"]
    cast.refs["ada_order"] = node["order"]["id"]
    story.claim(
        [edge["node"]["id"] for edge in mine] == [queued["id"]]
        and node["status"] == "FULFILLED"
        and node["queuePosition"] is None
        and node["order"]["status"] == "CONFIRMED"
        and node["order"]["items"] == [{"unitPrice": "18.00"}],
        "Ada's prebook is FULFILLED, its order CONFIRMED at the guaranteed price",
    )
    orders = data(await story.again("my-orders", token=ada))["myOrders"]["edges"]
    story.claim(
        node["order"]["id"] in [edge["node"]["id"] for edge in orders], "... and in myOrders"
    )
    story.claim(
        code_of(await story.again("cancel-prebook", {"id": queued["id"]}, token=ada))
        == "PREBOOK_NOT_CANCELLABLE",
        "a served prebook can't be cancelled",
    )


async def admin_orders(story: Story, cast: Cast) -> None:
    gql, ada, admin = story.gql, cast.ada, cast.admin
    ada_order = cast.refs["ada_order"]
    listed = (
        await story.example(
            "admin-orders", {"filter": {"userId": cast.ada_id, "status": "CONFIRMED"}}, token=admin
        )
    )["data"]["orders"]
    story.claim(
        [edge["node"]["id"] for edge in listed["edges"]] == [ada_order]
        and listed["edges"][0]["node"]["user"]["email"] == cast.ada_email,
        "orders filters by user and status",
    )
    story.claim(
        code_of(await story.again("admin-orders", {"filter": {}}, token=ada)) == "AUTH_FORBIDDEN",
        "orders is for admins",
    )
    shipped = (await story.example("ship", {"id": ada_order, "status": "SHIPPED"}, token=admin))[
        "data"
    ]["updateOrderStatus"]
    story.claim(
        shipped["status"] == "SHIPPED" and bool(shipped["shippedAt"]), "CONFIRMED -> SHIPPED"
    )
    story.claim(
        code_of(await gql(CANCEL_ORDER, {"id": ada_order}, token=ada)) == "ORDER_NOT_CANCELLABLE",
        "a shipped order can't be cancelled",
    )
    delivered = await story.again("ship", {"id": ada_order, "status": "DELIVERED"}, token=admin)
    story.claim(
        data(delivered)["updateOrderStatus"]["status"] == "DELIVERED", "SHIPPED -> DELIVERED"
    )
    wrong = await story.example(
        "bad-transition",
        {"id": ada_order, "status": "CANCELLED"},
        token=admin,
        error="ORDER_INVALID_STATUS_TRANSITION",
    )
    extensions = first_error(wrong)["extensions"]
    story.claim((extensions["from"], extensions["to"]) == ("DELIVERED", "CANCELLED"), "from and to")
    voided = await story.again(
        "ship", {"id": cast.refs["bea_order"], "status": "CANCELLED"}, token=admin
    )
    story.claim(
        data(voided)["updateOrderStatus"]["status"] == "CANCELLED"
        and (await stock_of(story, cast, cast.refs["kyoto"]))["stockQuantity"]
        == cast.refs["kyoto_stock"],
        "PENDING -> CANCELLED puts the copies back",
    )


async def release_day(story: Story, cast: Cast) -> None:
    """Copies of an unreleased book wait for its release, then for fulfilPrebooks."""
    gql, ada, admin = story.gql, cast.ada, cast.admin
    tide = cast.refs["tide"]
    early = data(await gql(RESTOCK, {"book": tide, "quantity": 3}, token=admin))["restockBook"]
    story.claim(
        early["fulfilledPrebooks"] == [] and early["book"]["availability"] == "PREORDER",
        "a restock before the release serves nobody",
    )
    today = date.today().isoformat()
    data(await gql(UPDATE_BOOK, {"id": tide, "input": {"releaseDate": today}}, token=admin))
    held = await add_to_cart(gql, ada, tide)
    story.claim(
        (await stock_of(story, cast, tide))["availability"] == "OUT_OF_STOCK"
        and code_of(held) == "CART_OUT_OF_STOCK"
        and first_error(held)["extensions"]["availableQuantity"] == 0,
        "on release day, copies wait for fulfilPrebooks",
    )
    result = (await story.example("fulfil-prebooks", {"bookId": tide}, token=admin))["data"][
        "fulfilPrebooks"
    ]
    story.claim(
        [(p["id"], p["quantity"], p["status"]) for p in result["fulfilledPrebooks"]]
        == [(cast.refs["bea_tide"], 2, "FULFILLED")],
        "fulfilPrebooks serves the waiting prebooks",
    )
    story.claim(
        (result["book"]["stockQuantity"], result["book"]["pendingPrebookQuantity"]) == (1, 0)
        and result["book"]["availability"] == "LOW_STOCK",
        "the copy left over is for sale",
    )
    story.claim("errors" not in await add_to_cart(gql, ada, tide), "... and can be bought")
    await gql(REMOVE_FROM_CART, {"id": tide}, token=ada)


async def archive(story: Story, cast: Cast) -> None:
    gql, admin = story.gql, cast.admin
    withdrawn = cast.refs["sold_out"]
    archived = (await story.example("archive-book", {"id": withdrawn}, token=admin))["data"][
        "archiveBook"
    ]
    story.claim(archived["isArchived"] is True, "archived")
    story.claim(
        code_of(await gql(BOOK, {"id": withdrawn})) == "BOOK_NOT_FOUND",
        "an archived book is BOOK_NOT_FOUND for everyone else",
    )
    story.claim(
        data(await gql(BOOK, {"id": withdrawn}, token=admin))["book"]["isArchived"] is True,
        "admins still see it",
    )
    left = data(await story.again("wishlist", token=cast.ada))["wishlist"]
    story.claim(left["totalCount"] == 0 and left["edges"] == [], "it leaves wishlists")


async def cart_warnings(story: Story, cast: Cast) -> None:
    """The cart-warnings table, and what acknowledges a price change."""
    gql, ada, admin = story.gql, cast.ada, cast.admin
    fixture = data(
        await gql(
            CREATE_BOOK,
            {
                "input": {
                    "title": "Warning Fixture",
                    "isbn13": isbn13(2),
                    "price": "10.00",
                    "releaseDate": "2025-01-02",
                    "authorIds": [cast.refs["author"]],
                    "stockQuantity": 5,
                }
            },
            token=admin,
        )
    )["createBook"]["id"]

    async def warnings() -> list[str]:
        cart = data(await gql(CART, token=ada))["cart"]
        return [w["code"] for w in cart["warnings"] if w["bookId"] == fixture]

    async def change(**changes: str) -> None:
        data(await gql(UPDATE_BOOK, {"id": fixture, "input": changes}, token=admin))

    await add_to_cart(gql, ada, fixture)
    await change(price="12.00")
    prices = [i["unitPrice"] for i in data(await gql(CART, token=ada))["cart"]["items"]]
    story.claim(
        await warnings() == ["CART_PRICE_CHANGED"] and prices == ["12.00"],
        "a price change is a CART_PRICE_CHANGED warning; the line has the new price",
    )
    await gql(UPDATE_CART_ITEM, {"id": fixture, "q": 2}, token=ada)
    story.claim(await warnings() == [], "updateCartItem acknowledges the new price")
    await change(price="13.00")
    await add_to_cart(gql, ada, fixture)
    story.claim(await warnings() == [], "so does addToCart")
    await change(releaseDate=(date.today() + timedelta(days=30)).isoformat())
    story.claim(
        await warnings() == ["BOOK_NOT_RELEASED"],
        "a release date moved into the future is a BOOK_NOT_RELEASED warning",
    )
    await change(releaseDate="2025-01-02")
    data(await gql(ARCHIVE, {"id": fixture}, token=admin))
    story.claim(await warnings() == ["BOOK_NOT_FOUND"], "an archived book: BOOK_NOT_FOUND")
    withdrawn = await checkout(gql, ada, address=ADA_ADDRESS)
    story.claim(
        code_of(withdrawn) == "BOOK_NOT_FOUND"
        and first_error(withdrawn)["extensions"]["bookId"] == fixture,
        "checkout refuses a withdrawn book, naming it by global ID",
    )
    await gql(REMOVE_FROM_CART, {"id": fixture}, token=ada)

    scarce = data(
        await gql(
            CREATE_BOOK,
            {
                "input": {
                    "title": "Scarce Fixture",
                    "isbn13": isbn13(3),
                    "price": "10.00",
                    "releaseDate": "2025-01-02",
                    "authorIds": [cast.refs["author"]],
                    "stockQuantity": 2,
                }
            },
            token=admin,
        )
    )["createBook"]["id"]
    story.claim(
        "errors" not in await prebook(gql, cast.bea, scarce, 3)
        and (await stock_of(story, cast, scarce))["availability"] == "OUT_OF_STOCK",
        "more copies than are for sale can be prebooked, and then the copies are held",
    )


async def throttling(story: Story, cast: Cast) -> None:
    """Last: it blocks Ada's and Bea's sign-ins from this address for 15 minutes."""
    gql = story.gql
    wrong = {"input": {"email": cast.ada_email, "password": "not my password"}}
    first = await story.again("login", wrong)
    story.claim(
        code_of(first) == "AUTH_INVALID_CREDENTIALS"
        and first_error(first)["message"] == "Invalid email or password",
        "a wrong password is AUTH_INVALID_CREDENTIALS",
    )
    unknown = await story.again(
        "login", {"input": {"email": "nobody@example.com", "password": "x" * 8}}
    )
    story.claim(
        first_error(unknown)["message"] == first_error(first)["message"],
        "an unknown email answers like a wrong password",
    )
    for _ in range(4):
        await story.again("login", wrong)
    throttled = await story.example("login-throttled", wrong, error="AUTH_TOO_MANY_ATTEMPTS")
    retry_after = first_error(throttled)["extensions"]["retryAfter"]
    story.claim(isinstance(retry_after, int) and 0 < retry_after <= 900, "retryAfter is in seconds")
    right = {"input": {"email": cast.ada_email, "password": ADA_NEW_PASSWORD}}
    story.claim(
        code_of(await story.again("login", right)) == "AUTH_TOO_MANY_ATTEMPTS",
        "throttled even with the right password",
    )
    guess = {"input": {"currentPassword": "a wrong guess", "newPassword": "whatever it is 123"}}
    codes = [code_of(await gql(CHANGE_PASSWORD, guess, token=cast.bea)) for _ in range(6)]
    story.claim(
        codes == ["AUTH_INVALID_CREDENTIALS"] * 5 + ["AUTH_TOO_MANY_ATTEMPTS"],
        "wrong current passwords are throttled like sign-ins",
    )


def write_transcript(story: Story) -> None:
    """README_TRANSCRIPT=PATH: every example's variables and response, to refresh the guide."""
    path = os.environ.get("README_TRANSCRIPT")
    if path:
        runs = {name: vars(run) for name, run in story.runs.items()}
        Path(path).write_text(json.dumps(runs, indent=2, ensure_ascii=False), "utf-8")


@pytest.mark.committing
async def test_the_api_guide_tells_the_truth(
    gql: GraphQL, http: httpx.AsyncClient, database: Database, admin_token: str
) -> None:
    guide = read_guide(guide_text())
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=240)
    story = Story(gql, guide)
    cast = Cast(admin=admin_token)

    await conventions(story, http)
    await accounts(story, cast)
    await shopping(story, cast)
    await wishlist(story, cast)
    await admin_catalog(story, cast)
    await prebooks(story, cast)
    await admin_orders(story, cast)
    await release_day(story, cast)
    await archive(story, cast)
    await cart_warnings(story, cast)
    await throttling(story, cast)

    write_transcript(story)
    problems = story.compare()
    assert not problems, "The API guide and the API disagree:\n" + "\n".join(problems)


def test_the_api_guide_is_well_formed() -> None:
    text = guide_text()
    prose = _blank_code(text)
    headings = re.findall(r"^### (\w+)", prose, re.M)
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS), headings
    for name, example in read_guide(text).items():
        assert example.query is not None, f"{name}: no ```graphql block"
        assert example.response is not None, f"{name}: no documented response"
