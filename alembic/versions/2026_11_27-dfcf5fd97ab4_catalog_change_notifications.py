"""Catalog change notifications: triggers `pg_notify('catalog_changed')` on any change an
anonymous client could see, for the response caches of every API instance.

Revision ID: dfcf5fd97ab4
Revises: b0efe5a36447
Create Date: 2026-11-27 17:15:11.581407+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "dfcf5fd97ab4"
down_revision: str | Sequence[str] | None = "b0efe5a36447"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATEMENTS = [
    """
CREATE FUNCTION notify_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Identical notifications of one transaction are folded into one by PostgreSQL.
  PERFORM pg_notify('catalog_changed', '');
  RETURN NULL;
END $$""",
    """
CREATE FUNCTION notify_book_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  threshold int := coalesce(
    nullif(current_setting('bookstore.low_stock_threshold', true), '')::int, 5);
BEGIN
  -- A sale or a restock moves only the stock. Anonymous clients don't see stock, only
  -- the availability band (none / low / plenty), so such a change is silent unless the
  -- stock crosses a band: checkouts don't flush every cache.
  IF TG_OP = 'UPDATE'
     AND (to_jsonb(OLD) - 'stock_quantity' - 'updated_at' - 'search_vector')
       = (to_jsonb(NEW) - 'stock_quantity' - 'updated_at' - 'search_vector')
     AND (OLD.stock_quantity = 0) = (NEW.stock_quantity = 0)
     AND (OLD.stock_quantity <= threshold) = (NEW.stock_quantity <= threshold) THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('catalog_changed', '');
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER books_notify_change AFTER INSERT OR UPDATE OR DELETE ON books
  FOR EACH ROW EXECUTE FUNCTION notify_book_changed()""",
    """
CREATE TRIGGER books_notify_truncate AFTER TRUNCATE ON books
  FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()""",
    *(
        f"""
CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON {table} FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"""
        for table in ("authors", "genres", "book_authors", "book_genres")
    ),
]


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("books", "authors", "genres", "book_authors", "book_genres"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute("DROP TRIGGER IF EXISTS books_notify_truncate ON books")
    op.execute("DROP FUNCTION notify_book_changed, notify_catalog_changed")
