"""`poetry run bench`: the performance benchmark (tests/benchmarks/run.py).

The benchmark lives with the test suite, whose helpers it shares, and `tests` is not an
installed package: this entry point puts the project root on `sys.path` and hands over.
"""

from __future__ import annotations

import sys

from app.db.migrations import PROJECT_ROOT


def main(argv: list[str] | None = None) -> None:
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from tests.benchmarks.run import main as run_benchmark

    raise SystemExit(run_benchmark(argv))
