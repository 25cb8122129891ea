"""`GET /api/v1/cameras`: each camera's current health for operators, by role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pipeline.store.models import Camera, CameraAlert, CameraHealthSample
from tests.review_ui.conftest import USERS, Seed, log_in


def _camera(db_camera_id: str) -> Camera:
    return Camera(
        id=db_camera_id, name=db_camera_id.upper(), location_text="Junction", lat=21.0, lon=105.8
    )


@pytest.fixture
def health_seed(seed: Seed) -> Seed:
    """Three cameras: one reported a moment ago, one long ago, one never."""
    now = datetime.now(UTC)
    with seed.session_factory.begin() as db:
        for camera_id in ("h-fresh", "h-stale", "h-never"):
            db.add(_camera(camera_id))
        db.flush()
        db.add(
            CameraHealthSample(
                camera_id="h-fresh",
                at=now - timedelta(seconds=5),
                state="degraded",
                reason="frozen picture for 12 s",
                expected_fps=12.5,
                input_fps=6.1,
                analysis_fps=5.0,
                last_frame_age_s=0.2,
                reconnects=2,
                decode_errors=1,
                dropped=3,
                bitrate_kbps=2100.0,
                detail={
                    "problems": ["frozen picture for 12 s"],
                    "width": 1280,
                    "height": 720,
                    "clock_sync": "synced",
                },
            )
        )
        db.add(
            CameraAlert(
                event_id=str(uuid.uuid4()),
                camera_id="h-fresh",
                at=now - timedelta(seconds=5),
                previous_state="online",
                state="degraded",
                reason="frozen picture for 12 s",
            )
        )
        db.add(
            CameraHealthSample(
                camera_id="h-stale", at=now - timedelta(hours=2), state="online", reason=""
            )
        )
    return seed


@pytest.mark.parametrize("role", ["operator", "admin", "police", "analyst"])
def test_every_logged_in_role_sees_camera_health(
    health_seed: Seed, client: httpx.Client, role: str
) -> None:
    username = next(name for name, user_role in USERS.items() if user_role == role)
    log_in(client, username)
    answer = client.get("/api/v1/cameras")
    assert answer.status_code == 200
    cameras = {c["id"]: c for c in answer.json()}

    fresh = cameras["h-fresh"]
    assert fresh["state"] == "degraded"
    assert fresh["reason"] == "frozen picture for 12 s"
    assert fresh["problems"] == ["frozen picture for 12 s"]
    assert (fresh["input_fps"], fresh["expected_fps"], fresh["reconnects"]) == (6.1, 12.5, 2)
    assert (fresh["width"], fresh["height"], fresh["clock_sync"]) == (1280, 720, "synced")
    assert fresh["last_alert"]["previous_state"] == "online"
    assert fresh["last_alert"]["state"] == "degraded"

    # A sample hours old says nothing about now: the worker is gone.
    assert cameras["h-stale"]["state"] == "unknown"
    assert "no health report for" in cameras["h-stale"]["reason"]
    assert cameras["h-never"]["state"] == "unknown"
    assert cameras["h-never"]["reported_at"] is None
    assert list(cameras) == sorted(cameras)


def test_camera_health_needs_a_login(health_seed: Seed, client: httpx.Client) -> None:
    assert client.get("/api/v1/cameras").status_code == 401
