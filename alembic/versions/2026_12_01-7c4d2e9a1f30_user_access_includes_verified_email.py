"""An account's access notice (`u:<user>`) also when its email becomes verified (or not):
whether the user may order is part of what an access token stands for, and the workers'
caches of checked tokens (`app.users.access`) drop it when they hear the notice.

Revision ID: 7c4d2e9a1f30
Revises: 7b3e9d2c4f10
Create Date: 2026-12-01 16:30:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c4d2e9a1f30"
down_revision: str | Sequence[str] | None = "7b3e9d2c4f10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION notify_user_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF ({columns}) IS DISTINCT FROM ({new_columns}) THEN
    PERFORM pg_notify('bookstore_events', 'u:' || NEW.id);
  END IF;
  RETURN NULL;
END $$"""


def _function(*columns: str) -> str:
    return FUNCTION.format(
        columns=", ".join(f"OLD.{column}" for column in columns),
        new_columns=", ".join(f"NEW.{column}" for column in columns),
    )


def upgrade() -> None:
    op.execute(_function("is_active", "role", "email_verified_at"))


def downgrade() -> None:
    op.execute(_function("is_active", "role"))
