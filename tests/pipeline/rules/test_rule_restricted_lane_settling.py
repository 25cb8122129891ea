"""restricted_lane and a young track whose class the tracker's vote changes: no
violation under a class the vote dropped, and none before the class has settled."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from models.detections import Detections, class_id
from models.tracking import ByteTracker
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.runtime.track_history import TrackHistory
from tests.pipeline.rules.test_rule_restricted_lane import IMAGE, MIXED_Y, MONDAY_0745_LOCAL, rule

FPS = 10.0
SPEED_PX_S = 150.0


def _drive_through_tracker(names: list[str]) -> list[ViolationCandidate]:
    """One vehicle along the mixed lane (trucks banned at this hour), boxed as
    `names[i]` on frame i, through a real tracker (default settle period), the track
    history and the rule, as the camera pipeline chains them."""
    tracker = ByteTracker(frame_rate=FPS)
    history = TrackHistory()
    check = rule()
    found: list[ViolationCandidate] = []
    for seq, name in enumerate(names):
        t = seq / FPS
        x = 100 + SPEED_PX_S * t
        dets = Detections(
            xyxy=np.array([[x - 60, MIXED_Y - 80, x + 60, MIXED_Y]]),
            scores=[0.44 if name == "truck" else 0.75],
            class_ids=[class_id(name)],
        )
        tracks = tracker.update(dets)
        wall = MONDAY_0745_LOCAL + timedelta(seconds=t)
        boxes = [(float(a), float(b), float(c), float(d)) for a, b, c, d in tracks.xyxy.tolist()]
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=wall,
            track_ids=tracks.track_ids.tolist(),
            boxes=boxes,
            classes=tracks.class_names,
            settled=tracks.class_settled.tolist(),
        )
        found.extend(check.check(FrameContext("cam", seq, t, IMAGE, seen, {}, wall_time=wall)))
    return found


def test_a_motorbike_first_boxed_as_truck_is_not_flagged_as_a_truck() -> None:
    # As on the restricted_lane scenario (seed 1): the first sightings say truck, every
    # later one motorbike. Motorbikes may use the lane.
    assert _drive_through_tracker(["truck"] * 2 + ["motorbike"] * 50) == []


def test_a_truck_is_flagged_once_its_class_has_settled() -> None:
    (v,) = _drive_through_tracker(["truck"] * 50)
    assert v.vehicle_class == "truck"
    # In the lane from its first frame; flagged after min_duration_s (1 s), by which
    # time its 10th sighting has settled the class.
    assert v.offence_t == pytest.approx(1.0)


def _drive_history(
    frames: list[tuple[str, bool]], *, min_duration_s: float = 1.0
) -> list[ViolationCandidate]:
    """One track along the mixed lane with the given (class, settled) on each frame."""
    history = TrackHistory()
    check = rule(min_duration_s=min_duration_s)
    found: list[ViolationCandidate] = []
    for seq, (name, settled) in enumerate(frames):
        t = seq / FPS
        x = 100 + SPEED_PX_S * t
        wall = MONDAY_0745_LOCAL + timedelta(seconds=t)
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=wall,
            track_ids=[1],
            boxes=[(x - 60, MIXED_Y - 80, x + 60, MIXED_Y)],
            classes=[name],
            settled=[settled],
        )
        found.extend(check.check(FrameContext("cam", seq, t, IMAGE, seen, {}, wall_time=wall)))
    return found


def test_no_verdict_while_the_class_may_still_change() -> None:
    # A truck for 3 s in a lane banned for trucks, but its class never settles.
    assert _drive_history([("truck", False)] * 30) == []
    # The same once the class settles at 2 s: flagged then, the stay counted from 0 s.
    (v,) = _drive_history([("truck", False)] * 20 + [("truck", True)] * 10)
    assert v.offence_t == pytest.approx(2.0) and v.measurements["entered_stream_s"] == 0.0


def test_a_stay_judged_under_a_dropped_class_starts_again() -> None:
    # A truck (banned here at this hour) for 1.5 s, then the vote makes it a car
    # (allowed) and then a truck again, settled: the time in the lane counts from when
    # it became a truck again, not from its first sighting.
    frames = [("truck", False)] * 15 + [("car", False)] * 3 + [("truck", True)] * 20
    (v,) = _drive_history(frames)
    assert v.vehicle_class == "truck"
    assert v.measurements["entered_stream_s"] == pytest.approx(1.8)
    assert v.offence_t == pytest.approx(2.8)
