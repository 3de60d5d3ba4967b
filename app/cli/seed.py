"""`poetry run seed [--books N]`: load the deterministic demo catalog (idempotent)."""

from __future__ import annotations

import argparse
import asyncio

from app.books.seed import DEFAULT_BOOKS, seed_catalog
from app.cli.database import resolve_database_url
from app.core.config import get_settings
from app.db import migrations
from app.db.session import Database
from app.reviews.seed import seed_reviews


async def run_seed(books: int) -> str:
    settings = get_settings()
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            catalog = await seed_catalog(session, books=books)
            reviews = await seed_reviews(session, settings)
            return f"{catalog}; {reviews}"
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seed", description=__doc__)
    parser.add_argument("--books", type=int, default=DEFAULT_BOOKS, help="catalog size")
    args = parser.parse_args(argv)
    if not 1 <= args.books <= 1_000_000:
        parser.error("--books must be between 1 and 1000000")
    migrations.upgrade(resolve_database_url())
    print(f"Seed: {asyncio.run(run_seed(args.books))}")
