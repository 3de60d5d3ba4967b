"""Catalog: books, authors and genres."""
