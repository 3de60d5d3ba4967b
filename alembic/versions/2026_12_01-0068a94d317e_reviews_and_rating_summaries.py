"""Reviews and rating summaries: reviews (one per reader and book), helpfulness votes, the
record of review writes (the rate limit), and each book's rating summary on its row
(`rating_histogram`, `rating_average`, `rating_count`, with the index of the RATING
order). Existing books
start with no reviews. Review changes notify `catalog_changed`, as catalog changes do: the
response caches of every instance show reviews too.

Revision ID: 0068a94d317e
Revises: 22303c80d88b
Create Date: 2026-12-01 13:18:52.819924+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0068a94d317e"
down_revision: str | Sequence[str] | None = "22303c80d88b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_writes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_writes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_writes")),
    )
    op.create_index(
        op.f("ix_review_writes_created_at"), "review_writes", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_review_writes_user_id"), "review_writes", ["user_id", "created_at"], unique=False
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PUBLISHED",
                "HIDDEN",
                name="review_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="PUBLISHED",
            nullable=False,
        ),
        sa.Column("helpful_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
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
            "helpful_count >= 0", name=op.f("ck_reviews_helpful_count_not_negative")
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_reviews_book_id_books"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reviews_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("user_id", "book_id", name=op.f("uq_reviews_user_id_book_id")),
    )
    op.create_index(
        op.f("ix_reviews_book_id"), "reviews", ["book_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_reviews_book_rating",
        "reviews",
        ["book_id", "rating", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'PUBLISHED'"),
    )
    op.create_index(op.f("ix_reviews_created_at"), "reviews", ["created_at", "id"], unique=False)
    op.create_index(
        op.f("ix_reviews_status"), "reviews", ["status", "created_at", "id"], unique=False
    )
    op.create_table(
        "review_helpful_votes",
        sa.Column("review_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["reviews.id"],
            name=op.f("fk_review_helpful_votes_review_id_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_review_helpful_votes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", "user_id", name=op.f("pk_review_helpful_votes")),
    )
    op.create_index(
        op.f("ix_review_helpful_votes_user_id"), "review_helpful_votes", ["user_id"], unique=False
    )
    op.add_column(
        "books",
        sa.Column(
            "rating_histogram",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text("'{0,0,0,0,0}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "books",
        sa.Column(
            "rating_average",
            sa.Numeric(precision=3, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
    )
    op.add_column(
        "books",
        sa.Column("rating_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index(
        "ix_books_rating_id",
        "books",
        ["rating_average", "rating_count", "id"],
        unique=False,
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.create_check_constraint(
        "ck_books_rating_histogram_five_counts",
        "books",
        "cardinality(rating_histogram) = 5 AND 0 <= ALL(rating_histogram)",
    )
    # The rating summary is on the book's row (its notify trigger covers it); the reviews'
    # own text, status and helpful counts are shown to anonymous clients too.
    op.execute(NOTIFY_TRIGGER)


NOTIFY_TRIGGER = """
CREATE TRIGGER reviews_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON reviews FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"""


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS reviews_notify_change ON reviews")
    op.drop_constraint("ck_books_rating_histogram_five_counts", "books", type_="check")
    op.drop_index(
        "ix_books_rating_id",
        table_name="books",
        postgresql_where=sa.text("NOT is_archived"),
    )
    op.drop_column("books", "rating_count")
    op.drop_column("books", "rating_average")
    op.drop_column("books", "rating_histogram")
    op.drop_index(op.f("ix_review_helpful_votes_user_id"), table_name="review_helpful_votes")
    op.drop_table("review_helpful_votes")
    op.drop_index(op.f("ix_reviews_status"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_created_at"), table_name="reviews")
    op.drop_index(
        "ix_reviews_book_rating",
        table_name="reviews",
        postgresql_where=sa.text("status = 'PUBLISHED'"),
    )
    op.drop_index(op.f("ix_reviews_book_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_review_writes_user_id"), table_name="review_writes")
    op.drop_index(op.f("ix_review_writes_created_at"), table_name="review_writes")
    op.drop_table("review_writes")
