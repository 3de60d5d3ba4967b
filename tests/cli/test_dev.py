"""`poetry run dev` without DATABASE_URL: embedded PostgreSQL, migrated, serving, stoppable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.db.migrations import PROJECT_ROOT
from bench.servers import free_port

STARTUP_TIMEOUT_SECONDS = 90


def test_dev_command_runs_on_embedded_postgres(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "ENV"}}
    env["EMBEDDED_DATA_DIR"] = str(tmp_path / "pg")
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from app.cli.dev import main; main()",
            "--no-reload",
            "--port",
            str(port),
        ],
        cwd=tmp_path,  # no .env here: the command must not need one
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, "dev server did not become ready"
        body = httpx.post(
            f"http://127.0.0.1:{port}/graphql", json={"query": "{ apiInfo { environment } }"}
        ).json()
        assert body["data"] == {"apiInfo": {"environment": "development"}}
        assert body["extensions"]["cost"]["requested"] == 2  # reported in development
        register = {
            "query": "mutation($i: RegisterInput!) { register(input: $i) { user { id } } }",
            "variables": {
                "i": {"email": "dev@example.com", "password": "a dev pass", "fullName": "Dev"}
            },
        }
        assert "errors" not in httpx.post(f"http://127.0.0.1:{port}/graphql", json=register).json()
        # The server's own sender puts the verification email in the development mailbox.
        mailbox = tmp_path / ".data" / "mail"
        while time.monotonic() < deadline and not list(mailbox.glob("*-verify_email-*.eml")):
            time.sleep(0.2)
        assert list(mailbox.glob("*-verify_email-*.eml")), "no email in the dev mailbox"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "embedded PostgreSQL" in output
    assert f"http://127.0.0.1:{port}/graphql" in output
    assert "mail to Dev <dev@example.com>" in output and "/verify-email?token=" in output
    assert (tmp_path / "pg" / "PG_VERSION").exists()  # data kept for the next run
    assert "postmaster.pid" not in os.listdir(tmp_path / "pg")  # and the server stopped


def test_dev_command_explains_unreachable_database(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", "from app.cli.dev import main; main()", "--no-reload"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Cannot reach PostgreSQL at 127.0.0.1" in lines[0]
    assert "docker compose up -d bookstore_dev" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
