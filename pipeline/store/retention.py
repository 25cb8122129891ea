"""Retention's rows: which violations' evidence may go, and marking it gone.

Only decided violations are ever candidates. A pending violation is under review,
and so is any violation an officer holds an unexpired claim on; neither is
returned here nor marked, whatever its age. Marking is one conditional UPDATE
that re-checks those conditions, so a claim taken between the listing and the
deletion still wins.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from pipeline.store.models import AuditEntry, EvidenceItem, Violation

UNDER_REVIEW = "pending"
RETENTION_ACTOR = "retention"


class RetentionRefused(ValueError):
    """A request to delete evidence of violations that are under review."""


@dataclass(frozen=True)
class EvidenceHolder:
    """A decided violation that still has evidence files, and how many bytes they take."""

    violation_id: str
    status: str
    offence_time: datetime
    evidence_dir: str
    size: int


def _check_statuses(statuses: Collection[str]) -> None:
    if UNDER_REVIEW in statuses:
        raise RetentionRefused("evidence of pending violations is under review and never deleted")


def _not_claimed(now: datetime) -> ColumnElement[bool]:
    """No officer holds an unexpired claim (a claim without an expiry holds)."""
    return or_(Violation.claimed_by.is_(None), Violation.claim_expires_at <= now)


def deletable_evidence(
    session: Session,
    *,
    older_than: Mapping[str, datetime],
    now: datetime,
    limit: int = 200,
    after: tuple[datetime, str] | None = None,
) -> list[EvidenceHolder]:
    """Violations whose evidence may be deleted, oldest offence first.

    Args:
        older_than: status -> offences before this time qualify. `pending` is refused.
        now: claims expiring after this are open (their violation is under review).
        limit: most rows returned.
        after: keyset: only violations after this (offence_time, id), for paging.

    Returns:
        One holder per violation that still has undeleted evidence.
    """
    _check_statuses(older_than)
    if not older_than:
        return []
    size = (
        select(func.coalesce(func.sum(EvidenceItem.size), 0))
        .where(EvidenceItem.violation_id == Violation.id, EvidenceItem.deleted_at.is_(None))
        .scalar_subquery()
    )
    by_status = [
        and_(Violation.status == status, Violation.offence_time < before)
        for status, before in older_than.items()
    ]
    query = (
        select(Violation.id, Violation.status, Violation.offence_time, Violation.evidence_dir, size)
        .where(Violation.evidence_deleted_at.is_(None), or_(false(), *by_status))
        .where(_not_claimed(now))
        .order_by(Violation.offence_time, Violation.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Violation.offence_time, Violation.id) > tuple_(*after))
    return [
        EvidenceHolder(
            violation_id=violation_id,
            status=status,
            offence_time=offence_time,
            evidence_dir=evidence_dir,
            size=int(total or 0),
        )
        for violation_id, status, offence_time, evidence_dir, total in session.execute(query)
    ]


def mark_evidence_deleted(
    session: Session,
    holder: EvidenceHolder,
    *,
    statuses: Collection[str],
    reason: str,
    at: datetime,
) -> bool:
    """Mark a violation's evidence deleted (violation and evidence rows) and audit it.

    The violation row, its reviews and its evidence rows stay: only the files go,
    and the caller deletes them after committing this.

    Args:
        statuses: statuses that may lose evidence now; re-checked on the row.
        reason: why (`age` or `disk_full`), stored on each evidence row.
        at: when; also the time against which claims are checked.

    Returns:
        False when the violation no longer qualifies (reviewed again, claimed,
        or already done); nothing is changed then.
    """
    _check_statuses(statuses)
    marked = session.execute(
        update(Violation)
        .where(
            Violation.id == holder.violation_id,
            Violation.evidence_deleted_at.is_(None),
            Violation.status.in_(list(statuses)),
            _not_claimed(at),
        )
        .values(evidence_deleted_at=at)
        .execution_options(synchronize_session=False)
    )
    if not getattr(marked, "rowcount", 0):
        return False
    files = session.execute(
        update(EvidenceItem)
        .where(EvidenceItem.violation_id == holder.violation_id, EvidenceItem.deleted_at.is_(None))
        .values(deleted_at=at, deleted_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.add(
        AuditEntry(
            at=at,
            actor=RETENTION_ACTOR,
            action="evidence.deleted",
            subject=f"violation:{holder.violation_id}",
            detail={
                "reason": reason,
                "status": holder.status,
                "files": int(getattr(files, "rowcount", 0) or 0),
                "bytes": holder.size,
            },
        )
    )
    return True


def evidence_deleted_since(session: Session, *, since: datetime) -> list[str]:
    """Package directories of violations whose evidence was marked deleted at or after
    `since` (their files may still be there after a crash between commit and removal)."""
    query = select(Violation.evidence_dir).where(Violation.evidence_deleted_at >= since)
    return list(session.scalars(query))
