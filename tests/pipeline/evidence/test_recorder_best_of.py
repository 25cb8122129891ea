"""The recorder reads the plate best-of-N over the track's life, not only its key frames.

The key frames of a violation show the vehicle where the rule decided (often far from
the camera, small and blurred by motion); its plate is legible where it came closest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
import ultralytics
from sqlalchemy import select

from models import weights
from models.darknet import DarknetDetector
from models.plate_crops import PlateCropCollector
from models.plates import PlateReader
from pipeline.config import AppConfig, PlatesConfig, parse_config
from pipeline.evidence.recorder import ViolationRecorder
from pipeline.runtime.camera_pipeline import CameraPipeline, Finding
from pipeline.signals.image import Phase
from pipeline.store.db import open_database
from pipeline.store.models import Violation
from pipeline.store.repository import register_cameras
from streams.frame import Frame
from tests.factories import make_candidate
from tests.models.plate_samples import distort, paste, render_plate
from tests.pipeline.config.test_config import camera
from tests.pipeline.signal_scene import CAR_PATH, NO_DETECTIONS, camera_config, car_at, frame

PLATE = "30E-123.45"
TRACK = 3


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    weights.pull("plate-yolov8n")
    return PlateReader.from_registry()


@pytest.fixture(scope="module")
def bus_image() -> np.ndarray:
    image = cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))
    assert image is not None
    return image


def _config(tmp_path: Path) -> AppConfig:
    return parse_config(
        {
            "database_url": "sqlite:///db.sqlite",
            "evidence": {"path": "evidence"},
            "plates": {"best_of": 3, "follow_s": 1.0},
            "cameras": [camera()],
        },
        base=tmp_path,
    )


def _frame_with(
    vehicle: np.ndarray, scale: float, blur: float, seq: int
) -> tuple[Frame, tuple[float, float, float, float]]:
    view = cv2.resize(vehicle, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if blur:
        view = cv2.GaussianBlur(view, (0, 0), blur)
    image = np.full((720, 1280, 3), 80, dtype=np.uint8)
    h, w = view.shape[:2]
    x, y = 100 + 20 * seq, 60
    image[y : y + h, x : x + w] = view
    box = (float(x), float(y), float(x + w), float(y + h))
    return Frame("cam-1", seq, seq * 0.1, datetime.now(UTC), image), box


def _finding(
    config: AppConfig, bus_image: np.ndarray, collector: PlateCropCollector | None
) -> Finding:
    rng = np.random.default_rng(7)
    plate = distort(render_plate([PLATE], "DejaVuSans-Bold.ttf", False), rng)
    vehicle, _ = paste(bus_image[400:900, 0:810], plate, rng)
    # The key frames: far and blurred. The track's life: one close, sharp view, after
    # the offence (within follow_s).
    before, before_box = _frame_with(vehicle, 0.25, 3.0, 10)
    after, after_box = _frame_with(vehicle, 0.25, 3.0, 11)
    close, close_box = _frame_with(vehicle, 0.8, 0.0, 14)
    candidate = make_candidate(
        before, after, before_box, after_box=after_box, track_id=TRACK, offence_t=1.05
    )
    crops = None
    if collector is not None:
        for frame, box in ((before, before_box), (after, after_box)):
            collector.update(frame.pts, frame.image, [TRACK], np.array([box]))
        crops = collector.claim(TRACK, after.pts)
        collector.update(close.pts, close.image, [TRACK], np.array([close_box]))
        collector.update(2.2, close.image, [], np.zeros((0, 4)))  # follow window over
        assert crops.closed
    return Finding(config.cameras[0], candidate, before, after, None, plate_crops=crops)


@pytest.mark.parametrize("track_crops", [True, False])
def test_plate_is_read_from_the_best_crop_of_the_track(
    tmp_path: Path, reader: PlateReader, bus_image: np.ndarray, track_crops: bool
) -> None:
    config = _config(tmp_path)
    _, session_factory = open_database(config.database_url)
    with session_factory.begin() as session:
        register_cameras(session, config.cameras)
    detector = DarknetDetector.from_registry("yolov3-tiny", runtime="opencv")
    recorder = ViolationRecorder(config, session_factory, detector, reader)
    collector = (
        PlateCropCollector(keep=config.plates.best_of, follow_s=config.plates.follow_s)
        if track_crops
        else None
    )
    recorder.handle(_finding(config, bus_image, collector))
    with session_factory() as session:
        row = session.scalars(select(Violation)).one()
    if track_crops:
        assert row.plate == PLATE and row.plate_confidence is not None
    else:
        assert row.plate is None  # the key frames alone are illegible


@pytest.mark.parametrize("enabled", [True, False])
def test_camera_pipeline_hands_the_offenders_crops_to_the_finding(enabled: bool) -> None:
    plates = PlatesConfig(enabled=enabled, best_of=2, follow_s=0.5)
    pipeline = CameraPipeline(camera_config(source="image"), plates=plates)
    findings: list[Finding] = []
    path: list[float | None] = [*CAR_PATH, *[CAR_PATH[-1]] * 10]
    for i, y in enumerate(path):
        pts = i / 10
        f = frame(i, pts, datetime.now(UTC), Phase.RED)
        findings += pipeline.process(f, NO_DETECTIONS if y is None else car_at(y))
        if findings and enabled:
            crops = findings[0].plate_crops
            assert crops is not None
            # Still filling until follow_s after the offence frame, closed from then on.
            assert crops.closed == (pts >= findings[0].after_frame.pts + 0.5 - 1e-9)
    (finding,) = findings
    if enabled:
        assert finding.plate_crops is not None and len(finding.plate_crops.best()) == 2
    else:
        assert finding.plate_crops is None and pipeline.plate_crops is None
