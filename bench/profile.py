"""Where one scenario's CPU time goes, function by function: cProfile over its requests.

    poetry run python -m bench.profile --scenario cart [--books 2000] [--requests 500]
        [--database-url postgresql+asyncpg://.../bookstore_1m]

Seeds its own database (dropped at the end) with the benchmark's catalog, buyers and carts
(`prepare.py`), then sends the scenario's requests one after the other through the whole
ASGI app in this process (no HTTP server, no load generator, as `breakdown.py` does), a
fifth of them as a warm-up, the rest under cProfile. Prints the top entries by cumulative
and by own time, in CPU ms per request (cProfile's overhead included: the whole is a few
times the unprofiled figure; a coroutine counts a call each time it resumes). Any scenario
the API answers in-process can be profiled: `--scenario` takes the names of
`poetry run bench --scenarios`.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import uvloop
from fastapi import FastAPI

from app.db.migrations import PROJECT_ROOT
from bench.breakdown import Call, asgi_call
from bench.database import StockLedger, bench_database, configured_server, postgres_server
from bench.prepare import BUYERS, build_fixture, in_process_api, seed
from bench.run import app_settings, quiet_in_process_app
from bench.scenarios import SCENARIOS, Fixture, Target, workload

PROFILED = tuple(
    name
    for name, scenario in SCENARIOS.items()
    if scenario.target in (Target.API, Target.CACHED_API)
)
# (file, line, function) as cProfile keys its entries.
Entry = tuple[str, int, str]


def calls(app: FastAPI, scenario: str, fixture: Fixture, count: int) -> list[Call]:
    """`count` requests of the scenario in its workload's order, each with a fresh
    idempotency key where it needs one (a buyer's checkout refills its cart)."""
    load = workload(scenario, fixture, connections=1)
    order = load.sequences[0]
    prefix = f"profile-{uuid.uuid4().hex[:8]}-"
    chosen = [load.requests[order[i % len(order)]] for i in range(count)]
    return [
        asgi_call(
            app,
            request.with_key(f"{prefix}{i}") if request.keyed else request.body,
            request.token,
        )
        for i, request in enumerate(chosen)
    ]


@contextlib.asynccontextmanager
async def database(reused: str | None) -> AsyncIterator[str]:
    """`reused` as it is (the seed below only tops it up), or a new database dropped after."""
    if reused:
        yield reused
        return
    async with (
        postgres_server(configured_server()) as server_url,
        bench_database(server_url) as url,
    ):
        yield url


async def profile(scenario: str, books: int, requests: int, reused: str | None) -> pstats.Stats:
    async with database(reused) as url:
        settings = app_settings(secrets.token_urlsafe(48), url).model_copy(
            update={
                "access_log": False,
                "response_cache": SCENARIOS[scenario].target is Target.CACHED_API,
            }
        )
        async with in_process_api(settings) as (app, gql):
            print(f"Seeding {books:,} books and {BUYERS} buyers ...", file=sys.stderr, flush=True)
            await seed(app.state.database, settings, books)
            fixture = await build_fixture(app.state.database, gql, BUYERS)
            if SCENARIOS[scenario].sells:
                await StockLedger(url, list(fixture.hot_books)).open()  # enough stock
            warmup = calls(app, scenario, fixture, max(1, requests // 5))
            measured = calls(app, scenario, fixture, requests)
            for call in warmup:
                await call()
            # CPU time of this process: not the waits for PostgreSQL, nor the time the
            # machine's other processes take the CPU.
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for call in measured:
                await call()
            profiler.disable()
    return pstats.Stats(profiler)


def place(entry: Entry) -> str:
    """An entry's name without the interpreter's and the project's directories."""
    file, line, function = entry
    for marker in ("site-packages/", f"{PROJECT_ROOT}/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{line}({function})" if line else function


def top(stats: pstats.Stats, key: int, count: int, requests: int) -> list[str]:
    """The `count` entries with the most time at `key` (2: own, 3: cumulative)."""
    entries = stats.stats  # type: ignore[attr-defined]  # pstats keeps it undocumented
    ranked = sorted(entries.items(), key=lambda item: item[1][key], reverse=True)[:count]
    lines = [f"{'calls/req':>9} {'own ms':>7} {'cum ms':>7}  function (per request)"]
    for entry, (_, calls_, own, cumulative, _) in ranked:
        lines.append(
            f"{calls_ / requests:9.1f} {own * 1000 / requests:7.3f} "
            f"{cumulative * 1000 / requests:7.3f}  {place(entry)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", required=True, choices=PROFILED)
    parser.add_argument("--books", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", type=Path, help="also write the raw profile (pstats)")
    parser.add_argument(
        "--database-url",
        help="a migrated database to reuse, kept afterwards: a 1,000,000-book catalog is "
        "seeded once, not on every run",
    )
    args = parser.parse_args(argv)
    quiet_in_process_app()
    stats = uvloop.run(profile(args.scenario, args.books, args.requests, args.database_url))
    if args.output:
        stats.dump_stats(args.output)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(
        f"\n{SCENARIOS[args.scenario].title}: {args.requests} requests in-process, "
        f"{total * 1000 / args.requests:.2f} CPU ms per request under cProfile (its overhead "
        "included)"
    )
    for title, key in (("by cumulative time", 3), ("by own time", 2)):
        print(f"\nTop {args.top} {title}:")
        print("\n".join(top(stats, key, args.top, args.requests)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
