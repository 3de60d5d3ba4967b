"""`poetry run purge`: delete what has outlived its use, for cron (say hourly or daily):
the guest carts unused for GUEST_CART_TTL_DAYS, and the record of guest carts merged that
long ago; the outbox's messages delivered over 30 days ago (dead ones stay, for an operator);
the record of review writes older than the rate limit's window.
Expired guest carts are never served, purged or not; this only reclaims space. Prints what
it deleted."""

from __future__ import annotations

import argparse
import asyncio

from app.cart import service as cart_service
from app.cli.database import resolve_database_url
from app.core.config import get_settings
from app.db.session import Database
from app.outbox import service as outbox
from app.reviews import service as reviews_service


async def purge() -> str:
    """The report line of one purge, in one transaction."""
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            carts, merges = await cart_service.purge_expired(session, settings)
            delivered = await outbox.purge_processed(session, older_than=outbox.RETENTION)
            writes = await reviews_service.purge_writes(session, settings)
    finally:
        await database.dispose()
    return (
        f"purged {carts} expired guest cart{'' if carts == 1 else 's'} and {merges} merge "
        f"record{'' if merges == 1 else 's'} (older than {settings.guest_cart_ttl_days} days)\n"
        f"purged {delivered} delivered outbox message{'' if delivered == 1 else 's'} (older "
        f"than {outbox.RETENTION.days} days)\n"
        f"purged {writes} review write record{'' if writes == 1 else 's'} (older than "
        f"{settings.review_write_window_minutes} minutes)"
    )


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="purge", description=__doc__).parse_args(argv)
    resolve_database_url(announce=False)
    print(asyncio.run(purge()))
