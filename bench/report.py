"""The results: what each run measured, the checks they must pass, JSON and Markdown."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
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


@dataclass
class Report:
    machine: dict[str, Any]
    config: dict[str, Any]
    statements: dict[str, int]
    runs: list[RunResult] = field(default_factory=list)
    stock_checks: dict[int, StockCheck] = field(default_factory=dict)  # by worker count
    # One request at a time, in-process: {scenario: {term: median ms}} (`prepare.py`).
    sequential: dict[str, dict[str, float]] = field(default_factory=dict)

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
                *(["", "Failures:", *(f"- {failure}" for failure in failures)] if failures else []),
                "",
            ]
        )

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
