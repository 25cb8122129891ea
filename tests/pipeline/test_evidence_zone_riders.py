"""The evidence overview shows a dwell rule's zone and an overloaded motorbike's riders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from pipeline.config import CameraConfig
from pipeline.evidence import annotate_overview
from pipeline.rules.base import ViolationCandidate
from pipeline.track_history import TrackPoint

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
