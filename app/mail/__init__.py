"""Email: what each email says (templates), queuing it in the outbox in the transaction of
its cause, and the sender that delivers the outbox over SMTP (or to .eml files)."""
