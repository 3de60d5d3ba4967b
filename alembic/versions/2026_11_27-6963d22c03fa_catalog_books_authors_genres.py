"""Catalog: books, authors, genres; full-text search maintained by triggers; trigram
indexes where the server has pg_trgm.

Revision ID: 6963d22c03fa
Revises: 3f9b16dec50a
Create Date: 2026-11-27 16:55:40.477864+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "6963d22c03fa"
down_revision: str | Sequence[str] | None = "3f9b16dec50a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The search document: title and authors weigh most, then subtitle, then description.
# Author names are not stemmed ("simple"), prose is ("english").
SEARCH_FUNCTIONS = [
    """
CREATE FUNCTION book_search_vector(p_book_id bigint, p_title text, p_subtitle text,
                                   p_description text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
      || setweight(to_tsvector('simple', coalesce((
             SELECT string_agg(a.name, ' ' ORDER BY ba.position)
             FROM book_authors ba JOIN authors a ON a.id = ba.author_id
             WHERE ba.book_id = p_book_id), '')), 'A')
      || setweight(to_tsvector('english', coalesce(p_subtitle, '')), 'B')
      || setweight(to_tsvector('english', coalesce(p_description, '')), 'C')
$$""",
    """
CREATE FUNCTION books_search_vector_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_vector := book_search_vector(NEW.id, NEW.title, NEW.subtitle, NEW.description);
  RETURN NEW;
END $$""",
    """
CREATE FUNCTION book_authors_search_vector_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE books b
     SET search_vector = book_search_vector(b.id, b.title, b.subtitle, b.description)
   WHERE b.id IN (SELECT book_id FROM changed_rows);
  RETURN NULL;
END $$""",
    """
CREATE FUNCTION authors_search_vector_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE books b
     SET search_vector = book_search_vector(b.id, b.title, b.subtitle, b.description)
   WHERE b.id IN (SELECT ba.book_id FROM book_authors ba
                  JOIN changed_rows c ON c.id = ba.author_id);
  RETURN NULL;
END $$""",
]

SEARCH_TRIGGERS = [
    """
CREATE TRIGGER books_search_vector
  BEFORE INSERT OR UPDATE OF title, subtitle, description ON books
  FOR EACH ROW EXECUTE FUNCTION books_search_vector_trigger()""",
    """
CREATE TRIGGER book_authors_search_vector_insert
  AFTER INSERT ON book_authors REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION book_authors_search_vector_trigger()""",
    """
CREATE TRIGGER book_authors_search_vector_delete
  AFTER DELETE ON book_authors REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION book_authors_search_vector_trigger()""",
    """
CREATE TRIGGER authors_search_vector
  AFTER UPDATE ON authors REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION authors_search_vector_trigger()""",
]


def has_available_extension(name: str) -> bool:
    found = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": name}
    )
    return found.scalar() is not None


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
    )
    op.create_index(op.f("ix_authors_name"), "authors", ["name", "id"], unique=False)
    op.create_table(
        "books",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("subtitle", sa.String(length=300), nullable=True),
        sa.Column("isbn13", sa.String(length=13), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("stock_quantity", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("publisher", sa.String(length=200), nullable=True),
        sa.Column("cover_url", sa.String(length=2048), nullable=True),
        sa.Column("is_archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("search_vector", postgresql.TSVECTOR(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "page_count IS NULL OR page_count > 0", name=op.f("ck_books_page_count_positive")
        ),
        sa.CheckConstraint("price > 0", name=op.f("ck_books_price_positive")),
        sa.CheckConstraint("stock_quantity >= 0", name=op.f("ck_books_stock_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_books")),
        sa.UniqueConstraint("isbn13", name=op.f("uq_books_isbn13")),
    )
    op.create_index(
        "ix_books_created_at_id",
        "books",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.create_index(
        "ix_books_price_id",
        "books",
        ["price", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.create_index(
        "ix_books_release_date_id",
        "books",
        ["release_date", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.create_index(
        "ix_books_search_vector", "books", ["search_vector"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        "ix_books_title_id",
        "books",
        ["title", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.create_table(
        "genres",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genres")),
        sa.UniqueConstraint("name", name=op.f("uq_genres_name")),
        sa.UniqueConstraint("slug", name=op.f("uq_genres_slug")),
    )
    op.create_table(
        "book_authors",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_book_authors_author_id_authors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_book_authors_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("book_id", "author_id", name=op.f("pk_book_authors")),
    )
    op.create_index(
        op.f("ix_book_authors_author_id"), "book_authors", ["author_id", "book_id"], unique=False
    )
    op.create_table(
        "book_genres",
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("genre_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_book_genres_book_id_books"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["genre_id"],
            ["genres.id"],
            name=op.f("fk_book_genres_genre_id_genres"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("book_id", "genre_id", name=op.f("pk_book_genres")),
    )
    op.create_index(
        op.f("ix_book_genres_genre_id"), "book_genres", ["genre_id", "book_id"], unique=False
    )
    for statement in (*SEARCH_FUNCTIONS, *SEARCH_TRIGGERS):
        op.execute(statement)
    # Typo-tolerant search needs pg_trgm (a contrib extension: Debian's and Docker's
    # PostgreSQL ship it, the embedded pgserver does not). Without it, search falls back to
    # full-text and prefix matching (the app logs this once at start-up).
    if has_available_extension("pg_trgm"):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_books_title_trgm ON books USING gin (title gin_trgm_ops)")
        op.execute("CREATE INDEX ix_authors_name_trgm ON authors USING gin (name gin_trgm_ops)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_authors_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_books_title_trgm")
    op.drop_index(op.f("ix_book_genres_genre_id"), table_name="book_genres")
    op.drop_table("book_genres")
    op.drop_index(op.f("ix_book_authors_author_id"), table_name="book_authors")
    op.drop_table("book_authors")
    op.drop_table("genres")
    op.drop_index(
        "ix_books_title_id", table_name="books", postgresql_where=sa.text("NOT is_archived")
    )
    op.drop_index("ix_books_search_vector", table_name="books", postgresql_using="gin")
    op.drop_index(
        "ix_books_release_date_id", table_name="books", postgresql_where=sa.text("NOT is_archived")
    )
    op.drop_index(
        "ix_books_price_id", table_name="books", postgresql_where=sa.text("NOT is_archived")
    )
    op.drop_index(
        "ix_books_created_at_id", table_name="books", postgresql_where=sa.text("NOT is_archived")
    )
    op.drop_table("books")
    op.drop_index(op.f("ix_authors_name"), table_name="authors")
    op.drop_table("authors")
    op.execute(
        "DROP FUNCTION book_search_vector, books_search_vector_trigger, "
        "book_authors_search_vector_trigger, authors_search_vector_trigger"
    )
