"""Prebooks: pre-orders of unreleased or sold-out books, served first-come-first-served."""
