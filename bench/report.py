"""The results: what each run measured, the checks they must pass, JSON and Markdown."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from app.db.migrations import PROJECT_ROOT
from bench.database import StockCheck
from bench.loadgen import LoadResult
from bench.scenarios import SCENARIOS, STATEMENT_BUDGETS, Target
from bench.servers import CpuSeconds


@dataclass(frozen=True)
class RunResult:
    scenario: str
    workers: int
    load: LoadResult
    cpu: CpuSeconds
    rss_mb: list[float]

    def cpu_ms_per_request(self) -> dict[str, float]:
        requests = max(1, self.load.requests)
        return {
            name: round(seconds * 1000 / requests, 2) for name, seconds in asdict(self.cpu).items()
        }


TIMES = "\N{MULTIPLICATION SIGN}"


def merged(runs: Sequence[RunResult]) -> RunResult:
    """Rounds of one scenario as one run: their totals, and the median of their latencies."""
    errors: Counter[str] = Counter()
    for run in runs:
        errors.update(run.load.errors)
    loads = [run.load for run in runs]
    load = LoadResult(
        requests=sum(load.requests for load in loads),
        errors=dict(errors),
        seconds=sum(load.seconds for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p95_ms=statistics.median(load.p95_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
    )
    cpu = CpuSeconds(
        **{name: sum(getattr(run.cpu, name) for run in runs) for name in asdict(runs[0].cpu)}
    )
    return RunResult(runs[0].scenario, runs[0].workers, load, cpu, runs[-1].rss_mb)


@dataclass(frozen=True)
class PeerComparison:
    """A peer's scenario and the API's it mirrors in alternating rounds, one process each
    (round i: the API's run i, then the peer's), or why the peer did not run."""

    scenario: str  # the peer's
    version: str = ""
    unavailable: str | None = None
    pages_verified: int = 0  # the peer's pages found to hold the API's books
    ours: tuple[RunResult, ...] = ()
    theirs: tuple[RunResult, ...] = ()

    def ratios(self) -> list[float]:
        """The API's throughput over the peer's, round by round."""
        pairs = zip(self.ours, self.theirs, strict=True)
        return [ours.load.rps / theirs.load.rps for ours, theirs in pairs if theirs.load.rps]

    @property
    def ratio(self) -> float | None:
        """The median round's ratio."""
        ratios = self.ratios()
        return round(statistics.median(ratios), 3) if ratios else None

    @property
    def cpu_ratio(self) -> float | None:
        """The peer's CPU per request (its process and PostgreSQL's) over the API's: what
        the throughput ratio approaches when both are CPU-bound on otherwise idle cores."""
        if not self.ours or not self.theirs:
            return None
        api, peer = merged(self.ours).cpu_ms_per_request(), merged(self.theirs).cpu_ms_per_request()
        spent = api["server"] + api["postgres"]
        return round((peer["server"] + peer["postgres"]) / spent, 3) if spent else None

    def to_json(self) -> dict[str, Any]:
        if self.unavailable:
            return {"scenario": self.scenario, "status": "not run", "reason": self.unavailable}
        return {
            "scenario": self.scenario,
            "status": "measured",
            "version": self.version,
            "pages_verified": self.pages_verified,
            "rounds": [
                {"api_rps": round(o.load.rps, 1), "peer_rps": round(t.load.rps, 1)}
                for o, t in zip(self.ours, self.theirs, strict=True)
            ],
            "ratio": self.ratio,
            "cpu_ratio": self.cpu_ratio,
            "api_cpu_ms_per_request": merged(self.ours).cpu_ms_per_request(),
            "peer_cpu_ms_per_request": merged(self.theirs).cpu_ms_per_request(),
        }

    def lines(self, duration_s: int) -> list[str]:
        """latest.md's section: each round, the median ratio, the CPU per request."""
        title = SCENARIOS[self.scenario].title
        if self.unavailable:
            return [f"{title}: not run ({self.unavailable})."]
        mirrored = SCENARIOS[SCENARIOS[self.scenario].mirrors or ""].title
        ours, theirs = merged(self.ours), merged(self.theirs)
        api, peer = ours.cpu_ms_per_request(), theirs.cpu_ms_per_request()
        rounds = zip(self.ours, self.theirs, strict=True)
        return [
            f"{self.version}, 1 process, against the API's {mirrored} (1 worker, "
            f"RESPONSE_CACHE=off): {len(self.ours)} alternating rounds of {duration_s} s over "
            f"the same pages ({self.pages_verified} checked book for book at start-up).",
            "",
            "| round | API req/s | PostGraphile req/s | API ÷ PostGraphile |",
            "|--:|--:|--:|--:|",
            *(
                f"| {i} | {o.load.rps:,.0f} | {t.load.rps:,.0f} | "
                + (f"{o.load.rps / t.load.rps:.2f}{TIMES} |" if t.load.rps else "- |")
                for i, (o, t) in enumerate(rounds, start=1)
            ),
            f"| median | | | **{self.ratio or 0:.2f}{TIMES}** |",
            "",
            f"CPU ms/req over all rounds: API {api['server']:.2f} · its PostgreSQL "
            f"{api['postgres']:.2f}; PostGraphile {peer['server']:.2f} · its PostgreSQL "
            f"{peer['postgres']:.2f}: by CPU per request, the API at "
            f"{self.cpu_ratio or 0:.2f}{TIMES} PostGraphile (what the throughput ratio "
            "approaches when both are CPU-bound on cores nothing else uses).",
        ]


