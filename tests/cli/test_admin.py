"""`poetry run create-admin`: creates an admin or promotes an account."""

from __future__ import annotations

import pytest

from app.cli import admin
from app.core.config import Settings, get_settings
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


async def test_create_then_promote(gql: GraphQL, configured: None) -> None:
    email = unique_email("admin")
    assert (await admin.create_admin(email, PASSWORD, "Root")).startswith("Created admin")
    signed_in = data(await login(gql, email))["login"]
    assert signed_in["user"]["role"] == "ADMIN"

    customer = await register(gql)
    message = await admin.create_admin(customer["user"]["email"], "a new admin password", "X")
    assert message.startswith("Promoted admin")
    promoted = data(await login(gql, customer["user"]["email"], "a new admin password"))["login"]
    assert promoted["user"]["role"] == "ADMIN"


async def test_invalid_input_exits_with_message(configured: None) -> None:
    with pytest.raises(SystemExit, match="password"):
        await admin.create_admin(unique_email(), "short", "Root")


async def test_admin_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "from the environment")
    assert admin._read_password(None) == "from the environment"
    assert admin._read_password("explicit one") == "explicit one"
    assert code({"errors": [{"extensions": {"code": "X"}}]}) == "X"
