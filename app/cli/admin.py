"""`poetry run create-admin --email ... [--password ...]`: create an admin, or promote an
existing account (its password is reset to the one given).

The password comes from --password, else the ADMIN_PASSWORD environment variable, else a
prompt (asked twice) when the command runs in a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from pydantic import ValidationError

from app.cli.database import resolve_database_url
from app.core.config import get_settings
from app.core.errors import AppError
from app.db.session import Database
from app.graphql.errors import validation_failed
from app.users import service as users_service
from app.users.schemas import NewAdminInput
from app.users.service import AdminOutcome

_DONE = {
    AdminOutcome.CREATED: "Created admin {email} (id {id})",
    AdminOutcome.PROMOTED: "Promoted {email} (id {id}) to admin; its password is now the one given",
    AdminOutcome.REACTIVATED: "Reactivated admin {email} (id {id}); its password is now the one "
    "given",
    AdminOutcome.ALREADY_ADMIN: "{email} (id {id}) is already an admin: its password was reset "
    "to the one given",
}


class NoPassword(Exception):
    """No password, and no terminal to prompt on."""


def _read_password(given: str | None) -> str:
    if given:
        return given
    if from_env := os.environ.get("ADMIN_PASSWORD"):
        return from_env
    # getpass falls back to reading stdin when there is no terminal: from /dev/null or a
    # closed pipe that is an EOFError, so only a terminal is prompted.
    if not sys.stdin.isatty():
        raise NoPassword
    try:
        first = getpass.getpass("Password: ")
        repeated = getpass.getpass("Repeat password: ")
    except EOFError:
        raise NoPassword from None
    if repeated != first:
        raise SystemExit("Passwords differ.")
    return first


async def create_admin(email: str, password: str, full_name: str) -> str:
    """Create or promote the admin; returns what was done, for printing."""
    settings = get_settings()
    try:
        data = NewAdminInput(email=email, password=password, full_name=full_name)
    except ValidationError as error:
        raise SystemExit(
            f"Invalid input: {validation_failed(error, prefix=None).message}"
        ) from None
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            user, outcome = await users_service.create_or_promote_admin(
                session, settings, data=data
            )
    except AppError as error:
        raise SystemExit(error.message) from None
    finally:
        await database.dispose()
    return _DONE[outcome].format(email=user.email, id=user.id)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="create-admin", description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", help="prefer ADMIN_PASSWORD or the prompt: argv is visible")
    parser.add_argument("--full-name", default="Administrator")
    args = parser.parse_args(argv)
    try:
        password = _read_password(args.password)
    except NoPassword:
        # Exit code 2, as for any other usage error.
        parser.error(
            "no password given and no terminal to ask for one: pass --password, "
            "or set ADMIN_PASSWORD"
        )
    resolve_database_url()
    print(asyncio.run(create_admin(args.email, password, args.full_name)))
