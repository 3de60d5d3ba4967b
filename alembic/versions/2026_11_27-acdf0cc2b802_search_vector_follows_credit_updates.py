"""Search vector follows credit updates: an UPDATE of `book_authors` (moving a credit to
another author or book) refreshes the search vectors of the books on both sides. The app
replaces credits by DELETE and INSERT, which were covered; a direct UPDATE left them stale.

Revision ID: acdf0cc2b802
Revises: 4438fca00fe6
Create Date: 2026-11-27 19:15:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "acdf0cc2b802"
down_revision: str | Sequence[str] | None = "4438fca00fe6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION book_authors_update_search_vector_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE books b
     SET search_vector = book_search_vector(b.id, b.title, b.subtitle, b.description)
   WHERE b.id IN (SELECT book_id FROM old_rows UNION SELECT book_id FROM new_rows);
  RETURN NULL;
END $$"""
    )
    op.execute(
        """
CREATE TRIGGER book_authors_search_vector_update
  AFTER UPDATE ON book_authors REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION book_authors_update_search_vector_trigger()"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER book_authors_search_vector_update ON book_authors")
    op.execute("DROP FUNCTION book_authors_update_search_vector_trigger")
