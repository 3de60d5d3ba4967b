"""The README's API guide, replayed: it must tell the truth.

Every worked example of the guide (marked `<!-- example: NAME -->`) is a test of its own,
`test_example[NAME]`, run against the app in process in the order of the guide's story,
with the GraphQL document written in the guide. Its documented variables and response must
have the shape of what was sent and received (tests/support/shape.py), and what the prose
says about the example's response must hold (the claims). The behaviour the prose describes
beyond its examples is tested by the domains' tests, not here. README_TRANSCRIPT=PATH writes
every example's variables and response there (JSON), to refresh the guide's responses.

The story: Ada fills a guest cart, registers with it, shops, keeps a wishlist and prebooks; Bea competes for the same
books; an admin adds and restocks books and moves orders along. Each step plays one
example and leaves in `story.refs` what the steps after it need.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.books.seed import seed_catalog
from app.core.config import Settings
from app.db.session import Database
from app.mail.links import RESET_PASSWORD, UNSUBSCRIBE, VERIFY_EMAIL
from app.mail.render import compose
from app.outbox.models import OutboxMessage
from app.outbox.repository import ROW
from tests.conftest import new_admin, truncate_all
from tests.support import RESTOCK, GraphQL, add_to_cart, checkout, data, login, prebook, register
from tests.support.guide import blank_code, guide_text, read_guide
from tests.support.shape import DECIMAL
from tests.support.story import Steps, Story, first_error

SECTIONS = ("Conventions", "Guest", "Accounts", "Shopping", "Wishlist", "Prebooks", "Admin")

# Operations the story needs besides the guide's own.
STOCK = "query($id: ID!) { book(id: $id) { stockQuantity } }"
AUTHORS = "query($id: ID!) { book(id: $id) { authors { id } } }"
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) }"
UPDATE_BOOK = (
    "mutation($id: ID!, $input: UpdateBookInput!) { updateBook(id: $id, input: $input) { id } }"
)
UPDATE_CART_ITEM = """mutation($id: ID!, $q: Int!) {
  updateCartItem(bookId: $id, quantity: $q) { totalQuantity } }"""
REMOVE_FROM_CART = "mutation($id: ID!) { removeFromCart(bookId: $id) { id } }"
CREATE_BOOK = "mutation($input: CreateBookInput!) { createBook(input: $input) { id } }"
SEARCH = """query($search: String!) { books(first: 20, filter: {search: $search}) {
  edges { node { id availability } } } }"""
SERVED_ORDER = "{ myPrebooks(first: 1, status: FULFILLED) { edges { node { order { id } } } } }"
IN_STOCK = "{ books(first: 1, filter: {inStock: true}) { edges { node { id title } } } }"
GUEST_CART = "{ cart { id } }"
WISHLIST_ALERTS = "{ wishlist(first: 5) { edges { node { notifyWhenAvailable } } } }"

ADA_PASSWORD = "correct horse battery staple"
ADA_NEW_PASSWORD = "a longer passphrase of mine"
ADA_RESET_PASSWORD = "the one I will remember"
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

STEPS = Steps()
step = STEPS.step


class Mailbox:
    """The story's email: the newest message queued to an address, rendered as the sender
    renders it (tests/mail has the SMTP side)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database, self.settings = database, settings

    async def token(self, to: str, path: str) -> str:
        async with self.database.sessionmaker() as session:
            statement = (
                select(*ROW.columns())
                .where(OutboxMessage.payload["to"].astext == to)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
            row = ROW.of((await session.execute(statement)).one())
        url = compose(self.settings, row).links
        found = [link for link in url.values() if urlsplit(link).path == path]
        assert found, f"no link to {path} in the last email to {to}"
        return parse_qs(urlsplit(found[0]).query)["token"][0]


def plays(name: str, *, token: str, **variables: str) -> None:
    """A step that only plays its example, as `token`, its variables named refs."""

    async def play(story: Story) -> None:
        values = {key: story.refs[ref] for key, ref in variables.items()}
        await story.example(name, values, token=story.refs[token])

    step(name)(play)


def decimal(value: str) -> Decimal:
    assert DECIMAL.match(value), f"not a Decimal string: {value!r}"
    return Decimal(value)


def isbn13(number: int) -> str:
    digits = f"9798{number:08d}"
    check = (10 - sum((1, 3)[i % 2] * int(c) for i, c in enumerate(digits)) % 10) % 10
    return digits + str(check)


def wanted(book_id: str, quantity: int = 1) -> dict[str, Any]:
    """Ada's prebook of `book_id`."""
    return {"input": {"bookId": book_id, "quantity": quantity, "shippingAddress": ADA_ADDRESS}}


async def stock_of(story: Story, book_id: str) -> int:
    book = data(await story.gql(STOCK, {"id": book_id}, token=story.refs["admin"]))["book"]
    stock: int = book["stockQuantity"]
    return stock


# --- Conventions -------------------------------------------------------------------------


@step("hello")
async def hello(story: Story) -> None:
    result = await story.example("hello", headers={"X-Query-Cost": "1"})
    cost = result.get("extensions", {}).get("cost", {})
    story.claim(
        isinstance(cost.get("requested"), int) and cost.get("limit") == 10000,
        "X-Query-Cost: 1 reports extensions.cost (limit 10000)",
    )


@step("too-costly")
async def too_costly(story: Story) -> None:
    refused = first_error(await story.example("too-costly", error="QUERY_TOO_COMPLEX"))
    story.claim(
        "path" not in refused and refused["extensions"]["cost"] > refused["extensions"]["limit"],
        "an operation over the cost limit doesn't run, and says its cost and the limit",
    )


@step("auth-required")
async def auth_required(story: Story) -> None:
    refused = await story.example("auth-required", error="AUTH_REQUIRED")
    story.claim(
        refused["data"]["myOrders"] is None and refused["data"]["books"]["totalCount"] > 0,
        "a private root field refused to an anonymous caller nulls only itself",
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
    created = data(await story.example("create-guest-cart"))["createGuestCart"]
    story.refs.update(guest_token=created["cartToken"], guest_cart=created["cart"]["id"])
    story.claim(
        len(created["cartToken"]) >= 43 and created["cart"]["totalQuantity"] == 0,
        "createGuestCart answers a long random token and an empty cart",
    )


@step("guest-add-to-cart")
async def guest_add_to_cart(story: Story) -> None:
    book = data(await story.gql(IN_STOCK))["books"]["edges"][0]["node"]
    story.refs.update(guest_book=book["id"], guest_book_title=book["title"])
    headers = {"X-Cart-Token": story.refs["guest_token"]}
    added = data(await story.example("guest-add-to-cart", {"bookId": book["id"]}, headers=headers))
    story.claim(
        added["addToCart"]["id"] == story.refs["guest_cart"]
        and added["addToCart"]["totalQuantity"] == 1,
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


@step("register-invalid")
async def register_invalid(story: Story) -> None:
    variables = {"input": {"email": "ada@", "password": "short", "fullName": "Ada Reader"}}
    bad = await story.example("register-invalid", variables, error="VALIDATION_ERROR")
    extensions = first_error(bad)["extensions"]
    story.claim(
        extensions["field"] == "input.email"
        and [e["loc"] for e in extensions["errors"]] == [["input", "email"], ["input", "password"]],
        "VALIDATION_ERROR names the first field and lists every problem",
    )


@step("register")
async def register_ada(story: Story) -> None:
    ada = {
        "email": "Ada@Example.com",
        "password": ADA_PASSWORD,
        "fullName": "Ada Reader",
        "cartToken": story.refs["guest_token"],
    }
    registered = data(await story.example("register", {"input": ada}))["register"]
    story.refs.update(ada_email=registered["user"]["email"], ada_id=registered["user"]["id"])
    story.claim(
        [(i["quantity"], i["book"]["title"]) for i in registered["cart"]["items"]]
        == [(1, story.refs["guest_book_title"])]
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
    token = await story.refs["mailbox"].token(story.refs["ada_email"], VERIFY_EMAIL)
    verified = data(await story.example("verify-email", {"token": token}))["verifyEmail"]
    story.claim(verified["emailVerified"] is True, "the link's token verifies the address")
    again = await story.gql(story.document("verify-email"), {"token": token})
    story.claim(
        first_error(again)["extensions"]["code"] == "ACCOUNT_TOKEN_INVALID",
        "a link works once",
    )


@step("login")
async def login_ada(story: Story) -> None:
    credentials = {"email": story.refs["ada_email"], "password": ADA_PASSWORD}
    signed_in = data(await story.example("login", {"input": credentials}))["login"]
    story.refs["ada_refresh"] = signed_in["refreshToken"]


@step("refresh")
async def refresh(story: Story) -> None:
    old = story.refs["ada_refresh"]
    rotated = data(await story.example("refresh", {"refreshToken": old}))["refreshToken"]
    story.claim(rotated["refreshToken"] != old, "each refresh returns a new refresh token")


@step("session-ended")
async def session_ended(story: Story) -> None:
    session = data(await login(story.gql, story.refs["ada_email"], ADA_PASSWORD))["login"]
    data(await story.gql(LOGOUT, {"t": session["refreshToken"]}))
    await story.example("session-ended", token=session["accessToken"], error="AUTH_INVALID_TOKEN")


@step("update-me")
async def update_me(story: Story) -> None:
    email = story.refs["ada_email"]
    # Ada's session from here on: changePassword (next) keeps the one it is called from.
    story.refs["ada"] = data(await login(story.gql, email, ADA_PASSWORD))["login"]["accessToken"]
    variables = {"input": {"fullName": "Ada R. Reader"}}
    renamed = data(await story.example("update-me", variables, token=story.refs["ada"]))
    story.claim(
        renamed["updateMe"]["fullName"] == "Ada R. Reader"
        and renamed["updateMe"]["email"] == email,
        "updateMe changes only the fields sent",
    )


@step("change-email")
async def change_email(story: Story) -> None:
    change = {"email": "ada.reader@example.com", "currentPassword": ADA_PASSWORD}
    changed = data(await story.example("change-email", {"input": change}, token=story.refs["ada"]))
    story.claim(
        changed["updateMe"]["email"] == story.refs["ada_email"]
        and changed["updateMe"]["pendingEmail"] == "ada.reader@example.com",
        "the email stays until the link sent to the new address is followed",
    )


@step("change-password")
async def change_password(story: Story) -> None:
    change = {"currentPassword": ADA_PASSWORD, "newPassword": ADA_NEW_PASSWORD}
    await story.example("change-password", {"input": change}, token=story.refs["ada"])


@step("request-password-reset")
async def request_password_reset(story: Story) -> None:
    ada = {"email": story.refs["ada_email"]}
    asked = data(await story.example("request-password-reset", ada))
    unknown = data(await story.again("request-password-reset", {"email": "nobody@example.com"}))
    story.claim(
        asked == unknown == {"requestPasswordReset": True},
        "the same answer whether an account has the address or not",
    )


@step("reset-password")
async def reset_password(story: Story) -> None:
    token = await story.refs["mailbox"].token(story.refs["ada_email"], RESET_PASSWORD)
    reset = {"input": {"token": token, "newPassword": ADA_RESET_PASSWORD}}
    data(await story.example("reset-password", reset))
    ended = await story.gql("{ me { id } }", token=story.refs["ada"])
    story.claim(
        first_error(ended)["extensions"]["code"] == "AUTH_INVALID_TOKEN",
        "a reset ends every session",
    )
    signed_in = await login(story.gql, story.refs["ada_email"], ADA_RESET_PASSWORD)
    story.refs["ada"] = data(signed_in)["login"]["accessToken"]


@step("create-address")
async def create_address(story: Story) -> None:
    saved = data(
        await story.example("create-address", {"input": ADA_ADDRESS}, token=story.refs["ada"])
    )["createAddress"]
    story.refs["ada_home"] = saved["id"]


@step("my-addresses")
async def my_addresses(story: Story) -> None:
    me = data(await story.example("my-addresses", token=story.refs["ada"]))["me"]
    story.claim(
        [a["id"] for a in me["addresses"]] == [story.refs["ada_home"]]
        and me["defaultAddress"]["id"] == story.refs["ada_home"],
        "the first address saved is the default",
    )


# --- Shopping ----------------------------------------------------------------------------


@step("browse")
async def browse(story: Story) -> None:
    fantasy = data(await story.gql('{ genre(slug: "fantasy") { id } }'))["genre"]["id"]
    variables = {
        "filter": {"genreIds": [fantasy], "inStock": True, "maxPrice": "20.00"},
        "orderBy": {"field": "PRICE", "direction": "ASC"},
    }
    page = data(await story.example("browse", variables))["books"]
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
    variables = {"filter": {"search": "kyoto library"}}
    edges = data(await story.example("search", variables))["books"]["edges"]
    top = edges[0]["node"]
    story.refs.update(kyoto=top["id"], runner_up=edges[1]["node"]["id"])
    story.claim(
        "kyoto" in top["title"].lower() and "library" in top["title"].lower(),
        "the best match comes first",
    )


@step("book")
async def book(story: Story) -> None:
    kyoto = story.refs["kyoto"]
    detail = await story.example(
        "book", {"id": kyoto}, token=story.refs["ada"], error="AUTH_FORBIDDEN"
    )
    shown = detail["data"]["book"]
    story.claim(
        shown is not None
        and shown["id"] == kyoto
        and shown["stockQuantity"] is None
        and shown["inWishlist"] is False
        and first_error(detail)["path"] == ["book", "stockQuantity"],
        "stockQuantity answers AUTH_FORBIDDEN to customers; the rest of the book is there",
    )


@step("nodes")
async def nodes(story: Story) -> None:
    kyoto = story.refs["kyoto"]
    author = data(await story.gql(AUTHORS, {"id": kyoto}))["book"]["authors"][0]["id"]
    unknown = base64.b64encode(b"Book:999999").decode()
    variables = {"id": kyoto, "ids": [story.refs["runner_up"], author, unknown]}
    found = data(await story.example("nodes", variables))
    story.claim(
        found["node"]["id"] == kyoto
        and [n and n["__typename"] for n in found["nodes"]] == ["Book", "Author", None],
        "node fetches by global ID; nodes keeps the order, null for unknown IDs",
    )


@step("remove-from-cart")
async def remove_from_cart(story: Story) -> None:
    variables = {"bookId": story.refs["guest_book"]}
    emptied = data(await story.example("remove-from-cart", variables, token=story.refs["ada"]))
    story.claim(
        emptied["removeFromCart"]["items"] == [],
        "removeFromCart takes the merged book out again",
    )


@step("add-to-cart")
async def add_kyoto_to_cart(story: Story) -> None:
    kyoto = story.refs["kyoto"]
    stock = await stock_of(story, kyoto)
    assert stock >= 2, f"the story needs 2+ copies of the best match, there are {stock}"
    story.refs["kyoto_stock"] = stock
    variables = {"bookId": kyoto, "quantity": 2}
    added = data(await story.example("add-to-cart", variables, token=story.refs["ada"]))
    line = added["addToCart"]["items"][0]
    story.refs["kyoto_price"] = line["unitPrice"]
    story.claim(
        added["addToCart"]["totalQuantity"] == 2
        and decimal(line["lineTotal"]) == 2 * decimal(line["unitPrice"])
        and added["addToCart"]["warnings"] == [],
        "addToCart answers the whole cart",
    )


@step("cart-warning")
async def cart_warning(story: Story) -> None:
    gql = story.gql
    # Meanwhile another customer, Bea, buys all copies but one.
    bea = (await register(gql, "bea@example.com", BEA_PASSWORD, "Bea Booker"))["accessToken"]
    story.refs["bea"] = bea
    kyoto = story.refs["kyoto"]
    data(await add_to_cart(gql, bea, kyoto, story.refs["kyoto_stock"] - 1))
    story.refs["bea_order"] = data(await checkout(gql, bea, address=BEA_ADDRESS))["checkout"]["id"]
    cart = data(await story.example("cart-warning", token=story.refs["ada"]))["cart"]
    story.claim(
        [(w["code"], w["bookId"], w["availableQuantity"]) for w in cart["warnings"]]
        == [("CART_OUT_OF_STOCK", kyoto, 1)],
        "the cart warns that only 1 copy is left",
    )


@step("checkout-out-of-stock")
async def checkout_out_of_stock(story: Story) -> None:
    order = {"idempotencyKey": f"order-{uuid.uuid4()}", "shippingAddress": ADA_ADDRESS}
    story.refs["order_input"] = {"input": order}
    short = await story.example(
        "checkout-out-of-stock",
        {"input": order},
        token=story.refs["ada"],
        error="CART_OUT_OF_STOCK",
    )
    story.claim(
        first_error(short)["extensions"]["lines"]
        == [{"bookId": story.refs["kyoto"], "requested": 2, "available": 1}],
        "checkout refuses, saying what is short, by global ID",
    )


@step("checkout")
async def checkout_kyoto(story: Story) -> None:
    ada = story.refs["ada"]
    # Ada takes the one copy left (the warning goes), and checks out once more.
    data(await story.gql(UPDATE_CART_ITEM, {"id": story.refs["kyoto"], "q": 1}, token=ada))
    order = data(await story.example("checkout", story.refs["order_input"], token=ada))["checkout"]
    story.refs["kyoto_order"] = order["id"]
    story.claim(
        order["status"] == "PENDING"
        and order["total"] == order["subtotal"] == story.refs["kyoto_price"]
        and order["currency"] == "EUR",
        "checkout creates a PENDING order at the current price, total = subtotal, in EUR",
    )


@step("checkout-retry")
async def checkout_retry(story: Story) -> None:
    variables = story.refs["order_input"]
    retry = data(await story.example("checkout-retry", variables, token=story.refs["ada"]))
    story.claim(
        retry["checkout"]["id"] == story.refs["kyoto_order"],
        "a retry with the same key returns the same order",
    )


@step("my-orders")
async def my_orders(story: Story) -> None:
    mine = data(await story.example("my-orders", token=story.refs["ada"]))["myOrders"]
    story.claim(
        [edge["node"]["id"] for edge in mine["edges"]] == [story.refs["kyoto_order"]]
        and mine["totalCount"] == 1,
        "myOrders lists the order",
    )


plays("cancel-order", token="ada", id="kyoto_order")


# --- Wishlist ----------------------------------------------------------------------------


@step("add-to-wishlist")
async def add_to_wishlist(story: Story) -> None:
    # Two of the other books the search finds (the best match is the one Ada bought).
    results = data(await story.gql(SEARCH, {"search": "kyoto library"}))["books"]["edges"]
    others = [edge["node"] for edge in results[1:]]
    buyable = next(b for b in others if b["availability"] in ("IN_STOCK", "LOW_STOCK"))
    sold_out = next(b for b in others if b["availability"] == "OUT_OF_STOCK")
    story.refs.update(buyable=buyable["id"], sold_out=sold_out["id"])
    variables = {"bookId": sold_out["id"]}
    await story.example("add-to-wishlist", variables, token=story.refs["ada"])


@step("wishlist")
async def wishlist(story: Story) -> None:
    ada, buyable = story.refs["ada"], story.refs["buyable"]
    # After also saving a book in stock:
    data(await story.again("add-to-wishlist", {"bookId": buyable}, token=ada))
    listed = data(await story.example("wishlist", token=ada))["wishlist"]
    story.claim(
        [edge["node"]["book"]["id"] for edge in listed["edges"]]
        == [buyable, story.refs["sold_out"]],
        "the wishlist lists newest first",
    )


@step("move-to-cart")
async def move_to_cart(story: Story) -> None:
    ada, buyable = story.refs["ada"], story.refs["buyable"]
    moved = data(await story.example("move-to-cart", {"bookId": buyable}, token=ada))
    story.claim(
        [
            (i["book"]["id"], i["book"]["inWishlist"])
            for i in moved["moveWishlistItemToCart"]["items"]
        ]
        == [(buyable, False)],
        "the moved book is in the cart and out of the wishlist",
    )
    data(await story.gql(REMOVE_FROM_CART, {"id": buyable}, token=ada))


@step("wishlist-notification")
async def wishlist_notification(story: Story) -> None:
    variables = {"bookId": story.refs["sold_out"], "enabled": True}
    item = data(await story.example("wishlist-notification", variables, token=story.refs["ada"]))
    story.claim(
        item["setWishlistNotification"]["notifyWhenAvailable"] is True,
        "the alert is on",
    )


@step("unsubscribe")
async def unsubscribe(story: Story) -> None:
    # The sold-out book comes back: the alert is queued with the restock.
    restocked = {"book": story.refs["sold_out"], "quantity": 3}
    data(await story.gql(RESTOCK, restocked, token=story.refs["admin"]))
    token = await story.refs["mailbox"].token(story.refs["ada_email"], UNSUBSCRIBE)
    data(await story.example("unsubscribe", {"token": token}))  # no access token
    listed = data(await story.gql(WISHLIST_ALERTS, token=story.refs["ada"]))["wishlist"]
    story.claim(
        all(not edge["node"]["notifyWhenAvailable"] for edge in listed["edges"]),
        "the link turned the alert off",
    )


# --- Admin: the books the Prebooks section needs ------------------------------------------


@step("create-author-genre")
async def create_author_genre(story: Story) -> None:
    variables = {
        "author": {"name": "Maren Holt", "bio": "Writes about the sea."},
        "genre": {"name": "Nautical Fiction", "description": "Ships, sailors and the sea."},
    }
    created = data(await story.example("create-author-genre", variables, token=story.refs["admin"]))
    story.refs.update(author=created["createAuthor"]["id"], genre=created["createGenre"]["id"])
    story.claim(
        created["createGenre"]["slug"] == "nautical-fiction", "the slug is derived from the name"
    )


@step("create-book")
async def create_book(story: Story) -> None:
    harbour = {
        "title": "The Harbour Keeper",
        "isbn13": "978-0-306-40615-7",
        "price": "18.00",
        "releaseDate": "2025-09-18",
        "authorIds": [story.refs["author"]],
        "genreIds": [story.refs["genre"]],
        "stockQuantity": 0,
        "publisher": "Tidewater Press",
    }
    variables = {"input": harbour}
    created = data(await story.example("create-book", variables, token=story.refs["admin"]))
    story.refs["harbour"] = created["createBook"]["id"]
    story.claim(
        created["createBook"]["isbn13"] == "9780306406157", "the ISBN is stored as 13 digits"
    )


# --- Prebooks ----------------------------------------------------------------------------


@step("prebook")
async def prebook_harbour(story: Story) -> None:
    harbour = story.refs["harbour"]
    # Bea prebooked 3 copies before Ada.
    bea_first = data(await prebook(story.gql, story.refs["bea"], harbour, 3, city="Cork"))
    story.refs["bea_harbour"] = bea_first["prebook"]["id"]
    queued = data(await story.example("prebook", wanted(harbour), token=story.refs["ada"]))
    story.refs["ada_harbour"] = queued["prebook"]["id"]
    story.claim(
        (
            queued["prebook"]["status"],
            queued["prebook"]["queuePosition"],
            queued["prebook"]["priceAtPrebook"],
        )
        == ("PENDING", 2, "18.00"),
        "Ada is second in the queue, at 18.00",
    )


@step("prebook-not-allowed")
async def prebook_not_allowed(story: Story) -> None:
    await story.example(
        "prebook-not-allowed",
        wanted(story.refs["buyable"]),
        token=story.refs["ada"],
        error="PREBOOK_NOT_ALLOWED",
    )


@step("prebook-exists")
async def prebook_exists(story: Story) -> None:
    exists = await story.example(
        "prebook-exists",
        wanted(story.refs["harbour"], 2),
        token=story.refs["ada"],
        error="PREBOOK_ALREADY_EXISTS",
    )
    story.claim(
        first_error(exists)["extensions"]["prebookId"] == story.refs["ada_harbour"],
        "PREBOOK_ALREADY_EXISTS names the waiting prebook by global ID",
    )


@step("my-prebooks")
async def my_prebooks(story: Story) -> None:
    gql, ada = story.gql, story.refs["ada"]
    tide = {
        "title": "The Tide Tables",
        "isbn13": isbn13(1),
        "price": "24.00",
        "releaseDate": (date.today() + timedelta(days=90)).isoformat(),
        "authorIds": [story.refs["author"]],
    }
    made = data(await gql(CREATE_BOOK, {"input": tide}, token=story.refs["admin"]))
    story.refs["tide"] = made["createBook"]["id"]
    # Ada, then Bea, prebook "The Tide Tables", out in three months.
    ada_tide = data(await story.again("prebook", wanted(story.refs["tide"]), token=ada))
    story.refs["ada_tide"] = ada_tide["prebook"]["id"]
    bea_tide = data(await prebook(gql, story.refs["bea"], story.refs["tide"], 2, city="Cork"))
    story.refs["bea_tide"] = bea_tide["prebook"]["id"]
    waiting = data(await story.example("my-prebooks", token=ada))["myPrebooks"]
    story.claim(
        [(e["node"]["id"], e["node"]["queuePosition"]) for e in waiting["edges"]]
        == [(story.refs["ada_tide"], 1), (story.refs["ada_harbour"], 2)],
        "myPrebooks: newest first, with live queue positions",
    )


plays("cancel-prebook", token="ada", id="ada_tide")


@step("update-book")
async def update_book(story: Story) -> None:
    variables = {"id": story.refs["harbour"], "input": {"price": "21.00", "subtitle": "A Novel"}}
    dearer = data(await story.example("update-book", variables, token=story.refs["admin"]))
    story.claim(
        (
            dearer["updateBook"]["price"],
            dearer["updateBook"]["subtitle"],
            dearer["updateBook"]["publisher"],
        )
        == ("21.00", "A Novel", "Tidewater Press"),
        "updateBook changes only the fields sent",
    )


@step("restock-partial")
async def restock_partial(story: Story) -> None:
    variables = {"bookId": story.refs["harbour"], "quantity": 2}
    partial = data(await story.example("restock-partial", variables, token=story.refs["admin"]))
    book = partial["restockBook"]["book"]
    story.claim(
        partial["restockBook"]["fulfilledPrebooks"] == []
        and (book["stockQuantity"], book["pendingPrebookQuantity"]) == (2, 4)
        and book["availability"] == "OUT_OF_STOCK",
        "2 copies don't cover Bea's 3: nobody is served, nobody jumps the queue",
    )


@step("held-copies")
async def held_copies(story: Story) -> None:
    held = await story.example(
        "held-copies",
        {"bookId": story.refs["harbour"], "quantity": 1},
        token=story.refs["ada"],
        error="CART_OUT_OF_STOCK",
    )
    story.claim(
        first_error(held)["extensions"]["availableQuantity"] == 0,
        "copies held for the queue are not for sale",
    )


@step("restock")
async def restock(story: Story) -> None:
    variables = {"bookId": story.refs["harbour"], "quantity": 2}
    restocked = data(await story.example("restock", variables, token=story.refs["admin"]))
    served = restocked["restockBook"]["fulfilledPrebooks"]
    book = restocked["restockBook"]["book"]
    story.claim(
        [(p["id"], p["status"], p["order"]["status"]) for p in served]
        == [
            (story.refs["bea_harbour"], "FULFILLED", "CONFIRMED"),
            (story.refs["ada_harbour"], "FULFILLED", "CONFIRMED"),
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
    mine = data(await story.gql(SERVED_ORDER, token=story.refs["ada"]))["myPrebooks"]["edges"]
    story.refs["ada_order"] = mine[0]["node"]["order"]["id"]


# --- Admin -------------------------------------------------------------------------------


@step("admin-orders")
async def admin_orders(story: Story) -> None:
    variables = {"filter": {"userId": story.refs["ada_id"], "status": "CONFIRMED"}}
    listed = data(await story.example("admin-orders", variables, token=story.refs["admin"]))
    edges = listed["orders"]["edges"]
    story.claim(
        [edge["node"]["id"] for edge in edges] == [story.refs["ada_order"]]
        and edges[0]["node"]["user"]["email"] == story.refs["ada_email"],
        "orders filters by user and status",
    )


@step("ship")
async def ship(story: Story) -> None:
    variables = {"id": story.refs["ada_order"], "status": "SHIPPED"}
    await story.example("ship", variables, token=story.refs["admin"])


@step("bad-transition")
async def bad_transition(story: Story) -> None:
    admin, order = story.refs["admin"], story.refs["ada_order"]
    data(await story.again("ship", {"id": order, "status": "DELIVERED"}, token=admin))
    await story.example(
        "bad-transition",
        {"id": order, "status": "CANCELLED"},
        token=admin,
        error="ORDER_INVALID_STATUS_TRANSITION",
    )


@step("fulfil-prebooks")
async def fulfil_prebooks(story: Story) -> None:
    gql, admin, tide = story.gql, story.refs["admin"], story.refs["tide"]
    # "The Tide Tables" got 3 copies before its release date, which has now come.
    data(await gql(RESTOCK, {"book": tide, "quantity": 3}, token=admin))
    today = {"releaseDate": date.today().isoformat()}
    data(await gql(UPDATE_BOOK, {"id": tide, "input": today}, token=admin))
    result = data(await story.example("fulfil-prebooks", {"bookId": tide}, token=admin))
    served, book = result["fulfilPrebooks"]["fulfilledPrebooks"], result["fulfilPrebooks"]["book"]
    story.claim(
        [(p["id"], p["quantity"], p["status"]) for p in served]
        == [(story.refs["bea_tide"], 2, "FULFILLED")],
        "Bea, first in the queue since Ada cancelled, gets her 2 copies",
    )
    story.claim(
        (book["stockQuantity"], book["pendingPrebookQuantity"], book["availability"])
        == (1, 0, "LOW_STOCK"),
        "the copy left over goes on sale",
    )


plays("archive-book", token="admin", id="sold_out")


# --- Last: it blocks Ada's sign-ins from this address for 15 minutes ----------------------


@step("login-throttled")
async def login_throttled(story: Story) -> None:
    wrong = {"input": {"email": story.refs["ada_email"], "password": "not my password"}}
    first = await story.again("login", wrong)
    story.claim(
        first_error(first)["message"] == "Invalid email or password",
        'a wrong password is "Invalid email or password"',
    )
    for _ in range(4):
        await story.again("login", wrong)
    throttled = await story.example("login-throttled", wrong, error="AUTH_TOO_MANY_ATTEMPTS")
    retry_after = first_error(throttled)["extensions"]["retryAfter"]
    story.claim(isinstance(retry_after, int) and 0 < retry_after <= 900, "retryAfter is in seconds")


# --- The tests ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def story(app: FastAPI, settings: Settings) -> AsyncIterator[Story]:
    """The story, on the demo catalog, committed for real: its steps build on each other.
    Every table is emptied at the end."""
    database: Database = app.state.database
    try:
        async with database.sessionmaker() as session, session.begin():
            await seed_catalog(session, books=240)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql = GraphQL(http)
            played = Story(gql, read_guide(guide_text()), STEPS)
            played.refs["admin"] = await new_admin(gql, database, settings)
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
    assert sorted(guide) == sorted(STEPS), "every example has a step here, and only those"


@pytest.mark.committing
@pytest.mark.parametrize("name", list(STEPS))
async def test_example(story: Story, name: str) -> None:
    problems = await story.play(name)
    assert not problems, f"example {name!r} and the API disagree:\n" + "\n".join(problems)
