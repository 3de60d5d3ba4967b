"""The servers under test, as subprocesses: the API (`poetry run serve`), the floor and the
peer (PostGraphile).

Also what they cost: memory per worker after a run, and the CPU time of the workers,
PostgreSQL and the load generator during a run.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no type information shipped

from app.db.migrations import PROJECT_ROOT
from bench.loadgen import get

READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def api_command(port: int, workers: int) -> list[str]:
    """`poetry run serve`: the console script installed next to this interpreter."""
    serve = Path(sys.executable).with_name("serve")
    if not serve.exists():
        raise RuntimeError(f"{serve} is missing: run `poetry install`")
    return [str(serve), "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


def floor_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.floor",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


@dataclass(frozen=True)
class Server:
    process: asyncio.subprocess.Process
    port: int
    workers: int

    def worker_processes(self) -> list[psutil.Process]:
        """The processes serving requests: the server itself with one worker, else the
        workers uvicorn's supervisor spawned."""
        root = psutil.Process(self.process.pid)
        if self.workers == 1:
            return [root]
        return [child for child in root.children() if "spawn_main" in " ".join(child.cmdline())]

    def rss_mb(self) -> list[float]:
        return [round(p.memory_info().rss / 2**20, 1) for p in self.worker_processes()]


@asynccontextmanager
async def running(
    command: list[str],
    env: dict[str, str],
    port: int,
    workers: int,
    log: Path,
    ready_path: str = "/health/ready",
) -> AsyncIterator[Server]:
    """Start a server, wait until `ready_path` answers 200, stop it at the end."""
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(process, port, workers)
    try:
        await _wait_ready(server, log, ready_path)
        yield server
    finally:
        await _stop(process)


async def _wait_ready(server: Server, log: Path, path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.returncode is not None:
            raise RuntimeError(f"server exited at start-up:\n{_tail(log)}")
        try:
            status, _ = await get(server.port, path)
        except OSError:
            status = 0
        if status == 200 and len(server.worker_processes()) == server.workers:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT_SECONDS:.0f} s:\n{_tail(log)}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (uvicorn finishes the requests in flight), SIGKILL if it hangs."""
    if process.returncode is None:
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def server_env(**settings: str) -> dict[str, str]:
    """This process's environment with the server's settings on top."""
    return {**os.environ, **settings}


@dataclass(frozen=True)
class CpuSeconds:
    server: float
    postgres: float
    loadgen: float
    other: float  # the rest of the machine: anything else running skews the run


_BUSY = ("user", "nice", "system", "irq", "softirq")


@dataclass(frozen=True)
class _Snapshot:
    server: dict[int, float]
    postgres: dict[int, float]
    own: float
    machine: float


class CpuMeter:
    """CPU time spent between `start()` and `stop()` by the server's workers, by
    PostgreSQL (the benchmark database's backends and the server's own processes), by
    the load generator (this process and its finished children, i.e. wrk) and by the
    rest of the machine."""

    def __init__(self, server: Server, database: str) -> None:
        self.server = server
        self.database = database
        self._start: _Snapshot | None = None

    def _snapshot(self) -> _Snapshot:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine = psutil.cpu_times()
        return _Snapshot(
            server=_cpu(self.server.worker_processes()),
            postgres=_cpu(_postgres_processes(self.database)),
            own=time.process_time() + children.ru_utime + children.ru_stime,
            # Busy time of all CPUs (Linux counts guest time inside user and nice).
            machine=sum(getattr(machine, name, 0.0) for name in _BUSY),
        )

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> CpuSeconds:
        assert self._start is not None, "start() first"
        before, after = self._start, self._snapshot()
        server = _delta(before.server, after.server)
        postgres = _delta(before.postgres, after.postgres)
        loadgen = after.own - before.own
        other = after.machine - before.machine - server - postgres - loadgen
        return CpuSeconds(server, postgres, loadgen, other=max(0.0, other))


# A client backend's title: "postgres: <user> <database> <host>(<port>) <state>" (or
# "[local]" for a Unix socket); background processes have no client.
_CLIENT = re.compile(r"\(\d+\)|\[local\]")


def _postgres_processes(database: str) -> Iterable[psutil.Process]:
    """PostgreSQL's processes, except the backends of other databases."""
    for process in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(process.info["cmdline"] or ())
        if process.info["name"] == "postgres" and (
            f" {database} " in title or not _CLIENT.search(title)
        ):
            yield process


def _cpu(processes: Iterable[psutil.Process]) -> dict[int, float]:
    times = {}
    for process in processes:
        try:
            cpu = process.cpu_times()
        except psutil.Error:  # exited meanwhile, or not ours to read
            continue
        times[process.pid] = cpu.user + cpu.system
    return times


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used in between; a process started meanwhile counts from zero."""
    return sum(total - before.get(pid, 0.0) for pid, total in after.items())
