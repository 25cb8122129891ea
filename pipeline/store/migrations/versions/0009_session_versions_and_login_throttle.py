"""session versions and an atomic login throttle

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:00:00

`users.session_version` is written into every session cookie; logging out,
changing the password or disabling the account bumps it, which ends every
session issued before (a cookie copied from a shared PC stops working).

`login_throttle` replaces `login_failures`: one counter row per key (a user
name at an address, or an address), raised by a conditional UPDATE before the
password is checked, so parallel guesses cannot slip past the limit.

The session-signing secret no longer lives in plain text in `settings`: it
comes from the environment or a 0600 file, so the old row is deleted (everyone
logs in again once after the upgrade).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Expired counters are deleted on failed logins; the index keeps that cheap.
    op.create_index("ix_login_throttle_window_started_at", "login_throttle", ["window_started_at"])
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_key_at")
    op.drop_table("login_failures")
    op.execute(sa.text("DELETE FROM settings WHERE key = 'session_secret'"))


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_key_at", ["key", "at"], unique=False)
    op.drop_index("ix_login_throttle_window_started_at", table_name="login_throttle")
    op.drop_table("login_throttle")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
