"""`poetry run dev`: the API with GraphiQL and auto-reload, on DATABASE_URL or an embedded
PostgreSQL, migrated before it serves, with a mail sender in the server process."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
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
from app.reviews.seed import seed_reviews


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dev", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-reload", action="store_true", help="don't restart on code changes")
    args = parser.parse_args(argv)
    # Emails go out while developing too (to .data/mail/ without SMTP_URL): the server
    # process runs a sender, where deployments run `poetry run mailer`.
    os.environ.setdefault("MAIL_SENDER_IN_APP", "true")
    # Without PUBLIC_URL, email links open this server's stand-in pages: on the port it
    # serves, or a `--port 8001` (what a taken port suggests) would get links to 8000.
    if get_settings().public_url is None:
        os.environ["PUBLIC_URL"] = f"http://{args.host}:{args.port}"
        get_settings.cache_clear()

    # First: the embedded database takes seconds to start, and a taken port would only
    # show once everything else had run (as uvicorn's `[Errno 98]`).
    ensure_port_free(args.host, args.port)
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
        # Given without reload, uvicorn warns that it "will not reload".
        reload_dirs=None if args.no_reload else [str(Path(__file__).resolve().parents[1])],
        log_level="info",
        access_log=False,  # the app writes its own access lines (ACCESS_LOG)
    )


async def seed_demo_catalog() -> str:
    """Demo data for a first run, so GraphiQL has something to show (SEED_ON_EMPTY=false
    turns it off)."""
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            report = await seed_if_empty(session)
            if report is None:
                return "Catalog present."
            reviews = await seed_reviews(session, settings)
        return f"Empty catalog: seeded the demo data ({report}; {reviews})."
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
    except (
        asyncpg.InvalidAuthorizationSpecificationError,
        asyncpg.InvalidPasswordError,
    ) as error:
        # Reached, but the login is refused (`role "bookstore" does not exist`, a wrong
        # password, no pg_hba.conf entry): starting a server would not help.
        print(
            f"PostgreSQL at {where} refused the login in DATABASE_URL ({error}). Fix the "
            "user name and password there, or unset DATABASE_URL (in the environment and "
            ".env) to use the embedded PostgreSQL.",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        reason = str(error) or type(error).__name__
        print(
            f"Cannot reach PostgreSQL at {where} ({reason}). Start it with "
            "`docker compose up -d bookstore_dev`, or set DATABASE_URL (in .env) to a "
            "reachable server.",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def ensure_port_free(host: str, port: int) -> None:
    """Exit with one line saying what holds the port, and which port is free instead."""
    try:
        error = _bind_error(host, port)
    except socket.gaierror as unknown:
        print(f"Cannot serve on host {host!r}: {unknown.strerror}.", file=sys.stderr)
        raise SystemExit(1) from None
    if error is None:
        return
    if error.errno != errno.EADDRINUSE:
        print(f"Cannot serve on {host}:{port}: {error.strerror}.", file=sys.stderr)
        raise SystemExit(1)
    holder = _listener_of(port)
    who = holder or "another program"
    spare = next((p for p in range(port + 1, port + 50) if _bind_error(host, p) is None), None)
    instead = f"`poetry run dev --port {spare}`" if spare else "another `--port`"
    print(
        f"Port {port} on {host} is already in use by {who}. Stop it, or use {instead}.",
        file=sys.stderr,
    )
    raise SystemExit(1)


def _bind_error(host: str, port: int) -> OSError | None:
    """Why uvicorn could not bind to `host:port`, if it could not (binding as it does)."""
    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by the last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return error
    return None


def _listener_of(port: int) -> str | None:
    """`pid N (command line)` of the process listening on `port`, where /proc tells (Linux,
    and only for processes this user may inspect)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            listening = fields[3] == "0A"
            if listening and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in descriptors):
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                shown = command.decode(errors="replace").strip()
                shown = shown if len(shown) <= 80 else shown[:79] + "…"
                return f"pid {pid} ({shown})" if shown else f"pid {pid}"
        except OSError:
            continue
    return None
