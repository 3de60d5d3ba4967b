"""Search at catalog scale: a popularity key for bounded candidate sets, the catalog's
vocabulary (`search_terms`) for typo correction and type-ahead on any PostgreSQL, author
name words for type-ahead, and relevance weights in the order title, authors, subtitle,
description.

The search document is now built by one function, `book_search_document`, used by the
triggers and by the seed's bulk load alike.

Revision ID: 5c1e0a7d9b21
Revises: 5e7a1c0f9b2d
Create Date: 2026-12-01 13:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5c1e0a7d9b21"
down_revision: str | Sequence[str] | None = "5e7a1c0f9b2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = [
    # Title first, then the authors' names, then the subtitle, then the description: the
    # weights A to D, which `ts_rank` scores in that order.
    """
CREATE FUNCTION book_search_document(p_title text, p_subtitle text, p_description text,
                                     p_names text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('english'::regconfig, coalesce(p_title, '')), 'A')
      || setweight(to_tsvector('english'::regconfig, coalesce(p_names, '')), 'B')
      || setweight(to_tsvector('english'::regconfig, coalesce(p_subtitle, '')), 'C')
      || setweight(to_tsvector('english'::regconfig, coalesce(p_description, '')), 'D')
$$""",
    """
CREATE OR REPLACE FUNCTION book_search_vector(p_book_id bigint, p_title text,
                                              p_subtitle text, p_description text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT book_search_document(p_title, p_subtitle, p_description, (
           SELECT string_agg(a.name, ' ' ORDER BY ba.position)
           FROM book_authors ba JOIN authors a ON a.id = ba.author_id
           WHERE ba.book_id = p_book_id))
$$""",
    # The words of a text as the full-text parser splits them, lower-cased, with their
    # English stem; stop words (no stem) are left out: they are never searched for.
    """
CREATE FUNCTION search_words(p_text text)
RETURNS TABLE (term text, lexeme text) LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT DISTINCT w.term, w.lexeme
  FROM (SELECT lower(p.token) AS term,
               (ts_lexize('english_stem', lower(p.token)))[1] AS lexeme
        FROM ts_parse('default', coalesce(p_text, '')) AS p
        WHERE p.tokid IN (1, 2, 3)) AS w
  WHERE w.lexeme IS NOT NULL AND char_length(w.term) <= 100
$$""",
    # The whole vocabulary again, with fresh counts (the triggers only add): titles are
    # grouped first, so a catalog of a million books parses each distinct title once.
    """
CREATE FUNCTION rebuild_search_terms() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM search_terms;
  INSERT INTO search_terms (term, lexeme, books)
  SELECT w.term, min(w.lexeme), sum(s.n)::int
  FROM (
    SELECT concat_ws(' ', title, subtitle) AS words, count(*) AS n
      FROM books WHERE NOT is_archived GROUP BY 1
    UNION ALL
    SELECT a.name, count(ba.book_id) FROM authors a
      LEFT JOIN book_authors ba ON ba.author_id = a.id GROUP BY a.id
    UNION ALL
    SELECT g.name, count(bg.book_id) FROM genres g
      LEFT JOIN book_genres bg ON bg.genre_id = g.id GROUP BY g.id
  ) AS s
  CROSS JOIN LATERAL search_words(s.words) AS w
  GROUP BY w.term;
END $$""",
    """
CREATE FUNCTION books_search_terms_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_terms (term, lexeme, books)
  SELECT w.term, min(w.lexeme), count(*)
  FROM new_rows n CROSS JOIN LATERAL search_words(concat_ws(' ', n.title, n.subtitle)) AS w
  WHERE NOT n.is_archived
  GROUP BY w.term
  ON CONFLICT (term) DO UPDATE SET books = search_terms.books + excluded.books;
  RETURN NULL;
END $$""",
    # A changed title (or a book back on sale) adds its new words; counts are left to the
    # rebuild. Row-level with a column list: stock updates (every checkout) never run it.
    """
CREATE FUNCTION book_search_terms_row_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_terms (term, lexeme, books)
  SELECT w.term, w.lexeme, 1 FROM search_words(concat_ws(' ', NEW.title, NEW.subtitle)) AS w
  ON CONFLICT (term) DO NOTHING;
  RETURN NULL;
END $$""",
    """
CREATE FUNCTION names_search_terms_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_terms (term, lexeme, books)
  SELECT DISTINCT w.term, w.lexeme, 0
  FROM new_rows n CROSS JOIN LATERAL search_words(n.name) AS w
  ON CONFLICT (term) DO NOTHING;
  RETURN NULL;
END $$""",
]

TRIGGERS = [
    """
CREATE TRIGGER books_search_terms_insert AFTER INSERT ON books
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION books_search_terms_trigger()""",
    """
CREATE TRIGGER books_search_terms_update AFTER UPDATE OF title, subtitle, is_archived ON books
  FOR EACH ROW WHEN ((OLD.title, OLD.subtitle) IS DISTINCT FROM (NEW.title, NEW.subtitle)
                     OR (OLD.is_archived AND NOT NEW.is_archived))
  EXECUTE FUNCTION book_search_terms_row_trigger()""",
    *(
        f"""
CREATE TRIGGER {table}_search_terms_{event.lower()} AFTER {event} ON {table}
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION names_search_terms_trigger()"""
        for table in ("authors", "genres")
        for event in ("INSERT", "UPDATE")
    ),
]

# As 4438fca00fe6 left it.
OLD_SEARCH_VECTOR = """
CREATE OR REPLACE FUNCTION book_search_vector(p_book_id bigint, p_title text,
                                              p_subtitle text, p_description text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
      || setweight(to_tsvector('english', coalesce((
             SELECT string_agg(a.name, ' ' ORDER BY ba.position)
             FROM book_authors ba JOIN authors a ON a.id = ba.author_id
             WHERE ba.book_id = p_book_id), '')), 'A')
      || setweight(to_tsvector('english', coalesce(p_subtitle, '')), 'B')
      || setweight(to_tsvector('english', coalesce(p_description, '')), 'C')
$$"""

REINDEX = "UPDATE books SET search_vector = book_search_vector(id, title, subtitle, description)"


def upgrade() -> None:
    op.add_column(
        "books", sa.Column("popularity", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.create_index(
        "ix_books_popularity_id",
        "books",
        ["popularity", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.create_index(
        "ix_authors_name_words",
        "authors",
        [sa.text("to_tsvector('simple'::regconfig, name::text)")],
        unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "search_terms",
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("lexeme", sa.String(length=100), nullable=False),
        sa.Column("books", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_search_terms")),
    )
    op.create_index(
        "ix_search_terms_term_prefix",
        "search_terms",
        ["term"],
        unique=False,
        postgresql_ops={"term": "text_pattern_ops"},
    )
    op.create_index(
        "ix_search_terms_lexeme_prefix",
        "search_terms",
        ["lexeme"],
        unique=False,
        postgresql_ops={"lexeme": "text_pattern_ops"},
    )
    for statement in (*FUNCTIONS, *TRIGGERS):
        op.execute(statement)
    op.execute(REINDEX)
    op.execute("SELECT rebuild_search_terms()")


def downgrade() -> None:
    for table, name in (
        ("books", "books_search_terms_insert"),
        ("books", "books_search_terms_update"),
        ("authors", "authors_search_terms_insert"),
        ("authors", "authors_search_terms_update"),
        ("genres", "genres_search_terms_insert"),
        ("genres", "genres_search_terms_update"),
    ):
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute(OLD_SEARCH_VECTOR)
    op.execute(REINDEX)
    op.execute(
        "DROP FUNCTION books_search_terms_trigger, book_search_terms_row_trigger, "
        "names_search_terms_trigger, "
        "rebuild_search_terms, search_words, book_search_document"
    )
    op.drop_index("ix_search_terms_lexeme_prefix", table_name="search_terms")
    op.drop_index("ix_search_terms_term_prefix", table_name="search_terms")
    op.drop_table("search_terms")
    op.drop_index("ix_authors_name_words", table_name="authors", postgresql_using="gin")
    op.drop_index("ix_books_popularity_id", table_name="books")
    op.drop_column("books", "popularity")
