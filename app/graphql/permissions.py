"""Permission classes for `permission_classes=[...]` on any field.

They raise the app's own errors, so the client sees `AUTH_REQUIRED`, `AUTH_TOKEN_EXPIRED`,
`AUTH_INVALID_TOKEN` or `AUTH_FORBIDDEN` rather than a generic message.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from app.core.errors import PermissionDenied
from app.graphql.context import Context


class IsAuthenticated(BasePermission):
    message = "Authentication required"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        await info.context.require_viewer()
        return True


class IsAdmin(BasePermission):
    message = "Admins only"

    async def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        viewer = await info.context.require_viewer()
        if not viewer.is_admin:
            raise PermissionDenied("Only admins may do this")
        return True
