"""One `ViolationRecord` states the same violation in its manifest, row and event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from models.plates import PlateRead
from pipeline.config import parse_config
from pipeline.events.relay import utc_iso, validate_event
from pipeline.evidence.package import MANIFEST_SCHEMA_VERSION, EvidencePackage
from pipeline.evidence.record import ModelsUsed, ViolationRecord, model_block
from pipeline.runtime.camera_pipeline import Finding
from pipeline.store.repository import EVENT_SCHEMA_VERSION, EvidenceFile
from streams.frame import Frame
from tests.factories import make_candidate
from tests.pipeline.config.test_config import camera

WALL = datetime(2025, 3, 14, 8, 30, 1, 500000, tzinfo=UTC)
SHA = "ab" * 32


class _Model:
    name, model_sha256, runtime, precision = "yolo", "cd" * 32, "onnx", "fp16"


def _record(tmp_path: Path) -> ViolationRecord:
    config = parse_config({"database_url": "sqlite:///db.sqlite", "cameras": [camera()]},
                          base=tmp_path)  # fmt: skip
    image = np.zeros((90, 160, 3), np.uint8)
    before = Frame("cam-1", 10, 4.0, WALL - timedelta(seconds=0.5), image)
    after = Frame("cam-1", 15, 4.5, WALL, image)
    candidate = make_candidate(before, after, (10.0, 20.0, 50.0, 60.0), offence_t=4.2,
                               measurements={"time_into_red_s": 1.25})  # fmt: skip
    plate = PlateRead("30E-123.45", 0.93, (1.0, 2.0, 3.0, 4.0), 1.0, 2.0, image)
    return ViolationRecord.from_finding(
        Finding(config.cameras[0], candidate, before, after, None),
        violation_id="11111111-1111-4111-8111-111111111111",
        models=ModelsUsed(model_block(_Model()), model_block(_Model()), model_block(_Model())),
        clock_sync="synced",
        plate=plate,
    )


def test_manifest_row_and_event_agree(tmp_path: Path) -> None:
    record = _record(tmp_path)
    package = EvidencePackage(
        [EvidenceFile("manifest", "file:///e/manifest.json", SHA, 10)], SHA, "file:///e/m.json"
    )
    manifest, row, event = (
        record.manifest({"status": "missing"}),
        record.row(),
        record.event("22222222-2222-4222-8222-222222222222", package),
    )
    validate_event(event)
    assert manifest["schema_version"] == MANIFEST_SCHEMA_VERSION
    assert event["schema_version"] == EVENT_SCHEMA_VERSION
    assert manifest["violation_id"] == row.id == row.evidence_dir == event["violation_id"]
    assert manifest["camera"]["id"] == row.camera_id == event["camera_id"] == "cam-1"
    assert manifest["camera"]["location"] == event["location"]
    rule = manifest["rule"]
    assert rule["type"] == row.rule_type == event["rule_type"] == "red_light"
    assert rule["version"] == row.rule_version == event["rule_version"]
    assert rule["measurements"] == row.measurements == event["measurements"]
    assert manifest["scene_version"] == row.scene_version == event["scene_version"]
    # The offence 0.3 s of stream time before the 'after' frame, on the wall clock.
    assert row.offence_time == WALL - timedelta(seconds=0.3)
    assert manifest["times"]["offence_utc"] == row.offence_time.isoformat()
    assert event["offence_time"] == utc_iso(row.offence_time)
    assert manifest["times"]["first_evidence_utc"] == row.first_evidence_time.isoformat()
    assert manifest["times"]["last_evidence_utc"] == row.last_evidence_time.isoformat()
    assert manifest["times"]["offence_stream_s"] == row.stream_time_s == 4.2
    assert manifest["vehicle"]["track_id"] == row.track_id == event["track_id"]
    assert manifest["plate"]["text"] == row.plate == event["plate"] == "30E-123.45"
    assert row.plate_confidence == event["plate_confidence"] == 0.93
    assert list(manifest)[-1] == "clip" and row.status == "pending"
