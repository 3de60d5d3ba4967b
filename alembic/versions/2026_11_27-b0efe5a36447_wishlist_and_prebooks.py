"""Wishlist items and prebooks (with a partial unique index: one waiting prebook per
user and book).

Revision ID: b0efe5a36447
Revises: f493d92d86ef
Create Date: 2026-11-27 17:10:28.280480+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "b0efe5a36447"
down_revision: str | Sequence[str] | None = "f493d92d86ef"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wishlist_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["book_id"],
            ["books.id"],
            name=op.f("fk_wishlist_items_book_id_books"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_wishlist_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wishlist_items")),
        sa.UniqueConstraint("user_id", "book_id", name=op.f("uq_wishlist_items_user_id_book_id")),
    )
    op.create_index(op.f("ix_wishlist_items_book_id"), "wishlist_items", ["book_id"], unique=False)
    op.create_index(
        op.f("ix_wishlist_items_user_id"),
        "wishlist_items",
        ["user_id", "added_at", "id"],
        unique=False,
    )
    op.create_table(
        "prebooks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("book_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "FULFILLED",
                "CANCELLED",
                name="prebook_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("price_at_prebook", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("ship_full_name", sa.String(length=200), nullable=False),
        sa.Column("ship_line1", sa.String(length=200), nullable=False),
        sa.Column("ship_line2", sa.String(length=200), nullable=True),
        sa.Column("ship_city", sa.String(length=100), nullable=False),
        sa.Column("ship_postal_code", sa.String(length=20), nullable=False),
        sa.Column("ship_country", sa.String(length=2), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("quantity BETWEEN 1 AND 10", name=op.f("ck_prebooks_quantity_range")),
        sa.ForeignKeyConstraint(
            ["book_id"], ["books.id"], name=op.f("fk_prebooks_book_id_books"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_prebooks_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_prebooks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prebooks")),
    )
    op.create_index(
        "ix_prebooks_book_id_queue",
        "prebooks",
        ["book_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        op.f("ix_prebooks_status"), "prebooks", ["status", "created_at", "id"], unique=False
    )
    op.create_index(
        op.f("ix_prebooks_user_id"), "prebooks", ["user_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "uq_prebooks_user_id_book_id_pending",
        "prebooks",
        ["user_id", "book_id"],
        unique=True,
        postgresql_where=sa.text("status = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_prebooks_user_id_book_id_pending",
        table_name="prebooks",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_index(op.f("ix_prebooks_user_id"), table_name="prebooks")
    op.drop_index(op.f("ix_prebooks_status"), table_name="prebooks")
    op.drop_index(
        "ix_prebooks_book_id_queue",
        table_name="prebooks",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_table("prebooks")
    op.drop_index(op.f("ix_wishlist_items_user_id"), table_name="wishlist_items")
    op.drop_index(op.f("ix_wishlist_items_book_id"), table_name="wishlist_items")
    op.drop_table("wishlist_items")
