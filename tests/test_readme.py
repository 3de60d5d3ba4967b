"""The README stays true: its error-code table, configuration table and cost example."""

from __future__ import annotations

import re

from app.core.config import Settings
from app.core.errors import ErrorCode
from app.db.migrations import PROJECT_ROOT
from tests.support import GraphQL

README = (PROJECT_ROOT / "README.md").read_text()


def test_error_table_lists_every_code_with_its_description() -> None:
    section = README.split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (.+) \|$", section, flags=re.MULTILINE))
    assert rows == {code.value: code.description for code in ErrorCode}


def test_configuration_table_names_every_setting() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", README))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings <= documented, settings - documented


async def test_the_cost_example_is_right(gql: GraphQL) -> None:
    selection = "books(first: 20) { edges { node { id title price authors { id name } genres { id name } } } }"
    assert f"`{selection}`" in README
    assert "= 381." in README
    result = await gql(f"{{ {selection} }}", headers={"X-Query-Cost": "1"})
    assert result["extensions"]["cost"] == {"requested": 381, "limit": 10_000}
