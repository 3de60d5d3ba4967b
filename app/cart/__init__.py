"""The server-side shopping cart: one per user."""
