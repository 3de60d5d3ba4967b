from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def fast_path_never_fails(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails a test whose requests made the fast path raise FastPathFailed: the request then
    runs again on the regular path, so its answer alone would hide it (twice the reads)."""
    with caplog.at_level(logging.DEBUG, logger="app.graphql.fastpath"):
        yield
    failures = [
        record.exc_info[1]
        for record in caplog.get_records("call")
        if record.name == "app.graphql.fastpath" and record.exc_info
    ]
    assert not failures, failures
