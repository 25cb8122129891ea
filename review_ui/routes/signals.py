"""Signal controllers' API: `POST /api/v1/signals/{head}`, one phase change of a head.

The change is stored (append-only) and, when Kafka is configured, queued in the
same transaction for the `signal-phases` topic, so a broker outage loses
nothing. Workers follow either. A retry of a change the controller numbered
(`controller_id` + `sequence`, by the same token) returns the stored one instead of
adding another. A token speaks only for the cameras, heads and controller id it
was made for (`trafficcam tokens add --camera/--head/--controller`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Response
from fastapi import status as http_status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from pipeline.config import AppConfig, CameraConfig, SignalHead
from pipeline.store.api_tokens import scope_refusal
from pipeline.store.models import SignalPhaseChange
from pipeline.store.signal_phases import record_phase_change
from review_ui.auth import SignalController
from review_ui.deps import ConfigDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["signals"])

MAX_CLOCK_AHEAD = timedelta(seconds=5)
"""How far a controller's clock may run ahead of ours before its times are refused."""
MAX_AGE = timedelta(hours=24)
"""Older changes are refused: a day-old phase helps no camera and is more likely a
timestamp in the wrong zone or unit than a late delivery."""

PhaseIn = Literal["red", "amber", "green", "unknown"]


class PhaseChangeIn(BaseModel):
    """A phase change as a controller reports it."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64, description="Camera the head is seen by.")
    phase: PhaseIn = Field(description="The phase now showing; unknown for fault or flashing.")
    changed_at: AwareDatetime = Field(
        description="When the phase began: ISO 8601 with its UTC offset, e.g. "
        "2026-03-14T01:30:00.250Z (a time without offset is refused, not guessed)."
    )
    controller_id: str | None = Field(
        default=None, min_length=1, max_length=80, description="The controller's own id."
    )
    # strict: a JSON integer, not "7" or true; le: the column is a signed 64-bit integer.
    sequence: int | None = Field(
        default=None,
        ge=0,
        le=2**63 - 1,
        strict=True,
        description="The controller's counter of changes (retries reuse it).",
    )

    @field_validator("changed_at")
    @classmethod
    def _recent(cls, changed_at: datetime) -> datetime:
        now = datetime.now(UTC)
        changed_at = changed_at.astimezone(UTC)
        if changed_at > now + MAX_CLOCK_AHEAD:
            ahead = (changed_at - now).total_seconds()
            raise ValueError(
                f"is {ahead:.1f} s in the future (now {now.isoformat()}); "
                "is the controller's clock or time zone right?"
            )
        if changed_at < now - MAX_AGE:
            raise ValueError(f"is more than {MAX_AGE.total_seconds() / 3600:.0f} h in the past")
        return changed_at


class PhaseChangeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(description="Id of the stored change (and of its event).")
    camera_id: str
    head_id: str
    phase: PhaseIn
    changed_at: datetime = Field(description="When the phase began (UTC).")
    received_at: datetime = Field(description="When it was stored (UTC).")
    controller_id: str | None
    sequence: int | None
    published: bool = Field(description="Whether it is queued for the signal-phases topic.")

    @classmethod
    def from_row(cls, row: SignalPhaseChange, *, published: bool) -> PhaseChangeOut:
        return cls(
            event_id=row.event_id,
            camera_id=row.camera_id,
            head_id=row.head_id,
            phase=row.phase,  # type: ignore[arg-type]
            changed_at=row.changed_at,
            received_at=row.received_at,
            controller_id=row.controller_id,
            sequence=row.sequence,
            published=published,
        )


def _not_found(loc: list[str], message: str, kind: str) -> HTTPException:
    # The shape of FastAPI's own validation errors, so a client reads one format.
    detail: list[dict[str, Any]] = [{"loc": loc, "msg": message, "type": kind}]
    return HTTPException(http_status.HTTP_404_NOT_FOUND, detail)


def _camera_and_head(config: AppConfig, camera_id: str, head_id: str) -> SignalHead:
    camera: CameraConfig | None = next((c for c in config.cameras if c.id == camera_id), None)
    if camera is None:
        raise _not_found(["body", "camera_id"], f"unknown camera {camera_id!r}", "unknown_camera")
    head = next((h for h in camera.scene.signal_heads if h.id == head_id), None)
    if head is None:
        known = ", ".join(h.id for h in camera.scene.signal_heads) or "none"
        raise _not_found(
            ["path", "head"],
            f"camera {camera_id!r} has no signal head {head_id!r} (its heads: {known})",
            "unknown_head",
        )
    if head.source == "image":
        raise HTTPException(
            http_status.HTTP_409_CONFLICT,
            [
                {
                    "loc": ["path", "head"],
                    "msg": f"signal head {head_id!r} of camera {camera_id!r} is read from the "
                    "image only (source: image); set its source to controller or auto",
                    "type": "head_not_controlled",
                }
            ],
        )
    return head


@router.post(
    "/signals/{head}",
    response_model=PhaseChangeOut,
    status_code=http_status.HTTP_201_CREATED,
    responses={
        200: {"description": "A retry of a change already stored (same controller and sequence)."},
        401: {"description": "No bearer token, or an unknown or revoked one."},
        403: {
            "description": "The token's scope does not cover this camera, head or controller "
            "id; `detail[].msg` names which."
        },
        404: {"description": "Unknown camera or head; `detail[].loc` names which."},
        409: {"description": "The head takes its phase from the image only."},
        422: {"description": "A bad field; `detail[].loc` names it."},
    },
)
def post_phase_change(
    change: PhaseChangeIn,
    db: SessionDep,
    config: ConfigDep,
    client: SignalController,
    response: Response,
    head: str = Path(min_length=1, max_length=64, description="Signal head id (scene config)."),
) -> PhaseChangeOut:
    """Report a signal head's phase change (controllers, with a signal-controller token
    whose scope covers the camera and head)."""
    _camera_and_head(config, change.camera_id, head)
    refusal = scope_refusal(
        client, camera_id=change.camera_id, head_id=head, controller_id=change.controller_id
    )
    if refusal is not None:
        raise HTTPException(
            http_status.HTTP_403_FORBIDDEN,
            [{"loc": ["path", "head"], "msg": refusal, "type": "outside_token_scope"}],
        )
    # The row names the controller the token belongs to, whether the post said it or not.
    controller_id = change.controller_id or client.controller_id
    topic = config.kafka.topics.signal_phases if config.kafka else None
    if controller_id is not None and change.sequence is not None:
        # A retry is the same token's: another token reusing a controller id and
        # sequence number must neither read nor suppress this token's change.
        stored = db.scalars(
            select(SignalPhaseChange).where(
                SignalPhaseChange.camera_id == change.camera_id,
                SignalPhaseChange.head_id == head,
                SignalPhaseChange.controller_id == controller_id,
                SignalPhaseChange.sequence == change.sequence,
                SignalPhaseChange.reported_by == client.name,
            )
        ).first()
        if stored is not None:
            response.status_code = http_status.HTTP_200_OK
            return PhaseChangeOut.from_row(stored, published=topic is not None)
    row = record_phase_change(
        db,
        camera_id=change.camera_id,
        head_id=head,
        phase=change.phase,
        changed_at=change.changed_at,
        reported_by=client.name,
        controller_id=controller_id,
        sequence=change.sequence,
        topic=topic,
    )
    db.commit()
    return PhaseChangeOut.from_row(row, published=topic is not None)
