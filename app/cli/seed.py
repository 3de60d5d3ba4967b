"""`poetry run seed [--books N]`: load the deterministic demo catalog (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TextIO

from sqlalchemy import text

from app.books.seed import DEFAULT_BOOKS, seed_catalog
from app.cli.database import resolve_database_url
from app.core.config import get_settings
from app.db import migrations
from app.db.session import Database
from app.reviews.seed import seed_reviews

MAX_BOOKS = 10_000_000


class ProgressBar:
    """One line per stage, redrawn in place: `books [#####-----] 500,000/1,000,000 41 s`."""

    WIDTH = 30

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage and self.stage is not None:
            self.stream.write("\n")
        self.stage = stage
        filled = self.WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r{stage:>24} [{bar}] {done:,}/{total:,} {elapsed:.0f} s")
        self.stream.flush()

    def close(self) -> None:
        if self.stage is not None:
            self.stream.write("\n")


async def run_seed(books: int, *, progress: bool = False) -> str:
    # A million books take minutes in statements that run long by design.
    settings = get_settings().model_copy(update={"db_statement_timeout_ms": 0})
    database = Database.from_settings(settings)
    bar = ProgressBar() if progress else None
    try:
        async with database.sessionmaker() as session, session.begin():
            if bar is None:
                catalog = await seed_catalog(session, books=books)
            else:
                catalog = await seed_catalog(session, books=books, progress=bar)
            reviews = await seed_reviews(session, settings)
        await vacuum_analyze(database)
        return f"{catalog}; {reviews}"
    finally:
        if bar is not None:
            bar.close()
        await database.dispose()


async def vacuum_analyze(database: Database) -> None:
    """VACUUM (ANALYZE) the database once a load is committed. A bulk load leaves no page
    marked all-visible (and the search trigger a dead version of every book), so the index-only
    scans the search walk is planned around read the heap too, and the planner has no
    statistics; autovacuum would catch up when it runs, or never where it is off."""
    async with database.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM (ANALYZE)"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seed", description=__doc__)
    parser.add_argument("--books", type=int, default=DEFAULT_BOOKS, help="catalog size")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not 1 <= args.books <= MAX_BOOKS:
        parser.error(f"--books must be between 1 and {MAX_BOOKS}")
    migrations.upgrade(resolve_database_url())
    print(f"Seed: {asyncio.run(run_seed(args.books, progress=not args.quiet))}")
