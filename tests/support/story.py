"""Replaying the README's API guide as a story: one step per example, in the story's order.

A step (registered with `Steps.step`) sends its example as the guide writes it, document and
variables (only `secrets`, the tokens a run hands out, replace documented values, never an
ID), checks what the prose says about that example's response (`Story.claim`) and leaves
what later steps need (tokens) in `Story.refs`. Responses must match the guide's by shape,
and their global IDs exactly: the guide is replayed on a freshly seeded database. Each step is reported as a test result of its own: a step that
fails leaves the others to run, and a later step that needs what it did not leave fails
naming it. Playing a step plays the earlier ones first when they have not run (so one
example can be selected with `-k`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import GraphQL
from tests.support.guide import Example
from tests.support.shape import kind, same_shape

Step = Callable[["Story"], Awaitable[None]]


class Steps:
    """The story's steps by example name, in the order they are played."""

    def __init__(self) -> None:
        self._steps: dict[str, Step] = {}

    def step(self, name: str) -> Callable[[Step], Step]:
        def register(function: Step) -> Step:
            assert name not in self._steps, f"two steps play example {name!r}"
            self._steps[name] = function
            return function

        return register

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __getitem__(self, name: str) -> Step:
        return self._steps[name]


class MissingRef(AssertionError):
    """What a step needs was never left by the step that makes it (it failed)."""


class Refs(dict[str, Any]):
    """What the steps made (tokens, IDs), for the steps after them."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__()
        self._failed = failed

    def __missing__(self, key: str) -> Any:
        __tracebackhide__ = True
        first = self._failed[0] if self._failed else "none"
        raise MissingRef(
            f"the story has no {key!r}: the earlier step that makes it failed "
            f"(the first step to fail: {first}; {len(self._failed)} so far)"
        )


@dataclass
class Run:
    variables: dict[str, Any]
    response: dict[str, Any]


def code_of(result: dict[str, Any]) -> str | None:
    errors = result.get("errors") or []
    return str(errors[0]["extensions"]["code"]) if errors else None


def first_error(result: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = result["errors"][0]
    return found


class Story:
    """Plays the guide's examples and checks what its prose says about them."""

    def __init__(self, gql: GraphQL, guide: dict[str, Example], steps: Steps) -> None:
        self.gql = gql
        self.guide = guide
        self.steps = steps
        self.runs: dict[str, Run] = {}
        self.played: set[str] = set()
        self.failed: list[str] = []
        self.refs = Refs(self.failed)
        self._claims: list[str] = []
        # For steps that act outside the API, as the guide's commands do (`create-admin`).
        self.database: Any = None
        self.settings: Any = None

    def document(self, name: str) -> str:
        example = self.guide.get(name)
        assert example is not None, f"the guide has no example {name!r}"
        assert example.query is not None, f"example {name!r} has no ```graphql block"
        return example.query

    def variables(self, name: str, secrets: dict[str, str] | None = None) -> dict[str, Any]:
        """Example `name`'s documented variables, with the run's own tokens for `secrets`
        (keyed by path: `refreshToken`, or `input.cartToken` for a field of an input)."""
        documented = self.guide[name].variables
        variables: dict[str, Any] = json.loads(json.dumps(documented or {}))
        for path, value in (secrets or {}).items():
            *parents, key = path.split(".")
            holder = variables
            for parent in parents:
                holder = holder.get(parent)
                assert isinstance(holder, dict), f"{name}: no documented input {path!r}"
            assert key in holder, f"{name}: no documented variable {path!r} to replace"
            assert kind(holder[key])[0] == "text", f"{name}: {path!r} is no secret but an ID"
            holder[key] = value
        return variables

    async def example(
        self,
        name: str,
        *,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        error: str | None = None,
        secrets: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send example `name` as the guide writes it; `error`: the code it answers."""
        assert name not in self.runs, f"example {name!r} run twice"
        variables = self.variables(name, secrets)
        result = await self.gql(self.document(name), variables, token=token, headers=headers)
        self.runs[name] = Run(variables, result)
        if error is None:
            assert "errors" not in result, f"{name}: unexpected errors {result['errors']}"
        else:
            assert code_of(result) == error, f"{name}: expected {error}, got {result}"
        return result

    async def again(self, name: str, *, token: str | None = None) -> dict[str, Any]:
        """Example `name` once more, as written (not recorded)."""
        return await self.gql(self.document(name), self.variables(name), token=token)

    def claim(self, condition: bool, message: str) -> None:
        if not condition:
            self._claims.append(f"claim failed: {message}")

    async def play(self, name: str) -> list[str]:
        """Play step `name`, after the earlier steps not played yet: what is wrong with it
        (a step that raises fails its test with that exception)."""
        for earlier in self.steps:
            if earlier == name:
                break
            if earlier not in self.played:
                # Their failures belong to their own test results.
                with contextlib.suppress(Exception):
                    await self._play(earlier)
        return await self._play(name)

    async def _play(self, name: str) -> list[str]:
        assert name not in self.played, f"step {name!r} played twice"
        self.played.add(name)
        self._claims = []
        try:
            await self.steps[name](self)
        except Exception:
            self.failed.append(name)
            raise
        problems = [*self._claims, *self.compare(name)]
        if problems:
            self.failed.append(name)
        return problems

    def compare(self, name: str) -> list[str]:
        """Where example `name`, as it ran, differs from the guide."""
        documented, run = self.guide[name], self.runs.get(name)
        if run is None:
            return [f"step {name!r} doesn't run its example"]
        problems = []
        if documented.response is None:
            problems.append("no documented response")
        else:
            problems += same_shape(documented.response, run.response, exact_ids=True)
        return problems

    def write_transcript(self) -> None:
        """README_TRANSCRIPT=PATH: every example's variables and response, to refresh the
        guide's responses after a change."""
        path = os.environ.get("README_TRANSCRIPT")
        if path:
            runs = {name: vars(run) for name, run in self.runs.items()}
            Path(path).write_text(json.dumps(runs, indent=2, ensure_ascii=False), "utf-8")
