"""Reading the README's API guide (app/cli/guide.py, which `poetry run example` uses too),
failing the test that reads it when it is missing or malformed."""

from __future__ import annotations

import pytest

from app.cli import guide
from app.cli.guide import ELLIPSIS as ELLIPSIS
from app.cli.guide import Example as Example
from app.cli.guide import blank_code as blank_code


def guide_text() -> str:
    try:
        return guide.guide_text()
    except guide.GuideError as error:
        pytest.fail(str(error))


def read_guide(text: str) -> dict[str, Example]:
    try:
        return guide.read_guide(text)
    except guide.GuideError as error:
        pytest.fail(str(error))
