"""Base class of the per-request batch loaders (aiodataloader).

Loaders are created per request by `Context.loader(...)` and never shared: their cache
would otherwise serve one user's view to another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from aiodataloader import DataLoader

if TYPE_CHECKING:
    from app.graphql.context import Context

K = TypeVar("K")
V = TypeVar("V")


class ContextLoader(DataLoader[K, V], Generic[K, V]):
    """Subclasses implement `async def batch_load_fn(self, keys)`, returning values in key
    order, and use `self.context.session()` for the database."""

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context
