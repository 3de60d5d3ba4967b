"""The benchmark test runs servers and load for ~30 s: it carries the `benchmark` marker so
it can be deselected (`-m "not benchmark"`)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "benchmark: runs `poetry run bench --quick` (own database, servers, load)"
    )
