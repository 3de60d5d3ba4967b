"""`poetry run seed`: migrates, loads the catalog, and leaves it vacuumed, as a user runs it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from app.db.migrations import PROJECT_ROOT
from bench.database import plain_dsn
from tests.conftest import create_database, drop_database


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    url = create_database(server_url, "bookstore_seed")
    try:
        yield url
    finally:
        drop_database(server_url, url)


def seed(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ENV"}
    env["DATABASE_URL"] = url
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run(
        [sys.executable, "-c", "from app.cli.seed import main; main()", *args],
        cwd=tmp_path,  # no .env here
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def all_visible_pages(url: str, table: str) -> int:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        pages: int = await connection.fetchval(
            "SELECT relallvisible FROM pg_class WHERE relname = $1", table
        )
        return pages
    finally:
        await connection.close()


def test_the_seed_leaves_the_catalog_vacuumed_for_index_only_scans(
    empty_database: str, tmp_path: Path
) -> None:
    # Without a vacuum no page is marked all-visible, and the search walk's index-only scans
    # of the postings read the heap as well (autovacuum may be off, or not there yet).
    result = seed(empty_database, tmp_path, "--books", "2000", "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Seed: added 2000 books"), result.stdout
    for table in ("books", "search_postings"):
        assert asyncio.run(all_visible_pages(empty_database, table)) > 0, table

    again = seed(empty_database, tmp_path, "--books", "2000", "--quiet")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Seed: added 0 books"), again.stdout
