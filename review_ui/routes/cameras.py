"""The operators' camera-health page: every camera's state, refreshed in place, and alerts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pipeline.store.camera_health import recent_alerts
from review_ui.auth import Operator
from review_ui.deps import ConfigDep, SessionDep
from review_ui.routes.api_cameras import list_cameras
from review_ui.templating import templates

router = APIRouter(include_in_schema=False)

ALERT_ROWS = 50


def _context(db: SessionDep, config: ConfigDep, user: Operator) -> dict[str, object]:
    # The page shows exactly what `GET /api/v1/cameras` answers, computed by the same code.
    cameras = list_cameras(db, config, user)
    states = [camera.state for camera in cameras]
    return {
        "user": user,
        "cameras": cameras,
        "alerts": recent_alerts(db, limit=ALERT_ROWS),
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
