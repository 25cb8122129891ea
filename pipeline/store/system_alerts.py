"""Alerts about the installation itself (not one camera), e.g. the evidence disk nearly full."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.store.models import SystemAlert


def add_system_alert(session: Session, alert: SystemAlert) -> None:
    session.add(alert)


def recent_system_alerts(session: Session, *, limit: int = 50) -> list[SystemAlert]:
    """System alerts, newest first."""
    return list(session.scalars(select(SystemAlert).order_by(SystemAlert.id.desc()).limit(limit)))
