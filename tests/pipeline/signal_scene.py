"""A small junction for signal tests: a camera config with one signal head, frames
with that head drawn lit, and a car driven across the stop line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cv2
import numpy as np

from models.detections import Detections, class_id
from pipeline.config import CameraConfig
from pipeline.signals.image import Phase
from streams.frame import Frame

CAMERA_ID = "cam-sig"
HEAD_ID = "main"
WIDTH, HEIGHT = 640, 360
HEAD_REGION = (580, 10, 630, 150)
LAMPS = {Phase.RED: (605, 35), Phase.AMBER: (605, 80), Phase.GREEN: (605, 125)}
LIT = {Phase.RED: (0, 0, 255), Phase.AMBER: (0, 190, 255), Phase.GREEN: (80, 255, 0)}
STOP_LINE_Y = 250


def camera_dict(
    *, source: str = "auto", stale_s: float = 3.0, region: bool = True, delay_s: float = 0.0
) -> dict[str, Any]:
    head: dict[str, Any] = {
        "id": HEAD_ID,
        "source": source,
        "controller_stale_s": stale_s,
        "controller_delay_s": delay_s,
    }
    if region:
        head["region"] = list(HEAD_REGION)
    return {
        "id": CAMERA_ID,
        "name": "Signal test junction",
        "location": {"text": "Test junction, Ha Noi", "lat": 21.02, "lon": 105.85},
        "source": {"url": "rtsp://127.0.0.1:9/none"},
        "analysis_fps": 10,
        "scene": {
            "image_size": [WIDTH, HEIGHT],
            "stop_line": {
                "points": [[40, STOP_LINE_Y], [560, STOP_LINE_Y]],
                "junction_side": [300, 100],
            },
            "signal_heads": [head],
        },
        "rules": [{"type": "red_light"}],
    }


def camera_config(**kwargs: Any) -> CameraConfig:
    return CameraConfig.model_validate(camera_dict(**kwargs))


def head_image(lit: Phase | None) -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), 95, np.uint8)
    cv2.rectangle(image, HEAD_REGION[:2], HEAD_REGION[2:], (30, 30, 30), -1)
    for phase, centre in LAMPS.items():
        cv2.circle(image, centre, 16, LIT[phase] if phase is lit else (60, 60, 60), -1)
    return image


def frame(seq: int, pts: float, wall_time: datetime, lit: Phase | None) -> Frame:
    return Frame(CAMERA_ID, seq, pts, wall_time, head_image(lit))


NO_DETECTIONS = Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0))


def car_at(bottom_y: float) -> Detections:
    """One car whose box bottom (its ground point) is at `bottom_y`."""
    return Detections(
        np.array([[250.0, bottom_y - 60, 350.0, bottom_y]]),
        np.array([0.9]),
        np.array([class_id("car")]),
    )


CAR_PATH = [330.0 - 12 * i for i in range(16)]
"""Bottom edge of the car, one position per frame: from 330 up to 150, crossing y=250."""
