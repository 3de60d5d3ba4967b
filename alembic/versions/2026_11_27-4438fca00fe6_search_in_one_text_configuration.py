"""Search in one text configuration: author names are indexed with English stemming like
the rest, so queries use one configuration and "-word" excludes reliably.

Revision ID: 4438fca00fe6
Revises: 3a0287fff6b2
Create Date: 2026-11-27 18:10:45.471199+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4438fca00fe6"
down_revision: str | Sequence[str] | None = "3a0287fff6b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _search_function(names_config: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION book_search_vector(p_book_id bigint, p_title text,
                                              p_subtitle text, p_description text)
RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT setweight(to_tsvector('english', coalesce(p_title, '')), 'A')
      || setweight(to_tsvector('{names_config}', coalesce((
             SELECT string_agg(a.name, ' ' ORDER BY ba.position)
             FROM book_authors ba JOIN authors a ON a.id = ba.author_id
             WHERE ba.book_id = p_book_id), '')), 'A')
      || setweight(to_tsvector('english', coalesce(p_subtitle, '')), 'B')
      || setweight(to_tsvector('english', coalesce(p_description, '')), 'C')
$$"""  # noqa: S608 - a constant configuration name


REINDEX = "UPDATE books SET search_vector = book_search_vector(id, title, subtitle, description)"


def upgrade() -> None:
    op.execute(_search_function("english"))
    op.execute(REINDEX)


def downgrade() -> None:
    op.execute(_search_function("simple"))
    op.execute(REINDEX)
