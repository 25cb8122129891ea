"""api tokens and signal phase changes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 21:52:00

Machine clients (signal controllers) authenticate with bearer tokens, kept as
SHA-256 digests. Controllers' phase changes are appended to
`signal_phase_changes`, which workers without Kafka poll by camera and id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "signal_phase_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("head_id", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("controller_id", sa.String(80), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("reported_by", sa.String(80), nullable=False),
    )
    op.create_index(
        "ix_signal_phase_changes_camera_id", "signal_phase_changes", ["camera_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_signal_phase_changes_camera_id", table_name="signal_phase_changes")
    op.drop_table("signal_phase_changes")
    op.drop_table("api_tokens")
