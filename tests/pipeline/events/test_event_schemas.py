"""Every JSON Schema in pipeline/schemas against a real event of its type.

Each event is made by the code that makes it in production and read back from the
outbox (a JSON round trip through SQLite and PostgreSQL), then validated. The set
of types made here must equal the set of schema files, so a new event type
without a schema, or a schema nothing here exercises, fails this test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.relay import SCHEMAS, EventError, as_pending, validate_event, violation_event
from pipeline.ops.health import alert_event, health_event
from pipeline.ops.system_alerts import raise_system_alert
from pipeline.store.db import open_database
from pipeline.store.models import OutboxEvent
from pipeline.store.repository import (
    EVENT_SCHEMA_VERSION,
    PendingEvent,
    add_review,
    enqueue_event,
    record_violation,
    upsert_camera,
)
from pipeline.store.signal_phases import record_phase_change
from streams.health import CameraHealth, HealthAlert, HealthState
from tests.factories import make_violation

AT = datetime(2026, 3, 1, 7, 15, 30, 250000, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(database_url)
    yield factory
    engine.dispose()


def schema_types() -> set[str]:
    return {path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.schema.json")}


def make_every_event(session: Session) -> None:
    upsert_camera(session, camera_id="cam-1", name="Kim Ma", location_text="Kim Ma, Ha Noi",
                  lat=21.03, lon=105.82)  # fmt: skip
    violation_id = str(uuid.uuid4())
    event = violation_event(
        event_id=str(uuid.uuid4()),
        violation_id=violation_id,
        camera_id="cam-1",
        camera_name="Kim Ma",
        location={"text": "Kim Ma, Ha Noi", "lat": 21.03, "lon": 105.82},
        rule_type="red_light",
        rule_version="1",
        vehicle_class="motorbike",
        track_id=7,
        offence_time=AT,
        measurements={"time_into_red_s": 1.2, "signal_phase": "red"},
        explanation="crossed 1.2 s into red",
        scene_version="v1",
        evidence=[{"kind": "frame_after", "uri": f"{violation_id}/a.jpg", "sha256": "ab" * 32,
                   "size": 10}],
        manifest_sha256="cd" * 32,
        plate="29A-123.45",
        plate_confidence=0.9,
    )  # fmt: skip
    row = make_violation(id=violation_id, camera_id="cam-1", offence_time=AT)
    record_violation(session, row, [], [as_pending(event, "violations")])
    session.flush()
    add_review(session, violation_id=violation_id, reviewer="officer", decision="confirmed",
               reason="Evidence clear", plate_correction="29A-123.46", reviews_topic="reviews",
               at=AT + timedelta(minutes=5))  # fmt: skip
    sample = CameraHealth(
        camera_id="cam-1", at=AT, state=HealthState.DEGRADED, reason="frozen picture",
        problems=("frozen picture",), expected_fps=12.5, input_fps=6.1, analysis_fps=6.0,
        last_frame_age_s=0.2, reconnects=1, decode_errors=0, dropped=3, bitrate_kbps=900.0,
        width=1280, height=720, clock_sync="synced",
    )  # fmt: skip
    health_id = str(uuid.uuid4())
    enqueue_event(session, PendingEvent("camera-health", "cam-1", health_event(sample, health_id),
                                        health_id))  # fmt: skip
    alert = HealthAlert("cam-1", AT, HealthState.ONLINE, HealthState.DEGRADED, "frozen picture")
    alert_id = str(uuid.uuid4())
    enqueue_event(session, PendingEvent("camera-health", "cam-1", alert_event(alert, alert_id),
                                        alert_id))  # fmt: skip
    raise_system_alert(session, kind="evidence_disk_low", severity="warning",
                       message="evidence disk nearly full", at=AT,
                       detail={"free_bytes_before": 10, "total_bytes": 100},
                       topic="system-alerts")  # fmt: skip
    record_phase_change(session, camera_id="cam-1", head_id="main", phase="red", changed_at=AT,
                        reported_by="controller-1", topic="signal-phases")  # fmt: skip


def test_every_schema_is_valid_and_matches_its_file() -> None:
    for event_type in schema_types():
        schema = json.loads((SCHEMAS / f"{event_type}.schema.json").read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{event_type}.schema.json")
        assert schema["properties"]["type"] == {"const": event_type}
        assert {"schema_version", "event_id", "type"} <= set(schema["required"])
        # The files keep their literal version; the code's one constant must match it.
        assert schema["properties"]["schema_version"] == {"const": EVENT_SCHEMA_VERSION}


def test_a_real_event_of_every_type_validates(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        make_every_event(session)
    with sessions() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    made = {row.payload["type"] for row in rows}
    assert made == schema_types()
    for row in rows:
        validate_event(row.payload)
        assert row.payload["event_id"] == row.event_id  # consumers dedupe on it
        # Changing the version, or adding an unknown field, is refused by name.
        with pytest.raises(EventError, match="schema_version"):
            validate_event({**row.payload, "schema_version": EVENT_SCHEMA_VERSION + 1})
        with pytest.raises(EventError, match="unexpected_field"):
            validate_event({**row.payload, "unexpected_field": 1})
