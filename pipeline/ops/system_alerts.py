"""System alerts: stored and published in the caller's transaction, like camera alerts.

A system alert is about the installation rather than one camera (the evidence disk
nearly full). Its row and its `system_alert` event are written together, so the
relay publishes exactly the alerts that were stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from pipeline.events.relay import utc_iso
from pipeline.store.models import SystemAlert
from pipeline.store.repository import EVENT_SCHEMA_VERSION, PendingEvent, enqueue_event
from pipeline.store.system_alerts import add_system_alert

Severity = Literal["warning", "critical"]


def system_alert_event(alert: SystemAlert) -> dict[str, Any]:
    """The `system_alert` event (schema version 1) of a stored alert."""
    return {
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_id": alert.event_id,
        "type": "system_alert",
        "at": utc_iso(alert.at),
        "kind": alert.kind,
        "severity": alert.severity,
        "message": alert.message,
        "detail": dict(alert.detail),
    }


def raise_system_alert(
    session: Session,
    *,
    kind: str,
    severity: Severity,
    message: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
    topic: str | None = None,
) -> SystemAlert:
    """Store an alert and, when `topic` is given, queue its event (keyed by `kind`).

    The caller commits.
    """
    alert = SystemAlert(
        event_id=str(uuid.uuid4()),
        at=at,
        kind=kind,
        severity=severity,
        message=message,
        detail=dict(detail or {}),
    )
    add_system_alert(session, alert)
    if topic:
        enqueue_event(session, PendingEvent(topic, kind, system_alert_event(alert), alert.event_id))
    return alert
