"""Order queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.core.paging import PageArgs
from app.graphql.connection import Connection, listing_connection, paginated
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import parse_input
from app.graphql.permissions import IsAdmin, IsAuthenticated
from app.orders import schemas
from app.orders import service as orders_service
from app.orders.models import OrderStatus
from app.orders.schemas import CheckoutInput, OrderFilter, OrderFilterInput
from app.orders.types import Order


async def _order(context: Context, order_id: int) -> Order:
    """The order as the viewer (signed in: every caller is under a permission) may see it."""
    async with context.session() as session:
        return Order.from_row(await orders_service.get_order(session, order_id, context.viewer))


@strawberry.type
class OrdersQuery:
    @strawberry.field(
        description="One of your orders (admins: any). ORDER_NOT_FOUND otherwise.",
        permission_classes=[IsAuthenticated],
    )
    async def order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        return await _order(info.context, decode_id(id, "Order", field="id"))

    @strawberry.field(
        description="Your orders, newest first.", permission_classes=[IsAuthenticated]
    )
    @paginated
    async def my_orders(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        status: OrderStatus | None = None,
    ) -> Connection[Order] | None:
        filters = OrderFilterInput(status=status, user_id=info.context.viewer.id)
        return await listing_connection(
            info.context,
            page,
            listing=lambda session: orders_service.orders(session, filters=filters),
            node=Order.from_row,
        )

    @strawberry.field(
        description="Every order, newest first (admins).", permission_classes=[IsAdmin]
    )
    @paginated
    async def orders(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        filter: OrderFilter | None = None,
    ) -> Connection[Order] | None:
        filters = parse_input(OrderFilterInput, filter, field="filter") if filter else None
        return await listing_connection(
            info.context,
            page,
            listing=lambda session: orders_service.orders(session, filters=filters),
            node=Order.from_row,
        )


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(
        description="Buy what is in the cart: takes the stock, creates a PENDING order, "
        "empties the cart, all or nothing. Idempotent per `idempotencyKey`.",
        permission_classes=[IsAuthenticated],
    )
    async def checkout(self, info: Info[Context, None], input: CheckoutInput) -> Order | None:
        context = info.context
        data = parse_input(schemas.CheckoutData, input)
        async with context.transaction() as session:
            order = await orders_service.checkout(
                session, context.settings, viewer=context.viewer, data=data, stock=context.stock
            )
        return Order.from_row(order)  # the viewer's own

    @strawberry.mutation(
        description="Cancel your order while it is PENDING or CONFIRMED; its copies go back "
        "into stock. Cancelling twice changes nothing.",
        permission_classes=[IsAuthenticated],
    )
    async def cancel_order(self, info: Info[Context, None], id: strawberry.ID) -> Order | None:
        context, order_id = info.context, decode_id(id, "Order", field="id")
        async with context.transaction() as session:
            await orders_service.cancel(
                session,
                context.settings,
                order_id=order_id,
                viewer=context.viewer,
                stock=context.stock,
            )
        return await _order(context, order_id)

    @strawberry.mutation(
        description="Move an order along PENDING → CONFIRMED → SHIPPED → DELIVERED, or to "
        "CANCELLED from PENDING/CONFIRMED (admins).",
        permission_classes=[IsAdmin],
    )
    async def update_order_status(
        self, info: Info[Context, None], id: strawberry.ID, status: OrderStatus
    ) -> Order | None:
        context, order_id = info.context, decode_id(id, "Order", field="id")
        async with context.transaction() as session:
            await orders_service.update_status(
                session, context.settings, order_id=order_id, status=status, stock=context.stock
            )
        return await _order(context, order_id)
