"""A motorbike whose box the detector misses around the stop line is still flagged,
once, for running the red: its rider carries its track (CameraPipeline end to end on
generated detections, the phase from the controller's feed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models.detections import Detections, class_id
from pipeline.config import CameraConfig
from pipeline.runtime.camera_pipeline import CameraPipeline, Finding
from pipeline.signals.feed import ControllerFeed, PhaseChange
from pipeline.signals.image import Phase
from tests.pipeline.signal_scene import CAMERA_ID, HEAD_ID, STOP_LINE_Y, camera_dict, frame

T0 = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)
FPS = 10


def red_feed() -> ControllerFeed:
    feed = ControllerFeed()
    feed.add(PhaseChange("e-1", CAMERA_ID, HEAD_ID, Phase.RED, T0, T0, "c", 1))
    return feed


def motorbike(y: float, *, bike: bool, riders: int = 1, x: float = 300.0) -> Detections:
    """A motorbike seen from behind with its ground contact at `y`; `bike`: whether the
    detector boxed the bike itself (always the riders)."""
    boxes: list[tuple[float, float, float, float]] = []
    names, scores = [], []
    for n in range(riders):  # the passenger behind the driver: up and to the right
        boxes.append((x - 20 + 14 * n, y - 85 - 6 * n, x + 20 + 14 * n, y - 25 - 6 * n))
        names.append("person")
        scores.append(0.8 - 0.2 * n)
    if bike:
        boxes.append((x - 15, y - 40, x + 15, y))
        names.append("motorbike")
        scores.append(0.35)
    return Detections(
        np.array(boxes, dtype=np.float32).reshape(-1, 4),
        np.array(scores, dtype=np.float32),
        np.array([class_id(n) for n in names]),
    )


def run(
    camera: CameraConfig, ys: Sequence[float], missed: range, *, riders: int = 1
) -> list[Finding]:
    pipeline = CameraPipeline(camera, signal_feed=red_feed())
    findings: list[Finding] = []
    for i, y in enumerate(ys):
        pts = 100.0 + i / FPS
        image_frame = frame(i, pts, T0 + timedelta(seconds=1 + i / FPS), None)
        detections = motorbike(y, bike=i not in missed, riders=riders)
        findings += pipeline.process(image_frame, detections)
    return findings


# Ground contact from 40 px behind the line (y=250) to 100 px past it, 12 px a frame.
PATH = [STOP_LINE_Y + 40 - 12 * i for i in range(12)]
# The bike is boxed on the first three frames only, never at the line.
MISSED = range(3, 12)


@pytest.fixture
def camera() -> CameraConfig:
    data = camera_dict(source="controller", region=False)
    data["rules"] = [{"type": "red_light"}, {"type": "overloaded_motorbike", "max_riders": 1}]
    return CameraConfig.model_validate(data)


def test_motorbike_missed_at_the_line_is_flagged_once_from_its_riders(
    camera: CameraConfig,
) -> None:
    findings = [f for f in run(camera, PATH, MISSED) if f.candidate.rule_type == "red_light"]
    (finding,) = findings
    candidate = finding.candidate
    assert candidate.vehicle_class == "motorbike"
    # Contact at 254 on frame 3 and 242 on frame 4: a third of the way.
    assert candidate.offence_t == pytest.approx(100.3 + 0.1 / 3, abs=0.01)
    assert candidate.measurements["box_from_rider"] is True
    assert candidate.measurements["crossing_edge"] == "box bottom"


def test_without_riders_the_missed_bike_is_never_seen_crossing(camera: CameraConfig) -> None:
    findings = run(camera, PATH, MISSED, riders=0)
    assert [f for f in findings if f.candidate.rule_type == "red_light"] == []


def test_two_up_counted_from_the_same_association_while_the_bike_is_missed(
    camera: CameraConfig,
) -> None:
    # Moving, with two riders seen over the carried box: more than the one allowed.
    long_path = [STOP_LINE_Y + 300 - 12 * i for i in range(40)]
    findings = run(camera, long_path, range(3, 40), riders=2)
    overloaded = [f for f in findings if f.candidate.rule_type == "overloaded_motorbike"]
    assert len(overloaded) == 1
    assert len({f.candidate.track_id for f in findings}) == 1


def test_motorbike_first_boxed_past_the_line_is_flagged_from_its_riders_path(
    camera: CameraConfig,
) -> None:
    # The rider is seen all along; the bike under them only from frame 4 (past the line).
    findings = run(camera, PATH, range(0, 4))
    (finding,) = [f for f in findings if f.candidate.rule_type == "red_light"]
    assert finding.candidate.offence_t == pytest.approx(100.3 + 0.1 / 3, abs=0.01)
    assert finding.candidate.measurements["box_from_rider"] is True
