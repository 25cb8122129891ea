"""Queries of the review interface: the officers' queue and its claims, the analysts'
history with keyset pagination and counts, and the audit trail.

Every function takes the caller's session and never commits, so a route can
combine a claim, a decision and its audit entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    cast,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from pipeline.store.models import (
    AuditEntry,
    Camera,
    Violation,
    ViolationDailyCount,
)

# Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset buckets
# hours and days in local time the same way on SQLite (no time-zone database) and PostgreSQL.
LOCAL_OFFSET = timedelta(hours=7)
LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"

CountBy = Literal["hour", "day", "camera", "rule"]
COUNT_BY: tuple[CountBy, ...] = ("hour", "day", "camera", "rule")


# ---------------------------------------------------------------- review queue and claims


class ClaimRefused(Exception):
    """Another officer holds an unexpired claim on the violation."""

    def __init__(self, holder: str, expires_at: datetime) -> None:
        super().__init__(f"claimed by {holder} until {expires_at.isoformat()}")
        self.holder = holder
        self.expires_at = expires_at


class ClaimNotPending(Exception):
    """The violation was decided already: there is nothing left to claim."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the violation is {status} already, not pending")
        self.status = status


def _available_to(officer: str, now: datetime) -> ColumnElement[bool]:
    """Unclaimed, claimed by `officer`, or claimed by someone whose lock has run out."""
    return or_(
        Violation.claimed_by.is_(None),
        Violation.claim_expires_at <= now,
        Violation.claimed_by == officer,
    )


def _queue_query(
    officer: str, now: datetime, camera_id: str | None, rule_type: str | None
) -> Select[Violation]:
    query = select(Violation).where(Violation.status == "pending", _available_to(officer, now))
    if camera_id:
        query = query.where(Violation.camera_id == camera_id)
    if rule_type:
        query = query.where(Violation.rule_type == rule_type)
    return query.order_by(Violation.offence_time, Violation.id)


def review_queue(
    session: Session,
    *,
    officer: str,
    now: datetime,
    camera_id: str | None = None,
    rule_type: str | None = None,
    limit: int = 50,
) -> list[Violation]:
    """Pending violations `officer` may take, oldest offence first.

    Items another officer holds are left out: they are not free to review.
    """
    query = _queue_query(officer, now, camera_id, rule_type).limit(limit)
    return list(session.scalars(query.options(selectinload(Violation.camera))))


