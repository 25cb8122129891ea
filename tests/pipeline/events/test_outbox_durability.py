"""Kafka SIGKILLed while violations are being recorded: no event is lost.

The broker is a real Tansu whose log lives in a real S3 server (SeaweedFS), so
what it acknowledged before the kill is still there after the restart, as with
a real Kafka cluster. Violations go through the real recorder (evidence files,
one SQLite transaction with the outbox row) while the outbox relay runs in its
own thread; the broker is killed part-way, recording goes on, and the broker
comes back on the same port later. Every violation's event must then be on the
topic under the event_id stored with it (duplicates allowed, consumers dedupe),
valid against its JSON Schema, and the relay must have waited politely meanwhile.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from models import weights
from models.darknet import DarknetDetector
from pipeline.config import AppConfig, parse_config
from pipeline.events.broker import EmbeddedBroker, ensure_topics
from pipeline.events.relay import OutboxRelay, consume_records, validate_event
from pipeline.evidence.recorder import ViolationRecorder
from pipeline.store.db import open_database
from pipeline.store.models import OutboxEvent
from pipeline.store.repository import register_cameras
from tests.fixtures.s3 import ACCESS_KEY, SECRET_KEY, S3Server
from tests.pipeline.config.test_config import camera
from tests.pipeline.scenario_findings import scenario_findings

VIOLATIONS = 200
KILL_AT = 60  # violations recorded when the broker is killed
RESTART_AT = 140  # violations recorded when it comes back
TOPIC = "violations"


@pytest.fixture
def persistent_broker(s3_server: S3Server, s3_bucket: str) -> Iterator[EmbeddedBroker]:
    """A Tansu broker that keeps its log in an S3 bucket, so it survives SIGKILL."""
    broker = EmbeddedBroker(
        storage_engine=f"s3://{s3_bucket}/",
        environment={
            "AWS_ENDPOINT": s3_server.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    ).start()
    try:
        yield broker
    finally:
        broker.stop()


def _recording_setup(
    tmp_path: Path, bootstrap: str
) -> tuple[AppConfig, Engine, sessionmaker[Session], ViolationRecorder]:
    """A config with two cameras, its migrated SQLite database and a real recorder."""
    config = parse_config(
        {
            "database_url": "sqlite:///trafficcam.db",
            "evidence": {"path": "evidence"},
            "kafka": {"bootstrap_servers": [bootstrap], "topics": {"violations": TOPIC}},
            "cameras": [camera(id="cam-north"), camera(id="cam-south", name="South")],
        },
        base=tmp_path,
    )
    engine, sessions = open_database(config.database_url)
    with sessions.begin() as session:
        register_cameras(session, config.cameras)
    weights.pull("yolov3-tiny")  # cheap when already there
    detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
    return config, engine, sessions, ViolationRecorder(config, sessions, detector)


def _kill(broker: EmbeddedBroker) -> None:
    """SIGKILL, no goodbye: whatever was not yet acknowledged is simply gone."""
    assert broker.pid is not None
    os.killpg(broker.pid, signal.SIGKILL)
    broker.stop()  # reaps the dead process; the port stays known for the restart


def test_broker_killed_while_recording_loses_no_event(
    tmp_path: Path, persistent_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.events.relay")
    broker = persistent_broker
    ensure_topics(broker.bootstrap, [TOPIC])
    config, engine, sessions, recorder = _recording_setup(tmp_path, broker.bootstrap)
    findings = [scenario_findings(c, distinct=6) for c in config.cameras]

    relay = OutboxRelay(sessions, [broker.bootstrap])
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.run, args=(stop, 0.1), daemon=True)
    relay_thread.start()
    down_at = up_at = 0.0
    try:
        for index in range(VIOLATIONS):
            if index == KILL_AT:
                _kill(broker)
                down_at = time.monotonic()
            if index == RESTART_AT:
                # Down until the relay has given up on at least one attempt (its
                # default delivery timeout is 10 s), and for a few seconds at least.
                noticed_by = time.monotonic() + 30
                while relay.last_error is None and time.monotonic() < noticed_by:
                    time.sleep(0.1)
                assert relay.last_error is not None, "the relay did not notice"
                time.sleep(max(0.0, 4.0 - (time.monotonic() - down_at)))
                assert relay_thread.is_alive(), "the relay died with the broker"
                broker.start(broker.port)
                up_at = time.monotonic()
            recorder.handle(next(findings[index % len(findings)]))

        deadline = time.monotonic() + 60
        while relay.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert relay.pending() == 0, "the relay did not catch up after the restart"
        caught_up_s = time.monotonic() - up_at
    finally:
        stop.set()
        relay_thread.join(timeout=30)
    assert not relay_thread.is_alive()

    with sessions() as session:
        outbox = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == TOPIC)).all()
        stored = {row.event_id: dict(row.payload) for row in outbox}
        attempts = [row.attempts for row in outbox]
    engine.dispose()
    assert len(stored) == len(recorder.recorded) == VIOLATIONS
    assert {p["violation_id"] for p in stored.values()} == set(recorder.recorded)

    received = []
    records = consume_records(
        broker.bootstrap, TOPIC, group_id=f"durability-{uuid.uuid4().hex[:8]}", timeout_s=15
    )
    try:
        for record in records:
            received.append(record)
            if len({r.event_id for r in received}) == VIOLATIONS:
                break
    finally:
        records.close()
    deduped = {r.event_id: r for r in received if r.event_id is not None}
    missing = set(stored) - set(deduped)
    assert not missing, f"{len(missing)} of {VIOLATIONS} events never reached Kafka"
    assert set(deduped) == set(stored)
    for event_id, record in deduped.items():
        assert record.payload == stored[event_id]
        assert record.key == record.payload["camera_id"]
        validate_event(record.payload)

    # Waiting for Kafka was neither a busy loop nor silent.
    assert max(attempts) <= 20, f"an event was tried {max(attempts)} times in a few seconds"
    messages = [r.getMessage() for r in caplog.records if r.name == "pipeline.events.relay"]
    assert any("stay pending" in m for m in messages)
    assert any("Kafka reachable again" in m for m in messages)
    print(
        f"{len(received)} records read, {len(received) - len(deduped)} duplicates, "
        f"most attempts for one event {max(attempts)}, outbox empty {caught_up_s:.1f} s "
        "after the restart"
    )


def test_relay_woken_at_commit_publishes_without_waiting_for_its_interval(
    tmp_path: Path, kafka_broker: EmbeddedBroker
) -> None:
    """With a 30 s polling interval, only the recorder's wake-up can get an event
    onto Kafka within seconds of its commit."""
    ensure_topics(kafka_broker.bootstrap, [TOPIC])
    config, engine, sessions, recorder = _recording_setup(tmp_path, kafka_broker.bootstrap)
    findings = scenario_findings(config.cameras[0], distinct=2)
    relay = OutboxRelay(sessions, [kafka_broker.bootstrap])
    stop = threading.Event()
    relay_thread = threading.Thread(target=relay.run, args=(stop, 30.0), daemon=True)
    relay_thread.start()
    records = consume_records(
        kafka_broker.bootstrap, TOPIC, group_id=f"wake-{uuid.uuid4().hex[:8]}", timeout_s=20
    )
    try:
        time.sleep(0.5)  # the relay's first round (nothing pending) is over: it now waits
        recorder.after_commit = relay.wake
        recorder.handle(next(findings))
        committed = time.monotonic()
        first = next(records)
        # The consumer's group join may take a few seconds; the poll would take 30.
        assert time.monotonic() - committed < 15
        assert first.payload["violation_id"] == recorder.recorded[0]
        assert relay.pending() == 0
    finally:
        records.close()
        stop.set()
        relay.wake()
        relay_thread.join(timeout=10)
        engine.dispose()
    assert not relay_thread.is_alive(), "a woken relay notices stop at once"
