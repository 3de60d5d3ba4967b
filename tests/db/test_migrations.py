"""Migrations apply, revert and re-apply on an empty database, and match the models."""

from __future__ import annotations

import asyncio

import asyncpg

from app.db import migrations
from bench.database import plain_dsn
from tests.conftest import create_database, drop_database
from tests.support import run_in_thread


async def table_names(url: str) -> set[str]:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


def test_upgrade_downgrade_upgrade_and_no_drift(server_url: str) -> None:
    url = create_database(server_url, "bookstore_migrations")
    try:
        run_in_thread(migrations.upgrade, url)
        after_upgrade = run_in_thread(asyncio.run, table_names(url))
        run_in_thread(migrations.downgrade, url)
        assert run_in_thread(asyncio.run, table_names(url)) == {"alembic_version"}
        run_in_thread(migrations.upgrade, url)
        assert run_in_thread(asyncio.run, table_names(url)) == after_upgrade
        run_in_thread(migrations.check, url)  # raises on any model/migration drift
    finally:
        drop_database(server_url, url)
