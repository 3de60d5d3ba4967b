"""The performance benchmark, `poetry run bench` (run.py; README.md says what it measures).

It may import `app`; the test suite may import it (tests/benchmarks runs the quick run).
"""
