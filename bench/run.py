"""`poetry run bench`: throughput, latency and cost of the API under load.

1. Creates its own database (on the server of DATABASE_URL or TEST_DATABASE_URL, else on an
   embedded PostgreSQL), migrates and seeds it, creates the buyers and their carts, and
   counts the SQL statements of one request per scenario in-process. The database is
   dropped at the end, whatever happens.
2. For each worker count, starts the production server (`poetry run serve`, ENV=production,
   RESPONSE_CACHE=off) and drives each scenario over keep-alive connections (32 by
   default), warm-up first, with wrk when it is on PATH, else the built-in asyncio
   generator; then the catalog page again on a server with the response cache on (the
   default), then on the raw asyncpg floor.
   Then, when Node is installed, the catalog page on PostGraphile 4 (the peer) in rounds
   alternating with the API's (1 worker, 1 process each).
3. Checks correctness (no errors, no oversell, SQL budgets), prints a Markdown table and
   writes results/latest.json and results/latest.md. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy.engine import make_url

from app.core.config import Environment, Settings
from app.core.logging import HANDLER_NAME as LOG_HANDLER_NAME
from bench import postgraphile
from bench.database import (
    StockLedger,
    bench_database,
    configured_server,
    plain_dsn,
    postgres_server,
    server_facts,
)
from bench.loadgen import LoadResult, failed, fetch, http_request, run_builtin
from bench.prepare import BUYERS, prepare
from bench.report import PeerComparison, Report, RunResult, machine_info, merged
from bench.scenarios import (
    ALL_SCENARIOS,
    PEER_CATALOG_QUERY,
    SCENARIOS,
    Fixture,
    Request,
    Scenario,
    Target,
    Workload,
    payload,
    served_by,
    workload,
)
from bench.servers import (
    CpuMeter,
    Server,
    api_command,
    floor_command,
    free_port,
    running,
    server_env,
)
from bench.wrk import run_wrk, wrk_version

RESULTS = Path(__file__).with_name("results")
_UNRECORDED = {"SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_URL"}
FULL = {"books": 10_000, "duration": 10, "warmup": 3, "workers": "1,2", "rounds": 5}
QUICK = {"books": 2_000, "duration": 1, "warmup": 1, "workers": "1", "rounds": 3}


@dataclass(frozen=True)
class Options:
    books: int
    duration: int
    warmup: int
    workers: tuple[int, ...]
    scenarios: tuple[str, ...]
    connections: int
    wrk: bool
    server_url: str | None
    output: Path
    quick: bool
    rounds: int  # alternating rounds of each side against the peer
    sizes: tuple[int, ...] = ()  # every size of --books, run one after the other


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI mode: ~20 s, 2000 books, 1 worker")
    parser.add_argument(
        "--books",
        help="catalog size, or sizes run one after the other: 10000,1000000 (10000; quick: 2000)",
    )
    parser.add_argument("--duration", type=int, help="seconds measured per scenario (10; quick: 1)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per scenario (3; quick: 1)")
    parser.add_argument("--workers", help="worker counts to run, e.g. 1,2 (quick: 1)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="alternating rounds against the peer, --duration each (5; quick: 3)",
    )
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help="comma-separated")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "builtin"),
        default="auto",
        help="auto: wrk if on PATH (quick: builtin)",
    )
    parser.add_argument("--server-url", help="PostgreSQL server to create the database on")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where latest.* go")
    args = parser.parse_args(argv)
    # Options not given take the profile's value (--quick or the full run).
    given = {name: value for name, value in vars(args).items() if value is not None}
    chosen: dict[str, Any] = {**(QUICK if args.quick else FULL), **given}
    scenarios = tuple(s.strip() for s in args.scenarios.split(",") if s.strip())
    if unknown := set(scenarios) - set(ALL_SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {ALL_SCENARIOS}")
    sizes = [int(size) for size in str(chosen["books"]).split(",") if size.strip()]
    options = Options(
        books=sizes[0],
        duration=chosen["duration"],
        warmup=chosen["warmup"],
        workers=tuple(int(w) for w in chosen["workers"].split(",")),
        scenarios=scenarios,
        connections=args.connections,
        # wrk drops the requests still in flight when it stops: a 1 s quick run on a busy
        # machine could record no checkout at all. The built-in generator counts them.
        wrk=args.loadgen == "wrk"
        or (args.loadgen == "auto" and not args.quick and wrk_version() is not None),
        server_url=args.server_url or configured_server(),
        output=args.output,
        quick=args.quick,
        rounds=chosen["rounds"],
        sizes=tuple(sizes),
    )
    if options.wrk and wrk_version() is None:
        parser.error("--loadgen wrk: wrk is not on PATH")
    if min(*sizes, options.duration, options.connections, *options.workers, options.rounds) < 1:
        parser.error("--books, --duration, --connections, --workers and --rounds must be positive")
    if options.warmup < 0:
        parser.error("--warmup must not be negative")
    return options


def parse_runs(argv: list[str] | None) -> list[Options]:
    """One Options per catalog size of `--books` (a comma-separated list)."""
    options = parse_options(argv)
    return [replace(options, books=size) for size in options.sizes]


class Bench:
    """One benchmark: the database, the fixture, and the runs recorded in the report."""

    def __init__(
        self,
        options: Options,
        url: str,
        fixture: Fixture,
        report: Report,
        server_settings: dict[str, str],
        work_dir: Path,
    ) -> None:
        self.options = options
        self.url = url
        self.fixture = fixture
        self.report = report
        self.server_settings = server_settings
        self.work_dir = work_dir  # server logs, wrk's data files
        # The floor must answer what the API answers: its pages, by worker count.
        self.references: dict[int, list[tuple[Request, bytes]]] = {}

    def wanted(self, target: Target) -> tuple[Scenario, ...]:
        """The chosen scenarios `target` answers, in the order they run."""
        return tuple(s for s in served_by(target) if s.name in self.options.scenarios)

    async def run(self) -> None:
        for workers in self.options.workers:
            if self.wanted(Target.API) or self.wanted(Target.FLOOR):
                await self.run_api(workers)
            if self.wanted(Target.CACHED_API):
                await self.run_cached(workers)
            if self.wanted(Target.FLOOR):
                await self.run_floor(workers)
        for scenario in self.wanted(Target.POSTGRAPHILE):
            await self.run_peer(scenario)

    async def run_api(self, workers: int) -> None:
        ledger = StockLedger(self.url, list(self.fixture.hot_books))
        selling = False
        port = free_port()
        env = server_env(**self.server_settings)
        log = self.work_dir / f"api-{workers}.log"
        async with running(api_command(port, workers), env, port, workers, log) as server:
            if self.wanted(Target.FLOOR):
                self.references[workers] = await self.reference_pages(port)
            for scenario in self.wanted(Target.API):
                if scenario.sells and not selling:
                    await ledger.open()
                    selling = True
                await self.measure(server, scenario)
        # After the server stopped: no checkout is still in flight.
        if selling:
            self.report.stock_checks[workers] = await ledger.close()

    async def run_cached(self, workers: int) -> None:
        """The cached API's scenarios, on a server with the response cache on."""
        port = free_port()
        env = server_env(**{**self.server_settings, "RESPONSE_CACHE": "on"})
        log = self.work_dir / f"api-cached-{workers}.log"
        async with running(api_command(port, workers), env, port, workers, log) as server:
            for scenario in self.wanted(Target.CACHED_API):
                await self.measure(server, scenario)

    async def run_floor(self, workers: int) -> None:
        port = free_port()
        env = server_env(FLOOR_DATABASE_URL=plain_dsn(self.url))
        log = self.work_dir / f"floor-{workers}.log"
        async with running(floor_command(port, workers), env, port, workers, log) as server:
            await verify_floor(port, self.references[workers])
            for scenario in self.wanted(Target.FLOOR):
                await self.measure(server, scenario)

    async def run_peer(self, scenario: Scenario) -> None:
        """The peer's scenario and the API's it mirrors, one process each, in alternating
        rounds; or, without Node or when the install fails, why not."""
        try:
            folder = await postgraphile.install()
        except postgraphile.PeerUnavailable as error:
            self.report.peer = PeerComparison(scenario.name, unavailable=str(error))
            print(f"{scenario.title}: not run ({error})", flush=True)
            return
        mirrored = SCENARIOS[scenario.mirrors or ""]
        api_port, peer_port = free_port(), free_port()
        peer = postgraphile.command(folder, plain_dsn(self.url), peer_port)
        api_env = server_env(**self.server_settings)
        api_log, peer_log = self.work_dir / "api-peer.log", self.work_dir / "postgraphile.log"
        async with (
            running(api_command(api_port, 1), api_env, api_port, 1, api_log) as api,
            running(
                peer, postgraphile.environment(), peer_port, 1, peer_log, postgraphile.READY_PATH
            ) as server,
        ):
            pages = mirrored.requests(self.fixture)
            cursors = await verify_peer(api_port, peer_port, pages)
            fixture = replace(self.fixture, peer_cursors=cursors)
            await self.warm_up(api, mirrored, fixture)
            await self.warm_up(server, scenario, fixture)
            ours, theirs = [], []
            for _ in range(self.options.rounds):
                ours.append(await self.timed(api, mirrored, fixture))
                theirs.append(await self.timed(server, scenario, fixture))
        version = f"PostGraphile {postgraphile.VERSION} on Node.js {postgraphile.node_version()}"
        comparison = PeerComparison(
            scenario.name,
            version,
            pages_verified=len(cursors),
            ours=tuple(ours),
            theirs=tuple(theirs),
        )
        self.report.peer = comparison
        self.report.runs.append(merged_run := merged(theirs))
        print(
            f"{scenario.title}: {merged_run.load.rps:,.0f} req/s, the API at "
            f"{comparison.ratio or 0:.2f}x (median of {len(ours)} rounds), "
            f"{merged_run.load.error_summary()} errors",
            flush=True,
        )

    async def reference_pages(self, port: int) -> list[tuple[Request, bytes]]:
        """The API's answers to the floor's first, middle and last requests, byte for byte."""
        requests = [r for s in self.wanted(Target.FLOOR) for r in s.requests(self.fixture)]
        pages = []
        for request in (requests[0], requests[len(requests) // 2], requests[-1]):
            status, body = await fetch(port, http_request(port, request.body))
            if failed(status, body):
                raise RuntimeError(f"the API failed a catalog page ({status}): {body[:500]!r}")
            pages.append((request, body))
        return pages

    async def measure(self, server: Server, scenario: Scenario) -> None:
        await self.warm_up(server, scenario, self.fixture)
        run = await self.timed(server, scenario, self.fixture)
        self.report.runs.append(run)
        result = run.load
        print(
            f"{scenario.title}, {server.workers} worker(s): {result.rps:,.0f} req/s, "
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
            f"{result.error_summary()} errors",
            flush=True,
        )

    async def warm_up(self, server: Server, scenario: Scenario, fixture: Fixture) -> None:
        if self.options.warmup:
            load = workload(scenario.name, fixture, self.options.connections, warmup=True)
            await self.generate(server.port, load, self.options.warmup)

    async def timed(self, server: Server, scenario: Scenario, fixture: Fixture) -> RunResult:
        """One measured run of `scenario` on `server`, with its CPU time and memory."""
        meter = CpuMeter(server, make_url(self.url).database or "")
        meter.start()
        load = workload(scenario.name, fixture, self.options.connections)
        result = await self.generate(server.port, load, self.options.duration)
        return RunResult(scenario.name, server.workers, result, meter.stop(), server.rss_mb())

    async def generate(self, port: int, load: Workload, seconds: int) -> LoadResult:
        if self.options.wrk:
            return await run_wrk(port, load, seconds, self.work_dir)
        return await run_builtin(port, load, seconds)


async def verify_floor(port: int, references: list[tuple[Request, bytes]]) -> None:
    """Fail loudly unless the floor answers exactly the API's bytes."""
    for request, expected in references:
        _, body = await fetch(port, http_request(port, request.body))
        if body != expected:
            pairs = enumerate(zip(body, expected, strict=False))
            at = next((i for i, (a, b) in pairs if a != b), min(len(body), len(expected)))
            raise RuntimeError(
                f"the floor's catalog page differs from the API's at byte {at} "
                f"(variables {request.body[-120:]!r}):\n"
                f"API:   {expected[max(0, at - 80) : at + 80]!r}\n"
                f"floor: {body[max(0, at - 80) : at + 80]!r}"
            )


async def verify_peer(
    api_port: int, peer_port: int, pages: list[Request]
) -> tuple[str | None, ...]:
    """Page through the peer as a client does, each page against the API's answer to
    `pages` (the catalog's, in order): the peer's own cursors of the same pages, once every
    page holds the API's books (id, title, price, authors and genres, in order). Fails
    loudly at the first difference."""
    own: list[str | None] = [None]
    for number, page in enumerate(pages, start=1):
        status, body = await fetch(api_port, http_request(api_port, page.body))
        if failed(status, body):
            raise RuntimeError(f"the API failed catalog page {number} ({status}): {body[:300]!r}")
        peer_request = http_request(peer_port, payload(PEER_CATALOG_QUERY, {"after": own[-1]}))
        status, peer_body = await fetch(peer_port, peer_request)
        if failed(status, peer_body):
            raise RuntimeError(f"the peer failed page {number} ({status}): {peer_body[:300]!r}")
        ours = postgraphile.our_books(body)
        theirs, last = postgraphile.peer_page(peer_body)
        if theirs != ours:
            pairs = enumerate(zip(ours, theirs, strict=False))
            at = next((i for i, (a, b) in pairs if a != b), min(len(ours), len(theirs)))
            raise RuntimeError(
                f"the peer's catalog page {number} differs from the API's at book {at + 1}:\n"
                f"API:  {ours[at : at + 2]}\npeer: {theirs[at : at + 2]}"
            )
        own.append(last)
    return tuple(own[: len(pages)])


def app_settings(secret_key: str, url: str) -> Settings:
    """The servers' settings for the in-process app (uncached, so that its statements are
    counted), with no statement timeout, cheap password hashing (it only creates the
    benchmark's users) and tokens that outlive the longest run."""
    return Settings(
        _env_file=None,
        env=Environment.PRODUCTION,
        secret_key=secret_key,
        database_url=url,
        response_cache=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        access_token_expire_minutes=24 * 60,
        # It also seeds the catalog: statements long by design, as `poetry run seed`'s
        # (a busy machine took the 2,000 books of a quick run past the 5 s default).
        db_statement_timeout_ms=0,
    )


async def benchmark(options: Options) -> Report:
    secret_key = secrets.token_urlsafe(48)
    buyers = max(BUYERS, options.connections)  # a connection per buyer at most
    async with postgres_server(options.server_url) as server_url, bench_database(server_url) as url:
        print(f"Seeding {options.books:,} books and {buyers} buyers ...", flush=True)
        fixture, statements, sequential = await prepare(
            app_settings(secret_key, url), options.books, buyers, options.scenarios
        )
        server_settings = {
            "ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": secret_key,
            "DATABASE_URL": url,
            "RESPONSE_CACHE": "off",
        }
        report = Report(
            machine={**machine_info(), **await server_facts(url)},
            config=describe(options, server_settings),
            statements=statements,
            sequential=sequential,
        )
        with tempfile.TemporaryDirectory(prefix="bookstore-bench-") as work_dir:
            bench = Bench(options, url, fixture, report, server_settings, Path(work_dir))
            await bench.run()
    return report


def describe(options: Options, server_settings: dict[str, str]) -> dict[str, Any]:
    """The configuration, as recorded with the results (no secrets, no URLs)."""
    version = wrk_version() if options.wrk else None
    return {
        "books": options.books,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "connections": options.connections,
        "workers": list(options.workers),
        "scenarios": list(options.scenarios),
        "quick": options.quick,
        "load_generator": version or "builtin (asyncio streams on uvloop)",
        "server_settings": recorded_settings(server_env(**server_settings)),
    }


def recorded_settings(env: dict[str, str]) -> dict[str, str]:
    """The app settings the servers' environment sets (they inherit this process's, so
    e.g. DB_POOL_SIZE=32 applies to them), without secrets and URLs."""
    return {
        name: value
        for name, value in sorted(env.items())
        if name.lower() in Settings.model_fields and name not in _UNRECORDED
    }


def quiet_in_process_app() -> None:
    """The in-process app (and httpx) log every request it serves while preparing: keep
    warnings only. The app's logging setup leaves a root handler of its name alone."""
    handler = logging.StreamHandler()
    handler.set_name(LOG_HANDLER_NAME)
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    runs = parse_runs(argv)
    quiet_in_process_app()
    failures: list[str] = []
    for options in runs:
        try:
            report = uvloop.run(benchmark(options))
        except KeyboardInterrupt:
            print("Interrupted: servers stopped, benchmark database dropped.", file=sys.stderr)
            return 130
        # Several sizes: each gets latest-<books>.*, and latest.* holds the last one.
        suffix = f"-{options.books}" if len(runs) > 1 else ""
        report.write(options.output, suffix=suffix)
        if suffix:
            report.write(options.output)
        sequential = "\n".join(report.sequential_rows())
        print(f"\n{report.to_markdown()}\n\n{sequential}")
        print(f"\nWritten to {options.output}/latest{suffix}.{{json,md}}")
        failures += report.failures()
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
