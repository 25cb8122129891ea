"""HealthMonitor: samples and alerts in the database, events on Kafka, reference snapshots."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import AppConfig, parse_config
from pipeline.events.broker import EmbeddedBroker, free_port
from pipeline.events.relay import OutboxRelay, consume, validate_event
from pipeline.ops.health import HealthMonitor
from pipeline.runtime.worker import open_source
from pipeline.store.camera_health import camera_statuses, prune_samples, recent_alerts
from pipeline.store.db import open_database
from pipeline.store.models import CameraHealthSample, OutboxEvent, utcnow
from tests.fixtures.rtsp import RtspServerFactory, VideoFactory
from tests.streams.helpers import wait_until


def make_config(
    tmp_path: Path, database_url: str, cameras: dict[str, str], kafka: str
) -> AppConfig:
    return parse_config(
        {
            "database_url": database_url,
            "evidence": {"path": str(tmp_path / "evidence")},
            "kafka": {"bootstrap_servers": [kafka]},
            "health": {"sample_every_s": 3600, "persist_s": 0, "frozen_after_s": 60},
            "cameras": [
                {
                    "id": camera_id,
                    "name": camera_id,
                    "location": {"text": "Test junction", "lat": 21.0, "lon": 105.8},
                    "source": {"url": url, "read_timeout_s": 1.5, "open_timeout_s": 1.5},
                }
                for camera_id, url in cameras.items()
            ],
        },
        base=tmp_path,
    )


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(database_url)
    yield factory
    engine.dispose()


def test_monitor_stores_samples_alerts_and_publishes_them(
    rtsp_server_factory: RtspServerFactory,
    h264_mp4_factory: VideoFactory,
    tmp_path: Path,
    database_url: str,
    sessions: sessionmaker[Session],
    kafka_broker: EmbeddedBroker,
) -> None:
    video = h264_mp4_factory("clip.mp4", seconds=2, fps=15)
    server = rtsp_server_factory({"/cam": video}, loop=True)
    config = make_config(
        tmp_path,
        database_url,
        {"good": server.url("/cam"), "dead": f"rtsp://127.0.0.1:{free_port()}/cam"},
        kafka_broker.bootstrap,
    )
    sources = {camera.id: open_source(camera) for camera in config.cameras}
    monitor = HealthMonitor(config, sessions)
    for source in sources.values():
        source.start()
    # The worker's part: take the frames (unread ones would count as "analysis behind").
    good = sources["good"]
    reader = threading.Thread(
        target=lambda: [good.read(0.5) for _ in iter(lambda: good.finished, True)]
    )
    reader.start()
    try:
        monitor.attach(sources)
        monitor.tick()  # the first sample of every camera is stored
        wait_until(lambda: sources["good"].latest_frame is not None, timeout=10)
        wait_until(lambda: sources["dead"].stats.state == "offline", timeout=5)
        time.sleep(0.3)
        monitor.tick()
    finally:
        for source in sources.values():
            source.stop()
    reader.join(timeout=5)
    monitor.tick()  # stopped: both go offline, reason "stopped"

    with sessions() as db:
        statuses = {s.camera.id: s for s in camera_statuses(db)}
        alerts = recent_alerts(db)
        payloads = [row.payload for row in db.scalars(select(OutboxEvent))]
    assert statuses["good"].sample is not None and statuses["good"].sample.state == "offline"
    assert statuses["good"].sample.reason == "stopped"
    assert ("starting", "online") in {(a.previous_state, a.state) for a in alerts}
    dead = [a for a in alerts if a.camera_id == "dead" and a.state == "offline"]
    assert dead and "refused" in dead[-1].reason.lower()
    # The reference snapshot of the good camera was taken from its first good frame.
    scene_version = config.camera("good").scene_version
    assert (tmp_path / "evidence" / "_references" / "good" / f"{scene_version}.png").is_file()

    assert {p["type"] for p in payloads} == {"camera_health", "camera_alert"}
    for payload in payloads:
        validate_event(payload)

    relay = OutboxRelay(sessions, [kafka_broker.bootstrap])
    assert relay.drain(timeout_s=30)
    relay.close()
    received = list(consume(kafka_broker.bootstrap, "camera-health", group_id="t", timeout_s=8))
    assert sorted(e["event_id"] for e in received) == sorted(p["event_id"] for p in payloads)


def test_reference_snapshot_survives_a_restart_and_is_never_replaced(
    rtsp_server_factory: RtspServerFactory,
    h264_mp4_factory: VideoFactory,
    tmp_path: Path,
    sessions: sessionmaker[Session],
) -> None:
    video = h264_mp4_factory("clip.mp4", seconds=2, fps=15)
    server = rtsp_server_factory({"/cam": video}, loop=True)
    config = make_config(tmp_path, "sqlite://", {"cam": server.url("/cam")}, "127.0.0.1:1")
    path = HealthMonitor(config, sessions).references.path(
        "cam", config.camera("cam").scene_version
    )
    for _ in range(2):
        source = open_source(config.camera("cam")).start()
        monitor = HealthMonitor(config, sessions)
        try:
            monitor.attach({"cam": source})
            wait_until(lambda s=source: s.latest_frame is not None, timeout=10)  # type: ignore[misc]
            monitor.tick()
        finally:
            source.stop()
        stamp = path.stat().st_mtime_ns
        assert monitor._trackers["cam"].reference is not None
    assert path.stat().st_mtime_ns == stamp


def test_monitor_keeps_a_thumbnail_of_the_newest_frame(
    rtsp_server_factory: RtspServerFactory,
    h264_mp4_factory: VideoFactory,
    tmp_path: Path,
    sessions: sessionmaker[Session],
) -> None:
    video = h264_mp4_factory("clip.mp4", seconds=2, fps=15, width=640, height=360)
    server = rtsp_server_factory({"/cam": video}, loop=True)
    config = make_config(tmp_path, "sqlite://", {"cam": server.url("/cam")}, "127.0.0.1:1")
    config = config.model_copy(
        update={"health": config.health.model_copy(update={"thumbnail_every_s": 0.5})}
    )
    source = open_source(config.camera("cam")).start()
    reader = threading.Thread(
        target=lambda: [source.read(0.5) for _ in iter(lambda: source.finished, True)]
    )
    reader.start()
    monitor = HealthMonitor(config, sessions)
    path = tmp_path / "evidence" / "_thumbnails" / "cam.jpg"
    assert monitor.thumbnails.path("cam") == path
    try:
        monitor.attach({"cam": source})
        wait_until(lambda: source.latest_frame is not None, timeout=10)
        monitor.tick()
        first = cv2.imread(str(path), cv2.IMREAD_COLOR)
        stamp = path.stat().st_mtime_ns
        assert first is not None and first.shape == (180, 320, 3)  # long side 320, same aspect
        # Dated by the frame: its mtime is the frame's wall-clock time, a moment ago.
        assert abs(time.time() - stamp / 1e9) < 5

        monitor.tick()  # not due yet: the same file
        assert path.stat().st_mtime_ns == stamp
        time.sleep(0.7)
        monitor.tick()
        second = cv2.imread(str(path), cv2.IMREAD_COLOR)
        assert second is not None and second.shape == first.shape
        assert path.stat().st_mtime_ns > stamp
        # The square moves and the corner block counts frames: a newer frame, a new picture.
        assert np.abs(first.astype(np.int16) - second.astype(np.int16)).max() > 40
    finally:
        source.stop()
        reader.join(timeout=5)
    time.sleep(0.6)
    monitor.tick()  # the last frame before the stop
    stamp = path.stat().st_mtime_ns
    time.sleep(0.6)
    monitor.tick()  # stopped: no new frame, so the picture and its time stay
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == ["cam.jpg"]  # no temp files left


def test_old_samples_are_pruned_alerts_kept(sessions: sessionmaker[Session]) -> None:
    from datetime import timedelta

    from pipeline.store.repository import upsert_camera

    with sessions.begin() as db:
        upsert_camera(db, camera_id="c", name="c", location_text="x", lat=0, lon=0)
        db.flush()
        for days in (40, 1):
            db.add(
                CameraHealthSample(
                    camera_id="c", at=utcnow() - timedelta(days=days), state="online"
                )
            )
    with sessions.begin() as db:
        assert prune_samples(db, before=utcnow() - timedelta(days=30)) == 1
    with sessions() as db:
        assert len(list(db.scalars(select(CameraHealthSample)))) == 1
