"""Queries and writes the rest of trafficcam uses; callers never build SQL themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from pipeline.config import CameraConfig
from pipeline.store.models import (
    AuditEntry,
    Camera,
    EvidenceItem,
    OutboxEvent,
    Review,
    SceneVersion,
    Violation,
    utcnow,
)

DECISIONS = ("confirmed", "rejected")
EVENT_SCHEMA_VERSION = 1
"""`schema_version` of every event (the `const` of each pipeline/events/schemas/ file).
Defined here, beside the outbox, because the store writes events too and may not
import pipeline.events."""


class ReviewError(Exception):
    """A review that cannot be applied (unknown violation, bad decision)."""


class NotPending(ReviewError):
    """The violation was decided already: an officer's review may not change it.

    Only a supervisor's reversal (`reverse_decision`) changes a decided violation.
    """

    def __init__(self, violation_id: str, status: str) -> None:
        super().__init__(f"violation {violation_id} is {status} already, not pending")
        self.violation_id = violation_id
        self.status = status


@dataclass(frozen=True)
class EvidenceFile:
    kind: str
    uri: str
    sha256: str
    size: int


@dataclass(frozen=True)
class PendingEvent:
    topic: str
    key: str
    payload: dict[str, Any]
    event_id: str


def upsert_camera(
    session: Session, *, camera_id: str, name: str, location_text: str, lat: float, lon: float
) -> None:
    camera = session.get(Camera, camera_id)
    if camera is None:
        session.add(Camera(id=camera_id, name=name, location_text=location_text, lat=lat, lon=lon))
        return
    camera.name, camera.location_text, camera.lat, camera.lon = name, location_text, lat, lon
    camera.updated_at = utcnow()


def register_cameras(session: Session, cameras: Iterable[CameraConfig]) -> None:
    """Insert or update the camera rows of configured cameras, and keep each
    camera's current scene version (idempotent)."""
    for camera in cameras:
        upsert_camera(
            session,
            camera_id=camera.id,
            name=camera.name,
            location_text=camera.location.text,
            lat=camera.location.lat,
            lon=camera.location.lon,
        )
        session.flush()
        if session.get(SceneVersion, (camera.id, camera.scene_version)) is None:
            session.add(
                SceneVersion(
                    camera_id=camera.id,
                    version=camera.scene_version,
                    scene={
                        "scene": camera.scene.model_dump(mode="json"),
                        "rules": [rule.model_dump(mode="json") for rule in camera.rules],
                    },
                )
            )


def record_violation(
    session: Session,
    violation: Violation,
    evidence: Sequence[EvidenceFile],
    events: Sequence[PendingEvent],
) -> None:
    """Add a violation, its evidence rows and its outbox events to the session.

    The caller commits once, so the violation never exists without its events
    (and an event never exists for a violation that was rolled back).
    """
    session.add(violation)
    for item in evidence:
        session.add(
            EvidenceItem(
                violation_id=violation.id,
                kind=item.kind,
                uri=item.uri,
                sha256=item.sha256,
                size=item.size,
            )
        )
    for event in events:
        enqueue_event(session, event)


def enqueue_event(session: Session, event: PendingEvent) -> None:
    session.add(
        OutboxEvent(
            event_id=event.event_id, topic=event.topic, key=event.key, payload=event.payload
        )
    )


def list_violations(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[Violation]:
    """Violations, oldest offence first (the order officers work through them)."""
    query = select(Violation).options(selectinload(Violation.camera))
    if status is not None:
        query = query.where(Violation.status == status)
    query = query.order_by(Violation.offence_time, Violation.id).limit(limit)
    return list(session.scalars(query))


def get_violation(session: Session, violation_id: str) -> Violation | None:
    query = (
        select(Violation)
        .where(Violation.id == violation_id)
        .options(
            selectinload(Violation.evidence),
            selectinload(Violation.reviews),
            selectinload(Violation.camera),
        )
    )
    return session.scalars(query).first()


def all_violation_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Violation.id).order_by(Violation.offence_time)))


