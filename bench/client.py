"""Talking to the API in process the way a client does, and counting what it costs in SQL.

Shared with the test suite (`tests.support` re-exports these): the benchmark counts a
request's statements exactly as the suite's `statements` fixture does. The suite may import
the benchmark, never the other way round.
"""

from __future__ import annotations

from typing import Any

import httpx


class GraphQL:
    """Posts to `/graphql` like a client does, returning the JSON body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def data(result: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a result that must have no errors."""
    assert "errors" not in result, result.get("errors")
    payload: dict[str, Any] = result["data"]
    return payload


class StatementCounter:
    """Counts the SQL statements (not transaction control) run on an engine."""

    _COUNTED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        statement = str(args[2]).lstrip().upper()
        if statement.startswith(self._COUNTED):
            self.statements.append(str(args[2]))

    @property
    def count(self) -> int:
        return len(self.statements)
