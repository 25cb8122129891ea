"""evidence retention marks and system alerts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 22:00:00

Plain ALTER TABLE ADD COLUMN, not batch mode: recreating `violations` on SQLite
would drop the daily-count triggers of 0005.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_DELETED = sa.text("evidence_deleted_at IS NULL")


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "violations", sa.Column("evidence_deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_violations_retention",
        "violations",
        ["status", "offence_time"],
        unique=False,
        sqlite_where=_NOT_DELETED,
        postgresql_where=_NOT_DELETED,
    )
    op.add_column(
        "evidence_items", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "evidence_items", sa.Column("deleted_reason", sa.String(length=40), nullable=True)
    )
    op.create_table(
        "system_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_system_alerts_at", "system_alerts", ["at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_system_alerts_at", table_name="system_alerts")
    op.drop_table("system_alerts")
    # SQLite (3.35+) and PostgreSQL both drop columns in place.
    op.drop_column("evidence_items", "deleted_reason")
    op.drop_column("evidence_items", "deleted_at")
    op.drop_index("ix_violations_retention", table_name="violations")
    op.drop_column("violations", "evidence_deleted_at")
