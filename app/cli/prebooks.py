"""`poetry run fulfil-prebooks`: serve the waiting prebooks of every released book that has
stock, then announce the books released since the last run to those who asked to be told
(back-in-stock alerts): a release is a date passing, and this daily command is what notices
it. For cron, daily just after midnight UTC. Each book is its own transaction, so one
failure doesn't undo the others. Prints what it did; exit code 1 if a book failed."""

from __future__ import annotations

import argparse
import asyncio
import logging

from app.books import service as books_service
from app.books.repository import Stock
from app.cli.database import resolve_database_url
from app.core.config import get_settings
from app.db.session import Database
from app.inventory import service as inventory
from app.prebooks import service as prebooks_service
from app.wishlist import service as wishlist_service

logger = logging.getLogger(__name__)


async def fulfil_all() -> tuple[list[str], bool]:
    """(report lines, whether every book succeeded)."""
    settings = get_settings()
    stock = books_service.stock_context(settings)
    database = Database.from_settings(settings)
    lines: list[str] = []
    ok = True
    try:
        async with database.sessionmaker() as session:
            book_ids = await prebooks_service.books_ready_to_serve(session, stock=stock)
        for book_id in book_ids:
            try:
                async with database.sessionmaker() as session, session.begin():
                    served = await inventory.serve_queue(
                        session, settings, book_id=book_id, stock=stock
                    )
            except Exception:  # one book's failure must not stop the others
                logger.exception("serving the prebooks of book %s failed", book_id)
                lines.append(f"book {book_id}: FAILED (see log)")
                ok = False
                continue
            copies = sum(prebook.quantity for prebook in served)
            orders = ", ".join(str(prebook.order_id) for prebook in served) or "none"
            lines.append(
                f"book {book_id}: served {_count(len(served), 'prebook')} "
                f"({_count(copies, 'copy', 'copies')}), orders: {orders}"
            )
        if not book_ids:
            lines.append("no released book with stock has waiting prebooks")
        ok = await _announce_releases(database, stock, lines) and ok
    finally:
        await database.dispose()
    return lines, ok


async def _announce_releases(database: Database, stock: Stock, lines: list[str]) -> bool:
    """Alert the subscribers of the books released since they subscribed (and not told
    since, by this or by a restock): each release is announced once."""
    async with database.sessionmaker() as session:
        releases = await wishlist_service.releases_to_announce(session, stock=stock)
    ok = True
    for book_id, title, released in releases:
        try:
            async with database.sessionmaker() as session, session.begin():
                sent = await wishlist_service.book_available(
                    session, book_id=book_id, title=title, released=released
                )
        except Exception:  # one book's failure must not stop the others
            logger.exception("announcing the release of book %s failed", book_id)
            lines.append(f"book {book_id}: release announcement FAILED (see log)")
            ok = False
            continue
        lines.append(f"book {book_id}: released, {_count(sent, 'alert')} queued")
    return ok


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="fulfil-prebooks", description=__doc__).parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    resolve_database_url(announce=False)
    lines, ok = asyncio.run(fulfil_all())
    print("\n".join(lines))
    raise SystemExit(0 if ok else 1)
