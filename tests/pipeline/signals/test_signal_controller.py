"""A controller's phase change posted to the real API reaches a running camera
pipeline, through the table (SQLite, PostgreSQL) or through Kafka (Tansu), and
overrides what the image shows until the feed goes stale."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer
from sqlalchemy.orm import Session, sessionmaker

from models.detections import Detections
from pipeline.config import AppConfig, EvidenceConfig, KafkaConfig
from pipeline.events.broker import EmbeddedBroker, ensure_topics
from pipeline.events.relay import OutboxRelay, consume_records, validate_event
from pipeline.runtime.camera_pipeline import CameraPipeline, Finding
from pipeline.signals.feed import (
    ControllerFeed,
    KafkaFollower,
    TableFollower,
    controller_feed_for,
)
from pipeline.signals.image import Phase, SignalState
from pipeline.store.api_tokens import add_token
from pipeline.store.db import open_database
from review_ui.app import create_app
from tests.pipeline.signal_scene import (
    CAMERA_ID,
    CAR_PATH,
    HEAD_ID,
    NO_DETECTIONS,
    camera_config,
    car_at,
    frame,
)
from tests.review_ui.conftest import serve

STALE_S = 3.0
TOPIC = "signal-phases"


class LiveCamera:
    """Feeds a pipeline frames stamped as a live source stamps them: stream time from
    a monotonic clock, wall time from the UTC clock, about 10 frames/s."""

    def __init__(self, pipeline: CameraPipeline) -> None:
        self.pipeline = pipeline
        self.started = time.monotonic()
        self.seq = 0

    def step(self, lit: Phase, detections: Detections = NO_DETECTIONS) -> list[Finding]:
        time.sleep(0.1)
        self.seq += 1
        pts = time.monotonic() - self.started
        return self.pipeline.process(frame(self.seq, pts, datetime.now(UTC), lit), detections)

    @property
    def state(self) -> SignalState:
        return self.pipeline.signals.states[HEAD_ID]

    def until(self, lit: Phase, done: Callable[[SignalState], bool], timeout_s: float) -> float:
        """Run frames until `done(state)`; returns how long that took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            self.step(lit)
            if done(self.state):
                return time.monotonic() - started
        raise AssertionError(f"not reached within {timeout_s} s; last state {self.state}")


def _config(database_url: str, workdir: Path, kafka: str | None = None) -> AppConfig:
    # The evidence directory (and the session secret beside it) under the test's own
    # folder: the default is relative to the working directory.
    return AppConfig(
        database_url=database_url,
        evidence=EvidenceConfig(path=workdir / "evidence"),
        cameras=[camera_config(source="auto", stale_s=STALE_S)],
        kafka=KafkaConfig(bootstrap_servers=[kafka]) if kafka else None,
    )


def _controller(factory: sessionmaker[Session]) -> str:
    with factory.begin() as db:
        return add_token(
            db, "controller-1", "signal-controller", cameras=[CAMERA_ID], controller_id="ctl-1"
        ).token