def add_review(
    session: Session,
    *,
    violation_id: str,
    reviewer: str,
    decision: str,
    reason: str = "",
    plate_correction: str | None = None,
    reviews_topic: str | None = None,
    at: datetime | None = None,
) -> Review:
    """Append a review decision, update the violation's status, audit it, and
    queue a `reviews` event when a topic is given, all in the caller's transaction.
    """
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise ReviewError(f"no violation {violation_id!r}")
    # One conditional UPDATE: of two decisions racing on the same pending item exactly
    # one changes it, and a decided item (its notice perhaps printed) is never re-decided.
    decided = session.execute(
        update(Violation)
        .where(Violation.id == violation_id, Violation.status == "pending")
        .values(status=decision)
        .execution_options(synchronize_session=False)
    )
    if getattr(decided, "rowcount", 0) != 1:
        session.refresh(violation)
        raise NotPending(violation_id, violation.status)
    return _append_decision(
        session,
        violation,
        reviewer=reviewer,
        decision=decision,
        reason=reason,
        plate_correction=plate_correction,
        reviews_topic=reviews_topic,
        at=at,
        action=f"review.{decision}",
        detail={"reason": reason, "plate_correction": plate_correction},
    )


def reverse_decision(
    session: Session,
    *,
    violation_id: str,
    supervisor: str,
    decision: str,
    reason: str,
    reviews_topic: str | None = None,
    at: datetime | None = None,
) -> Review:
    """A supervisor's reversal of a decided violation: its own review row, audit entry
    (`review.reverse`, with the status before and after) and `reviews` event.

    Raises:
        ReviewError: bad decision, unknown violation, no reason given, or the
            violation is pending (an officer decides it) or already `decision`.
    """
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if not reason.strip():
        raise ReviewError("a reversal needs a reason")
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise ReviewError(f"no violation {violation_id!r}")
    before = violation.status
    if before not in DECISIONS or before == decision:
        raise ReviewError(f"violation {violation_id} is {before}: nothing to reverse")
    changed = session.execute(
        update(Violation)
        .where(Violation.id == violation_id, Violation.status == before)
        .values(status=decision)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        raise ReviewError(f"violation {violation_id} changed meanwhile; reload and try again")
    return _append_decision(
        session,
        violation,
        reviewer=supervisor,
        decision=decision,
        reason=reason,
        plate_correction=None,
        reviews_topic=reviews_topic,
        at=at,
        action="review.reverse",
        detail={"from": before, "to": decision, "reason": reason},
    )


def _append_decision(
    session: Session,
    violation: Violation,
    *,
    reviewer: str,
    decision: str,
    reason: str,
    plate_correction: str | None,
    reviews_topic: str | None,
    at: datetime | None,
    action: str,
    detail: dict[str, Any],
) -> Review:
    """The review row, audit entry and event of a status change already made."""
    violation_id = violation.id
    review = Review(
        violation_id=violation_id,
        reviewer=reviewer,
        decision=decision,
        reason=reason,
        plate_correction=plate_correction or None,
        decided_at=at or utcnow(),
    )
    session.add(review)
    # The UPDATE above changed the status; keep the loaded row in step without a second write.
    set_committed_value(violation, "status", decision)
    if plate_correction:
        violation.plate = plate_correction
    session.add(
        AuditEntry(
            actor=reviewer, action=action, subject=f"violation:{violation_id}", detail=detail
        )
    )
    if reviews_topic:
        event_id = str(uuid.uuid4())
        enqueue_event(
            session,
            PendingEvent(
                topic=reviews_topic,
                key=violation.camera_id,
                event_id=event_id,
                payload={
                    "schema_version": EVENT_SCHEMA_VERSION,
                    "event_id": event_id,
                    "type": "review",
                    "violation_id": violation_id,
                    "decision": decision,
                    "reason": reason,
                    "plate_correction": plate_correction,
                    "reviewer": reviewer,
                    "decided_at": review.decided_at.isoformat(),
                },
            ),
        )
    return review


def audit(session: Session, *, actor: str, action: str, subject: str, **detail: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, subject=subject, detail=detail))


def audit_log(session: Session, *, subject: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    return list(session.scalars(query))


def pending_events(session: Session, *, limit: int = 500) -> list[OutboxEvent]:
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.sent_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def mark_sent(session: Session, outbox_ids: Sequence[int], *, at: datetime | None = None) -> None:
    if outbox_ids:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(list(outbox_ids)))
            .values(sent_at=at or utcnow())
        )


def note_attempts(session: Session, outbox_ids: Sequence[int]) -> None:
    """Count one publish attempt for each row (shows events stuck behind a dead broker)."""
    if outbox_ids:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(list(outbox_ids)))
            .values(attempts=OutboxEvent.attempts + 1)
        )


def count_pending_events(session: Session) -> int:
    query = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None))
    return int(session.scalar(query) or 0)
