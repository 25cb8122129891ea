"""Events against a real Tansu broker: the outbox relay publishes, survives a dead
broker without losing or renaming events, and a consumer reads them back."""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.broker import EmbeddedBroker, ensure_topics, free_port
from pipeline.events.relay import (
    EventError,
    OutboxRelay,
    ReceivedEvent,
    as_pending,
    consume,
    consume_records,
    validate_event,
    violation_event,
)
from pipeline.store.db import open_database
from pipeline.store.models import OutboxEvent
from pipeline.store.repository import (
    EVENT_SCHEMA_VERSION,
    EvidenceFile,
    add_review,
    count_pending_events,
    pending_events,
    record_violation,
    upsert_camera,
)
from tests.factories import make_violation

T0 = datetime(2025, 3, 14, 8, 30, tzinfo=UTC)
SHA = "0f" * 32
CAMERAS = ["cam-a", "cam-b", "cam-c"]
# Short client timeouts so a dead broker costs a test seconds, not minutes.
FAST_FAIL = {
    "max_block_ms": 1500,
    "bootstrap_timeout_ms": 1500,
    "request_timeout_ms": 1500,
    "delivery_timeout_ms": 3000,
}


# -------------------------------------------------------------------- helpers


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(f"sqlite:///{tmp_path / 'events.db'}")
    yield factory
    engine.dispose()


def make_event(camera_id: str, violation_id: str, offence_time: datetime) -> dict[str, Any]:
    return violation_event(
        event_id=str(uuid.uuid4()),
        violation_id=violation_id,
        camera_id=camera_id,
        camera_name=f"Camera {camera_id}",
        location={"text": "Điện Biên Phủ x Lạch Tray", "lat": 20.85, "lon": 106.69},
        rule_type="red_light",
        rule_version="1",
        vehicle_class="motorbike",
        track_id=7,
        offence_time=offence_time,
        measurements={"phase": "red", "time_into_red_s": 0.8},
        explanation="crossed 0.8 s into red",
        scene_version="v1",
        evidence=[{"kind": "clip", "uri": "file:///e/clip.mp4", "sha256": SHA, "size": 1000}],
        manifest_sha256=SHA,
    )


def seed(sessions: sessionmaker[Session], n: int, *, start: int = 0) -> list[dict[str, Any]]:
    """Record `n` violations over three cameras, each with its outbox event."""
    events = []
    for i in range(start, start + n):
        camera_id = CAMERAS[i % len(CAMERAS)]
        offence = T0 + timedelta(seconds=i)
        violation_id = str(uuid.uuid4())
        event = make_event(camera_id, violation_id, offence)
        row = make_violation(id=violation_id, camera_id=camera_id, offence_time=offence)
        with sessions.begin() as session:
            upsert_camera(session, camera_id=camera_id, name=camera_id, location_text="x",
                          lat=20.85, lon=106.69)  # fmt: skip
            record_violation(
                session,
                row,
                [EvidenceFile("clip", "file:///e/clip.mp4", SHA, 1000)],
                [as_pending(event, "violations")],
            )
        events.append(event)
    return events


def collect(
    bootstrap: str, topic: str, expected: int, *, timeout_s: float = 20.0
) -> list[ReceivedEvent]:
    """Read with a fresh consumer group until `expected` records or `timeout_s` idle."""
    received: list[ReceivedEvent] = []
    records = consume_records(
        bootstrap, topic, group_id=f"test-{uuid.uuid4().hex[:8]}", timeout_s=timeout_s
    )
    try:
        for record in records:
            received.append(record)
            if len(received) >= expected:
                break
    finally:
        records.close()
    return received


def pending_rows(sessions: sessionmaker[Session]) -> list[OutboxEvent]:
    with sessions() as session:
        return pending_events(session, limit=10_000)


# ---------------------------------------------------------------- schemas


def test_violation_event_is_versioned_and_validates() -> None:
    event = make_event("cam-a", str(uuid.uuid4()), T0)
    validate_event(event)
    assert event["schema_version"] == EVENT_SCHEMA_VERSION == 1
    assert event["type"] == "violation"
    assert event["offence_time"] == "2025-03-14T08:30:00Z"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("event_id"), "event_id"),
        (lambda e: e.update(schema_version=2), "schema_version"),
        (lambda e: e["evidence"][0].update(sha256="not-a-hash"), "evidence/0/sha256"),
        (lambda e: e.update(offence_time="2025-03-14 08:30"), "offence_time"),
        (lambda e: e["location"].update(lat=123.0), "location/lat"),
        (lambda e: e.update(extra_field=1), "(event)"),
    ],
    ids=["missing-id", "version", "hash", "time", "lat", "extra"],
)
def test_invalid_violation_event_names_the_field(
    change: Callable[[dict[str, Any]], object], field: str
) -> None:
    event = copy.deepcopy(make_event("cam-a", "v-1", T0))
    change(event)
    with pytest.raises(EventError, match=re.escape(f"field {field}:")):
        validate_event(event)


def test_violation_event_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        make_event("cam-a", "v-1", datetime(2025, 3, 14, 8, 30))


def test_unknown_event_type_is_an_error() -> None:
    with pytest.raises(EventError, match="no schema"):
        validate_event({"type": "parking"})


# ------------------------------------------------------------------ relay