def _post_red(http: httpx.Client, token: str, sequence: int) -> dict[str, Any]:
    response = http.post(
        f"/api/v1/signals/{HEAD_ID}",
        json={
            "camera_id": CAMERA_ID,
            "phase": "red",
            "changed_at": datetime.now(UTC).isoformat(),
            "controller_id": "ctl-1",
            "sequence": sequence,
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _drive_car(camera: LiveCamera, lit: Phase) -> list[Finding]:
    findings = []
    for y in CAR_PATH:
        findings += camera.step(lit, car_at(y))
    return findings


def _controller_overrides_then_goes_stale(
    camera: LiveCamera, post: Callable[[], dict[str, Any]], *, reach_s: float
) -> None:
    """The shared story: image green; controller red wins and a car crossing is flagged
    on it; with no further message the image's green is back after STALE_S."""
    camera.until(Phase.GREEN, lambda s: s.phase is Phase.GREEN, timeout_s=3)
    assert camera.state.source == "image"
    posted = post()
    took = camera.until(Phase.GREEN, lambda s: s.source == "controller", timeout_s=reach_s)
    state = camera.state
    assert state.phase is Phase.RED and state.changed_at == datetime.fromisoformat(
        posted["changed_at"]
    )
    # The onset lands on the stream clock where the frames' wall time puts it.
    onset_wall = camera.pipeline.signals.clock.to_wall(state.since or 0.0)
    assert abs((onset_wall - state.changed_at).total_seconds()) < 0.05
    print(f"controller change reached the pipeline {took:.2f} s after the POST returned")

    (finding,) = _drive_car(camera, Phase.GREEN)
    measurements = finding.candidate.measurements
    assert measurements["signal_source"] == "controller"
    assert measurements["signal_phase"] == "red"
    assert measurements["time_into_red_s"] > 0
    assert measurements["signal_changed_at_utc"].startswith(posted["changed_at"][:19])

    # No news from the controller: after STALE_S the image (green) is trusted again.
    heard = datetime.fromisoformat(posted["received_at"])
    camera.until(Phase.GREEN, lambda s: s.source == "image", timeout_s=STALE_S + 3)
    assert camera.state.phase is Phase.GREEN
    assert (datetime.now(UTC) - heard).total_seconds() > STALE_S
    assert _drive_car(camera, Phase.GREEN) == []


@pytest.fixture
def app_db(database_url: str, tmp_path: Path) -> Iterator[tuple[AppConfig, sessionmaker[Session]]]:
    engine, factory = open_database(database_url)
    yield _config(database_url, tmp_path), factory
    engine.dispose()


def test_posted_change_reaches_the_pipeline_through_the_table(
    app_db: tuple[AppConfig, sessionmaker[Session]],
) -> None:
    config, factory = app_db
    token = _controller(factory)
    feed = ControllerFeed()
    follower = TableFollower(feed, factory, [CAMERA_ID], poll_s=0.2)
    feed.follow(follower)
    pipeline = CameraPipeline(config.cameras[0], signal_feed=feed)
    camera = LiveCamera(pipeline)
    feed.start()
    try:
        with (
            serve(create_app(config, session_factory=factory)) as live,
            httpx.Client(base_url=live.url, timeout=10) as http,
        ):
            _controller_overrides_then_goes_stale(
                camera, lambda: _post_red(http, token, 1), reach_s=2.0
            )
    finally:
        feed.stop()
    assert follower.errors == 0


def test_a_worker_started_mid_phase_knows_it_from_the_table(
    app_db: tuple[AppConfig, sessionmaker[Session]],
) -> None:
    config, factory = app_db
    token = _controller(factory)
    with (
        serve(create_app(config, session_factory=factory)) as live,
        httpx.Client(base_url=live.url, timeout=10) as http,
    ):
        _post_red(http, token, 1)
    feed = controller_feed_for(config, factory)
    assert feed is not None
    camera = LiveCamera(CameraPipeline(config.cameras[0], signal_feed=feed))
    feed.start()
    try:
        camera.until(Phase.GREEN, lambda s: s.source == "controller", timeout_s=2.0)
        assert camera.state.phase is Phase.RED
    finally:
        feed.stop()


def test_no_feed_is_followed_when_every_head_reads_the_image(tmp_path: Any) -> None:
    config = AppConfig(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", cameras=[camera_config(source="image")]
    )
    assert controller_feed_for(config, None) is None


def test_posted_change_reaches_the_pipeline_through_kafka(
    kafka_broker: EmbeddedBroker, tmp_path: Any
) -> None:
    config = _config(
        f"sqlite:///{tmp_path / 'trafficcam.db'}", tmp_path, kafka=kafka_broker.bootstrap
    )
    engine, factory = open_database(config.database_url)
    token = _controller(factory)
    ensure_topics(kafka_broker.bootstrap, [TOPIC])
    feed = ControllerFeed()
    # Kafka only: the table is not followed here, so only the topic can bring the change.
    follower = KafkaFollower(feed, [kafka_broker.bootstrap], TOPIC, [CAMERA_ID], poll_s=0.2)
    feed.follow(follower)
    camera = LiveCamera(CameraPipeline(config.cameras[0], signal_feed=feed))
    relay = OutboxRelay(factory, [kafka_broker.bootstrap])
    feed.start()
    try:
        assert follower.assigned.wait(15), "the follower never read the topic"
        with (
            serve(create_app(config, session_factory=factory)) as live,
            httpx.Client(base_url=live.url, timeout=10) as http,
        ):

            def post_and_publish() -> dict[str, Any]:
                posted = _post_red(http, token, 7)
                # What the worker's relay thread does: the outbox goes to the topic.
                assert relay.drain(timeout_s=15)
                return posted

            _controller_overrides_then_goes_stale(camera, post_and_publish, reach_s=5.0)
    finally:
        feed.stop()
        relay.close()
        engine.dispose()
    assert follower.errors == 0
    # The event on the topic is the stored change, valid against its JSON Schema.
    (record,) = list(consume_records(kafka_broker.bootstrap, TOPIC, group_id="check", timeout_s=10))
    validate_event(record.payload)
    assert record.key == CAMERA_ID
    assert (record.payload["head_id"], record.payload["phase"], record.payload["sequence"]) == (
        HEAD_ID,
        "red",
        7,
    )


def test_kafka_follower_skips_invalid_events_naming_the_field(
    kafka_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A controller publishing to the topic itself: good events count, bad ones are logged."""
    ensure_topics(kafka_broker.bootstrap, [TOPIC])
    feed = ControllerFeed()
    follower = KafkaFollower(feed, [kafka_broker.bootstrap], TOPIC, [CAMERA_ID], poll_s=0.2)
    feed.follow(follower)
    feed.start()
    now = datetime.now(UTC)
    good = {
        "schema_version": 1,
        "event_id": "e-good",
        "type": "signal_phase",
        "camera_id": CAMERA_ID,
        "head_id": HEAD_ID,
        "phase": "amber",
        "changed_at": (now - timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
        "received_at": now.isoformat().replace("+00:00", "Z"),
        "controller_id": "ctl-9",
        "sequence": 3,
        "reported_by": "ctl-9",
    }
    bad = {**good, "event_id": "e-bad", "phase": "blue"}
    other = {**good, "event_id": "e-other", "camera_id": "cam-elsewhere"}
    try:
        assert follower.assigned.wait(15)
        producer = KafkaProducer(bootstrap_servers=[kafka_broker.bootstrap])
        for event in (bad, other, good):
            producer.send(TOPIC, key=CAMERA_ID.encode(), value=json.dumps(event).encode())
        producer.send(TOPIC, value=b"not json")
        producer.flush(10)
        producer.close()
        deadline = time.monotonic() + 10
        while feed.head(CAMERA_ID, HEAD_ID) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        feed.stop()
    known = feed.head(CAMERA_ID, HEAD_ID)
    assert known is not None and [c.event_id for c in known.changes] == ["e-good"]
    assert known.changes[0].phase is Phase.AMBER and known.changes[0].sequence == 3
    assert feed.head("cam-elsewhere", HEAD_ID) is None
    assert "field phase" in caplog.text


def test_kafka_follower_keeps_following_across_a_broker_restart(
    kafka_broker: EmbeddedBroker,
) -> None:
    """Tansu on memory storage restarts empty; a consumer left on the old log can wait
    for ever without an error, so the follower starts afresh after a silent spell."""
    ensure_topics(kafka_broker.bootstrap, [TOPIC])
    feed = ControllerFeed()
    follower = KafkaFollower(
        feed, [kafka_broker.bootstrap], TOPIC, [CAMERA_ID], poll_s=0.2, idle_reconnect_s=2.0
    )
    feed.follow(follower)
    feed.start()
    try:
        assert follower.assigned.wait(15)
        kafka_broker.restart()
        ensure_topics(kafka_broker.bootstrap, [TOPIC])
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        event = {
            "schema_version": 1,
            "event_id": "after-restart",
            "type": "signal_phase",
            "camera_id": CAMERA_ID,
            "head_id": HEAD_ID,
            "phase": "green",
            "changed_at": now,
            "received_at": now,
            "controller_id": None,
            "sequence": None,
            "reported_by": "ctl-9",
        }
        producer = KafkaProducer(bootstrap_servers=[kafka_broker.bootstrap])
        producer.send(TOPIC, key=CAMERA_ID.encode(), value=json.dumps(event).encode()).get(10)
        producer.close()
        deadline = time.monotonic() + 20
        while feed.head(CAMERA_ID, HEAD_ID) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        feed.stop()
    known = feed.head(CAMERA_ID, HEAD_ID)
    assert known is not None and known.changes[-1].event_id == "after-restart"
