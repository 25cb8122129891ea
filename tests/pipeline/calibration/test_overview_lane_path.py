"""The annotated overview shows the judged lane with its directions, the crossings and
the vehicle's path between the key frames."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from pipeline.config import parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.output import config_document
from pipeline.evidence.package import annotate_overview
from pipeline.rules.base import ViolationCandidate
from pipeline.runtime.track_history import TrackPoint

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def camera(name: str):  # type: ignore[no-untyped-def]
    doc = config_document(build_script(name), "video.mp4", 608)
    return parse_config(doc, source=name).cameras[0]


def candidate(rule: str, before_x: float, after_x: float, lane: str) -> ViolationCandidate:
    def point(seq: int, x: float) -> TrackPoint:
        return TrackPoint(seq, seq / 10, NOW, (x - 150, 540.0, x + 150, 662.0))

    return ViolationCandidate(
        rule_type=rule,
        rule_version="1.0",
        track_id=7,
        vehicle_class="car",
        offence_t=1.5,
        before=point(0, before_x),
        after=point(15, after_x),
        explanation="car drove against lane 'near'",
        measurements={"lane": lane},
    )


def colour(image: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    b, g, r = (int(v) for v in image[y, x])
    return b, g, r


def test_wrong_way_overview_shows_the_lane_its_direction_and_the_path() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    out = annotate_overview(
        image, camera("wrong_way"), candidate("wrong_way", 1000, 700, "near"), None, NOW
    )
    assert out.shape[0] > 720 and out.shape[1] == 1280
    assert colour(out, 300, 662) == (0, 200, 0)  # the near lane's allowed direction
    assert colour(out, 850, 662) == (0, 0, 255)  # the vehicle's path, against it
    assert colour(out, 300, 690) == (255, 200, 0)  # the near lane's edge
    assert colour(out, 300, 462) == (0, 0, 0)  # the far lane is not the one judged
    assert not image.any()  # the original frame is left as it was


def test_stop_line_overview_outlines_the_crossing() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    still = candidate("stop_line", 745, 745, "near")
    out = annotate_overview(image, camera("stop_line"), still, None, NOW)
    assert colour(out, 840, 400) == (255, 255, 255)
    assert colour(out, 900, 400) == (0, 0, 0)
