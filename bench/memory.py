"""Memory under sustained load: RSS per worker after 10,000 and after 50,000 requests.

    poetry run python -m bench.memory [--books 10000] [--workers 1]

Like `poetry run bench` it creates (and drops) its own database and starts the production
server (uncached, so every request does the full work); the load cycles through the
read scenarios (catalog pages, book details, searches, cart reads) until each checkpoint.
A leak shows as growth between the checkpoints; the warm-up (caches of parsed documents,
prepared statements, the connection pool) is over by the first one.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
from pathlib import Path

import uvloop

from bench.database import bench_database, configured_server, postgres_server
from bench.loadgen import run_builtin
from bench.prepare import BUYERS, prepare
from bench.run import app_settings, quiet_in_process_app
from bench.scenarios import workload
from bench.servers import api_command, free_port, running, server_env
from bench.wrk import run_wrk, wrk_version

CHECKPOINTS = (10_000, 50_000)
READS = ("catalog", "detail", "search", "cart")
CHUNK_SECONDS = 5


async def soak(books: int, workers: int, connections: int) -> list[tuple[int, list[float]]]:
    secret_key = secrets.token_urlsafe(48)
    async with (
        postgres_server(configured_server()) as server_url,
        bench_database(server_url) as url,
    ):
        print(f"Seeding {books:,} books ...", flush=True)
        fixture, _, _ = await prepare(app_settings(secret_key, url), books, BUYERS)
        env = server_env(
            ENV="production", SECRET_KEY=secret_key, DATABASE_URL=url, RESPONSE_CACHE="off"
        )
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="bookstore-memory-") as work_dir:
            log = Path(work_dir) / "api.log"
            async with running(api_command(port, workers), env, port, workers, log) as server:
                served, readings = 0, []
                for checkpoint in CHECKPOINTS:
                    while served < checkpoint:
                        for scenario in READS:
                            load = workload(scenario, fixture, connections)
                            if wrk_version() is not None:
                                result = await run_wrk(port, load, CHUNK_SECONDS, Path(work_dir))
                            else:
                                result = await run_builtin(port, load, CHUNK_SECONDS)
                            if result.failed:
                                raise RuntimeError(f"{scenario}: {result.error_summary()} errors")
                            served += result.requests
                    readings.append((served, server.rss_mb()))
                    print(f"after {served:,} requests: RSS/worker {server.rss_mb()} MB", flush=True)
    return readings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    quiet_in_process_app()
    readings = uvloop.run(soak(args.books, args.workers, args.connections))
    (first, first_rss), (last, last_rss) = readings[0], readings[-1]
    for worker, (before, after) in enumerate(zip(first_rss, last_rss, strict=True)):
        growth = (after - before) / before
        print(
            f"worker {worker + 1}: {before:.1f} MB after {first:,} requests, {after:.1f} MB "
            f"after {last:,}: {growth:+.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
