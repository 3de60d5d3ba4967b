"""The address book, and orders shipped to a saved address (which keep a copy of it)."""

from __future__ import annotations

from sqlalchemy import text

from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import (
    ADDRESS,
    PREBOOK,
    GraphQL,
    add_to_cart,
    code,
    data,
    error,
    register,
)

FIELDS = "id fullName line1 line2 city postalCode country"
BOOK = f"{{ me {{ addresses {{ {FIELDS} }} defaultAddress {{ id city }} }} }}"
CREATE = f"mutation($input: AddressInput!) {{ createAddress(input: $input) {{ {FIELDS} }} }}"
UPDATE = f"""mutation($id: ID!, $input: AddressInput!) {{
  updateAddress(id: $id, input: $input) {{ {FIELDS} }} }}"""
DELETE = "mutation($id: ID!) { deleteAddress(id: $id) }"
DEFAULT = "mutation($id: ID!) { setDefaultAddress(id: $id) { defaultAddress { id } } }"
CHECKOUT = """mutation($input: CheckoutInput!) {
  checkout(input: $input) { id shippingAddress { id city line1 } } }"""
ORDER = "query($id: ID!) { order(id: $id) { shippingAddress { city line1 } } }"


def at(city: str) -> dict[str, object]:
    return {**ADDRESS, "city": city}


async def save(gql: GraphQL, token: str, city: str) -> str:
    address_id: str = data(await gql(CREATE, {"input": at(city)}, token=token))["createAddress"][
        "id"
    ]
    return address_id


async def test_the_first_address_is_the_default_and_deleting_it_promotes_the_newest(
    gql: GraphQL,
) -> None:
    token = (await register(gql))["accessToken"]
    assert data(await gql(BOOK, token=token))["me"] == {"addresses": [], "defaultAddress": None}
    berlin, paris, rome = [await save(gql, token, city) for city in ("Berlin", "Paris", "Rome")]
    book = data(await gql(BOOK, token=token))["me"]
    assert [a["city"] for a in book["addresses"]] == ["Berlin", "Paris", "Rome"]
    assert book["defaultAddress"] == {"id": berlin, "city": "Berlin"}

    moved = data(await gql(DEFAULT, {"id": paris}, token=token))["setDefaultAddress"]
    assert moved["defaultAddress"] == {"id": paris}
    assert data(await gql(DELETE, {"id": paris}, token=token))["deleteAddress"] == paris
    assert data(await gql(BOOK, token=token))["me"]["defaultAddress"] == {
        "id": rome,
        "city": "Rome",
    }
    updated = data(await gql(UPDATE, {"id": berlin, "input": at("Bonn")}, token=token))
    assert updated["updateAddress"]["city"] == "Bonn"


async def test_a_book_holds_twenty_and_other_peoples_addresses_are_not_found(
    gql: GraphQL,
) -> None:
    token = (await register(gql))["accessToken"]
    ids = [await save(gql, token, f"City {i}") for i in range(20)]
    full = error(await gql(CREATE, {"input": at("One more")}, token=token))
    assert (full["extensions"]["code"], full["extensions"]["field"]) == (
        "ADDRESS_LIMIT_EXCEEDED",
        "input",
    )
    stranger = (await register(gql))["accessToken"]
    for operation, variables in (
        (UPDATE, {"id": ids[0], "input": at("Mine now")}),
        (DELETE, {"id": ids[0]}),
        (DEFAULT, {"id": ids[0]}),
    ):
        refused = error(await gql(operation, variables, token=stranger))
        assert (refused["extensions"]["code"], refused["extensions"]["field"]) == (
            "ADDRESS_NOT_FOUND",
            "id",
        )
    assert code(await gql(DELETE, {"id": "Qm9vazox"}, token=token)) == "VALIDATION_ERROR"


async def test_an_order_to_a_saved_address_keeps_a_copy(catalog: Catalog, gql: GraphQL) -> None:
    token = (await register(gql))["accessToken"]
    home = await save(gql, token, "Berlin")
    book = await catalog.book(stock=5)
    await add_to_cart(gql, token, book["id"])
    order = data(
        await gql(
            CHECKOUT, {"input": {"idempotencyKey": "key-saved-1", "addressId": home}}, token=token
        )
    )["checkout"]
    assert order["shippingAddress"] == {"id": None, "city": "Berlin", "line1": ADDRESS["line1"]}
    await gql(UPDATE, {"id": home, "input": at("Hamburg")}, token=token)
    await gql(DELETE, {"id": home}, token=token)
    kept = data(await gql(ORDER, {"id": order["id"]}, token=token))["order"]["shippingAddress"]
    assert kept == {"city": "Berlin", "line1": ADDRESS["line1"]}


async def test_checkout_takes_exactly_one_of_the_two_addresses(
    catalog: Catalog, gql: GraphQL
) -> None:
    token = (await register(gql))["accessToken"]
    home = await save(gql, token, "Berlin")
    book = await catalog.book(stock=5)
    await add_to_cart(gql, token, book["id"])
    for given, message in (
        ({}, "give `shippingAddress` or `addressId`"),
        ({"addressId": home, "shippingAddress": ADDRESS}, "not both"),
    ):
        refused = error(
            await gql(CHECKOUT, {"input": {"idempotencyKey": "key-both", **given}}, token=token)
        )
        assert refused["extensions"]["code"] == "VALIDATION_ERROR"
        assert refused["extensions"]["field"] == "input.shippingAddress"
        assert message in refused["message"]
    stranger = (await register(gql))["accessToken"]
    await add_to_cart(gql, stranger, book["id"])
    foreign = error(
        await gql(
            CHECKOUT,
            {"input": {"idempotencyKey": "key-foreign", "addressId": home}},
            token=stranger,
        )
    )
    assert (foreign["extensions"]["code"], foreign["extensions"]["field"]) == (
        "ADDRESS_NOT_FOUND",
        "input.addressId",
    )


async def test_a_prebook_ships_to_a_saved_address(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    token = (await register(gql))["accessToken"]
    home = await save(gql, token, "Lisbon")
    book = await catalog.book(stock=0)
    made = data(
        await gql(
            PREBOOK,
            {"input": {"bookId": book["id"], "quantity": 1, "addressId": home}},
            token=token,
        )
    )["prebook"]
    assert made["shippingAddress"] == {"city": "Lisbon", "country": "DE"}
    async with database.sessionmaker() as session:
        copies = await session.scalar(
            text("SELECT count(*) FROM prebooks WHERE ship_city = 'Lisbon'")
        )
    assert copies == 1
