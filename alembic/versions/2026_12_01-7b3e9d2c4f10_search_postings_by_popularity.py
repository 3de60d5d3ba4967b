"""Search postings by popularity: the most popular books of each lexeme
(`search_postings`, in the order common terms take their candidates in) and each lexeme's
number of books (`search_lexemes`), so that a search reads a bounded index range of its
rarest word instead of the search index's whole posting lists.

Revision ID: 7b3e9d2c4f10
Revises: 5c1e0a7d9b21
Create Date: 2026-12-01 16:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "7b3e9d2c4f10"
down_revision: str | Sequence[str] | None = "5c1e0a7d9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = [
    # Every lexeme counted again and the postings rebuilt: a lexeme of which the most popular
    # `p_window` of the catalog holds `p_head` books or more (expected) is cut off at that
    # window's least popularity; a rarer one keeps all its books (found through the search
    # index). The cutoff is stored: the triggers follow it.
    r"""
CREATE FUNCTION rebuild_search_postings(p_head int DEFAULT 2000, p_window float DEFAULT 0.1)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  total bigint;
  threshold int;
BEGIN
  -- Loaded without its indexes and foreign key, which are built once at the end.
  TRUNCATE search_postings;
  ALTER TABLE search_postings DROP CONSTRAINT pk_search_postings,
    DROP CONSTRAINT fk_search_postings_book_id_books;
  DROP INDEX ix_search_postings_book_id;
  DELETE FROM search_lexemes;
  INSERT INTO search_lexemes (lexeme, books)
  SELECT l.lexeme COLLATE "C", count(*)
  FROM books b CROSS JOIN LATERAL unnest(tsvector_to_array(b.search_vector)) AS l(lexeme)
  GROUP BY 1;
  SELECT count(*) INTO total FROM books;
  SELECT popularity INTO threshold FROM books
  ORDER BY popularity DESC OFFSET greatest(ceil(total * p_window) - 1, 0) LIMIT 1;
  UPDATE search_lexemes SET cutoff = threshold WHERE books * p_window >= p_head;
  INSERT INTO search_postings (lexeme, popularity, book_id)
  SELECT s.lexeme, b.popularity, b.id
  FROM books b
  CROSS JOIN LATERAL unnest(tsvector_to_array(b.search_vector)) AS l(lexeme)
  JOIN search_lexemes s ON s.lexeme = l.lexeme COLLATE "C"
  WHERE b.popularity >= threshold AND s.cutoff IS NOT NULL;
  INSERT INTO search_postings (lexeme, popularity, book_id)
  SELECT s.lexeme, b.popularity, b.id
  FROM search_lexemes s
  JOIN books b ON b.search_vector
                  @@ ('''' || replace(replace(s.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery
  WHERE s.cutoff IS NULL;
  ALTER TABLE search_postings
    ADD CONSTRAINT pk_search_postings PRIMARY KEY (lexeme, popularity, book_id),
    ADD CONSTRAINT fk_search_postings_book_id_books FOREIGN KEY (book_id)
      REFERENCES books (id) ON DELETE CASCADE;
  CREATE INDEX ix_search_postings_book_id ON search_postings (book_id);
END $$""",
    # A book's postings follow its search document and popularity. New lexemes join with
    # one book and no cutoff; counts of known ones are left to the rebuild (no row of a
    # common lexeme is locked by every catalog write).
    """
CREATE FUNCTION book_search_postings_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    DELETE FROM search_postings WHERE book_id = OLD.id;
  END IF;
  INSERT INTO search_lexemes (lexeme, books)
  SELECT l COLLATE "C", 1 FROM unnest(tsvector_to_array(NEW.search_vector)) AS l
  ORDER BY 1
  ON CONFLICT (lexeme) DO NOTHING;
  INSERT INTO search_postings (lexeme, popularity, book_id)
  SELECT s.lexeme, NEW.popularity, NEW.id FROM search_lexemes s
  WHERE s.lexeme = ANY (tsvector_to_array(NEW.search_vector)::text[] COLLATE "C")
    AND (s.cutoff IS NULL OR NEW.popularity >= s.cutoff);
  RETURN NULL;
END $$""",
]

TRIGGERS = [
    """
CREATE TRIGGER books_search_postings_insert AFTER INSERT ON books
  FOR EACH ROW EXECUTE FUNCTION book_search_postings_trigger()""",
    """
CREATE TRIGGER books_search_postings_update AFTER UPDATE ON books
  FOR EACH ROW WHEN (OLD.search_vector IS DISTINCT FROM NEW.search_vector
                     OR OLD.popularity <> NEW.popularity)
  EXECUTE FUNCTION book_search_postings_trigger()""",
]


def upgrade() -> None:
    op.create_table(
        "search_lexemes",
        sa.Column("lexeme", sa.Text(collation="C"), nullable=False),
        sa.Column("books", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cutoff", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("lexeme", name=op.f("pk_search_lexemes")),
    )
    op.create_table(
        "search_postings",
        sa.Column("lexeme", sa.Text(collation="C"), nullable=False),
        sa.Column("popularity", sa.Integer(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_search_postings_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lexeme", "popularity", "book_id", name=op.f("pk_search_postings")),
    )
    op.create_index(
        op.f("ix_search_postings_book_id"), "search_postings", ["book_id"], unique=False
    )
    for statement in (*FUNCTIONS, *TRIGGERS):
        op.execute(statement)
    op.execute("SELECT rebuild_search_postings()")


def downgrade() -> None:
    op.execute("DROP TRIGGER books_search_postings_update ON books")
    op.execute("DROP TRIGGER books_search_postings_insert ON books")
    op.execute("DROP FUNCTION book_search_postings_trigger, rebuild_search_postings")
    op.drop_index(op.f("ix_search_postings_book_id"), table_name="search_postings")
    op.drop_table("search_postings")
    op.drop_table("search_lexemes")