def claim(
    session: Session, violation_id: str, *, officer: str, now: datetime, timeout_s: float
) -> datetime:
    """Take (or renew) `officer`'s claim on a violation.

    One conditional UPDATE decides it, so of two officers claiming at once exactly
    one wins on SQLite and PostgreSQL alike.

    Returns:
        When the claim runs out.

    Raises:
        LookupError: no such violation.
        ClaimNotPending: the violation was confirmed or rejected already.
        ClaimRefused: another officer's claim still holds.
    """
    expires = now + timedelta(seconds=timeout_s)
    renewed = session.execute(
        update(Violation)
        .where(
            Violation.id == violation_id,
            Violation.status == "pending",
            Violation.claimed_by == officer,
            Violation.claim_expires_at > now,
        )
        .values(claim_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if getattr(renewed, "rowcount", 0) == 1:
        return expires  # still theirs: a renewal is not a new entry in the audit trail
    result = session.execute(
        update(Violation)
        .where(
            Violation.id == violation_id,
            Violation.status == "pending",  # a decided item is never claimed again
            _available_to(officer, now),
        )
        .values(claimed_by=officer, claim_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) == 1:
        session.add(
            AuditEntry(
                actor=officer,
                action="review.claim",
                subject=f"violation:{violation_id}",
                detail={"expires_at": expires.isoformat()},
            )
        )
        return expires
    row = session.execute(
        select(Violation.status, Violation.claimed_by, Violation.claim_expires_at).where(
            Violation.id == violation_id
        )
    ).first()
    if row is None:
        raise LookupError(violation_id)
    status, holder, until = row
    if status != "pending":
        raise ClaimNotPending(status)
    raise ClaimRefused(holder or "", until or now)


def release(session: Session, violation_id: str, *, officer: str) -> bool:
    """Drop `officer`'s claim, if they hold it (after a decision, or when they give it back).

    Returns:
        Whether they held it.
    """
    result = session.execute(
        update(Violation)
        .where(Violation.id == violation_id, Violation.claimed_by == officer)
        .values(claimed_by=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def claim_next(
    session: Session,
    *,
    officer: str,
    now: datetime,
    timeout_s: float,
    camera_id: str | None = None,
    rule_type: str | None = None,
    skip: str | None = None,
) -> str | None:
    """Claim the oldest free pending violation; its id, or None when the queue is empty.

    A few candidates are tried so that losing a race for the first one (another
    officer claimed it between our read and our update) moves on to the next.
    `skip` is the item the officer is moving away from, so "next" never returns it.
    """
    for _ in range(3):
        query = _queue_query(officer, now, camera_id, rule_type).with_only_columns(Violation.id)
        if skip:
            query = query.where(Violation.id != skip)
        ids = list(session.scalars(query.limit(5)))
        if not ids:
            return None
        for violation_id in ids:
            try:
                claim(session, violation_id, officer=officer, now=now, timeout_s=timeout_s)
            except (ClaimRefused, ClaimNotPending, LookupError):
                continue
            return violation_id
    return None


def cameras(session: Session) -> list[Camera]:
    return list(session.scalars(select(Camera).order_by(Camera.name, Camera.id)))


# A loose index scan: one index probe per distinct value instead of reading every row.
# PostgreSQL has no skip scan of its own; with a million violations and a handful of
# rules this is about a millisecond instead of a sequential scan.
_DISTINCT_SQL = """
WITH RECURSIVE found(value) AS (
    SELECT (SELECT {column} FROM violations ORDER BY {column} LIMIT 1)
    UNION ALL
    SELECT (SELECT {column} FROM violations WHERE {column} > found.value
            ORDER BY {column} LIMIT 1)
    FROM found WHERE found.value IS NOT NULL
)
SELECT value FROM found WHERE value IS NOT NULL
"""


def _distinct(session: Session, column: Literal["rule_type", "vehicle_class"]) -> list[str]:
    return [str(value) for value in session.scalars(text(_DISTINCT_SQL.format(column=column)))]


def rule_types(session: Session) -> list[str]:
    """Rule types that have violations, for filter menus."""
    return _distinct(session, "rule_type")


def vehicle_classes(session: Session) -> list[str]:
    """Vehicle classes that have violations, for filter menus."""
    return _distinct(session, "vehicle_class")


# ---------------------------------------------------------------- analysts' history


@dataclass(frozen=True)
class HistoryFilter:
    """What an analyst narrows the history to; None means "any"."""

    start: datetime | None = None
    end: datetime | None = None
    camera_id: str | None = None
    rule_type: str | None = None
    vehicle_class: str | None = None
    plate_prefix: str | None = None
    status: str | None = None


Cursor = tuple[datetime, str]


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _filtered(query: Select[Any], f: HistoryFilter) -> Select[Any]:
    if f.start is not None:
        query = query.where(Violation.offence_time >= f.start)
    if f.end is not None:
        query = query.where(Violation.offence_time < f.end)
    if f.camera_id:
        query = query.where(Violation.camera_id == f.camera_id)
    if f.rule_type:
        query = query.where(Violation.rule_type == f.rule_type)
    if f.vehicle_class:
        query = query.where(Violation.vehicle_class == f.vehicle_class)
    if f.plate_prefix:
        query = query.where(Violation.plate.like(_like_prefix(f.plate_prefix), escape="\\"))
    if f.status:
        query = query.where(Violation.status == f.status)
    return query


def history_page(
    session: Session, f: HistoryFilter, *, after: Cursor | None = None, limit: int = 50
) -> tuple[list[Violation], Cursor | None]:
    """One page of the history, newest first, and the cursor of the next page.

    Keyset pagination on (offence_time, id): a page costs the same however deep
    it is, and rows inserted meanwhile never shift or repeat rows already seen.
    """
    query = _filtered(select(Violation), f).options(selectinload(Violation.camera))
    if after is not None:
        query = query.where(tuple_(Violation.offence_time, Violation.id) < tuple_(*after))
    query = query.order_by(Violation.offence_time.desc(), Violation.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, (rows[-1].offence_time, rows[-1].id)
    return rows, None


def iter_history(session: Session, f: HistoryFilter, *, batch: int = 2000) -> Iterator[Violation]:
    """Every matching violation, newest first, fetched a batch at a time (for exports)."""
    after: Cursor | None = None
    while True:
        rows, after = history_page(session, f, after=after, limit=batch)
        yield from rows
        # Rows already written need not stay in the identity map of a long export.
        session.expunge_all()
        if after is None:
            return


def count_history(session: Session, f: HistoryFilter, *, cap: int | None = None) -> int:
    """Number of matching violations, counting at most `cap + 1` when a cap is given.

    A page only needs "more than 10,000"; counting a whole year of a city exactly
    on every page view would cost a full scan.
    """
    matching = _filtered(select(Violation.id), f)
    if cap is not None:
        matching = matching.limit(cap + 1)
    query = select(func.count()).select_from(matching.subquery())
    return int(session.scalar(query) or 0)


_BUCKET_SECONDS = {"hour": 3600, "day": 86400}


def _bucket(session: Session, by: CountBy) -> ColumnElement[Any] | InstrumentedAttribute[str]:
    if by == "camera":
        return Violation.camera_id
    if by == "rule":
        return Violation.rule_type
    # Whole local hours or days since the epoch, in integer arithmetic: the same numbers
    # on both backends, and several times cheaper on PostgreSQL than date_trunc over a
    # time-zone conversion for every row.
    if session.get_bind().dialect.name == "postgresql":
        epoch: ColumnElement[Any] = func.date_part("epoch", Violation.offence_time)
    else:
        epoch = cast(func.strftime("%s", Violation.offence_time), Integer)
    shifted = epoch + int(LOCAL_OFFSET.total_seconds())
    return func.floor(shifted / _BUCKET_SECONDS[by])


def _local_midnight(moment: datetime | None) -> bool:
    return moment is None or (moment + LOCAL_OFFSET).time() == time(0)


def rollup_serves(f: HistoryFilter, by: CountBy) -> bool:
    """The daily rollup answers per-day, camera and rule counts filtered by what it keeps."""
    return (
        by != "hour"
        and f.vehicle_class is None
        and not f.plate_prefix
        and _local_midnight(f.start)
        and _local_midnight(f.end)
    )


def _rollup_counts(session: Session, f: HistoryFilter, *, by: CountBy) -> list[tuple[str, int]]:
    rollup = ViolationDailyCount
    column = {"day": rollup.day, "camera": rollup.camera_id, "rule": rollup.rule_type}[by]
    query = select(column, func.sum(rollup.n)).group_by(column).order_by(column)
    if f.start is not None:
        query = query.where(rollup.day >= (f.start + LOCAL_OFFSET).date())
    if f.end is not None:
        query = query.where(rollup.day < (f.end + LOCAL_OFFSET).date())
    if f.camera_id:
        query = query.where(rollup.camera_id == f.camera_id)
    if f.rule_type:
        query = query.where(rollup.rule_type == f.rule_type)
    if f.status:
        query = query.where(rollup.status == f.status)
    # Keys whose violations were all deleted or re-decided stay behind with zero.
    query = query.having(func.sum(rollup.n) > 0)
    return [
        (value.isoformat() if isinstance(value, date) else str(value), int(count))
        for value, count in session.execute(query)
    ]


def counts(session: Session, f: HistoryFilter, *, by: CountBy) -> list[tuple[str, int]]:
    """Number of matching violations per local hour, local day, camera or rule.

    Per-day, per-camera and per-rule counts come from the daily rollup when the
    filters allow (whole local days; camera, rule, status), else from the rows.

    Returns:
        (label, count) pairs in label order; hours read `YYYY-MM-DD HH:00` and
        days `YYYY-MM-DD`, both in Vietnam time.
    """
    if rollup_serves(f, by):
        return _rollup_counts(session, f, by=by)
    return counts_from_rows(session, f, by=by)


def counts_from_rows(session: Session, f: HistoryFilter, *, by: CountBy) -> list[tuple[str, int]]:
    """`counts` computed from the violation rows themselves (any filter, any grouping)."""
    bucket = _bucket(session, by).label("bucket")
    query = _filtered(select(bucket, func.count()).select_from(Violation), f)
    query = query.group_by(bucket).order_by(bucket)
    out: list[tuple[str, int]] = []
    for value, count in session.execute(query):
        if by in _BUCKET_SECONDS:
            start = datetime.fromtimestamp(int(value) * _BUCKET_SECONDS[by], UTC)
            label = start.strftime("%Y-%m-%d %H:00" if by == "hour" else "%Y-%m-%d")
        else:
            label = str(value)
        out.append((label, int(count)))
    return out


# ---------------------------------------------------------------- audit trail


def recent_audit(
    session: Session,
    *,
    actor: str | None = None,
    subject: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Audit entries newest first, optionally of one actor or subject, before an id."""
    query = select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
