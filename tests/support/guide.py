"""Reading the README's API guide: its examples, each with its operation, variables and
documented response.

An example is marked `<!-- example: NAME -->` and runs to the next marker or heading. Its
```graphql block is the operation (none: the operation of the example before), a ```json
block holding `data` or `errors` is the response, another ```json block the variables. In
the guide's JSON, "…" alone on a line in a list means "more items".

The guide is the `## API guide` section of README.md, or of the file named by the
environment variable README_GUIDE.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.db.migrations import PROJECT_ROOT

ELLIPSIS = "…"
MARKER = re.compile(r"<!--\s*example:\s*([\w-]+)\s*-->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@dataclass
class Example:
    """One documented example: its operation, variables and response."""

    name: str
    query: str | None = None
    variables: Any = None
    response: Any = None


def blank_code(text: str) -> str:
    """`text` with its code blocks blanked (a `#` line inside one is no heading)."""
    return FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def guide_path() -> Path:
    override = os.environ.get("README_GUIDE")
    return Path(override) if override else PROJECT_ROOT / "README.md"


def guide_text() -> str:
    """The `## API guide` section, up to the next `## ` heading."""
    path = guide_path()
    text = path.read_text(encoding="utf-8")
    prose = blank_code(text)
    start = re.search(r"^## API guide[ \t]*$", prose, re.M)
    if start is None:
        pytest.fail(f"{path} has no '## API guide' section")
    end = re.search(r"^## ", prose[start.end() :], re.M)
    return text[start.start() : start.end() + end.start() if end else len(text)]


def _documented_json(text: str) -> Any:
    # A line holding only "…" stands for more list items: make it a string element.
    return json.loads(re.sub(r"^(\s*)…(\s*,?)\s*$", r'\1"…"\2', text, flags=re.M))


def read_guide(text: str) -> dict[str, Example]:
    """The guide's examples by name, in the guide's order."""
    prose = blank_code(text)
    markers = list(MARKER.finditer(text))
    found: dict[str, Example] = {}
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        heading = re.search(r"^#{1,6} ", prose[marker.end() : end], re.M)
        if heading:
            end = marker.end() + heading.start()
        name = marker.group(1)
        assert name not in found, f"example {name!r} is marked twice"
        example = found[name] = Example(name)
        for fence in FENCE.finditer(text[marker.end() : end]):
            language, body = fence.group(1), fence.group(2)
            if language == "graphql" and example.query is None:
                example.query = body
            elif language == "json":
                try:
                    value = _documented_json(body)
                except json.JSONDecodeError as exc:
                    pytest.fail(f"example {name!r}: a ```json block doesn't parse: {exc}")
                is_response = isinstance(value, dict) and ("data" in value or "errors" in value)
                if is_response:
                    example.response = value
                else:
                    example.variables = value
        if example.query is None and index > 0:
            # No ```graphql block: "the same mutation" as the example before.
            example.query = found[markers[index - 1].group(1)].query
    return found
