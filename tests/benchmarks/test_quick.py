"""`poetry run bench --quick` stays correct under load: no failed request, no oversold
copy, the SQL statement budgets, and the PostGraphile peer's pages equal to the API's (or,
without Node, the run saying why it has no peer). Timings are never asserted (CI machines
vary)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.db.migrations import PROJECT_ROOT
from bench.prepare import CATALOG_PAGES
from bench.scenarios import ALL_SCENARIOS, SCENARIOS, STATEMENT_BUDGETS, Target

# A hang guard, not a timing: a first run installs the peer (`npm ci`, about 10 s) before
# it starts it, and a shared machine can make the whole run take minutes.
TIMEOUT_SECONDS = 360
PEER = "postgraphile"
NODE_TOOLS = ("node", "npm")


def quick_bench(
    server_url: str, output: Path, *options: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    # `poetry run bench` itself (the console script next to this interpreter), in a
    # subprocess: its servers, event loop and logging stay out of the test session. It
    # creates (and drops) its own database on the suite's PostgreSQL server.
    command = [str(Path(sys.executable).with_name("bench")), "--quick", *options]
    command += ["--server-url", server_url, "--output", str(output)]
    completed = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        env=env,
        check=False,
    )
    output_text = f"{completed.stdout}\n{completed.stderr}"
    assert (output / "latest.md").exists(), output_text
    return completed, orjson.loads((output / "latest.json").read_bytes())


def path_without(tools: tuple[str, ...], shadows: Path) -> str:
    """PATH with `tools` hidden: each directory holding one is replaced by a directory of
    links to everything else in it."""
    entries = []
    for index, entry in enumerate(os.environ["PATH"].split(os.pathsep)):
        directory = Path(entry)
        if not any((directory / tool).exists() for tool in tools):
            entries.append(entry)
            continue
        shadow = shadows / str(index)
        shadow.mkdir(parents=True)
        for program in directory.iterdir():
            if program.name not in tools:
                (shadow / program.name).symlink_to(program)
        entries.append(str(shadow))
    return os.pathsep.join(entries)


@pytest.mark.benchmark
def test_quick_benchmark_is_correct(server_url: str, tmp_path: Path) -> None:
    completed, results = quick_bench(server_url, tmp_path)
    output = f"{completed.stdout}\n{completed.stderr}"
    has_node = all(shutil.which(tool) for tool in NODE_TOOLS)

    expected = set(ALL_SCENARIOS) if has_node else set(ALL_SCENARIOS) - {PEER}
    assert {run["scenario"] for run in results["runs"]} == expected, output
    assert all(run["requests"] > 0 for run in results["runs"]), output
    assert [run for run in results["runs"] if run["errors"]] == [], output
    assert results["checkout"]["1"]["orders"] > 0, output
    assert not results["checkout"]["1"]["oversold"], results["checkout"]
    assert results["statements_per_request"]["catalog"] <= 3

    # Every scenario served in-process has a budget, and one request runs exactly that
    # many statements (at most that many where the count follows the catalog's size).
    counted = {
        name
        for name, scenario in SCENARIOS.items()
        if scenario.target in (Target.API, Target.CACHED_API)
    }
    statements = results["statements_per_request"]
    assert set(STATEMENT_BUDGETS) == counted
    assert set(statements) == counted, statements
    assert {name: count for name, count in statements.items() if not SCENARIOS[name].bounded} == {
        name: STATEMENT_BUDGETS[name] for name in counted if not SCENARIOS[name].bounded
    }
    for name, count in statements.items():
        assert count <= STATEMENT_BUDGETS[name], statements

    # The peer served every page of the catalog scenario with the API's books (the bench
    # checks them book for book before the rounds), in as many rounds as asked.
    peer = results["peer"]
    if has_node:
        assert peer["status"] == "measured", peer
        assert peer["pages_verified"] == CATALOG_PAGES, peer
        assert len(peer["rounds"]) == 3, peer
        assert all(r["api_rps"] > 0 and r["peer_rps"] > 0 for r in peer["rounds"]), peer
    else:
        assert peer == {"scenario": PEER, "status": "not run", "reason": peer["reason"]}
        assert "not on PATH" in peer["reason"], peer
    assert results["failures"] == []
    assert completed.returncode == 0, output


@pytest.mark.benchmark
def test_quick_benchmark_without_node_says_so(server_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": path_without(NODE_TOOLS, tmp_path / "path")}
    output = tmp_path / "results"
    completed, results = quick_bench(server_url, output, "--scenarios", PEER, env=env)

    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}"
    assert results["peer"] == {
        "scenario": PEER,
        "status": "not run",
        "reason": "node and npm not on PATH",
    }
    assert results["runs"] == []
    document = (output / "latest.md").read_text()
    title = SCENARIOS[PEER].title
    assert f"| {title} | 1 | not run: node and npm not on PATH |" in document
    [against_peer] = [t for t in results["targets"] if "PostGraphile" in t["target"]]
    assert against_peer["measured"] == "not measured (node and npm not on PATH)"
    assert against_peer["met"] is None
    assert f"| {against_peer['target']} | not measured (node and npm" in document
    assert results["failures"] == []
