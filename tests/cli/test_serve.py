"""`poetry run serve`: production server, graceful shutdown (in-flight requests finish, every
database connection is closed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import migrations
from app.db.migrations import PROJECT_ROOT
from bench.database import plain_dsn
from tests.cli.test_dev import free_port
from tests.conftest import create_database, drop_database
from tests.support import run_in_thread


@pytest.fixture
def own_database(server_url: str) -> Iterator[str]:
    url = create_database(server_url, "bookstore_serve")
    try:
        run_in_thread(migrations.upgrade, url)
        yield url
    finally:
        drop_database(server_url, url)


async def connections_to(server_url: str, database: str) -> int:
    connection = await asyncpg.connect(plain_dsn(server_url))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await connection.close()
    return count


def test_sigterm_finishes_in_flight_requests_and_closes_connections(
    own_database: str, server_url: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ENV": "production",
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": own_database,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli.serve import main; main()",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        body = json.dumps({"query": "{ books(first: 1) { totalCount } }"}).encode()
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(head + body[:10])  # the request is in flight...
            time.sleep(0.3)
            server.send_signal(signal.SIGTERM)  # ...when the server is told to stop
            time.sleep(0.5)
            client.sendall(body[10:])
            response = b""
            while chunk := client.recv(65536):
                response += chunk
        assert response.startswith(b"HTTP/1.1 200"), response
        assert b'"totalCount":0' in response
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    # Uvicorn re-raises the signal once shut down, so the exit status says "terminated".
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # all JSON
    assert {"Started server process", "Application shutdown complete."} & {
        line["message"].split(" [")[0] for line in lines
    }
    database = make_url(own_database).database or ""
    assert asyncio.run(connections_to(server_url, database)) == 0
