"""Email: the transactional outbox, account tokens (verification, password reset, email
change) and the throttle of account emails; saved addresses; back-in-stock alerts on
wishlist items.

Existing accounts start unverified (`email_verified_at` NULL: nobody proved an address
yet) and existing wishlist items without alerts.

Revision ID: 22303c80d88b
Revises: b01aa9017cc9
Create Date: 2026-12-01 11:57:39.407401+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "22303c80d88b"
down_revision: str | Sequence[str] | None = "b01aa9017cc9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "VERIFY_EMAIL",
                "RESET_PASSWORD",
                "CHANGE_EMAIL",
                name="request_purpose",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_requests")),
    )
    op.create_index(
        op.f("ix_email_requests_created_at"), "email_requests", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_email_requests_ip_address"),
        "email_requests",
        ["ip_address", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_email_requests_purpose"),
        "email_requests",
        ["purpose", "email", "created_at"],
        unique=False,
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("uuid", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "DONE",
                "DEAD",
                name="outbox_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="PENDING",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(
        op.f("ix_outbox_messages_processed_at"), "outbox_messages", ["processed_at"], unique=False
    )
    op.create_index(
        op.f("ix_outbox_messages_topic"),
        "outbox_messages",
        ["topic", "available_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "VERIFY_EMAIL",
                "RESET_PASSWORD",
                "CHANGE_EMAIL",
                name="token_purpose",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_account_tokens_user_id"), "account_tokens", ["user_id", "purpose"], unique=False
    )
    op.create_table(
        "saved_addresses",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_addresses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_addresses")),
    )
    op.create_index(
        op.f("ix_saved_addresses_user_id"), "saved_addresses", ["user_id", "id"], unique=False
    )
    op.create_index(
        "uq_saved_addresses_default",
        "saved_addresses",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.add_column(
        "users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "wishlist_items",
        sa.Column(
            "notify_when_available", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column(
        "wishlist_items", sa.Column("notify_since", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "wishlist_items", sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_wishlist_items_alerts",
        "wishlist_items",
        ["book_id"],
        unique=False,
        postgresql_where=sa.text("notify_when_available"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_wishlist_items_alerts",
        table_name="wishlist_items",
        postgresql_where=sa.text("notify_when_available"),
    )
    op.drop_column("wishlist_items", "notified_at")
    op.drop_column("wishlist_items", "notify_since")
    op.drop_column("wishlist_items", "notify_when_available")
    op.drop_column("users", "email_verified_at")
    op.drop_index(
        "uq_saved_addresses_default",
        table_name="saved_addresses",
        postgresql_where=sa.text("is_default"),
    )
    op.drop_index(op.f("ix_saved_addresses_user_id"), table_name="saved_addresses")
    op.drop_table("saved_addresses")
    op.drop_index(op.f("ix_account_tokens_user_id"), table_name="account_tokens")
    op.drop_table("account_tokens")
    op.drop_index(
        op.f("ix_outbox_messages_topic"),
        table_name="outbox_messages",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_index(op.f("ix_outbox_messages_processed_at"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_index(op.f("ix_email_requests_purpose"), table_name="email_requests")
    op.drop_index(op.f("ix_email_requests_ip_address"), table_name="email_requests")
    op.drop_index(op.f("ix_email_requests_created_at"), table_name="email_requests")
    op.drop_table("email_requests")
