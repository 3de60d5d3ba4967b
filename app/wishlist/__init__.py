"""Wishlist: books saved for later."""
