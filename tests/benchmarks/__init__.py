"""The performance benchmark (`poetry run bench`, see run.py) and its quick CI test."""