def test_relay_publishes_pending_events_once(
    kafka_broker: EmbeddedBroker, sessions: sessionmaker[Session]
) -> None:
    ensure_topics(kafka_broker.bootstrap, ["violations", "reviews"])
    events = seed(sessions, 20)
    with sessions.begin() as session:
        add_review(session, violation_id=events[0]["violation_id"], reviewer="officer1",
                   decision="confirmed", reviews_topic="reviews")  # fmt: skip

    with OutboxRelay(sessions, [kafka_broker.bootstrap]) as relay:
        assert relay.publish_pending() == 21
        assert pending_rows(sessions) == []
        assert relay.publish_pending() == 0  # nothing left: nothing sent again

    received = collect(kafka_broker.bootstrap, "violations", 20)
    assert len(received) == 20
    by_id = {r.event_id: r for r in received}
    assert set(by_id) == {e["event_id"] for e in events}
    for event in events:
        record = by_id[event["event_id"]]
        assert record.payload == event
        assert record.key == event["camera_id"]
        assert record.headers["event_id"].decode() == event["event_id"]
        validate_event(record.payload)
    # One camera's events stay in order: they share a partition.
    for camera_id in CAMERAS:
        offsets = [(r.partition, r.offset) for r in received if r.key == camera_id]
        assert len({p for p, _ in offsets}) == 1
        assert offsets == sorted(offsets)

    [review] = collect(kafka_broker.bootstrap, "reviews", 1)
    assert review.payload["violation_id"] == events[0]["violation_id"]
    validate_event(review.payload)


def test_relay_keeps_events_while_broker_is_down_and_sends_them_after_restart(
    kafka_broker: EmbeddedBroker, sessions: sessionmaker[Session]
) -> None:
    relay = OutboxRelay(sessions, [kafka_broker.bootstrap], producer_config=FAST_FAIL)
    try:
        seed(sessions, 5)
        assert relay.publish_pending() == 5  # the producer now exists and knows the broker

        kafka_broker.stop()
        waiting = seed(sessions, 10, start=5)
        ids_before = [row.event_id for row in pending_rows(sessions)]

        for _attempt in range(2):  # first with the old producer, then creating a new one
            started = time.monotonic()
            assert relay.publish_pending() == 0
            assert time.monotonic() - started < 10, "a dead broker must not stall the relay"
            assert relay.last_error is not None
        rows = pending_rows(sessions)
        assert [row.event_id for row in rows] == ids_before == [e["event_id"] for e in waiting]
        assert all(row.attempts >= 1 for row in rows)

        kafka_broker.restart()  # same port; Tansu's memory storage starts empty
        assert relay.drain(timeout_s=30)
        assert relay.last_error is None
    finally:
        relay.close()

    received = collect(kafka_broker.bootstrap, "violations", 10)
    deduped = {record.event_id: record.payload for record in received}
    # Every waiting event arrived under the event_id it was stored with.
    assert set(deduped) == {e["event_id"] for e in waiting}
    for event in waiting:
        assert deduped[event["event_id"]] == event


def test_relay_recovers_from_a_restart_it_did_not_see(
    kafka_broker: EmbeddedBroker, sessions: sessionmaker[Session]
) -> None:
    """A broker restarted between two batches forgets the producer's idempotence
    id; Tansu then fails the next send (InitProducerId: UnknownError) and the
    relay must recover with a new producer, not stay stuck."""
    with OutboxRelay(sessions, [kafka_broker.bootstrap], producer_config=FAST_FAIL) as relay:
        seed(sessions, 3)
        assert relay.publish_pending() == 3
        kafka_broker.restart()
        waiting = seed(sessions, 6, start=3)
        assert relay.drain(timeout_s=30)

    received = collect(kafka_broker.bootstrap, "violations", 6)
    assert {r.event_id for r in received} == {e["event_id"] for e in waiting}


def test_relay_is_lazy_and_drain_gives_up_without_a_broker(
    sessions: sessionmaker[Session],
) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    relay = OutboxRelay(sessions, [nobody], producer_config=FAST_FAIL)  # must not connect
    seed(sessions, 2)
    started = time.monotonic()
    try:
        assert relay.drain(timeout_s=1.0) is False
    finally:
        relay.close()
    assert time.monotonic() - started < 15
    with sessions() as session:
        assert count_pending_events(session) == 2


def test_relay_run_loop_publishes_until_stopped(
    kafka_broker: EmbeddedBroker, sessions: sessionmaker[Session]
) -> None:
    relay = OutboxRelay(sessions, [kafka_broker.bootstrap], batch_size=4)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        events = seed(sessions, 9)  # more than one batch
        deadline = time.monotonic() + 20
        while relay.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert relay.pending() == 0
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()

    reader = consume(kafka_broker.bootstrap, "violations", group_id="run-loop", timeout_s=15)
    payloads = list(itertools.islice(reader, len(events)))
    reader.close()
    assert sorted(p["event_id"] for p in payloads) == sorted(e["event_id"] for e in events)


def test_ensure_topics_creates_only_missing(kafka_broker: EmbeddedBroker) -> None:
    assert ensure_topics(kafka_broker.bootstrap, ["violations", "camera-health"]) == [
        "violations",
        "camera-health",
    ]
    assert ensure_topics(kafka_broker.bootstrap, ["violations", "reviews"]) == ["reviews"]
