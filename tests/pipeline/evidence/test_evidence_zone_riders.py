"""The evidence overview shows a dwell rule's zone and an overloaded motorbike's riders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np

from pipeline.config import CameraConfig
from pipeline.evidence.package import annotate_overview, data_bar_lines, wrap_to_width
from pipeline.rules.base import ViolationCandidate
from pipeline.runtime.track_history import TrackPoint

WHEN = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CAMERA = CameraConfig.model_validate(
    {
        "id": "kerb-cam",
        "name": "Kerb",
        "location": {"text": "Trang Tien", "lat": 21.02, "lon": 105.85},
        "source": {"url": "video.mp4"},
        "scene": {
            "zones": [
                {
                    "id": "kerb",
                    "kind": "no_parking",
                    "polygon": [[40, 300], [600, 300], [600, 400], [40, 400]],
                    "max_dwell_s": 30,
                }
            ]
        },
        "rules": [{"type": "no_parking"}],
    }
)


def candidate(rule: str, measurements: dict[str, Any]) -> ViolationCandidate:
    point = TrackPoint(seq=1, t=1.0, wall_time=WHEN, box=(700.0, 100.0, 900.0, 250.0))
    return ViolationCandidate(rule, "1.0", 7, "car", 1.0, point, point, "why", measurements)


def changed(out: np.ndarray, x: int, y: int) -> bool:
    return bool(out[y, x].any())


def test_the_judged_zone_is_outlined() -> None:
    image = np.zeros((480, 1000, 3), np.uint8)
    out = annotate_overview(image, CAMERA, candidate("no_parking", {"zone": "kerb"}), None, WHEN)
    assert changed(out, 300, 300) and changed(out, 40, 350)
    unnamed = annotate_overview(image, CAMERA, candidate("no_parking", {}), None, WHEN)
    assert not changed(unnamed, 300, 300)


def test_the_riders_are_boxed() -> None:
    image = np.zeros((480, 1000, 3), np.uint8)
    riders = {"rider_boxes": [[100.0, 50.0, 150.0, 200.0], [160.0, 50.0, 210.0, 200.0]]}
    out = annotate_overview(image, CAMERA, candidate("overloaded_motorbike", riders), None, WHEN)
    assert changed(out, 100, 120) and changed(out, 210, 120)
    assert not changed(out, 125, 120)  # inside a rider's box, nothing is painted over


def test_a_long_data_bar_line_wraps_inside_a_narrow_image() -> None:
    image = np.zeros((240, 320, 3), np.uint8)
    riders = {"rider_boxes": [[100.0, 50.0, 150.0, 200.0]] * 4, "riders": 4}
    wide = annotate_overview(np.zeros((240, 1600, 3), np.uint8), CAMERA, candidate(
        "overloaded_motorbike", riders), None, WHEN)  # fmt: skip
    narrow = annotate_overview(image, CAMERA, candidate("overloaded_motorbike", riders), None, WHEN)
    # The narrow picture's bar takes more rows: its lines were wrapped, not clipped.
    assert narrow.shape[0] - 240 > wide.shape[0] - 240
    for line in data_bar_lines(CAMERA, candidate("overloaded_motorbike", riders), None, WHEN):
        for wrapped in wrap_to_width(line, 320 - 16, 0.4):
            assert (
                wrapped and cv2.getTextSize(wrapped, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0] <= 304
            )
    # No text is lost: the wrapped pieces put back together give the line.
    words = (
        "rider_boxes=[[100.0, 50.0, 150.0, 200.0]] riders=4 averyveryverylongwordthatcannotfit" * 2
    )
    assert "".join(wrap_to_width(words, 100, 0.4)).replace(" ", "") == words.replace(" ", "")
