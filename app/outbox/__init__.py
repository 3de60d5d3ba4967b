"""The transactional outbox: work for elsewhere (an email, later an event), written as a row
in the transaction of what caused it, and done by a consumer that claims rows."""
