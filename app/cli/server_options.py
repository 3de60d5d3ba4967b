"""How `poetry run serve` runs uvicorn. Kept apart from serve.py, which loads the app's
settings, so that the benchmark's floor endpoint runs the same way without importing them."""

from __future__ import annotations

from typing import Any

SERVER_OPTIONS: dict[str, Any] = {
    "factory": True,
    "loop": "uvloop",
    "http": "httptools",
    # websockets' own protocol implementation (its legacy one, uvicorn's "websockets", is
    # deprecated).
    "ws": "websockets-sansio",
    "access_log": False,  # the app writes its own access lines
    "server_header": False,
}
