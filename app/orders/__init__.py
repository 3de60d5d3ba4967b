"""Orders: checkout, history, cancellation and the status workflow."""
