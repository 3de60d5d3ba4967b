"""Realtime event notifications: triggers `pg_notify('bookstore_events', ...)` with ids only
on the changes GraphQL subscriptions report (stock, orders, prebooks, carts) and on the
ends of sign-in sessions and accounts (which end their subscriptions), for every API
instance's event hub.

Payloads: `b:<book>`, `o:<order>:<user>`, `p:<prebook>:<user>:<book>`,
`c:<cart>:<user or empty>`, `s:<session family>`, `u:<user>`. PostgreSQL folds identical
notifications of one transaction into one and delivers them at commit, in commit order.

Revision ID: 5e7a1c0f9b2d
Revises: 0068a94d317e
Create Date: 2026-12-01 13:20:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e7a1c0f9b2d"
down_revision: str | Sequence[str] | None = "0068a94d317e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATEMENTS = [
    """
CREATE FUNCTION notify_book_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- What availability and the copies for sale are computed from.
  IF (OLD.stock_quantity, OLD.prebook_demand, OLD.is_archived, OLD.release_date)
     IS DISTINCT FROM
     (NEW.stock_quantity, NEW.prebook_demand, NEW.is_archived, NEW.release_date) THEN
    PERFORM pg_notify('bookstore_events', 'b:' || NEW.id);
  END IF;
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER books_notify_event AFTER UPDATE ON books
  FOR EACH ROW EXECUTE FUNCTION notify_book_stock()""",
    """
CREATE FUNCTION notify_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('bookstore_events', 'o:' || NEW.id || ':' || NEW.user_id);
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER orders_notify_event AFTER INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION notify_order()""",
    """
CREATE FUNCTION notify_prebook() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed prebooks%ROWTYPE;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
  PERFORM pg_notify(
    'bookstore_events', 'p:' || changed.id || ':' || changed.user_id || ':' || changed.book_id);
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER prebooks_notify_event AFTER INSERT OR UPDATE OR DELETE ON prebooks
  FOR EACH ROW EXECUTE FUNCTION notify_prebook()""",
    """
CREATE FUNCTION notify_cart() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cart_id bigint;
  owner bigint;
BEGIN
  IF TG_TABLE_NAME = 'carts' THEN
    IF TG_OP = 'DELETE' THEN
      cart_id := OLD.id; owner := OLD.user_id;
    ELSE
      -- A guest cart marked used (`last_used_at`) is not a change anyone sees.
      IF TG_OP = 'UPDATE' AND (OLD.updated_at, OLD.user_id)
         IS NOT DISTINCT FROM (NEW.updated_at, NEW.user_id) THEN
        RETURN NULL;
      END IF;
      cart_id := NEW.id; owner := NEW.user_id;
    END IF;
  ELSE
    IF TG_OP = 'DELETE' THEN cart_id := OLD.cart_id; ELSE cart_id := NEW.cart_id; END IF;
    SELECT user_id INTO owner FROM carts WHERE id = cart_id;
  END IF;
  PERFORM pg_notify('bookstore_events', 'c:' || cart_id || ':' || coalesce(owner::text, ''));
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER carts_notify_event AFTER INSERT OR UPDATE OR DELETE ON carts
  FOR EACH ROW EXECUTE FUNCTION notify_cart()""",
    """
CREATE TRIGGER cart_items_notify_event AFTER INSERT OR UPDATE OR DELETE ON cart_items
  FOR EACH ROW EXECUTE FUNCTION notify_cart()""",
    """
CREATE FUNCTION notify_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rotation revokes a token too: subscribers re-check whether the session is still open.
  IF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
    PERFORM pg_notify('bookstore_events', 's:' || NEW.family_id);
  END IF;
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER refresh_tokens_notify_event AFTER UPDATE ON refresh_tokens
  FOR EACH ROW EXECUTE FUNCTION notify_session_revoked()""",
    """
CREATE FUNCTION notify_user_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.is_active, OLD.role) IS DISTINCT FROM (NEW.is_active, NEW.role) THEN
    PERFORM pg_notify('bookstore_events', 'u:' || NEW.id);
  END IF;
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER users_notify_event AFTER UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_user_access()""",
]

TRIGGERS = {
    "books_notify_event": "books",
    "orders_notify_event": "orders",
    "prebooks_notify_event": "prebooks",
    "carts_notify_event": "carts",
    "cart_items_notify_event": "cart_items",
    "refresh_tokens_notify_event": "refresh_tokens",
    "users_notify_event": "users",
}


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for trigger, table in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute(
        "DROP FUNCTION notify_book_stock, notify_order, notify_prebook, notify_cart, "
        "notify_session_revoked, notify_user_access"
    )
