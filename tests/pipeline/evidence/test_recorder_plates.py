"""A recorded violation carries the vehicle's plate read and a plate crop as evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import rapidocr
import ultralytics
from sqlalchemy import select

from models import weights
from models.darknet import DarknetDetector
from models.plates import PlateReader
from pipeline.config import AppConfig, parse_config
from pipeline.evidence.recorder import ViolationRecorder
from pipeline.runtime.camera_pipeline import Finding
from pipeline.store.db import open_database
from pipeline.store.hashing import sha256_file
from pipeline.store.models import Violation
from pipeline.store.repository import register_cameras
from streams.frame import Frame
from tests.factories import make_candidate
from tests.models.plate_samples import distort, paste, render_plate
from tests.pipeline.config.test_config import camera

PLATE = "30E-123.45"


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    weights.pull("plate-yolov8n")
    return PlateReader.from_registry()


def _config(tmp_path: Path) -> AppConfig:
    return parse_config(
        {
            "database_url": "sqlite:///db.sqlite",
            "evidence": {"path": "evidence"},
            "cameras": [camera()],
        },
        base=tmp_path,
    )


def _finding(config: AppConfig) -> Finding:
    bus = cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))
    assert bus is not None
    rng = np.random.default_rng(7)
    vehicle, _ = paste(
        bus[400:900, 0:810], distort(render_plate([PLATE], "DejaVuSans-Bold.ttf", False), rng), rng
    )
    image = np.full((720, 1280, 3), 80, dtype=np.uint8)
    image[100:600, 200:1010] = vehicle
    box = (200.0, 100.0, 1010.0, 600.0)
    now = datetime.now(UTC)
    frames = [Frame("cam-1", seq, seq * 0.1, now, image) for seq in (10, 11)]
    candidate = make_candidate(frames[0], frames[1], box, track_id=3, offence_t=1.05)
    return Finding(config.cameras[0], candidate, frames[0], frames[1], None)


@pytest.mark.parametrize("with_plates", [True, False])
def test_plate_is_stored_with_its_crop(
    tmp_path: Path, reader: PlateReader, with_plates: bool
) -> None:
    config = _config(tmp_path)
    _, session_factory = open_database(config.database_url)
    with session_factory.begin() as session:
        register_cameras(session, config.cameras)
    detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
    recorder = ViolationRecorder(config, session_factory, detector, reader if with_plates else None)
    recorder.handle(_finding(config))
    [violation_id] = recorder.recorded
    with session_factory() as session:
        row = session.scalars(select(Violation)).one()
    package = config.evidence.path / violation_id
    manifest = json.loads((package / "manifest.json").read_text())
    if with_plates:
        assert row.plate == PLATE
        assert row.plate_confidence is not None and 0 < row.plate_confidence <= 1
        assert (package / "plate_crop.jpg").is_file()
        assert manifest["plate"]["text"] == PLATE
        assert manifest["plate"]["model"]["name"] == "plate-yolov8n"
        ocr = manifest["plate"]["ocr_model"]
        model_file = next((Path(rapidocr.__file__).parent / "models").glob(f"{ocr['name']}.onnx"))
        assert ocr["sha256"] == sha256_file(model_file)
        assert "plate_crop.jpg" in json.dumps(manifest["files"])
    else:
        assert row.plate is None and row.plate_confidence is None
        assert not (package / "plate_crop.jpg").exists()
        assert "plate" not in manifest
