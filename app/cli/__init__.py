"""Command-line entry points (`poetry run ...`)."""
