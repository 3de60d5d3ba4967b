"""PostGraphile 4 as the benchmark's peer: the same catalog page from the same database,
answered by another GraphQL server over PostgreSQL (Node.js, one process).

It is optional. When `node` and `npm` are on PATH, `npm ci` installs the exact versions of
`peer/package-lock.json` (PostGraphile, and the official many-to-many plugin for the
genres through their junction table) into a temporary folder, which then moves into the
user's cache directory (`$XDG_CACHE_HOME` or `~/.cache`, `bookstore-bench/`) under the lock
file's hash: later runs start at once, and a changed lock file installs afresh. Without
Node, or when the install fails, `install` raises `PeerUnavailable` with the reason the
results give.

The peer answers `PEER_CATALOG_QUERY` (scenarios.py) through the schema PostGraphile
generates for our tables; the benchmark checks at start-up (`verify_peer` in run.py) that
its pages hold the API's books, page for page, in the same order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import orjson

from app.graphql.ids import id_decoder

PACKAGE = Path(__file__).with_name("peer")
VERSION: str = json.loads((PACKAGE / "package.json").read_text())["dependencies"]["postgraphile"]
CLI = Path("node_modules", "postgraphile", "cli.js")
READY_PATH = "/graphiql"  # answers 200 once the server listens (GET /graphql is a 405)
INSTALL_TIMEOUT_SECONDS = 300.0

# (id, title, price, [(author id, name)], [(genre id, name)]): what both servers must agree on.
BookRow = tuple[int, str, str, list[tuple[int, str]], list[tuple[int, str]]]


class PeerUnavailable(Exception):
    """The peer cannot run here: the message says why (it goes in the results)."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base, "bookstore-bench")


def install_dir() -> Path:
    lock = hashlib.sha256((PACKAGE / "package-lock.json").read_bytes()).hexdigest()[:12]
    return cache_root() / f"postgraphile-{VERSION}-{lock}"


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "none"
    return subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()


async def install() -> Path:
    """The installed peer's folder (cached), installing it first if need be."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise PeerUnavailable(f"{' and '.join(missing)} not on PATH")
    target = install_dir()
    if (target / CLI).exists():
        return target
    cache_root().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="installing-", dir=cache_root()))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(PACKAGE / name, staging / name)
        await _npm_ci(staging)
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _publish(staging: Path, target: Path) -> None:
    try:
        staging.rename(target)
    except OSError:  # another run installed it meanwhile
        if not (target / CLI).exists():
            raise


async def _npm_ci(folder: Path) -> None:
    npm = shutil.which("npm") or "npm"
    process = await asyncio.create_subprocess_exec(
        *(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"),
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), INSTALL_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise PeerUnavailable(f"npm ci took over {INSTALL_TIMEOUT_SECONDS:.0f} s") from None
    if process.returncode != 0 or not (folder / CLI).exists():
        tail = " ".join(output.decode(errors="replace").split()[-40:])
        raise PeerUnavailable(f"npm ci failed ({process.returncode}): {tail}")


def command(folder: Path, dsn: str, port: int) -> list[str]:
    """PostGraphile's CLI as its documentation runs it in production: no query log, no
    watch mode, its default pool (10 connections)."""
    return [
        shutil.which("node") or "node",
        str(folder / CLI),
        *("--connection", dsn, "--schema", "public"),
        *("--host", "127.0.0.1", "--port", str(port)),
        "--disable-query-log",
        *("--append-plugins", "@graphile-contrib/pg-many-to-many"),
    ]


def environment() -> dict[str, str]:
    return {**os.environ, "NODE_ENV": "production"}


_book_id, _author_id, _genre_id = (id_decoder(name) for name in ("Book", "Author", "Genre"))


def our_books(body: bytes) -> list[BookRow]:
    """The books of one of the API's catalog pages (CATALOG_QUERY)."""
    edges: list[dict[str, Any]] = orjson.loads(body)["data"]["books"]["edges"]
    return [
        (
            _book_id(node["id"]),
            node["title"],
            node["price"],
            [(_author_id(a["id"]), a["name"]) for a in node["authors"]],
            [(_genre_id(g["id"]), g["name"]) for g in node["genres"]],
        )
        for node in (edge["node"] for edge in edges)
    ]


def peer_page(body: bytes) -> tuple[list[BookRow], str | None]:
    """The books of one of the peer's pages (PEER_CATALOG_QUERY), and its last cursor."""
    edges: list[dict[str, Any]] = orjson.loads(body)["data"]["allBooks"]["edges"]
    books: list[BookRow] = [
        (
            int(node["id"]),
            node["title"],
            node["price"],
            [
                (int(link["authorByAuthorId"]["id"]), link["authorByAuthorId"]["name"])
                for link in node["bookAuthorsByBookId"]["nodes"]
            ],
            [(int(g["id"]), g["name"]) for g in node["genresByBookGenreBookIdAndGenreId"]["nodes"]],
        )
        for node in (edge["node"] for edge in edges)
    ]
    return books, edges[-1]["cursor"] if edges else None
