"""scene versions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 22:05:00

Each camera's scene (geometry and rules) is kept by its SHA-256, the version every
violation records, so the scene a violation was judged under can be shown later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scene_versions",
        sa.Column("camera_id", sa.String(64), sa.ForeignKey("cameras.id"), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("scene", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scene_versions")
