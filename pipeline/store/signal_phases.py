"""Signal phase changes from controllers: the append-only table and its outbox event.

The review UI's signals API writes here; workers without Kafka poll the table,
workers with Kafka follow the `signal-phases` topic the outbox relay feeds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.models import SignalPhaseChange, utcnow
from pipeline.store.repository import EVENT_SCHEMA_VERSION, PendingEvent, enqueue_event


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def phase_event(row: SignalPhaseChange) -> dict[str, Any]:
    """The `signal_phase` event of a stored change (see signal_phase.schema.json)."""
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_id": row.event_id,
        "type": "signal_phase",
        "camera_id": row.camera_id,
        "head_id": row.head_id,
        "phase": row.phase,
        "changed_at": _iso(row.changed_at),
        "received_at": _iso(row.received_at),
        "controller_id": row.controller_id,
        "sequence": row.sequence,
        "reported_by": row.reported_by,
    }


def record_phase_change(
    session: Session,
    *,
    camera_id: str,
    head_id: str,
    phase: str,
    changed_at: datetime,
    reported_by: str,
    controller_id: str | None = None,
    sequence: int | None = None,
    topic: str | None = None,
) -> SignalPhaseChange:
    """Append a change, and queue its event on `topic` when given, in the caller's
    transaction: the row and its event commit together or not at all."""
    row = SignalPhaseChange(
        event_id=str(uuid.uuid4()),
        camera_id=camera_id,
        head_id=head_id,
        phase=phase,
        changed_at=changed_at,
        received_at=utcnow(),
        controller_id=controller_id,
        sequence=sequence,
        reported_by=reported_by,
    )
    session.add(row)
    if topic:
        enqueue_event(
            session,
            PendingEvent(
                topic=topic, key=camera_id, payload=phase_event(row), event_id=row.event_id
            ),
        )
    return row


def changes_after(
    session: Session, camera_ids: Collection[str], after_id: int, *, limit: int = 500
) -> list[SignalPhaseChange]:
    """Changes of `camera_ids` stored after row `after_id`, in the order they were stored."""
    query = (
        select(SignalPhaseChange)
        .where(SignalPhaseChange.camera_id.in_(list(camera_ids)), SignalPhaseChange.id > after_id)
        .order_by(SignalPhaseChange.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def latest_changes(session: Session, camera_ids: Collection[str]) -> list[SignalPhaseChange]:
    """The newest stored change of each head of `camera_ids` (a follower's starting point)."""
    newest = (
        select(func.max(SignalPhaseChange.id).label("id"))
        .where(SignalPhaseChange.camera_id.in_(list(camera_ids)))
        .group_by(SignalPhaseChange.camera_id, SignalPhaseChange.head_id)
        .subquery()
    )
    query = select(SignalPhaseChange).join(newest, SignalPhaseChange.id == newest.c.id)
    return list(session.scalars(query.order_by(SignalPhaseChange.id)))


def last_change_id(session: Session) -> int:
    return int(session.scalar(select(func.max(SignalPhaseChange.id))) or 0)
