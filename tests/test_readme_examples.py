"""The README's API guide, replayed as written: it must tell the truth.

Every worked example of the guide (marked `<!-- example: NAME -->`) is a test of its own,
`test_example[NAME]`, played in the guide's order on a freshly seeded database (the demo
catalog `poetry run dev` loads into an empty one), exactly as a newcomer copying the
examples in order onto a fresh `poetry run dev` sends them: the guide's document and
variables, IDs included, as printed. Only the tokens a run hands out (the `Authorization`
and `X-Cart-Token` headers, the `refreshToken` and `cartToken` variables, and the `token` of
an email's link, which a newcomer reads in the dev mailbox and the story in the outbox) are
the run's own. The response must have the shape
the guide documents (tests/support/shape.py), with the same global IDs, and what the prose
says about it must hold (the claims). The behaviour the prose describes beyond its examples
is tested by the domains' tests, not here. README_TRANSCRIPT=PATH writes every example's
variables and response there (JSON), to refresh the guide's responses.

Where the guide's IDs come from (when a change to the guide moves them, the failures name
the ID to print instead, e.g. "documented 'Qm9vazoyNDE=' (Book:241), got … (Book:242)"):
- the demo catalog (app/books/seed.py): books 1-240, authors 1-80, genres 1-18, in seed
  order; Genre:1 is Fantasy, Book:88 "A Library in Kyoto" (Author:25), Book:171, Book:2,
  and Book:1 first in the catalog's default order (newest first);
- then every row the guide's examples create, in the guide's order: users (Ada, Bea, the
  admin of `create-admin`), carts (the guest cart first, Cart:1; registering with it
  gives Ada a cart of her own, Cart:2, into which it is merged), Ada's saved address
  (Address:1), orders (Bea's, Ada's checkout, then served prebooks),
  wishlist items, authors, genres, books (241, 242), prebooks. A refused insert can use
  up an ID too (`prebook-exists`).

The story: Ada fills a guest cart, registers with it, verifies her address, resets her
password, shops, keeps a wishlist (with a back-in-stock alert) and prebooks; Bea competes for the same books; an admin adds and restocks books and moves orders along. Each step plays one
example and leaves in `story.refs` the tokens the steps after it need.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.books.seed import seed_if_empty
from app.core.config import Settings
from app.db.session import Database
from app.mail.links import RESET_PASSWORD, UNSUBSCRIBE, VERIFY_EMAIL
from app.mail.render import compose
from app.outbox.models import OutboxMessage
from app.outbox.repository import ROW
from app.reviews.seed import seed_reviews
from app.users import service as users_service
from app.users.schemas import NewAdminInput
from tests.conftest import truncate_all
from tests.support import GraphQL, data
from tests.support.guide import blank_code, guide_text, read_guide
from tests.support.shape import DECIMAL
from tests.support.story import Steps, Story, first_error

SECTIONS = (
    "Conventions",
    "Guest",
    "Accounts",
    "Shopping",
    "Search",
    "Wishlist",
    "Admin",
    "Prebooks",
    "Orders",
    "Reviews",
)

# The admin of the guide's `create-admin` command (Admin section).
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin password 123"

ADA_EMAIL = "ada@example.com"

# Operations the story needs besides the guide's own.
GUEST_CART = "{ cart { id } }"
WISHLIST_ALERTS = "{ wishlist(first: 20) { edges { node { notifyWhenAvailable } } } }"

STEPS = Steps()
step = STEPS.step


def plays(name: str, *, token: str | None = None, error: str | None = None) -> None:
    """A step that only sends its example, as `token` (a ref), expecting `error`."""

    async def play(story: Story) -> None:
        await story.example(name, token=story.refs[token] if token else None, error=error)

    step(name)(play)


class Mailbox:
    """The story's email: the newest message queued to an address, rendered as the sender
    renders it (what the dev mailbox's .eml file and log line show; tests/mail has the
    SMTP side)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database, self.settings = database, settings

    async def token(self, to: str, path: str) -> str:
        """The token of the link to `path` in the newest email to `to`."""
        async with self.database.sessionmaker() as session:
            statement = (
                select(*ROW.columns())
                .where(OutboxMessage.payload["to"].astext == to)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
            row = ROW.of((await session.execute(statement)).one())
        urls = compose(self.settings, row).links
        found = [url for url in urls.values() if urlsplit(url).path == path]
        assert found, f"no link to {path} in the last email to {to}"
        return parse_qs(urlsplit(found[0]).query)["token"][0]


def decimal(value: str) -> Decimal:
    assert DECIMAL.match(value), f"not a Decimal string: {value!r}"
    return Decimal(value)


def payload(result: dict[str, Any]) -> Any:
    """The one root field of a successful example's data."""
    (value,) = data(result).values()
    return value


# --- Conventions -------------------------------------------------------------------------


@step("hello")
async def hello(story: Story) -> None:
    result = await story.example("hello", headers={"X-Query-Cost": "1"})
    cost = result.get("extensions", {}).get("cost", {})
    story.claim(
        isinstance(cost.get("requested"), int) and cost.get("limit") == 10000,
        "X-Query-Cost: 1 reports extensions.cost (limit 10000)",
    )


@step("auth-required")
async def auth_required(story: Story) -> None:
    refused = await story.example("auth-required", error="AUTH_REQUIRED")
    story.claim(
        refused["data"]["myOrders"] is None and refused["data"]["books"]["totalCount"] > 0,
        "a private root field refused to an anonymous caller nulls only itself",
    )


@step("nodes")
async def nodes(story: Story) -> None:
    found = data(await story.example("nodes"))
    story.claim(
        [n and n["__typename"] for n in found["nodes"]] == ["Book", "Author", None],
        "node fetches by global ID; nodes keeps the order, null for unknown IDs",
    )


@step("too-costly")
async def too_costly(story: Story) -> None:
    refused = first_error(await story.example("too-costly", error="QUERY_TOO_COMPLEX"))
    story.claim(
        "path" not in refused and refused["extensions"]["cost"] > refused["extensions"]["limit"],
        "an operation over the cost limit doesn't run, and says its cost and the limit",
    )


@step("register-invalid")
async def register_invalid(story: Story) -> None:
    bad = await story.example("register-invalid", error="VALIDATION_ERROR")
    extensions = first_error(bad)["extensions"]
    story.claim(
        extensions["field"] == "input.email"
        and [e["loc"] for e in extensions["errors"]] == [["input", "email"], ["input", "password"]],
        "VALIDATION_ERROR names the first field and lists every problem",
    )


# --- Guest carts -------------------------------------------------------------------------


@step("page")
async def page(story: Story) -> None:
    shown = data(await story.example("page"))
    story.claim(
        len(shown["books"]["edges"]) == 2 and shown["me"] is None and shown["cart"] is None,
        "an anonymous page query keeps its books, with me and cart null",
    )


@step("create-guest-cart")
async def create_guest_cart(story: Story) -> None:
    created = payload(await story.example("create-guest-cart"))
    # The visitor's guest cart token, sent as X-Cart-Token and as register's cartToken.
    story.refs["guest_token"] = created["cartToken"]
    story.claim(
        len(created["cartToken"]) >= 43 and created["cart"]["totalQuantity"] == 0,
        "createGuestCart answers a long random token and an empty cart",
    )


@step("guest-add-to-cart")
async def guest_add_to_cart(story: Story) -> None:
    headers = {"X-Cart-Token": story.refs["guest_token"]}
    added = payload(await story.example("guest-add-to-cart", headers=headers))
    story.claim(
        added["id"] == payload(story.runs["create-guest-cart"].response)["cart"]["id"]
        and added["totalQuantity"] == 1,
        "with X-Cart-Token, addToCart works on the guest cart",
    )


@step("guest-cart-invalid")
async def guest_cart_invalid(story: Story) -> None:
    headers = {"X-Cart-Token": "no-such-token"}
    refused = await story.example("guest-cart-invalid", headers=headers, error="CART_TOKEN_INVALID")
    story.claim(
        refused["data"]["cart"] is None and refused["data"]["books"]["totalCount"] > 0,
        "an unknown token nulls the cart only",
    )


# --- Accounts ----------------------------------------------------------------------------


@step("register")
async def register_ada(story: Story) -> None:
    secrets = {"input.cartToken": story.refs["guest_token"]}
    registered = payload(await story.example("register", secrets=secrets))
    # Ada's session from here on (the guide's update-me says so).
    story.refs["ada"] = registered["accessToken"]
    story.claim(
        [(i["quantity"], i["book"]["title"]) for i in registered["cart"]["items"]]
        == [(1, payload(story.runs["guest-add-to-cart"].response)["items"][0]["book"]["title"])]
        and registered["cart"]["warnings"] == [],
        "registering with cartToken merges the guest cart into the new account's",
    )
    gone = await story.gql(GUEST_CART, headers={"X-Cart-Token": story.refs["guest_token"]})
    story.claim(
        first_error(gone)["extensions"]["code"] == "CART_TOKEN_INVALID",
        "the merged guest cart is deleted: its token opens nothing",
    )
    story.claim(registered["user"]["email"] == "ada@example.com", "emails are stored lower-cased")
    story.claim(
        registered["tokenType"] == "Bearer"
        and registered["user"]["role"] == "CUSTOMER"
        and registered["expiresIn"] == 900,
        "register signs a CUSTOMER in, with a 15-minute access token",
    )


@step("verify-email")
async def verify_email(story: Story) -> None:
    token = await story.refs["mailbox"].token(ADA_EMAIL, VERIFY_EMAIL)
    verified = payload(await story.example("verify-email", secrets={"token": token}))
    story.claim(verified["emailVerified"] is True, "the link's token verifies the address")
    again = await story.gql(story.document("verify-email"), {"token": token})
    story.claim(
        first_error(again)["extensions"]["code"] == "ACCOUNT_TOKEN_INVALID", "a link works once"
    )


@step("login")
async def login_ada(story: Story) -> None:
    story.refs["login_refresh"] = payload(await story.example("login"))["refreshToken"]


@step("refresh")
async def refresh(story: Story) -> None:
    old = story.refs["login_refresh"]
    rotated = payload(await story.example("refresh", secrets={"refreshToken": old}))
    story.refs.update(login_access=rotated["accessToken"], login_refresh=rotated["refreshToken"])
    story.claim(rotated["refreshToken"] != old, "each refresh returns a new refresh token")


@step("logout")
async def logout(story: Story) -> None:
    await story.example("logout", secrets={"refreshToken": story.refs["login_refresh"]})


plays("session-ended", token="login_access", error="AUTH_INVALID_TOKEN")


@step("update-me")
async def update_me(story: Story) -> None:
    renamed = payload(await story.example("update-me", token=story.refs["ada"]))
    story.claim(
        renamed["fullName"] == "Ada R. Reader" and renamed["email"] == "ada@example.com",
        "updateMe changes only the fields sent",
    )


@step("change-email")
async def change_email(story: Story) -> None:
    changed = payload(await story.example("change-email", token=story.refs["ada"]))
    story.claim(
        changed["email"] == ADA_EMAIL and changed["pendingEmail"] == "ada.reader@example.com",
        "the email stays until the link sent to the new address is followed",
    )


plays("change-password", token="ada")


@step("request-password-reset")
async def request_password_reset(story: Story) -> None:
    asked = data(await story.example("request-password-reset"))
    unknown = data(
        await story.gql(story.document("request-password-reset"), {"email": "nobody@example.com"})
    )
    story.claim(
        asked == unknown == {"requestPasswordReset": True},
        "the same answer whether an account has the address or not",
    )


@step("reset-password")
async def reset_password(story: Story) -> None:
    token = await story.refs["mailbox"].token(ADA_EMAIL, RESET_PASSWORD)
    await story.example("reset-password", secrets={"input.token": token})
    ended = await story.gql("{ me { id } }", token=story.refs["ada"])
    story.claim(
        first_error(ended)["extensions"]["code"] == "AUTH_INVALID_TOKEN",
        "a reset ends every session, register's too",
    )


@step("login-new-password")
async def login_new_password(story: Story) -> None:
    signed_in = payload(await story.example("login-new-password"))
    # Ada's session from here on (the guide says so).
    story.refs["ada"] = signed_in["accessToken"]
    story.claim(signed_in["user"]["emailVerified"] is True, "the address stays verified")


@step("create-address")
async def create_address(story: Story) -> None:
    story.refs["ada_home"] = payload(
        await story.example("create-address", token=story.refs["ada"])
    )["id"]


@step("my-addresses")
async def my_addresses(story: Story) -> None:
    me = payload(await story.example("my-addresses", token=story.refs["ada"]))
    story.claim(
        [a["id"] for a in me["addresses"]] == [story.refs["ada_home"]]
        and me["defaultAddress"]["id"] == story.refs["ada_home"],
        "the first address saved is the default",
    )


@step("login-throttled")
async def login_throttled(story: Story) -> None:
    first = await story.again("login-throttled")
    story.claim(
        first_error(first)["message"] == "Invalid email or password",
        'a wrong password is "Invalid email or password"',
    )
    for _ in range(4):
        await story.again("login-throttled")
    throttled = await story.example("login-throttled", error="AUTH_TOO_MANY_ATTEMPTS")
    retry_after = first_error(throttled)["extensions"]["retryAfter"]
    story.claim(isinstance(retry_after, int) and 0 < retry_after <= 900, "retryAfter is in seconds")


# --- Shopping ----------------------------------------------------------------------------


@step("browse")
async def browse(story: Story) -> None:
    fantasy = data(await story.gql('{ genre(slug: "fantasy") { id } }'))["genre"]["id"]
    story.claim(
        story.variables("browse")["filter"]["genreIds"] == [fantasy],
        'the genre ID is genre(slug: "fantasy")\'s',
    )
    page = payload(await story.example("browse"))
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


@step("search")
async def search(story: Story) -> None:
    edges = payload(await story.example("search"))["edges"]
    top = edges[0]["node"]["title"].lower()
    story.claim("kyoto" in top and "library" in top, "the best match comes first")


@step("book")
async def book(story: Story) -> None:
    detail = await story.example("book", token=story.refs["ada"], error="AUTH_FORBIDDEN")
    shown = detail["data"]["book"]
    story.claim(
        shown is not None
        and shown["stockQuantity"] is None
        and shown["inWishlist"] is False
        and first_error(detail)["path"] == ["book", "stockQuantity"],
        "stockQuantity answers AUTH_FORBIDDEN to customers; the rest of the book is there",
    )


@step("remove-from-cart")
async def remove_from_cart(story: Story) -> None:
    emptied = payload(await story.example("remove-from-cart", token=story.refs["ada"]))
    story.claim(
        emptied["items"] == []
        and emptied["id"] != payload(story.runs["create-guest-cart"].response)["cart"]["id"],
        "removeFromCart takes the merged book out again, from the account's own cart",
    )


@step("add-to-cart")
async def add_to_cart(story: Story) -> None:
    cart = payload(await story.example("add-to-cart", token=story.refs["ada"]))
    line = cart["items"][0]
    story.claim(
        cart["totalQuantity"] == 2
        and decimal(line["lineTotal"]) == 2 * decimal(line["unitPrice"])
        and cart["warnings"] == [],
        "addToCart answers the whole cart",
    )


@step("bea-register")
async def bea_register(story: Story) -> None:
    story.refs["bea"] = payload(await story.example("bea-register"))["accessToken"]


plays("bea-add-to-cart", token="bea")
plays("bea-checkout", token="bea")


@step("cart-warning")
async def cart_warning(story: Story) -> None:
    cart = payload(await story.example("cart-warning", token=story.refs["ada"]))
    story.claim(
        [(w["code"], w["availableQuantity"]) for w in cart["warnings"]]
        == [("CART_OUT_OF_STOCK", 1)],
        "after Bea's purchase, the cart warns that only 1 copy is left",
    )


@step("checkout-out-of-stock")
async def checkout_out_of_stock(story: Story) -> None:
    short = await story.example(
        "checkout-out-of-stock", token=story.refs["ada"], error="CART_OUT_OF_STOCK"
    )
    lines = first_error(short)["extensions"]["lines"]
    story.claim(
        [(line["requested"], line["available"]) for line in lines] == [(2, 1)],
        "checkout refuses, saying what is short",
    )


plays("update-cart-item", token="ada")


@step("checkout")
async def checkout(story: Story) -> None:
    order = payload(await story.example("checkout", token=story.refs["ada"]))
    story.claim(
        order["status"] == "PENDING"
        and order["total"] == order["subtotal"] == order["items"][0]["unitPrice"]
        and order["currency"] == "EUR",
        "checkout creates a PENDING order at the current price, total = subtotal, in EUR",
    )


@step("checkout-retry")
async def checkout_retry(story: Story) -> None:
    retry = payload(await story.example("checkout-retry", token=story.refs["ada"]))
    story.claim(
        retry["id"] == payload(story.runs["checkout"].response)["id"],
        "a retry with the same key returns the same order",
    )


@step("my-orders")
async def my_orders(story: Story) -> None:
    mine = payload(await story.example("my-orders", token=story.refs["ada"]))
    story.claim(mine["totalCount"] == 1, "myOrders lists the order")


plays("cancel-order", token="ada")


# --- Search ------------------------------------------------------------------------------


@step("search-typo")
async def search_typo(story: Story) -> None:
    found = payload(await story.example("search-typo"))
    story.claim(found["correctedQuery"] == "kyoto library", "both typos are corrected")
    titles = [edge["node"]["title"].lower() for edge in found["edges"]]
    story.claim(bool(titles) and all("kyoto" in t or "library" in t for t in titles), "found")


@step("facets")
async def facets(story: Story) -> None:
    found = payload(await story.example("facets"))["facets"]
    story.claim(found["isExact"] is True, "a small catalog is counted exactly")
    story.claim(
        len(found["availability"]) > 1, "availability counts other values than its own filter's"
    )


@step("suggestions")
async def suggestions(story: Story) -> None:
    found = (await story.example("suggestions"))["data"]["searchSuggestions"]
    story.claim(found["queries"][0] == "lisbon", "completes the word being typed")
    story.claim(len(found["books"]) == 3, "the most popular books about it, `first` of them")


# --- Wishlist ----------------------------------------------------------------------------

plays("add-to-wishlist", token="ada")
plays("add-to-wishlist-again", token="ada")


@step("wishlist")
async def wishlist(story: Story) -> None:
    listed = payload(await story.example("wishlist", token=story.refs["ada"]))
    story.claim(
        [edge["node"]["book"]["title"] for edge in listed["edges"]]
        == ["A City in Kyoto", "Letters from Kyoto"],
        "the wishlist lists newest first",
    )


@step("move-to-cart")
async def move_to_cart(story: Story) -> None:
    moved = payload(await story.example("move-to-cart", token=story.refs["ada"]))
    story.claim(
        [(i["book"]["title"], i["book"]["inWishlist"]) for i in moved["items"]]
        == [("A City in Kyoto", False)],
        "the moved book is in the cart and out of the wishlist",
    )


@step("wishlist-notification")
async def wishlist_notification(story: Story) -> None:
    item = payload(await story.example("wishlist-notification", token=story.refs["ada"]))
    story.claim(
        item["notifyWhenAvailable"] is True and item["notifiedAt"] is None, "the alert is on"
    )


# --- Admin -------------------------------------------------------------------------------


@step("admin-login")
async def admin_login(story: Story) -> None:
    # `poetry run create-admin --email admin@example.com --password 'admin password 123'`
    async with story.database.sessionmaker() as session, session.begin():
        await users_service.create_or_promote_admin(
            session,
            story.settings,
            data=NewAdminInput(email=ADMIN_EMAIL, password=ADMIN_PASSWORD, full_name="Admin"),
        )
    story.refs["admin"] = payload(await story.example("admin-login"))["accessToken"]


@step("create-author-genre")
async def create_author_genre(story: Story) -> None:
    created = data(await story.example("create-author-genre", token=story.refs["admin"]))
    story.claim(
        created["createGenre"]["slug"] == "nautical-fiction", "the slug is derived from the name"
    )


@step("create-book")
async def create_book(story: Story) -> None:
    created = payload(await story.example("create-book", token=story.refs["admin"]))
    story.claim(created["isbn13"] == "9780306406157", "the ISBN is stored as 13 digits")


@step("create-book-tide")
async def create_book_tide(story: Story) -> None:
    created = payload(await story.example("create-book-tide", token=story.refs["admin"]))
    story.claim(created["availability"] == "PREORDER", "a future release date makes it PREORDER")


@step("restock-letters")
async def restock_letters(story: Story) -> None:
    restocked = payload(await story.example("restock-letters", token=story.refs["admin"]))
    story.claim(restocked["book"]["availability"] == "LOW_STOCK", "the book is back on sale")
    # The restock queued Ada's alert: its unsubscribe link is the next example's.
    story.refs["unsubscribe"] = await story.refs["mailbox"].token(ADA_EMAIL, UNSUBSCRIBE)


@step("unsubscribe")
async def unsubscribe(story: Story) -> None:
    # No access token: the link's token is enough.
    await story.example("unsubscribe", secrets={"token": story.refs["unsubscribe"]})
    listed = payload(await story.gql(WISHLIST_ALERTS, token=story.refs["ada"]))
    story.claim(
        not any(edge["node"]["notifyWhenAvailable"] for edge in listed["edges"]),
        "the link turned the alert off",
    )


plays("archive-book", token="admin")


# --- Prebooks ----------------------------------------------------------------------------

plays("bea-prebook", token="bea")


@step("prebook")
async def prebook(story: Story) -> None:
    queued = payload(await story.example("prebook", token=story.refs["ada"]))
    story.claim(
        (queued["status"], queued["queuePosition"], queued["priceAtPrebook"])
        == ("PENDING", 2, "18.00"),
        "Ada is second in the queue, at 18.00",
    )


plays("prebook-not-allowed", token="ada", error="PREBOOK_NOT_ALLOWED")


@step("prebook-exists")
async def prebook_exists(story: Story) -> None:
    exists = await story.example(
        "prebook-exists", token=story.refs["ada"], error="PREBOOK_ALREADY_EXISTS"
    )
    story.claim(
        first_error(exists)["extensions"]["prebookId"]
        == payload(story.runs["prebook"].response)["id"],
        "PREBOOK_ALREADY_EXISTS names the waiting prebook by global ID",
    )


plays("prebook-tide", token="ada")
plays("bea-prebook-tide", token="bea")


@step("my-prebooks")
async def my_prebooks(story: Story) -> None:
    waiting = payload(await story.example("my-prebooks", token=story.refs["ada"]))
    story.claim(
        [(e["node"]["book"]["title"], e["node"]["queuePosition"]) for e in waiting["edges"]]
        == [("The Tide Tables", 1), ("The Harbour Keeper", 2)],
        "myPrebooks: newest first, with live queue positions",
    )


plays("cancel-prebook", token="ada")


@step("update-book")
async def update_book(story: Story) -> None:
    dearer = payload(await story.example("update-book", token=story.refs["admin"]))
    story.claim(
        (dearer["price"], dearer["subtitle"], dearer["publisher"])
        == ("21.00", "A Novel", "Tidewater Press"),
        "updateBook changes only the fields sent",
    )


@step("restock-partial")
async def restock_partial(story: Story) -> None:
    partial = payload(await story.example("restock-partial", token=story.refs["admin"]))
    book = partial["book"]
    story.claim(
        partial["fulfilledPrebooks"] == []
        and (book["stockQuantity"], book["pendingPrebookQuantity"]) == (2, 4)
        and book["availability"] == "OUT_OF_STOCK",
        "2 copies don't cover Bea's 3: nobody is served, nobody jumps the queue",
    )


@step("held-copies")
async def held_copies(story: Story) -> None:
    held = await story.example("held-copies", token=story.refs["ada"], error="CART_OUT_OF_STOCK")
    story.claim(
        first_error(held)["extensions"]["availableQuantity"] == 0,
        "copies held for the queue are not for sale",
    )


@step("restock")
async def restock(story: Story) -> None:
    restocked = payload(await story.example("restock", token=story.refs["admin"]))
    served, book = restocked["fulfilledPrebooks"], restocked["book"]
    story.claim(
        [(p["id"], p["status"], p["order"]["status"]) for p in served]
        == [
            (payload(story.runs["bea-prebook"].response)["id"], "FULFILLED", "CONFIRMED"),
            (payload(story.runs["prebook"].response)["id"], "FULFILLED", "CONFIRMED"),
        ],
        "4 copies serve Bea, then Ada, as CONFIRMED orders",
    )
    story.claim(
        all(p["order"]["items"][0]["unitPrice"] == "18.00" for p in served)
        and [p["order"]["total"] for p in served] == ["54.00", "18.00"],
        "both pay the price when they prebooked (18.00), not today's 21.00",
    )
    story.claim(
        (book["stockQuantity"], book["pendingPrebookQuantity"]) == (0, 0),
        "the queue took every copy",
    )


# --- Orders ------------------------------------------------------------------------------


@step("admin-orders")
async def admin_orders(story: Story) -> None:
    listed = payload(await story.example("admin-orders", token=story.refs["admin"]))
    edges = listed["edges"]
    story.claim(
        len(edges) == 1
        and edges[0]["node"]["user"]["email"] == "ada@example.com"
        and edges[0]["node"]["total"] == "18.00",
        "orders filters by user and status: Ada's served prebook",
    )


plays("ship", token="admin")
plays("deliver", token="admin")
plays("bad-transition", token="admin", error="ORDER_INVALID_STATUS_TRANSITION")
plays("restock-tide", token="admin")
plays("release-tide", token="admin")


@step("fulfil-prebooks")
async def fulfil_prebooks(story: Story) -> None:
    result = payload(await story.example("fulfil-prebooks", token=story.refs["admin"]))
    served, book = result["fulfilledPrebooks"], result["book"]
    story.claim(
        [(p["id"], p["quantity"], p["status"]) for p in served]
        == [(payload(story.runs["bea-prebook-tide"].response)["id"], 2, "FULFILLED")],
        "Bea, first in the queue since Ada cancelled, gets her 2 copies",
    )
    story.claim(
        (book["stockQuantity"], book["pendingPrebookQuantity"], book["availability"])
        == (1, 0, "LOW_STOCK"),
        "the copy left over goes on sale",
    )


# --- Reviews -----------------------------------------------------------------------------


@step("book-reviews")
async def book_reviews(story: Story) -> None:
    book = payload(await story.example("book-reviews"))
    reviews, summary = book["reviews"], book["ratingSummary"]
    story.claim(
        summary["count"] >= 100 and reviews["totalCount"] == summary["count"],
        "a few demo books have hundreds of reviews; totalCount is the summary's count",
    )
    helpful = [e["node"]["helpfulCount"] for e in reviews["edges"]]
    story.claim(
        sum(summary["histogram"]) == summary["count"] and helpful == sorted(helpful, reverse=True),
        "the histogram adds up to the count; MOST_HELPFUL puts the most found helpful first",
    )


@step("write-review")
async def write_review(story: Story) -> None:
    review = payload(await story.example("write-review", token=story.refs["ada"]))
    story.claim(
        review["verifiedPurchase"] is True and review["authorName"] == "Ada R.",
        "a delivered prebook makes a verified purchase; the name is first name and initial",
    )
    story.claim(
        review["book"]["ratingSummary"] == {"average": 5.0, "count": 1},
        "the summary counts the review at once",
    )


plays("review-again", token="ada", error="REVIEW_ALREADY_EXISTS")


@step("mark-helpful")
async def mark_helpful(story: Story) -> None:
    voted = payload(await story.example("mark-helpful", token=story.refs["bea"]))
    again = payload(await story.again("mark-helpful", token=story.refs["bea"]))
    story.claim(voted["helpfulCount"] == again["helpfulCount"] == 1, "a reader's vote counts once")
    own = await story.again("mark-helpful", token=story.refs["ada"])
    story.claim(
        first_error(own)["extensions"]["code"] == "REVIEW_NOT_ALLOWED",
        "nobody votes on their own review",
    )


plays("top-rated")
plays("hide-review", token="admin")


@step("my-review")
async def my_review(story: Story) -> None:
    book = payload(await story.example("my-review", token=story.refs["ada"]))
    story.claim(
        book["ratingSummary"]["count"] == 0 and book["myReview"]["status"] == "HIDDEN",
        "a hidden review leaves the summary and stays visible to its author",
    )
    public = data(await story.gql(story.document("my-review"), story.variables("my-review")))
    story.claim(public["book"]["myReview"] is None, "anonymous readers have no review")


plays("hidden-reviews", token="admin")


# --- The tests ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def story(app: FastAPI, settings: Settings) -> AsyncIterator[Story]:
    """The story, committed for real on a freshly seeded database (emptied, its IDs
    restarted, the demo catalog `poetry run dev` loads): its steps build on each other.
    Every table is emptied at the end."""
    database: Database = app.state.database
    try:
        await truncate_all(database)
        async with database.sessionmaker() as session, session.begin():
            assert await seed_if_empty(session) is not None
            await seed_reviews(session, settings)  # as `poetry run dev` does after the books
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            played = Story(GraphQL(http), read_guide(guide_text()), STEPS)
            played.database, played.settings = database, settings
            played.refs["mailbox"] = Mailbox(database, settings)
            yield played
            played.write_transcript()
    finally:
        await truncate_all(database)


def test_the_api_guide_is_well_formed() -> None:
    text = guide_text()
    headings = re.findall(r"^### (\w+)", blank_code(text), re.M)
    assert [h for h in headings if h in SECTIONS] == list(SECTIONS), headings
    guide = read_guide(text)
    for name, example in guide.items():
        assert example.query is not None, f"{name}: no ```graphql block"
        assert example.response is not None, f"{name}: no documented response"
    assert list(guide) == list(STEPS), "every example has a step here, in the guide's order"


@pytest.mark.committing
@pytest.mark.parametrize("name", list(STEPS))
async def test_example(story: Story, name: str) -> None:
    problems = await story.play(name)
    assert not problems, f"example {name!r} and the API disagree:\n" + "\n".join(problems)
