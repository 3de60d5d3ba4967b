"""Accounts: users, sign-in, sessions (refresh tokens), roles."""
