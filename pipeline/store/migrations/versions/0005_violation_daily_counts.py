"""violation daily counts, kept by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 18:37:59.961518

Per-day charts over a year of a city's violations would otherwise scan every row
(about half a second for a million on PostgreSQL). Triggers keep the rollup exact
whoever writes: the worker inserting, a review changing the status, a deletion.
Days are Vietnam's local days (UTC+7 all year, no daylight saving).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "(day, camera_id, rule_type, status)"

_PG_DAY = "(({row}.offence_time AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)"
# SQLite keeps UTC times as text; date() shifts and cuts them.
_SQLITE_DAY = "date({row}.offence_time, '+7 hours')"

_PG_FUNCTION = f"""
CREATE FUNCTION violation_daily_counts_apply() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE violation_daily_counts SET n = n - 1
        WHERE day = {_PG_DAY.format(row="OLD")} AND camera_id = OLD.camera_id
          AND rule_type = OLD.rule_type AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO violation_daily_counts (day, camera_id, rule_type, status, n)
        VALUES ({_PG_DAY.format(row="NEW")}, NEW.camera_id, NEW.rule_type, NEW.status, 1)
        ON CONFLICT {_KEY} DO UPDATE SET n = violation_daily_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

_PG_TRIGGER = """
CREATE TRIGGER violations_daily_counts
AFTER INSERT OR DELETE OR UPDATE OF offence_time, camera_id, rule_type, status ON violations
FOR EACH ROW EXECUTE FUNCTION violation_daily_counts_apply()
"""


def _sqlite_add(row: str) -> str:
    return (
        "INSERT INTO violation_daily_counts (day, camera_id, rule_type, status, n) "
        f"VALUES ({_SQLITE_DAY.format(row=row)}, {row}.camera_id, {row}.rule_type, "
        f"{row}.status, 1) ON CONFLICT {_KEY} DO UPDATE SET n = n + 1;"
    )


def _sqlite_remove(row: str) -> str:
    return (
        f"UPDATE violation_daily_counts SET n = n - 1 WHERE day = {_SQLITE_DAY.format(row=row)} "
        f"AND camera_id = {row}.camera_id AND rule_type = {row}.rule_type "
        f"AND status = {row}.status;"
    )


_SQLITE_TRIGGERS = (
    "CREATE TRIGGER violations_daily_counts_insert AFTER INSERT ON violations "
    f"BEGIN {_sqlite_add('NEW')} END",
    "CREATE TRIGGER violations_daily_counts_delete AFTER DELETE ON violations "
    f"BEGIN {_sqlite_remove('OLD')} END",
    "CREATE TRIGGER violations_daily_counts_update "
    "AFTER UPDATE OF offence_time, camera_id, rule_type, status ON violations "
    f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
)
_SQLITE_TRIGGER_NAMES = (
    "violations_daily_counts_insert",
    "violations_daily_counts_delete",
    "violations_daily_counts_update",
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "violation_daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("rule_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "camera_id", "rule_type", "status"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = (_PG_DAY if postgres else _SQLITE_DAY).format(row="violations")
    op.execute(
        "INSERT INTO violation_daily_counts (day, camera_id, rule_type, status, n) "
        f"SELECT {day}, camera_id, rule_type, status, count(*) FROM violations "
        f"GROUP BY {day}, camera_id, rule_type, status"
    )
    if postgres:
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS violations_daily_counts ON violations")
        op.execute("DROP FUNCTION IF EXISTS violation_daily_counts_apply()")
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("violation_daily_counts")
