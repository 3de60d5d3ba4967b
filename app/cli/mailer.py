"""`poetry run mailer`: the mail sender, long-running. It delivers the outbox to SMTP_URL
(without it, in development, to .eml files in MAIL_DIR). Run one per instance: several
never send a message twice. SIGTERM or Ctrl-C: it finishes the message in flight, records
its batch and exits 0. `--once`: deliver what is due, then exit."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from app.cli.database import resolve_database_url
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.db.session import Database
from app.mail.sender import mail_sender, refuse_undeliverable, where

logger = logging.getLogger("app.mail")


async def run(settings: Settings, *, once: bool = False) -> None:
    database = Database.from_settings(settings)
    sender = mail_sender(database, settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, sender.stop)
    logger.info("mailer started: delivering to %s", where(settings))
    try:
        if once:
            while await sender.run_once():
                pass
        else:
            await sender.run()
    finally:
        await database.dispose()
        logger.info("mailer stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mailer", description=__doc__)
    parser.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    args = parser.parse_args(argv)
    resolve_database_url(announce=False)
    settings = get_settings()
    configure_logging(settings)
    try:
        refuse_undeliverable(settings)
    except ValueError as error:
        print(f"mailer: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    asyncio.run(run(settings, once=args.once))
