"""Bookstore GraphQL API."""

__version__ = "0.1.0"
