"""The quick benchmark run as a test (the benchmark itself is the `bench` package)."""
