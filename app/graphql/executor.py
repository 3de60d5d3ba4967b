"""graphql-core's executor as every operation runs it: Strawberry's, with this app's
request errors."""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import DocumentNode, GraphQLError, GraphQLSchema, get_operation_ast
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.core.config import Settings
from app.graphql.variables import variable_errors


class Executor(StrawberryGraphQLCoreExecutionContext):
    without_suggestions: ClassVar[bool] = False

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor:
        # Variable values are coerced here, after validation: their errors would suggest
        # enum values and input fields ("Did you mean ...?") where validation no longer does.
        kwargs["hide_suggestions"] = cls.without_suggestions
        built = super().build(
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )
        if isinstance(built, list):
            # graphql-core's variable errors quote the values sent: say it our way.
            operation = get_operation_ast(document, operation_name)
            if operation is not None:
                ours = variable_errors(
                    schema,
                    operation,
                    raw_variable_values or {},
                    suggest=not cls.without_suggestions,
                )
                return ours or built
        return built  # type: ignore[return-value]


def executor_class(settings: Settings) -> type[Executor]:
    """The executor of a schema built with `settings`."""
    hide = not settings.suggestions_enabled
    return type("Executor", (Executor,), {"without_suggestions": hide})
