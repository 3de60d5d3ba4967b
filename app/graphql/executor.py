"""graphql-core's executor as every operation runs it: Strawberry's, with this app's
request errors."""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.core.config import Settings


class Executor(StrawberryGraphQLCoreExecutionContext):
    without_suggestions: ClassVar[bool] = False

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor:
        # Variable values are coerced here, after validation: their errors would suggest
        # enum values and input fields ("Did you mean ...?") where validation no longer does.
        kwargs["hide_suggestions"] = cls.without_suggestions
        return super().build(*args, **kwargs)  # type: ignore[return-value]


def executor_class(settings: Settings) -> type[Executor]:
    """The executor of a schema built with `settings`."""
    hide = not settings.suggestions_enabled
    return type("Executor", (Executor,), {"without_suggestions": hide})
