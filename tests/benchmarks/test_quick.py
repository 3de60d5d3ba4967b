"""`poetry run bench --quick` stays correct under load: no failed request, no oversold
copy, the SQL statement budgets. Timings are never asserted (CI machines vary)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from app.db.migrations import PROJECT_ROOT
from bench.scenarios import ALL_SCENARIOS, STATEMENT_BUDGETS

TIMEOUT_SECONDS = 120


@pytest.mark.benchmark
def test_quick_benchmark_is_correct(server_url: str, tmp_path: Path) -> None:
    # `poetry run bench` itself (the console script next to this interpreter), in a
    # subprocess: its servers, event loop and logging stay out of the test session. It
    # creates (and drops) its own database on the suite's PostgreSQL server.
    command = [str(Path(sys.executable).with_name("bench")), "--quick"]
    command += ["--server-url", server_url, "--output", str(tmp_path)]
    completed = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    output = f"{completed.stdout}\n{completed.stderr}"
    assert (tmp_path / "latest.md").exists(), output
    results = orjson.loads((tmp_path / "latest.json").read_bytes())

    assert {run["scenario"] for run in results["runs"]} == set(ALL_SCENARIOS), output
    assert all(run["requests"] > 0 for run in results["runs"]), output
    assert [run for run in results["runs"] if run["errors"]] == [], output
    assert results["checkout"]["1"]["orders"] > 0, output
    assert not results["checkout"]["1"]["oversold"], results["checkout"]
    assert results["statements_per_request"]["catalog"] <= 3
    for scenario, count in results["statements_per_request"].items():
        assert count <= STATEMENT_BUDGETS[scenario], results["statements_per_request"]
    assert results["failures"] == []
    assert completed.returncode == 0, output
