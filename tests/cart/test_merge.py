"""Merging a guest cart into an account's: at sign-in (`cartToken` of login and register) or
later (`mergeGuestCart`). Quantities add up, capped at the line and cart limits and the
stock, with a warning per capped line; the guest cart is then gone; merging again is a
no-op. (The concurrent merge is in tests/cart/test_concurrency.py.)"""

from __future__ import annotations

from typing import Any

from tests.books.factory import Catalog
from tests.support import (
    CART,
    CART_FIELDS,
    LOGIN,
    PASSWORD,
    REGISTER,
    GraphQL,
    add_to_cart,
    checkout,
    code,
    data,
    error,
    new_guest_cart,
    register,
    unique_email,
)

ADD = """mutation($book: ID!, $quantity: Int!) {
  addToCart(bookId: $book, quantity: $quantity) { totalQuantity } }"""
MERGE = f"mutation($t: String!) {{ mergeGuestCart(cartToken: $t) {{ {CART_FIELDS} }} }}"
LOGIN_WITH_CART = f"""mutation($input: LoginInput!) {{
  login(input: $input) {{ accessToken cart {{ {CART_FIELDS} }} }} }}"""
REGISTER_WITH_CART = f"""mutation($input: RegisterInput!) {{
  register(input: $input) {{ accessToken user {{ email }} cart {{ {CART_FIELDS} }} }} }}"""


async def fill(gql: GraphQL, token: str, lines: list[tuple[str, int]], *, guest: bool) -> None:
    for book, quantity in lines:
        kind: dict[str, Any] = {"headers": {"X-Cart-Token": token}} if guest else {"token": token}
        assert "errors" not in await gql(ADD, {"book": book, "quantity": quantity}, **kind)


def lines_of(cart: dict[str, Any]) -> list[tuple[str, int]]:
    return [(item["book"]["title"], item["quantity"]) for item in cart["items"]]


def warned(cart: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(w["code"], w["bookId"]) for w in cart["warnings"]]


async def test_merge_adds_quantities_and_caps_what_does_not_fit(
    catalog: Catalog, gql: GraphQL
) -> None:
    both = await catalog.book("In both carts", stock=50)
    only_guest = await catalog.book("Only in the guest cart", stock=50)
    scarce = await catalog.book("Scarce", stock=6)
    plenty = await catalog.book("Plenty", stock=500)
    customer = (await register(gql))["accessToken"]
    await fill(gql, customer, [(both["id"], 2), (scarce["id"], 4), (plenty["id"], 90)], guest=False)
    guest = await new_guest_cart(gql)
    await fill(
        gql,
        guest,
        [(both["id"], 3), (only_guest["id"], 1), (scarce["id"], 5), (plenty["id"], 20)],
        guest=True,
    )

    merged = data(await gql(MERGE, {"t": guest}, token=customer))["mergeGuestCart"]
    assert lines_of(merged) == [
        ("In both carts", 5),
        ("Scarce", 6),  # 4 + 5 wanted, 6 for sale
        ("Plenty", 99),  # 90 + 20 wanted, 99 per line
        ("Only in the guest cart", 1),
    ]
    assert warned(merged) == [
        ("CART_OUT_OF_STOCK", scarce["id"]),
        ("CART_QUANTITY_INVALID", plenty["id"]),
    ]
    stock_warning, line_warning = merged["warnings"]
    assert stock_warning["availableQuantity"] == 6
    assert "capped at 6" in stock_warning["message"]
    assert "capped at 99" in line_warning["message"]
    # The guest cart is gone, and the capped warnings were about the merge only.
    assert code(await gql(CART, headers={"X-Cart-Token": guest})) == "CART_TOKEN_INVALID"
    assert data(await gql(CART, token=customer))["cart"]["warnings"] == []


async def test_lines_that_cannot_be_bought_are_left_out(catalog: Catalog, gql: GraphQL) -> None:
    withdrawn = await catalog.book("Withdrawn", stock=5)
    sold_out = await catalog.book("Sold out meanwhile", stock=2)
    fine = await catalog.book("Fine", stock=5)
    guest = await new_guest_cart(gql)
    await fill(gql, guest, [(withdrawn["id"], 1), (sold_out["id"], 2), (fine["id"], 1)], guest=True)
    await catalog.archive(withdrawn["id"])
    rival = (await register(gql))["accessToken"]
    await add_to_cart(gql, rival, sold_out["id"], 2)
    assert "errors" not in await checkout(gql, rival)
    customer = (await register(gql))["accessToken"]
    merged = data(await gql(MERGE, {"t": guest}, token=customer))["mergeGuestCart"]
    assert lines_of(merged) == [("Fine", 1)]
    assert warned(merged) == [
        ("BOOK_NOT_FOUND", withdrawn["id"]),
        ("CART_OUT_OF_STOCK", sold_out["id"]),
    ]
    assert all("left out" in w["message"] for w in merged["warnings"])


async def test_the_cart_limit_caps_a_merge(catalog: Catalog, gql: GraphQL) -> None:
    author = await catalog.author()
    books = [await catalog.book(f"Book {i}", authors=[author]) for i in range(52)]
    customer = (await register(gql))["accessToken"]
    await fill(gql, customer, [(book["id"], 1) for book in books[:49]], guest=False)
    guest = await new_guest_cart(gql)
    await fill(gql, guest, [(books[0]["id"], 1), *((b["id"], 1) for b in books[49:])], guest=True)
    merged = data(await gql(MERGE, {"t": guest}, token=customer))["mergeGuestCart"]
    assert len(merged["items"]) == 50
    assert merged["items"][0]["quantity"] == 2  # a line already there always has room
    assert lines_of(merged)[-1] == ("Book 49", 1)
    assert warned(merged) == [
        ("CART_LIMIT_EXCEEDED", books[50]["id"]),
        ("CART_LIMIT_EXCEEDED", books[51]["id"]),
    ]


