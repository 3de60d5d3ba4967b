"""Developer commands: `poetry run test`, `poetry run lint`, `poetry run export-schema`."""

from __future__ import annotations

import argparse
import subprocess
import sys

from app.db.migrations import PROJECT_ROOT

SCHEMA_FILE = PROJECT_ROOT / "schema.graphql"


def test() -> None:
    """Run the test suite (extra arguments go to pytest)."""
    import pytest

    raise SystemExit(pytest.main(sys.argv[1:]))


def lint() -> None:
    """ruff check, ruff format --check, mypy --strict on app/ and bench/; fails if any does."""
    commands = [
        [sys.executable, "-m", "ruff", "check", "."],
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        [sys.executable, "-m", "mypy"],
    ]
    failed = [
        cmd for cmd in commands if subprocess.run(cmd, cwd=PROJECT_ROOT, check=False).returncode
    ]
    raise SystemExit(1 if failed else 0)


def schema_sdl() -> str:
    from app.core.config import Environment, Settings
    from app.graphql.schema import build_schema

    # The SDL doesn't depend on the environment; pin it so a local .env can't change it.
    settings = Settings(_env_file=None, env=Environment.DEVELOPMENT)
    return build_schema(settings).as_str() + "\n"


def export_schema() -> None:
    """Write schema.graphql from the code (or, with --check, fail if it is out of date)."""
    parser = argparse.ArgumentParser(prog="export-schema", description=export_schema.__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    sdl = schema_sdl()
    if args.check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != sdl:
            print("schema.graphql is out of date: run `poetry run export-schema`", file=sys.stderr)
            raise SystemExit(1)
        return
    SCHEMA_FILE.write_text(sdl)
    print(f"wrote {SCHEMA_FILE.relative_to(PROJECT_ROOT)}")