@dataclass
class Report:
    machine: dict[str, Any]
    config: dict[str, Any]
    statements: dict[str, int]
    runs: list[RunResult] = field(default_factory=list)
    stock_checks: dict[int, StockCheck] = field(default_factory=dict)  # by worker count
    # One request at a time, in-process: {scenario: {term: median ms}} (`prepare.py`).
    sequential: dict[str, dict[str, float]] = field(default_factory=dict)
    peer: PeerComparison | None = None

    def sequential_rows(self) -> list[str]:
        """Median and slowest term of each scenario, and both as multiples of the catalog
        page's median (the issue's targets are stated that way)."""
        page = self.sequential.get("catalog", {})
        if not page:
            return []
        base = statistics.median(page.values())
        lines = [
            "| one at a time (in-process) | median ms | vs page | slowest ms | vs page | slowest |",
            "|---|--:|--:|--:|--:|---|",
        ]
        for scenario, terms in self.sequential.items():
            median = statistics.median(terms.values())
            term, worst = max(terms.items(), key=lambda item: item[1])
            lines.append(
                f"| {SCENARIOS[scenario].title} | {median:.1f} | {median / base:.1f} "
                f"| {worst:.1f} | {worst / base:.1f} | `{term[:30]}` |"
            )
        return lines

    def floor_ratio(self, run: RunResult) -> float | None:
        """The catalog page's throughput as a fraction of the floor's (same workers)."""
        if not SCENARIOS[run.scenario].vs_floor:
            return None
        floors = [
            r
            for r in self.runs
            if SCENARIOS[r.scenario].target is Target.FLOOR and r.workers == run.workers
        ]
        if not floors or not floors[0].load.rps:
            return None
        return round(run.load.rps / floors[0].load.rps, 3)

    def orders_per_second(self, workers: int) -> float:
        runs = [r for r in self.runs if SCENARIOS[r.scenario].sells and r.workers == workers]
        return round(sum((r.load.requests - r.load.failed) / r.load.seconds for r in runs), 1)

    def failures(self) -> list[str]:
        """Correctness problems (timings are never judged)."""
        problems = [
            f"{run.scenario} with {run.workers} worker(s): {run.load.error_summary()} errors"
            for run in self.runs
            if run.load.failed
        ]
        problems += [
            f"checkout with {workers} worker(s) oversold: {check}"
            for workers, check in self.stock_checks.items()
            if check.oversold
        ]
        problems += [
            f"{scenario}: {count} SQL statements per request (budget {STATEMENT_BUDGETS[scenario]})"
            for scenario, count in self.statements.items()
            if scenario in STATEMENT_BUDGETS and count > STATEMENT_BUDGETS[scenario]
        ]
        if self.peer and self.peer.ours and (errors := merged(self.peer.ours).load).failed:
            problems.append(f"catalog against the peer: {errors.error_summary()} errors")
        return problems

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "config": self.config,
            "statements_per_request": self.statements,
            "statement_budgets": STATEMENT_BUDGETS,
            "runs": [self._run_json(run) for run in self.runs],
            "checkout": {
                str(workers): {
                    **asdict(check),
                    "oversold": check.oversold,
                    "orders_per_s": self.orders_per_second(workers),
                }
                for workers, check in self.stock_checks.items()
            },
            "sequential_ms": self.sequential,
            "peer": self.peer.to_json() if self.peer else None,
            "targets": [
                {"target": target, "measured": measured, "met": met}
                for target, measured, met in self.targets()
            ],
            "failures": self.failures(),
        }

    def _run_json(self, run: RunResult) -> dict[str, Any]:
        load = run.load
        return {
            "scenario": run.scenario,
            "workers": run.workers,
            "requests": load.requests,
            "seconds": round(load.seconds, 3),
            "rps": round(load.rps, 1),
            "p50_ms": round(load.p50_ms, 2),
            "p95_ms": round(load.p95_ms, 2),
            "p99_ms": round(load.p99_ms, 2),
            "errors": load.failed,
            "error_kinds": load.errors,
            "statements_per_request": self.statements.get(run.scenario),
            "rss_mb_per_worker": run.rss_mb,
            "cpu_ms_per_request": run.cpu_ms_per_request(),
            "vs_floor": self.floor_ratio(run),
        }

    def to_markdown(self) -> str:
        lines = [
            "| scenario | workers | req/s | p50 ms | p95 ms | p99 ms | errors | SQL/req "
            "| RSS/worker MB | CPU ms/req: API · PG · loadgen · other | vs floor |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        lines += [self._run_row(run) for run in self.runs]
        if self.peer and self.peer.unavailable:
            title = SCENARIOS[self.peer.scenario].title
            lines.append(f"| {title} | 1 | not run: {self.peer.unavailable} |" + " - |" * 8)
        return "\n".join(lines)

    def _run_row(self, run: RunResult) -> str:
        load, cpu = run.load, run.cpu_ms_per_request()
        statements = self.statements.get(run.scenario)
        ratio = self.floor_ratio(run)
        cells = [
            SCENARIOS[run.scenario].title,
            str(run.workers),
            f"{load.rps:,.0f}",
            f"{load.p50_ms:.1f}",
            f"{load.p95_ms:.1f}",
            f"{load.p99_ms:.1f}",
            load.error_summary(),
            "-" if statements is None else str(statements),
            " / ".join(f"{rss:.0f}" for rss in run.rss_mb),
            f"{cpu['server']:.2f} · {cpu['postgres']:.2f} · {cpu['loadgen']:.2f} · "
            f"{cpu['other']:.2f}",
            "-" if ratio is None else f"{ratio:.0%}",
        ]
        return "| " + " | ".join(cells) + " |"

    def document(self) -> str:
        """latest.md: the table with the machine, the configuration and the checks."""
        machine, config = self.machine, self.config
        checks = [
            f"- checkout, {workers} worker(s): {check.orders:,} orders "
            f"({self.orders_per_second(workers):,.1f} orders/s measured); hot books: "
            f"{check.initial:,} shelved = {check.ordered:,} ordered + {check.remaining:,} left, "
            f"lowest stock {check.lowest:,}: {'OVERSOLD' if check.oversold else 'no oversell'}"
            for workers, check in self.stock_checks.items()
        ]
        failures = self.failures()
        return "\n".join(
            [
                "# Benchmark results",
                "",
                f"- machine: {machine['cpu']}, {machine['cores']} cores; Python "
                f"{machine['python']}; PostgreSQL {machine['postgresql']} "
                f"(pg_trgm: {'yes' if machine['pg_trgm'] else 'no'}); commit {machine['commit']}",
                f"- load generator: {config['load_generator']}, {config['connections']} "
                f"connections, {config['warmup_s']} s warm-up then {config['duration_s']} s "
                f"per scenario; {config['books']:,} books; API with "
                + ", ".join(f"{k}={v}" for k, v in config["server_settings"].items())
                + " (the cached rows: RESPONSE_CACHE=on)",
                "- SQL/req: statements of one request, counted in-process; CPU ms/req: CPU "
                "time per request of the API workers, PostgreSQL, the load generator and the "
                "rest of the machine (other: kernel networking and anything else running; "
                "more than ~1 ms means the run shared the CPUs); vs floor: the catalog "
                "page's req/s over the raw asyncpg endpoint's",
                "",
                self.to_markdown(),
                "",
                *self.sequential_rows(),
                "",
                *checks,
                *(["", *self.peer.lines(config["duration_s"])] if self.peer else []),
                "",
                "## Targets (issue 18)",
                "",
                "| target | measured | |",
                "|---|---|---|",
                *(
                    f"| {target} | {measured} | "
                    f"{'-' if met is None else 'met' if met else 'missed'} |"
                    for target, measured, met in self.targets()
                ),
                *(["", "Failures:", *(f"- {failure}" for failure in failures)] if failures else []),
                "",
            ]
        )

    def _runs_of(self, scenario: str) -> list[RunResult]:
        return [run for run in self.runs if run.scenario == scenario]

    def _per_workers(
        self, scenario: str, value: Callable[[RunResult], float], unit: str, limit: float
    ) -> tuple[str, bool | None]:
        """`value` of each worker count's run of `scenario`, and whether all are within
        `limit` (None: not measured)."""
        runs = self._runs_of(scenario)
        if not runs:
            return "not measured", None
        measured = ", ".join(f"{value(run):,.2f} {unit} ({run.workers} w)" for run in runs)
        return measured, all(value(run) <= limit for run in runs)

    def targets(self) -> list[tuple[str, str, bool | None]]:
        """Issue 18's targets, each with what this run measured and whether it is met
        (None: not measured). Informative only: timings are never judged."""

        def api_cpu(run: RunResult) -> float:
            return run.cpu_ms_per_request()["server"]

        rows: list[tuple[str, str, bool | None]] = []
        peer = self.peer
        target = (
            "catalog page, uncached, against PostGraphile 4 on the same data, 1 process each "
            f"≥ 1.0{TIMES}"
        )
        if peer is None or peer.unavailable or peer.ratio is None:
            reason = peer.unavailable if peer and peer.unavailable else "peer not run"
            rows.append((target, f"not measured ({reason})", None))
        else:
            ours = statistics.median(run.load.rps for run in peer.ours)
            theirs = statistics.median(run.load.rps for run in peer.theirs)
            rows.append(
                (
                    target,
                    f"{peer.ratio:.2f}{TIMES} (median of {len(peer.ours)} rounds; "
                    f"{ours:,.0f} against {theirs:,.0f} req/s; by CPU per request "
                    f"{peer.cpu_ratio or 0:.2f}{TIMES})",
                    peer.ratio >= 1.0,
                )
            )
        cart_cpu = self._per_workers("cart", api_cpu, "ms", 1.5)
        rows.append(("cart of a signed-in user ≤ 1.5 ms API CPU per request", *cart_cpu))
        cart = [run for run in self._runs_of("cart") if run.workers == 1]
        rows.append(
            (
                f"cart of a signed-in user ≥ 3{TIMES} today's throughput (≥ 750 req/s, 1 worker: "
                f"3{TIMES} the 250 of issue 18's run; compare on its machine)",
                f"{cart[0].load.rps:,.0f} req/s" if cart else "not measured",
                cart[0].load.rps >= 750 if cart else None,
            )
        )
        detail_cpu = self._per_workers("detail", api_cpu, "ms", 2.5)
        rows.append(("book detail ≤ 2.5 ms API CPU per request", *detail_cpu))
        orders = self.stock_checks.get(2)
        rows.append(
            (
                "checkout ≥ 200 orders/s with 2 workers",
                f"{self.orders_per_second(2):,.1f} orders/s" if orders else "not measured",
                self.orders_per_second(2) >= 200 if orders else None,
            )
        )
        order_cpu = self._per_workers("checkout", api_cpu, "ms", 5.0)
        rows.append(("checkout ≤ 5 ms API CPU per order", *order_cpu))
        catalog = [run for run in self._runs_of("catalog") if run.workers == 2]
        connections = self.config["connections"]
        rows.append(
            (
                "p99 at 32 connections, catalog page uncached, 2 workers < 100 ms",
                f"{catalog[0].load.p99_ms:,.1f} ms ({connections} connections)"
                if catalog
                else "not measured",
                catalog[0].load.p99_ms < 100 and connections == 32 if catalog else None,
            )
        )
        return rows

    def write(self, directory: Path, *, suffix: str = "") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"latest{suffix}.json").write_bytes(
            orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
        )
        (directory / f"latest{suffix}.md").write_text(self.document())


def machine_info() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "commit": _commit(),
    }


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _commit() -> str:
    """HEAD, read without touching the index (uncommitted changes are not detected)."""
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, fixed arguments
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"
