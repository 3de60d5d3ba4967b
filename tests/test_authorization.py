"""The authorization sweep: a customer can't read, list, change or cancel another
customer's objects by any path (direct fields, node/nodes with foreign or guessed IDs,
nested fields); admin-only fields refuse customers and anonymous clients; inputs can't
set roles; malformed IDs never cause a 500."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest

from tests.books.factory import Catalog
from tests.support import (
    CART_FIELDS,
    GraphQL,
    add_to_cart,
    checkout,
    code,
    data,
    error,
    prebook,
    register,
)


@dataclass
class Alice:
    token: str
    refresh_token: str
    user_id: str
    order_id: str
    prebook_id: str
    wishlist_item_id: str
    cart_id: str
    cart_item_id: str
    book_id: str
    upcoming_id: str
    review_id: str  # hidden by a moderator: Alice's and the admins' to see


@pytest.fixture
async def alice(catalog: Catalog, gql: GraphQL) -> Alice:
    account = await register(gql)
    token = account["accessToken"]
    book = await catalog.book("Alice's book", stock=10)
    upcoming = await catalog.book("Upcoming", stock=0, released_days_ago=-30)
    await add_to_cart(gql, token, book["id"])
    order = data(await checkout(gql, token))["checkout"]
    waiting = data(await prebook(gql, token, upcoming["id"]))["prebook"]
    wished = data(
        await gql(
            "mutation($b: ID!) { addToWishlist(bookId: $b) { id } }", {"b": book["id"]}, token=token
        )
    )["addToWishlist"]
    cart = data(await add_to_cart(gql, token, book["id"], 2))["addToCart"]
    review = data(
        await gql(
            "mutation($b: ID!) { writeReview(input: {bookId: $b, rating: 2}) { id } }",
            {"b": book["id"]},
            token=token,
        )
    )["writeReview"]
    hide = "mutation($id: ID!) { moderateReview(id: $id, status: HIDDEN) { id } }"
    data(await gql(hide, {"id": review["id"]}, token=catalog.token))
    return Alice(
        token=token,
        refresh_token=account["refreshToken"],
        user_id=account["user"]["id"],
        order_id=order["id"],
        prebook_id=waiting["id"],
        wishlist_item_id=wished["id"],
        cart_id=cart["id"],
        cart_item_id=cart["items"][0]["id"],
        book_id=book["id"],
        upcoming_id=upcoming["id"],
        review_id=review["id"],
    )


@pytest.fixture
async def bob(gql: GraphQL) -> str:
    token: str = (await register(gql))["accessToken"]
    return token


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def alices_ids(alice: Alice) -> dict[str, str]:
    return {
        "User": alice.user_id,
        "Order": alice.order_id,
        "Prebook": alice.prebook_id,
        "WishlistItem": alice.wishlist_item_id,
        "Cart": alice.cart_id,
        "CartItem": alice.cart_item_id,
        "Review": alice.review_id,
    }


async def test_node_resolves_private_objects_for_their_owner_only(
    gql: GraphQL, alice: Alice, bob: str, admin_token: str
) -> None:
    ids = alices_ids(alice)
    for type_name, global_id in ids.items():
        mine = data(await gql(NODE, {"id": global_id}, token=alice.token))["node"]
        assert mine == {"__typename": type_name, "id": global_id}
        assert data(await gql(NODE, {"id": global_id}, token=bob))["node"] is None
        assert data(await gql(NODE, {"id": global_id}))["node"] is None
    both = data(await gql(NODES, {"ids": list(ids.values())}, token=bob))["nodes"]
    assert both == [None] * len(ids)
    # Admins see accounts, orders, prebooks and reviews; carts and wishlists stay personal.
    as_admin = data(await gql(NODES, {"ids": list(ids.values())}, token=admin_token))["nodes"]
    assert [n and n["__typename"] for n in as_admin] == [
        "User",
        "Order",
        "Prebook",
        None,
        None,
        None,
        "Review",
    ]


async def test_guessed_ids_reveal_nothing(gql: GraphQL, alice: Alice, bob: str) -> None:
    guesses = [
        base64.b64encode(f"{type_name}:{number}".encode()).decode()
        for type_name in ("User", "Order", "Prebook", "WishlistItem", "Cart", "CartItem", "Review")
        for number in range(1, 8)
    ]
    nodes = data(await gql(NODES, {"ids": guesses}, token=bob))["nodes"]
    bob_user = data(await gql("{ me { id } }", token=bob))["me"]["id"]
    bob_cart = data(await gql("{ cart { id } }", token=bob))["cart"]["id"]
    visible = {node["id"] for node in nodes if node is not None}
    assert visible <= {bob_user, bob_cart}  # only bob's own


async def test_direct_fields_and_mutations_refuse_foreign_objects(
    gql: GraphQL, alice: Alice, bob: str
) -> None:
    order = "query($id: ID!) { order(id: $id) { id status } }"
    assert code(await gql(order, {"id": alice.order_id}, token=bob)) == "ORDER_NOT_FOUND"
    cancel = "mutation($id: ID!) { cancelOrder(id: $id) { id } }"
    assert code(await gql(cancel, {"id": alice.order_id}, token=bob)) == "ORDER_NOT_FOUND"
    cancel_prebook = "mutation($id: ID!) { cancelPrebook(id: $id) { id } }"
    assert (
        code(await gql(cancel_prebook, {"id": alice.prebook_id}, token=bob)) == "PREBOOK_NOT_FOUND"
    )
    remove = "mutation($b: ID!) { removeFromWishlist(bookId: $b) }"
    assert code(await gql(remove, {"b": alice.book_id}, token=bob)) == "WISHLIST_ITEM_NOT_FOUND"
    review = {"id": alice.review_id}
    for mutation in (
        "mutation($id: ID!) { updateReview(id: $id, input: {rating: 5}) { id } }",
        "mutation($id: ID!) { deleteReview(id: $id) }",
        "mutation($id: ID!) { markReviewHelpful(id: $id, helpful: true) { id } }",
    ):
        assert code(await gql(mutation, review, token=bob)) == "REVIEW_NOT_FOUND"
    await gql("mutation { clearCart { id } }", token=bob)
    await gql("mutation { logoutAll }", token=bob)

    # Alice's things are all still there, untouched.
    assert (
        data(await gql(order, {"id": alice.order_id}, token=alice.token))["order"]["status"]
        == "PENDING"
    )
    mine = data(
        await gql(
            "{ myPrebooks { edges { node { status } } } wishlist { totalCount } cart { totalQuantity } }",
            token=alice.token,
        )
    )
    assert mine["myPrebooks"]["edges"][0]["node"]["status"] == "PENDING"
    assert mine["wishlist"]["totalCount"] == 1
    assert mine["cart"]["totalQuantity"] == 2
    hers = "query($id: ID!) { node(id: $id) { ... on Review { rating helpfulCount status } } }"
    assert data(await gql(hers, {"id": alice.review_id}, token=alice.token))["node"] == {
        "rating": 2,
        "helpfulCount": 0,
        "status": "HIDDEN",
    }


async def test_lists_show_only_your_own(
    gql: GraphQL, alice: Alice, bob: str, catalog: Catalog
) -> None:
    lists = data(
        await gql(
            f"{{ myOrders {{ totalCount }} myPrebooks {{ totalCount }} wishlist {{ totalCount }} cart {{ {CART_FIELDS} }} }}",
            token=bob,
        )
    )
    assert lists["myOrders"]["totalCount"] == 0
    assert lists["myPrebooks"]["totalCount"] == 0
    assert lists["wishlist"]["totalCount"] == 0
    assert lists["cart"]["items"] == []
    in_wishlist = "query($id: ID!) { book(id: $id) { inWishlist } }"
    assert (
        data(await gql(in_wishlist, {"id": alice.book_id}, token=bob))["book"]["inWishlist"]
        is False
    )
    assert (
        data(await gql(in_wishlist, {"id": alice.book_id}, token=alice.token))["book"]["inWishlist"]
        is True
    )
    reviews = """query($id: ID!) { book(id: $id) { myReview { id }
      reviews { totalCount edges { node { id } } } ratingSummary { count } } }"""
    for token in (bob, None):
        seen = data(await gql(reviews, {"id": alice.book_id}, token=token))["book"]
        assert seen == {
            "myReview": None,
            "reviews": {"totalCount": 0, "edges": []},
            "ratingSummary": {"count": 0},
        }
    own = data(await gql(reviews, {"id": alice.book_id}, token=alice.token))["book"]
    assert own["myReview"] == {"id": alice.review_id}
    assert own["reviews"]["totalCount"] == 0  # hidden: in no public list, not even for her


def codes(result: dict[str, Any]) -> set[str]:
    """The error codes of a response (one error per item of a list)."""
    return {failure["extensions"]["code"] for failure in result.get("errors", [])}


ADMIN_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("query($id: ID!) { book(id: $id) { stockQuantity } }", {"id": "BOOK"}),
    ("query($id: ID!) { book(id: $id) { pendingPrebookQuantity } }", {"id": "BOOK"}),
    ("query($id: ID!) { order(id: $id) { user { email } } }", {"id": "ORDER"}),
    ("{ orders { totalCount } }", {}),
    ("{ prebooks { totalCount } }", {}),
    ("{ reviews { totalCount } }", {}),
    (
        "mutation($id: ID!) { moderateReview(id: $id, status: PUBLISHED) { id } }",
        {"id": "REVIEW"},
    ),
    (
        "mutation($id: ID!) { restockBook(bookId: $id, quantity: 1) { book { id } } }",
        {"id": "BOOK"},
    ),
    ("mutation($id: ID!) { fulfilPrebooks(bookId: $id) { book { id } } }", {"id": "BOOK"}),
    (
        "mutation($id: ID!) { updateOrderStatus(id: $id, status: CONFIRMED) { id } }",
        {"id": "ORDER"},
    ),
    ("mutation($id: ID!) { archiveBook(id: $id) { id } }", {"id": "BOOK"}),
    ("mutation($id: ID!) { unarchiveBook(id: $id) { id } }", {"id": "BOOK"}),
    (
        'mutation($id: ID!) { updateBook(id: $id, input: {title: "Retitled"}) { id } }',
        {"id": "BOOK"},
    ),
    (
        "mutation($i: CreateBookInput!) { createBook(input: $i) { id } }",
        {
            "i": {
                "title": "New",
                "isbn13": "9780306406157",
                "price": "9.99",
                "releaseDate": "2020-01-01",
                "authorIds": "AUTHORS",
            }
        },
    ),
    ('mutation { createAuthor(input: {name: "X"}) { id } }', {}),
    ('mutation($id: ID!) { updateAuthor(id: $id, input: {name: "Y"}) { id } }', {"id": "AUTHOR"}),
    ("mutation($id: ID!) { deleteAuthor(id: $id) }", {"id": "FREE_AUTHOR"}),
    ('mutation { createGenre(input: {name: "Westerns"}) { id } }', {}),
    ('mutation($id: ID!) { updateGenre(id: $id, input: {name: "Noir"}) { id } }', {"id": "GENRE"}),
    ("mutation($id: ID!) { deleteGenre(id: $id) }", {"id": "GENRE"}),
    # Admin fields reached through lists and nested connections
    ("{ books { edges { node { stockQuantity } } } }", {}),
    (
        "query($id: ID!) { author(id: $id) { books { edges { node { pendingPrebookQuantity } } } } }",
        {"id": "AUTHOR"},
    ),
]


@pytest.mark.parametrize(("query", "variables"), ADMIN_ONLY)
async def test_admin_only_fields(
    catalog: Catalog,
    gql: GraphQL,
    alice: Alice,
    bob: str,
    admin_token: str,
    query: str,
    variables: dict[str, Any],
) -> None:
    book = data(
        await gql("query($id: ID!) { book(id: $id) { authors { id } } }", {"id": alice.book_id})
    )["book"]
    author = book["authors"][0]["id"]
    free_author = (await catalog.author("Uncredited")) if "FREE_AUTHOR" in str(variables) else None
    genre = (await catalog.genre("Crime")) if "GENRE" in str(variables) else None
    placeholders = {
        "BOOK": alice.book_id,
        "ORDER": alice.order_id,
        "AUTHOR": author,
        "AUTHORS": [author],
        "FREE_AUTHOR": free_author,
        "GENRE": genre,
        "REVIEW": alice.review_id,
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {name: resolve(item) for name, item in value.items()}
        return placeholders.get(value, value) if isinstance(value, str) else value

    resolved = resolve(variables)
    # Order.user: the order's owner is the customer who can reach the field at all.
    customer = alice.token if "order(" in query else bob
    assert codes(await gql(query, resolved, token=customer)) == {"AUTH_FORBIDDEN"}
    assert codes(await gql(query, resolved)) == {"AUTH_REQUIRED"}
    assert "errors" not in await gql(query, resolved, token=admin_token)


@pytest.mark.parametrize(
    ("mutation", "variables"),
    [
        (
            "mutation($i: RegisterInput!) { register(input: $i) { user { role } } }",
            {
                "i": {
                    "email": "x@example.com",
                    "password": "long enough pw",
                    "fullName": "X",
                    "role": "ADMIN",
                }
            },
        ),
        (
            "mutation($i: RegisterInput!) { register(input: $i) { user { role } } }",
            {
                "i": {
                    "email": "x@example.com",
                    "password": "long enough pw",
                    "fullName": "X",
                    "isActive": True,
                }
            },
        ),
        ("mutation($i: UpdateMeInput!) { updateMe(input: $i) { role } }", {"i": {"role": "ADMIN"}}),
        (
            "mutation($i: UpdateMeInput!) { updateMe(input: $i) { role } }",
            {"i": {"isActive": False}},
        ),
    ],
)
async def test_no_mass_assignment(
    gql: GraphQL, bob: str, mutation: str, variables: dict[str, Any]
) -> None:
    assert code(await gql(mutation, variables, token=bob)) == "VALIDATION_ERROR"
    assert data(await gql("{ me { role } }", token=bob))["me"]["role"] == "CUSTOMER"


MALFORMED = [
    "!!!not-base64!!!",
    base64.b64encode(b"Nope:1").decode(),
    base64.b64encode(b"Book:abc").decode(),
    base64.b64encode(b"Book:-5").decode(),
    base64.b64encode(b"Book:99999999999999999999999999").decode(),
    base64.b64encode(b"no colon at all").decode(),
    base64.b64encode("Book:²".encode()).decode(),  # a digit to Python, not to int()
    base64.b64encode("Book:\uff11\uff12".encode()).decode(),  # fullwidth digits
    base64.b64encode(b"Book:1" + b"0" * 200).decode(),
    "",
]
ID_OPERATIONS = [
    "query($id: ID!) { node(id: $id) { id } }",
    "query($id: ID!) { nodes(ids: [$id]) { id } }",
    "query($id: ID!) { book(id: $id) { id } }",
    "query($id: ID!) { author(id: $id) { id } }",
    "query($id: ID!) { order(id: $id) { id } }",
    "mutation($id: ID!) { addToCart(bookId: $id) { id } }",
    "mutation($id: ID!) { updateCartItem(bookId: $id, quantity: 1) { id } }",
    "mutation($id: ID!) { removeFromCart(bookId: $id) { id } }",
    "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
    "mutation($id: ID!) { addToWishlist(bookId: $id) { id } }",
    "mutation($id: ID!) { removeFromWishlist(bookId: $id) }",
    "mutation($id: ID!) { moveWishlistItemToCart(bookId: $id) { id } }",
    "mutation($id: ID!) { cancelPrebook(id: $id) { id } }",
    "mutation($id: ID!) { writeReview(input: {bookId: $id, rating: 3}) { id } }",
    "mutation($id: ID!) { updateReview(id: $id, input: {rating: 3}) { id } }",
    "mutation($id: ID!) { deleteReview(id: $id) }",
    "mutation($id: ID!) { markReviewHelpful(id: $id, helpful: true) { id } }",
    'mutation($id: ID!) { prebook(input: {bookId: $id, quantity: 1, shippingAddress: {fullName: "A", line1: "B", city: "C", postalCode: "1", country: "DE"}}) { id } }',
]


@pytest.mark.parametrize("operation", ID_OPERATIONS)
async def test_malformed_ids_never_500(gql: GraphQL, bob: str, operation: str) -> None:
    for value in MALFORMED:
        result = await gql(operation, {"id": value}, token=bob)
        failure = error(result)
        assert failure["extensions"]["code"] == "VALIDATION_ERROR" or failure["extensions"][
            "code"
        ].endswith("_NOT_FOUND"), (value, failure)
        assert "literal" not in failure["message"]  # no Python error text


async def test_another_users_refresh_token_is_needed_to_end_their_session(
    gql: GraphQL, alice: Alice, bob: str
) -> None:
    await gql("mutation { logoutAll }", token=bob)
    assert "errors" not in await gql("{ me { id } }", token=alice.token)
    refresh = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }"
    assert "errors" not in await gql(refresh, {"t": alice.refresh_token})
