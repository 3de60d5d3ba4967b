"""Copies held for prebooks: books.prebook_demand (copies waited for), backfilled from the
pending prebooks; a released book sells nothing while it is above zero.

Revision ID: d1e37526adb4
Revises: dfcf5fd97ab4
Create Date: 2026-11-27 17:42:14.165278+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "d1e37526adb4"
down_revision: str | Sequence[str] | None = "dfcf5fd97ab4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "books",
        sa.Column("prebook_demand", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_books_prebook_demand_not_negative"), "books", "prebook_demand >= 0"
    )
    op.execute(
        """
        UPDATE books SET prebook_demand = waiting.copies
        FROM (SELECT book_id, sum(quantity) AS copies FROM prebooks
              WHERE status = 'PENDING' GROUP BY book_id) AS waiting
        WHERE books.id = waiting.book_id
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_books_prebook_demand_not_negative"), "books", type_="check")
    op.drop_column("books", "prebook_demand")
