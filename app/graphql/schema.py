"""The GraphQL schema: the root Query/Mutation merged from every domain's resolver classes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, Info

import app
import app.models  # every table in the metadata, whatever a request touches)
from app.addresses.resolvers import AddressesMutation
from app.books.resolvers import BooksMutation, BooksQuery
from app.books.types import Author, Book, Genre
from app.cart.resolvers import CartMutation, CartQuery
from app.cart.types import Cart, CartItem
from app.core.config import Settings
from app.graphql.context import Context
from app.graphql.cost import QueryCost
from app.graphql.documents import DocumentCache, SharedDocuments
from app.graphql.errors import ErrorCodeType
from app.graphql.executor import executor_class
from app.graphql.node import ResolvableNode, node_query
from app.orders.resolvers import OrdersMutation, OrdersQuery
from app.orders.types import Order
from app.prebooks.resolvers import PrebooksMutation, PrebooksQuery
from app.prebooks.types import Prebook
from app.realtime.resolvers import RealtimeSubscription
from app.reviews.resolvers import ReviewsMutation, ReviewsQuery
from app.reviews.types import Review
from app.users.resolvers import UsersMutation, UsersQuery
from app.users.types import User
from app.wishlist.resolvers import WishlistMutation, WishlistQuery
from app.wishlist.types import WishlistItem


@strawberry.type(description="Facts about this API deployment.")
class ApiInfo:
    version: str = strawberry.field(description="Version of the API software.")
    environment: str = strawberry.field(
        description="Deployment environment: development, test or production."
    )

    @staticmethod
    def of(settings: Settings) -> ApiInfo:
        return ApiInfo(version=app.__version__, environment=settings.env.value)


@strawberry.type
class SystemQuery:
    @strawberry.field(description="Version and environment of the API.")
    def api_info(self, info: Info[Context, None]) -> ApiInfo:
        return ApiInfo.of(info.context.settings)


NODE_TYPES: tuple[type[ResolvableNode], ...] = (
    User,
    Book,
    Author,
    Genre,
    Order,
    Cart,
    CartItem,
    WishlistItem,
    Prebook,
    Review,
)
QUERIES: tuple[type, ...] = (
    SystemQuery,
    node_query(NODE_TYPES),
    UsersQuery,
    BooksQuery,
    CartQuery,
    OrdersQuery,
    WishlistQuery,
    PrebooksQuery,
    ReviewsQuery,
)
MUTATIONS: tuple[type, ...] = (
    UsersMutation,
    AddressesMutation,
    BooksMutation,
    CartMutation,
    OrdersMutation,
    WishlistMutation,
    PrebooksMutation,
    ReviewsMutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (RealtimeSubscription,)


@strawberry.type(description="Read operations.")
class Query(*QUERIES):  # type: ignore[misc]
    pass


class Schema(strawberry.Schema):
    documents: DocumentCache  # every layer's parsed and validated documents

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging happens where errors are formatted (`app.graphql.errors`), once, with the
        request id, and only for unexpected ones: expected errors are not log noise."""


def build_schema(settings: Settings) -> Schema:
    mutation = strawberry.type(type("Mutation", MUTATIONS, {}), description="Write operations.")
    subscription = strawberry.type(
        type("Subscription", SUBSCRIPTIONS, {}),
        description="Live events, over WebSocket (graphql-transport-ws) on /graphql only.",
    )
    cost_limit, environment = settings.graphql_max_cost, settings.env
    schema = Schema(
        query=Query,
        mutation=mutation,
        subscription=subscription,
        types=[ErrorCodeType],
        # Factories: Strawberry builds the extensions afresh for each operation.
        extensions=[
            lambda: SharedDocuments(schema.documents),
            lambda: QueryCost(limit=cost_limit, environment=environment),
        ],
        execution_context_class=executor_class(settings),
    )
    schema.documents = DocumentCache(schema._schema, settings)
    return schema
