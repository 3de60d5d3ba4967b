"""Driving `wrk` (when it is installed) with the same workloads as the built-in generator."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from pathlib import Path

from bench.loadgen import GRAPHQL_PATH, LoadResult
from bench.scenarios import Workload

SCRIPT = Path(__file__).with_name("wrk.lua")
RESULT_PREFIX = "BENCH_RESULT "


def wrk_version() -> str | None:
    """`wrk 4.1.0 [epoll]`-style version line, or None when wrk is not on PATH."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    # `wrk -v` prints its version and usage, and exits non-zero.
    output = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (output.stdout or output.stderr).splitlines()[0].split(" Copyright")[0].strip()


def lua_string(text: str | bytes) -> str:
    """A Lua string literal of any bytes: printable ASCII as is, everything else escaped."""
    raw = text.encode() if isinstance(text, str) else text
    return '"' + "".join(_lua_char(byte) for byte in raw) + '"'


def _lua_char(byte: int) -> str:
    if 32 <= byte < 127 and byte not in (ord('"'), ord("\\")):
        return chr(byte)
    return f"\\{byte:03d}"


def lua_data(workload: Workload, path: str) -> str:
    """The DATA_FILE wrk.lua loads: the workload as a Lua table (1-based indexes)."""
    requests = workload.requests
    bodies = ",\n".join(lua_string(request.body) for request in requests)
    tokens = ", ".join(lua_string(request.token or "") for request in requests)
    keyed = ", ".join("true" if request.keyed else "false" for request in requests)
    sequences = ",\n".join(
        "{" + ", ".join(str(i + 1) for i in sequence) + "}" for sequence in workload.sequences
    )
    return (
        f"return {{\npath = {lua_string(path)},\nbodies = {{\n{bodies}\n}},\n"
        f"tokens = {{{tokens}}},\nkeyed = {{{keyed}}},\nsequences = {{\n{sequences}\n}}\n}}\n"
    )


async def run_wrk(
    port: int, workload: Workload, seconds: int, work_dir: Path, path: str = GRAPHQL_PATH
) -> LoadResult:
    data_file = work_dir / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    data_file.write_text(lua_data(workload, path))
    connections = str(workload.connections)
    command = [
        shutil.which("wrk") or "wrk",
        *("-t", connections, "-c", connections, "-d", f"{seconds}s", "--timeout", "10s"),
        *("-s", str(SCRIPT), f"http://127.0.0.1:{port}{path}"),
        *("--", str(data_file), f"bench-{uuid.uuid4().hex[:12]}"),
    ]
    completed = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    data_file.unlink()
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    result = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return LoadResult(
        requests=result["requests"],
        errors={kind: count for kind, count in result["errors"].items() if count},
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p95_ms=result["p95_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
    )
