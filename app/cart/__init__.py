"""The server-side shopping cart: one per user, and guest carts (opened by a token) that
merge into an account's at sign-in."""
