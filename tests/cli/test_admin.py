"""`poetry run create-admin`: creates an admin or promotes an account, and says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import admin
from app.core.config import Settings, get_settings
from app.db.migrations import PROJECT_ROOT
from tests.support import PASSWORD, GraphQL, code, data, login, register, unique_email

pytestmark = pytest.mark.committing


@pytest.fixture
def configured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_KIB", "ARGON2_PARALLELISM"):
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def create_admin(
    settings: Settings, tmp_path: Path, *args: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with no terminal (a new session has none) and
    standard input from /dev/null."""
    env = {k: v for k, v in os.environ.items() if k not in {"ADMIN_PASSWORD", "ENV"}}
    env["DATABASE_URL"] = settings.database_url or ""
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_KIB", "ARGON2_PARALLELISM"):
        env[name] = str(getattr(settings, name.lower()))
    if password is not None:
        env["ADMIN_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-c", "from app.cli.admin import main; main()", *args],
        cwd=tmp_path,  # no .env here
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        start_new_session=True,
    )


def test_without_password_or_terminal_says_how_to_give_one(
    settings: Settings, tmp_path: Path
) -> None:
    result = create_admin(settings, tmp_path, "--email", "d@b.co")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "EOFError" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "--password" in last and "ADMIN_PASSWORD" in last, result.stderr


async def test_rerunning_says_what_happened(
    gql: GraphQL, settings: Settings, tmp_path: Path
) -> None:
    email = unique_email("admin")
    created = create_admin(settings, tmp_path, "--email", email, password=PASSWORD)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith(f"Created admin {email} (id ")

    again = create_admin(settings, tmp_path, "--email", email, password="a new admin password")
    assert again.returncode == 0, again.stderr
    said = again.stdout.strip()
    assert "Promoted" not in said
    assert said.startswith(f"{email} (id ") and "already an admin" in said, said
    assert "password was reset" in said, said
    assert data(await login(gql, email, "a new admin password"))["login"]["user"]["role"] == "ADMIN"

    registered = await register(gql)
    customer = registered["user"]["email"]
    promoted = create_admin(settings, tmp_path, "--email", customer, password="promoted password")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip().startswith(f"Promoted {customer} (id "), promoted.stdout
    # The reset password ends the sessions opened with the old one.
    assert code(await gql("{ me { id } }", token=registered["accessToken"])) == "AUTH_INVALID_TOKEN"
    refreshed = await gql(
        "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
        {"t": registered["refreshToken"]},
    )
    assert code(refreshed) == "AUTH_INVALID_TOKEN"
    signed_in = data(await login(gql, customer, "promoted password"))["login"]
    assert signed_in["user"]["role"] == "ADMIN"


async def test_invalid_input_exits_with_message(configured: None) -> None:
    with pytest.raises(SystemExit, match="password"):
        await admin.create_admin(unique_email(), "short", "Root")


async def test_admin_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "from the environment")
    assert admin._read_password(None) == "from the environment"
    assert admin._read_password("explicit one") == "explicit one"
    assert code({"errors": [{"extensions": {"code": "X"}}]}) == "X"
