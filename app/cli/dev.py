"""`poetry run dev`: the API with GraphiQL and auto-reload, on DATABASE_URL or an embedded
PostgreSQL, migrated before it serves, with a mail sender in the server process."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import uvicorn
from sqlalchemy.engine import make_url

from app.books.seed import seed_if_empty
from app.cli.database import resolve_database_url
from app.core.config import get_settings
from app.db import migrations
from app.db.session import Database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dev", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-reload", action="store_true", help="don't restart on code changes")
    args = parser.parse_args(argv)
    # Emails go out while developing too (to .data/mail/ without SMTP_URL): the server
    # process runs a sender, where deployments run `poetry run mailer`.
    os.environ.setdefault("MAIL_SENDER_IN_APP", "true")

    url = resolve_database_url()
    ensure_reachable(url)
    migrations.upgrade(url)
    if get_settings().seed_on_empty:
        print(asyncio.run(seed_demo_catalog()))
    print(f"GraphiQL: http://{args.host}:{args.port}/graphql")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=not args.no_reload,
        reload_dirs=[str(Path(__file__).resolve().parents[1])],
        log_level="info",
    )


async def seed_demo_catalog() -> str:
    """Demo data for a first run, so GraphiQL has something to show (SEED_ON_EMPTY=false
    turns it off)."""
    database = Database.from_settings(get_settings())
    try:
        async with database.sessionmaker() as session, session.begin():
            report = await seed_if_empty(session)
        return f"Empty catalog: seeded the demo data ({report})." if report else "Catalog present."
    finally:
        await database.dispose()


def ensure_reachable(url: str) -> None:
    """Exit with one clear line (no traceback) when the database can't be reached."""
    parsed = make_url(url)
    where = f"{parsed.host or parsed.query.get('host', 'localhost')}:{parsed.port or 5432}"

    async def probe() -> None:
        connection = await asyncpg.connect(
            dsn=parsed.set(drivername="postgresql").render_as_string(hide_password=False),
            timeout=5,
        )
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        reason = str(error) or type(error).__name__
        print(
            f"Cannot reach PostgreSQL at {where} ({reason}). Start it with "
            "`docker compose up -d bookstore_dev`, or set DATABASE_URL (in .env) to a "
            "reachable server.",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
