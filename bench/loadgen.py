"""The built-in load generator: HTTP/1.1 keep-alive over raw asyncio streams.

It shares the machine's cores with the server it measures, so it does as little as
possible per request: request bytes are built once, and a response is read by its
Content-Length without parsing anything but the status code.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from bench.scenarios import Request, Workload

GRAPHQL_PATH = "/graphql"
# Any GraphQL error makes the request count as failed (the data carry no such key).
ERROR_MARKER = b'"errors":'
_ERROR_CODE = re.compile(rb'"code":"(\w+)"')


class ProtocolError(Exception):
    """A response this client cannot frame (the servers always send Content-Length)."""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: dict[str, int]  # by kind: GraphQL error code, "HTTP <status>", "connection"
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def error_summary(self) -> str:
        """`0`, or e.g. `3 (SERVICE_UNAVAILABLE 2, connection 1)`."""
        if not self.failed:
            return "0"
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.errors.items()))
        return f"{self.failed} ({kinds})"


def http_request(
    port: int, body: bytes, token: str | None = None, path: str = GRAPHQL_PATH
) -> bytes:
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    start = head.lower().find(b"\r\ncontent-length:")
    if start < 0:
        raise ProtocolError(f"response without Content-Length: {head!r}")
    end = head.index(b"\r\n", start + 2)
    length = int(head[start + len(b"\r\ncontent-length:") : end])
    return status, await reader.readexactly(length)


def failed(status: int, body: bytes) -> bool:
    return status != 200 or ERROR_MARKER in body


def error_kind(status: int, body: bytes) -> str:
    """What a failed response was: its first GraphQL error code, else its status."""
    if status != 200:
        return f"HTTP {status}"
    code = _ERROR_CODE.search(body)
    return code.group(1).decode() if code else "GRAPHQL_ERROR"


async def fetch(port: int, request: bytes) -> tuple[int, bytes]:
    """One request on a connection of its own (readiness probes, reference pages)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await read_response(reader)
    finally:
        writer.close()


async def get(port: int, path: str) -> tuple[int, bytes]:
    return await fetch(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())


def percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


class _Connection:
    """One keep-alive connection sending its sequence of requests, one at a time."""

    def __init__(self, port: int, workload: Workload, index: int, tally: _Tally) -> None:
        self.port = port
        self.requests = workload.requests
        self.sequence = workload.sequences[index]
        # Static requests are encoded once; keyed ones (checkout) per sending.
        self.encoded = [
            None if request.keyed else http_request(port, request.body, request.token)
            for request in workload.requests
        ]
        self.key_prefix = f"bench-{uuid.uuid4().hex[:12]}-{index}-"
        self.keys = itertools.count()
        self.tally = tally

    def _encode(self, index: int) -> bytes:
        encoded = self.encoded[index]
        if encoded is not None:
            return encoded
        request: Request = self.requests[index]
        body = request.with_key(f"{self.key_prefix}{next(self.keys)}")
        return http_request(self.port, body, request.token)

    async def run(self, deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            for index in itertools.cycle(self.sequence):
                if time.perf_counter() >= deadline:
                    return
                request = self._encode(index)
                started = time.perf_counter()
                # One small request in flight per connection: the write buffer never
                # reaches its high-water mark, so there is nothing to drain.
                writer.write(request)
                try:
                    status, body = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError):
                    self.tally.errors["connection"] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    continue
                self.tally.latencies.append(time.perf_counter() - started)
                if failed(status, body):
                    self.tally.errors[error_kind(status, body)] += 1
        finally:
            writer.close()


async def run_builtin(port: int, workload: Workload, seconds: float) -> LoadResult:
    """Keep every connection busy for `seconds`; requests in flight at the end finish and
    count (the elapsed time includes them)."""
    tally = _Tally()
    connections = [_Connection(port, workload, i, tally) for i in range(workload.connections)]
    started = time.perf_counter()
    await asyncio.gather(*(connection.run(started + seconds) for connection in connections))
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    return LoadResult(
        requests=len(ordered),
        errors=dict(tally.errors),
        seconds=elapsed,
        p50_ms=percentile(ordered, 50) * 1000,
        p95_ms=percentile(ordered, 95) * 1000,
        p99_ms=percentile(ordered, 99) * 1000,
    )
