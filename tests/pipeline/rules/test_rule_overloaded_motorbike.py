"""The overloaded_motorbike rule on hand-made tracks and rider boxes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipeline.config import OverloadedMotorbikeRule, Scene
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.overloaded_motorbike import OverloadedMotorbike, distinct_riders
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import Box, TrackHistory

GEOMETRY = SceneGeometry(Scene())
IMAGE = np.zeros((8, 8, 3), np.uint8)
START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
BIKE_W, BIKE_H = 300.0, 180.0
SEATS = (-0.2, 0.0, 0.2)
"""Where riders sit along the bike, in bike widths from its centre (rear to front)."""

Frame = tuple[float, int] | None
"""One sighting of the bike: its anchor x and how many riders sit on it; None: unseen."""


def bike_box(x: float) -> Box:
    return (x - BIKE_W / 2, 600 - BIKE_H, x + BIKE_W / 2, 600.0)


def rider_box(bike: Box, seat: float) -> Box:
    cx = (bike[0] + bike[2]) / 2 + seat * BIKE_W
    return (cx - 30, bike[1] - 110, cx + 30, bike[1] + 50)


def drive(
    rule: OverloadedMotorbike,
    tracks: Mapping[int, Sequence[Frame]],
    *,
    times: Sequence[float] | None = None,
    pedestrian_x: float | None = None,
) -> list[ViolationCandidate]:
    """Feed the rule one frame per index: bike boxes, seated riders, maybe a pedestrian.

    A pedestrian standing at `pedestrian_x` is counted as a rider of any bike whose box
    he overlaps, as `models.riders` would on a single frame.
    """
    history = TrackHistory()
    found = []
    for i in range(max(len(s) for s in tracks.values())):
        t = times[i] if times is not None else i / 10
        live: dict[int, tuple[float, int]] = {}
        for tid, s in tracks.items():
            sighting = s[i] if i < len(s) else None
            if sighting is not None:
                live[tid] = sighting
        boxes = {tid: bike_box(x) for tid, (x, _) in live.items()}
        seen = history.update(
            seq=i,
            t=t,
            wall_time=START + timedelta(seconds=t),
            track_ids=list(live),
            boxes=list(boxes.values()),
            classes=["motorbike"] * len(live),
        )
        riders: dict[int, list[Box]] = {}
        for tid, (_, count) in live.items():
            riders[tid] = [rider_box(boxes[tid], seat) for seat in SEATS[:count]]
            if (
                pedestrian_x is not None
                and boxes[tid][0] + 30 <= pedestrian_x <= boxes[tid][2] - 30
            ):
                riders[tid].append(
                    (pedestrian_x - 30, boxes[tid][1] - 110, pedestrian_x + 30, boxes[tid][1] + 50)
                )
        found.extend(rule.check(FrameContext("cam", i, t, IMAGE, seen, {}, riders=riders)))
    return found


def rule(**params: object) -> OverloadedMotorbike:
    return OverloadedMotorbike(OverloadedMotorbikeRule.model_validate(params), GEOMETRY)


def riding(
    riders: int | Sequence[int], frames: int = 30, x0: float = 200, speed: float = 20
) -> list[Frame]:
    counts = [riders] * frames if isinstance(riders, int) else list(riders)
    return [(x0 + speed * i, n) for i, n in enumerate(counts)]


def test_three_riders_held_over_frames_are_flagged_once_with_measurements() -> None:
    found = drive(rule(), {1: riding(3)})
    assert len(found) == 1
    v = found[0]
    assert v.rule_type == "overloaded_motorbike" and v.vehicle_class == "motorbike"
    assert v.measurements["riders"] == 3 and v.measurements["max_riders"] == 2
    # Five sightings (min_frames) from the first one: frames 0-4.
    assert v.offence_t == pytest.approx(0.4)
    assert v.before.t == pytest.approx(0.0) and v.after.t == pytest.approx(0.4)
    assert len(v.measurements["rider_boxes"]) == 3
    assert v.explanation == "motorbike carried 3 riders (allowed 2) on 5 frames over 0.4 s"


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param([3, 3, 2, 3, 3, 3, 2, 3] + [2] * 10, id="a-rider-missed-now-and-then"),
        pytest.param([3] * 4 + [None] * 8 + [3] * 3, id="occlusion-gap"),  # type: ignore[list-item]
    ],
)
def test_flickering_detections_still_count(counts: list[int | None]) -> None:
    frames: list[Frame] = [None if n is None else (200 + 20 * i, n) for i, n in enumerate(counts)]
    found = drive(rule(window_s=2.0), {1: frames})
    assert len(found) == 1
    # Decided on a frame showing three riders: the key frame and boxes show them.
    (v,) = found
    assert len(v.measurements["rider_boxes"]) == 3
    assert frames[v.after.seq] is not None and frames[v.after.seq][1] == 3  # type: ignore[index]


def test_a_frame_with_two_riders_never_decides() -> None:
    # Three riders on frames 0-4, while the track is still too young to report; it is
    # old enough from frame 7, when two riders show: the rule waits for frame 9, the
    # next one showing three, so its key frame and boxes show the excess.
    counts = [3, 3, 3, 3, 3, 2, 2, 2, 2, 3] + [2] * 10
    found = drive(rule(min_track_frames=8), {1: riding(counts)})
    assert len(found) == 1 and found[0].after.seq == 9


def test_uneven_frame_spacing() -> None:
    times = [round(0.2 * i + (0.04 if i % 2 else 0.0), 3) for i in range(20)]
    found = drive(rule(), {1: riding(3, frames=20, speed=30)}, times=times)
    assert len(found) == 1
    assert found[0].offence_t == pytest.approx(times[4])


def test_two_riders_and_too_few_frames_are_not_flagged() -> None:
    assert drive(rule(), {1: riding(2)}) == []
    assert drive(rule(), {1: riding(1)}) == []
    assert drive(rule(), {1: riding([3, 3, 3, 3] + [2] * 26)}) == []


def test_every_other_frame_within_the_window_is_enough() -> None:
    assert len(drive(rule(), {1: riding([3, 2] * 15)})) == 1


def test_a_pedestrian_beside_a_stopped_motorbike_is_not_a_rider() -> None:
    # Two riders on a bike that waits 3 s next to a standing pedestrian, then rides
    # off: on each waiting frame the pedestrian overlaps the bike like a third rider.
    waiting = [(400.0, 2)] * 30
    leaving = [(400.0 + 0.5 * 150 * (0.1 * i) ** 2 * 10, 2) for i in range(1, 30)]
    assert drive(rule(), {1: waiting + leaving}, pedestrian_x=480.0) == []


def test_three_riders_waiting_at_a_red_light_are_flagged_once_they_ride_on() -> None:
    waiting = [(400.0, 3)] * 30
    leaving = [(400.0 + 25.0 * i, 3) for i in range(1, 20)]
    found = drive(rule(), {1: waiting + leaving})
    assert len(found) == 1
    assert found[0].offence_t > 3.0
    assert found[0].measurements["travel_px"] >= 30


def test_an_id_switch_does_not_flag_the_same_motorbike_twice() -> None:
    path = riding(3, frames=40)
    found = drive(rule(), {1: path[:20], 2: [None] * 21 + path[21:]})
    assert [v.track_id for v in found] == [1]


def test_two_overloaded_motorbikes_are_two_violations() -> None:
    found = drive(rule(), {1: riding(3), 2: riding(3, x0=900)})
    assert sorted(v.track_id for v in found) == [1, 2]


def test_min_frames_and_max_riders_are_honoured() -> None:
    assert drive(rule(max_riders=3), {1: riding(3)}) == []
    found = drive(rule(min_frames=10), {1: riding(3)})
    assert len(found) == 1 and found[0].offence_t == pytest.approx(0.9)


def test_a_rider_boxed_twice_is_one_rider() -> None:
    whole = (100.0, 100.0, 160.0, 260.0)
    head_and_shoulders = (110.0, 100.0, 150.0, 170.0)
    neighbour = (150.0, 100.0, 210.0, 260.0)
    assert distinct_riders([head_and_shoulders, whole, neighbour]) == [whole, neighbour]


def test_two_riders_each_boxed_twice_are_not_an_overload() -> None:
    rule_ = rule()
    history = TrackHistory()
    found = []
    for i in range(30):
        box = bike_box(200 + 20 * i)
        seen = history.update(
            seq=i,
            t=i / 10,
            wall_time=START + timedelta(seconds=i / 10),
            track_ids=[1],
            boxes=[box],
            classes=["motorbike"],
        )
        riders = [rider_box(box, seat) for seat in SEATS[:2]]
        riders += [(r[0] + 5, r[1], r[2] - 5, r[1] + 60) for r in riders]
        ctx = FrameContext("cam", i, i / 10, IMAGE, seen, {}, riders={1: riders})
        found.extend(rule_.check(ctx))
    assert found == []
