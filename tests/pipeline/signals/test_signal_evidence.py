"""A violation judged on the controller's phase says so in its row, manifest and overview."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from models.darknet import DarknetDetector
from pipeline.config import parse_config
from pipeline.evidence.package import data_bar_lines
from pipeline.evidence.recorder import ViolationRecorder
from pipeline.runtime.camera_pipeline import CameraPipeline, Finding
from pipeline.signals.feed import ControllerFeed, PhaseChange
from pipeline.signals.image import Phase
from pipeline.store.db import open_database
from pipeline.store.models import Violation
from pipeline.store.repository import register_cameras
from tests.pipeline.signal_scene import (
    CAMERA_ID,
    CAR_PATH,
    HEAD_ID,
    NO_DETECTIONS,
    camera_dict,
    car_at,
    frame,
)

T0 = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)


def test_controller_phase_is_recorded_as_the_source(tmp_path: Path) -> None:
    config = parse_config(
        {
            "database_url": "sqlite:///db.sqlite",
            "evidence": {"path": "evidence"},
            "plates": {"enabled": False},
            "cameras": [camera_dict(source="auto", stale_s=60)],
        },
        base=tmp_path,
    )
    feed = ControllerFeed()
    feed.add(
        PhaseChange("e-1", CAMERA_ID, HEAD_ID, Phase.RED, T0, T0 + timedelta(seconds=0.2), "c", 5)
    )
    pipeline = CameraPipeline(config.cameras[0], signal_feed=feed)
    findings: list[Finding] = []
    for i, y in enumerate([None] * 10 + CAR_PATH):
        pts = 100.0 + i / 10
        wall = T0 + timedelta(seconds=i / 10 + 0.5)
        findings += pipeline.process(
            frame(i, pts, wall, Phase.GREEN), NO_DETECTIONS if y is None else car_at(y)
        )
    (finding,) = findings

    _, session_factory = open_database(config.database_url)
    with session_factory.begin() as session:
        register_cameras(session, config.cameras)
    detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
    recorder = ViolationRecorder(config, session_factory, detector, None)
    recorder.handle(finding)
    [violation_id] = recorder.recorded
    with session_factory() as session:
        row = session.scalars(select(Violation)).one()
    manifest = json.loads((config.evidence.path / violation_id / "manifest.json").read_text())
    for measurements in (row.measurements, manifest["rule"]["measurements"]):
        assert measurements["signal_source"] == "controller"
        assert measurements["signal_phase"] == "red"
        assert measurements["signal_changed_at_utc"] == "2026-03-14T01:30:00Z"
        # Red began 0.5 s of wall time before the first frame's stream time 100.0.
        assert measurements["red_onset_stream_s"] == 99.5
        assert measurements["signal_time_in_phase_s"] == measurements["time_into_red_s"] > 0
    bar = data_bar_lines(config.cameras[0], finding.candidate, finding.signal, T0)
    assert "signal red (controller)" in bar[1]
