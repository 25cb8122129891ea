"""JSON API for operators: `GET /api/v1/cameras`, each camera's current health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from pipeline.store.camera_health import CameraStatus, camera_statuses
from pipeline.store.models import CameraAlert, User
from review_ui.auth import require_roles
from review_ui.deps import ConfigDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["cameras"])

# Operators watch health; everyone else with an account may look too.
CameraViewer = Annotated[User, Depends(require_roles("operator", "admin", "police", "analyst"))]
HealthStateOut = Literal["starting", "online", "degraded", "offline", "unknown"]
# A worker stores a sample at least every `health.sample_every_s`; missing several
# in a row means the worker itself is gone, whatever its last sample said.
_MISSED_SAMPLES = 3


class CameraAlertOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(description="When the state changed (UTC).")
    previous_state: str = Field(description="State before the change.")
    state: str = Field(description="State after the change.")
    reason: str = Field(description="Why, e.g. the connection error or the failed checks.")

    @classmethod
    def from_row(cls, row: CameraAlert) -> CameraAlertOut:
        return cls(at=row.at, previous_state=row.previous_state, state=row.state, reason=row.reason)


class CameraHealthOut(BaseModel):
    """One camera's current health, as its worker last reported it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Camera id.")
    name: str = Field(description="Display name.")
    location: str = Field(description="Where the camera is.")
    state: HealthStateOut = Field(
        description="`unknown` when no worker has reported on the camera recently."
    )
    reason: str = Field(description="Why the camera is not online; empty when it is.")
    reported_at: datetime | None = Field(description="Time of the newest health sample (UTC).")
    problems: list[str] = Field(description="Failed checks, e.g. 'frozen picture for 12 s'.")
    expected_fps: float | None = Field(description="Configured rate, else the header's claim.")
    input_fps: float | None = Field(description="Measured input frame rate.")
    analysis_fps: float | None = Field(description="Frames analysed per second.")
    last_frame_age_s: float | None = Field(description="Seconds since the newest frame, at report.")
    reconnects: int | None = Field(description="Reconnections since the worker started.")
    decode_errors: int | None = Field(description="Packets the decoder rejected.")
    dropped: int | None = Field(description="Frames dropped because analysis was busy.")
    bitrate_kbps: float | None = Field(description="Encoded input rate.")
    width: int | None = Field(description="Frame width in pixels.")
    height: int | None = Field(description="Frame height in pixels.")
    clock_sync: str | None = Field(description="NTP state of the worker's clock.")
    last_alert: CameraAlertOut | None = Field(description="The newest change of state.")

    @classmethod
    def from_status(cls, status: CameraStatus, *, now: datetime, stale_after_s: float) -> Self:
        camera, sample = status.camera, status.sample
        detail = sample.detail if sample is not None else {}
        state: HealthStateOut = "unknown"
        reason = "no health report yet"
        if sample is not None:
            age = (now - sample.at).total_seconds()
            if age > stale_after_s:
                reason = f"no health report for {age:.0f} s (is its worker running?)"
            else:
                state, reason = sample.state, sample.reason  # type: ignore[assignment]
        return cls(
            id=camera.id,
            name=camera.name,
            location=camera.location_text,
            state=state,
            reason=reason,
            reported_at=sample.at if sample else None,
            problems=list(detail.get("problems", [])),
            expected_fps=sample.expected_fps if sample else None,
            input_fps=sample.input_fps if sample else None,
            analysis_fps=sample.analysis_fps if sample else None,
            last_frame_age_s=sample.last_frame_age_s if sample else None,
            reconnects=sample.reconnects if sample else None,
            decode_errors=sample.decode_errors if sample else None,
            dropped=sample.dropped if sample else None,
            bitrate_kbps=sample.bitrate_kbps if sample else None,
            width=detail.get("width"),
            height=detail.get("height"),
            clock_sync=detail.get("clock_sync"),
            last_alert=CameraAlertOut.from_row(status.last_alert) if status.last_alert else None,
        )


@router.get("/cameras", response_model=list[CameraHealthOut])
def list_cameras(db: SessionDep, config: ConfigDep, user: CameraViewer) -> list[CameraHealthOut]:
    """Every registered camera's current health, ordered by camera id."""
    now = datetime.now(UTC)
    stale_after_s = _MISSED_SAMPLES * config.health.sample_every_s
    return [
        CameraHealthOut.from_status(status, now=now, stale_after_s=stale_after_s)
        for status in camera_statuses(db)
    ]
