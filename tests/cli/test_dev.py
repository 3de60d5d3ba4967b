"""`poetry run dev`: embedded PostgreSQL, migrated, serving, stoppable; clear lines when it can't."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

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
        httpx.get(f"http://127.0.0.1:{port}/graphql?query=%7B__typename%7D")
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
    assert "mail to Dev <dev@example.com>" in output
    # The links point at this server, on its port (no PUBLIC_URL here).
    assert f"http://127.0.0.1:{port}/verify-email?token=" in output
    assert (tmp_path / "pg" / "PG_VERSION").exists()  # data kept for the next run
    assert "postmaster.pid" not in os.listdir(tmp_path / "pg")  # and the server stopped
    assert "reload" not in output.lower(), output  # --no-reload: no uvicorn warning about it
    # One line per request, the app's (uvicorn's own access lines are off).
    requests = [
        line for line in output.splitlines() if "/graphql" in line and "GraphiQL" not in line
    ]
    assert len(requests) == 3, output
    assert all("app.access" in line for line in requests), output


def run_dev(tmp_path: Path, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, SEED_ON_EMPTY="false", PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-c", "from app.cli.dev import main; main()", "--no-reload", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dev_command_names_what_holds_its_port(tmp_path: Path, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_dev(tmp_path, "--port", str(port), database_url=database_url)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"Port {port} on 127.0.0.1 is already in use by pid {os.getpid()} (" in lines[0]
    assert "poetry run dev --port " in lines[0]
    assert "GraphiQL" not in result.stdout and "Errno" not in result.stderr


def test_dev_command_explains_a_refused_login(tmp_path: Path, server_url: str) -> None:
    url = make_url(server_url).set(username="no_such_role_here")
    result = run_dev(tmp_path, database_url=url.render_as_string(hide_password=False))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refused the login" in lines[0] and "no_such_role_here" in lines[0]
    assert "unset DATABASE_URL" in lines[0] and "embedded PostgreSQL" in lines[0]
    assert "Cannot reach" not in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_dev_command_explains_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    result = run_dev(tmp_path, database_url=url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Cannot reach PostgreSQL at 127.0.0.1" in lines[0]
    assert "docker compose up -d bookstore_dev" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