async def test_merging_again_is_a_no_op_and_another_account_cannot(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book(stock=10)
    guest = await new_guest_cart(gql)
    await fill(gql, guest, [(book["id"], 2)], guest=True)
    customer = (await register(gql))["accessToken"]
    first = data(await gql(MERGE, {"t": guest}, token=customer))["mergeGuestCart"]
    again = data(await gql(MERGE, {"t": guest}, token=customer))["mergeGuestCart"]
    assert first["totalQuantity"] == again["totalQuantity"] == 2  # a retry merges nothing twice
    someone_else = (await register(gql))["accessToken"]
    refused = error(await gql(MERGE, {"t": guest}, token=someone_else))
    assert refused["extensions"] == {"code": "CART_TOKEN_INVALID", "field": "cartToken"}
    assert data(await gql(CART, token=someone_else))["cart"]["items"] == []


async def test_merge_needs_a_signed_in_user_and_a_real_token(gql: GraphQL) -> None:
    guest = await new_guest_cart(gql)
    assert code(await gql(MERGE, {"t": guest})) == "AUTH_REQUIRED"
    customer = (await register(gql))["accessToken"]
    unknown = error(await gql(MERGE, {"t": "no-such-token"}, token=customer))
    assert unknown["extensions"] == {"code": "CART_TOKEN_INVALID", "field": "cartToken"}
    too_long = error(await gql(MERGE, {"t": "x" * 129}, token=customer))
    assert too_long["extensions"]["code"] == "VALIDATION_ERROR"
    assert too_long["extensions"]["field"] == "cartToken"


async def test_login_with_a_cart_token_merges_it(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book("Chosen as a guest", price="10.00", stock=10)
    account = await register(gql)
    guest = await new_guest_cart(gql)
    await fill(gql, guest, [(book["id"], 2)], guest=True)
    # The price changed since the guest chose it: the merged line still says so.
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {price: "11.00"}) { id } }',
        {"id": book["id"]},
    )
    credentials = {"email": account["user"]["email"], "password": PASSWORD, "cartToken": guest}
    signed_in = data(await gql(LOGIN_WITH_CART, {"input": credentials}))["login"]
    assert lines_of(signed_in["cart"]) == [("Chosen as a guest", 2)]
    assert warned(signed_in["cart"]) == [("CART_PRICE_CHANGED", book["id"])]
    cart = data(await gql(CART, token=signed_in["accessToken"]))["cart"]
    assert cart["id"] == signed_in["cart"]["id"]
    assert code(await gql(CART, headers={"X-Cart-Token": guest})) == "CART_TOKEN_INVALID"
    # Signing in again with the same token (another tab) merges nothing twice.
    again = data(await gql(LOGIN_WITH_CART, {"input": credentials}))["login"]
    assert lines_of(again["cart"]) == [("Chosen as a guest", 2)]
    assert warned(again["cart"]) == [("CART_PRICE_CHANGED", book["id"])]


async def test_register_with_a_cart_token_adopts_the_guest_cart(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book(stock=10)
    guest = await new_guest_cart(gql)
    await fill(gql, guest, [(book["id"], 3)], guest=True)
    new = {"email": unique_email(), "password": PASSWORD, "fullName": "New", "cartToken": guest}
    registered = data(await gql(REGISTER_WITH_CART, {"input": new}))["register"]
    assert registered["cart"]["totalQuantity"] == 3
    assert registered["cart"]["warnings"] == []


async def test_a_stale_cart_token_never_stops_a_sign_in(gql: GraphQL) -> None:
    account = await register(gql)
    credentials = {"email": account["user"]["email"], "password": PASSWORD, "cartToken": "gone"}
    signed_in = data(await gql(LOGIN_WITH_CART, {"input": credentials}))["login"]
    assert signed_in["accessToken"]
    assert warned(signed_in["cart"]) == [("CART_TOKEN_INVALID", None)]
    # A wrong password is still just that, whatever the token.
    wrong = {**credentials, "password": "not the password"}
    assert code(await gql(LOGIN, {"input": wrong})) == "AUTH_INVALID_CREDENTIALS"
    fresh = {"email": unique_email(), "password": PASSWORD, "fullName": "N", "cartToken": "gone"}
    assert "errors" not in await gql(REGISTER, {"input": fresh})


async def test_the_not_merged_warning_lasts_until_the_merge(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=10)
    guest = await new_guest_cart(gql)
    await fill(gql, guest, [(book["id"], 1)], guest=True)
    customer = (await register(gql))["accessToken"]
    both = {"X-Cart-Token": guest}
    before = data(await gql(CART, token=customer, headers=both))["cart"]
    assert warned(before) == [("CART_GUEST_NOT_MERGED", None)]
    merged = data(await gql(MERGE, {"t": guest}, token=customer, headers=both))["mergeGuestCart"]
    assert merged["warnings"] == []
    after = data(await gql(CART, token=customer, headers=both))["cart"]
    assert (after["totalQuantity"], after["warnings"]) == (1, [])
