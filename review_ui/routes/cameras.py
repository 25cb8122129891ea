"""The operators' camera-health page: every camera's state and newest picture, refreshed
in place, and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from pipeline.store.camera_health import recent_alerts, thumbnail_uri
from pipeline.store.models import Camera
from pipeline.store.system_alerts import recent_system_alerts
from review_ui.auth import Operator
from review_ui.deps import ConfigDep, SessionDep
from review_ui.evidence import resolve_evidence_path
from review_ui.routes.api_cameras import list_cameras
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

ALERT_ROWS = 50
SYSTEM_ALERT_ROWS = 10


@dataclass(frozen=True)
class Thumbnail:
    """A camera's newest-frame thumbnail as the page shows it."""

    url: str
    taken_at: datetime
    age_s: float


def _thumbnail_file(evidence_root: Path, camera_id: str) -> Path | None:
    return resolve_evidence_path(evidence_root, thumbnail_uri(camera_id))


def _thumbnail(evidence_root: Path, camera_id: str, now: datetime) -> Thumbnail | None:
    path = _thumbnail_file(evidence_root, camera_id)
    if path is None:
        return None
    try:
        stamp = path.stat()
    except OSError:  # replaced or removed since
        return None
    taken_at = datetime.fromtimestamp(stamp.st_mtime, UTC)  # the frame's time (pipeline.ops.health)
    # The mtime in the URL makes the browser fetch a new picture only when there is one.
    url = f"/cameras/{quote(camera_id, safe='')}/thumbnail.jpg?v={stamp.st_mtime_ns}"
    return Thumbnail(url, taken_at, max(0.0, (now - taken_at).total_seconds()))


def _context(db: SessionDep, config: ConfigDep, user: Operator) -> dict[str, object]:
    # The page shows exactly what `GET /api/v1/cameras` answers, computed by the same code.
    cameras = list_cameras(db, config, user)
    states = [camera.state for camera in cameras]
    now = datetime.now(UTC)
    thumbnails = {camera.id: _thumbnail(config.evidence.path, camera.id, now) for camera in cameras}
    return {
        "user": user,
        "cameras": cameras,
        "thumbnails": thumbnails,
        "alerts": recent_alerts(db, limit=ALERT_ROWS),
        "system_alerts": recent_system_alerts(db, limit=SYSTEM_ALERT_ROWS),
        "names": {camera.id: camera.name for camera in cameras},
        "summary": {state: states.count(state) for state in ("online", "degraded", "offline")},
    }


@router.get("/cameras", response_class=HTMLResponse)
def cameras_page(request: Request, db: SessionDep, config: ConfigDep, user: Operator) -> Response:
    return templates.TemplateResponse(request, "cameras.html", _context(db, config, user))


@router.get("/cameras/live", response_class=HTMLResponse)
def cameras_live(request: Request, db: SessionDep, config: ConfigDep, user: Operator) -> Response:
    """The page's changing part alone; the page swaps it in every few seconds."""
    return templates.TemplateResponse(request, "cameras_live.html", _context(db, config, user))


@router.get("/cameras/{camera_id}/thumbnail.jpg")
def camera_thumbnail(camera_id: str, db: SessionDep, config: ConfigDep, user: Operator) -> Response:
    """The newest-frame thumbnail the worker's health monitor keeps for a camera.

    Only a camera registered in the database has one: the id is looked up first, and
    the file must still lie under the evidence directory. Anything else, `..`
    included, is 404, as is a camera without a thumbnail yet.
    """
    camera = db.get(Camera, camera_id)
    path = _thumbnail_file(config.evidence.path, camera.id) if camera is not None else None
    try:
        # Read at once (a few kB): the monitor replaces the file every few seconds, and
        # one open sees either picture whole, where a streamed response could mix two.
        data = path.read_bytes() if path is not None else None
    except OSError:
        data = None
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No thumbnail for this camera")
    # A live preview: never cached, by the browser or anything between.
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
