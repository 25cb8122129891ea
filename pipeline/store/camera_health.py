"""Camera health rows: samples, alerts, the current state of each camera, pruning;
and where each camera's newest-frame thumbnail lies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pipeline.store.models import Camera, CameraAlert, CameraHealthSample

THUMBNAILS_DIR = "_thumbnails"


@dataclass(frozen=True)
class CameraStatus:
    """A camera with its newest health sample and newest alert (either may be missing)."""

    camera: Camera
    sample: CameraHealthSample | None
    last_alert: CameraAlert | None


def thumbnail_uri(camera_id: str) -> str:
    """The newest-frame thumbnail of `camera_id`, relative to the evidence directory.

    Written by the worker's health monitor, served by the review UI: both take the
    name from here. Camera ids are restricted by the config to `[A-Za-z0-9_.-]`,
    starting with a letter or digit, so the name stays inside `_thumbnails/`.
    """
    return f"{THUMBNAILS_DIR}/{camera_id}.jpg"


def add_sample(session: Session, sample: CameraHealthSample) -> None:
    session.add(sample)


def add_alert(session: Session, alert: CameraAlert) -> None:
    session.add(alert)


def camera_statuses(session: Session) -> list[CameraStatus]:
    """Every registered camera with its newest sample and alert, ordered by camera id.

    Two grouped sub-queries on the (camera_id, at) indexes, not one query per camera.
    """
    newest_sample = (
        select(func.max(CameraHealthSample.id)).group_by(CameraHealthSample.camera_id).subquery()
    )
    newest_alert = select(func.max(CameraAlert.id)).group_by(CameraAlert.camera_id).subquery()
    samples = {
        row.camera_id: row
        for row in session.scalars(
            select(CameraHealthSample).where(CameraHealthSample.id.in_(select(newest_sample)))
        )
    }
    alerts = {
        row.camera_id: row
        for row in session.scalars(
            select(CameraAlert).where(CameraAlert.id.in_(select(newest_alert)))
        )
    }
    cameras = session.scalars(select(Camera).order_by(Camera.id))
    return [CameraStatus(c, samples.get(c.id), alerts.get(c.id)) for c in cameras]


def recent_alerts(
    session: Session, *, camera_id: str | None = None, limit: int = 100
) -> list[CameraAlert]:
    """Alerts, newest first."""
    query = select(CameraAlert)
    if camera_id is not None:
        query = query.where(CameraAlert.camera_id == camera_id)
    return list(session.scalars(query.order_by(CameraAlert.id.desc()).limit(limit)))


def samples_for(session: Session, camera_id: str, *, limit: int = 100) -> list[CameraHealthSample]:
    """A camera's samples, newest first."""
    query = (
        select(CameraHealthSample)
        .where(CameraHealthSample.camera_id == camera_id)
        .order_by(CameraHealthSample.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def prune_samples(session: Session, *, before: datetime) -> int:
    """Delete samples taken before ``before``; returns how many. Alerts are kept."""
    result = session.execute(delete(CameraHealthSample).where(CameraHealthSample.at < before))
    return int(getattr(result, "rowcount", 0) or 0)
