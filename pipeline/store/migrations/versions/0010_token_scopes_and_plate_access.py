"""token scopes and plate access

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:30:00

A signal controller's token is bound to the cameras and heads it may report
and to its controller id (`api_tokens.cameras`, `heads`, `controller_id`); a
token made before (no cameras) may post nothing until it is made again with a
scope. `users.plate_access` lets an analyst see plates in the history; without
it they are masked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cameras", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("heads", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("controller_id", sa.String(80), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("plate_access", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("plate_access")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("controller_id")
        batch_op.drop_column("heads")
        batch_op.drop_column("cameras")
