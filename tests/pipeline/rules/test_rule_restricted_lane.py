"""The restricted_lane rule on hand-made tracks: classes, banned hours, lane changes,
jitter over the lane line, occlusion gaps, id switches, uneven timestamps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipeline.config import Lane, LaneRestriction, RestrictedLaneRule, Scene, TimeWindow
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.restricted_lane import RestrictedLane
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory

# Two lanes across the image, divided at y = 300. The upper one is for cars (no
# motorbikes); the lower one is mixed, but buses and trucks are banned 06:30-09:00
# on weekdays.
RUSH_HOUR = TimeWindow(start="06:30", end="09:00", days=["mon", "tue", "wed", "thu", "fri"])
LANES = [
    Lane(
        id="cars",
        polygon=[(0, 100), (1280, 100), (1280, 300), (0, 300)],
        directions=[((0, 200), (1280, 200))],
        allowed_classes=["car", "bus", "truck"],
    ),
    Lane(
        id="mixed",
        polygon=[(0, 300), (1280, 300), (1280, 500), (0, 500)],
        directions=[((0, 400), (1280, 400))],
        restrictions=[LaneRestriction(classes=["bus", "truck"], windows=[RUSH_HOUR])],
    ),
]
GEOMETRY = SceneGeometry(Scene(lanes=LANES), "Asia/Ho_Chi_Minh")
IMAGE = np.zeros((720, 1280, 3), np.uint8)
CARS_Y, MIXED_Y = 200.0, 400.0

# Monday 4 May 2026; Ho Chi Minh City is UTC+7.
MONDAY_0745_LOCAL = datetime(2026, 5, 4, 0, 45, tzinfo=UTC)
MONDAY_1200_LOCAL = datetime(2026, 5, 4, 5, 0, tzinfo=UTC)
SUNDAY_0745_LOCAL = datetime(2026, 5, 3, 0, 45, tzinfo=UTC)

Path = Callable[[float], tuple[float, float] | None]
"""Anchor (x, y) at stream time t, or None when the track is not seen."""


def drive(
    rule: RestrictedLane,
    tracks: dict[int, tuple[str, Path]],
    times: list[float],
    start: datetime = MONDAY_0745_LOCAL,
) -> list[ViolationCandidate]:
    """Feed frames at `times`; a frame's wall time is `start` plus its stream time."""
    history = TrackHistory()
    found: list[ViolationCandidate] = []
    for seq, t in enumerate(times):
        ids, boxes, classes = [], [], []
        for track_id, (vehicle_class, path) in tracks.items():
            anchor = path(t)
            if anchor is None:
                continue
            x, y = anchor
            ids.append(track_id)
            boxes.append((x - 60.0, y - 80.0, x + 60.0, y))
            classes.append(vehicle_class)
        wall = start + timedelta(seconds=t)
        seen = history.update(
            seq=seq, t=t, wall_time=wall, track_ids=ids, boxes=boxes, classes=classes
        )
        found.extend(rule.check(FrameContext("cam", seq, t, IMAGE, seen, {}, wall_time=wall)))
    return found


def along(y: float, speed: float = 150.0, x0: float = 100.0) -> Path:
    def path(t: float) -> tuple[float, float] | None:
        x = x0 + speed * t
        return (x, y) if x <= 1200 else None

    return path


def frames(seconds: float, fps: float = 10.0) -> list[float]:
    return [i / fps for i in range(round(seconds * fps))]


def rule(**params: object) -> RestrictedLane:
    return RestrictedLane(RestrictedLaneRule.model_validate(params), GEOMETRY)


def test_motorbike_in_the_car_lane_is_flagged_once() -> None:
    (v,) = drive(rule(), {1: ("motorbike", along(CARS_Y))}, frames(6))
    assert v.track_id == 1 and v.vehicle_class == "motorbike"
    # Flagged as soon as it has been in the lane min_duration_s (1 s).
    assert v.offence_t == pytest.approx(1.0)
    assert v.before.t == pytest.approx(0.0) and v.after.t == pytest.approx(1.0)
    m = v.measurements
    assert m["lane"] == "cars" and m["allowed_classes"] == ["car", "bus", "truck"]
    assert m["time_in_lane_s"] == pytest.approx(1.0)
    assert m["local_time"].startswith("2026-05-04T07:45")
    assert "allows only car, bus, truck" in v.explanation and "07:45" in v.explanation


def test_car_in_the_car_lane_and_motorbike_in_the_mixed_lane_are_fine() -> None:
    tracks = {1: ("car", along(CARS_Y)), 2: ("motorbike", along(MIXED_Y))}
    assert drive(rule(), tracks, frames(6)) == []


@pytest.mark.parametrize(
    ("start", "flagged"),
    [
        (MONDAY_0745_LOCAL, True),
        (MONDAY_1200_LOCAL, False),
        (SUNDAY_0745_LOCAL, False),
    ],
    ids=["weekday-rush-hour", "weekday-noon", "sunday-rush-hour"],
)
def test_bus_is_banned_only_in_the_time_window(start: datetime, flagged: bool) -> None:
    found = drive(rule(), {1: ("bus", along(MIXED_Y))}, frames(6), start=start)
    assert len(found) == (1 if flagged else 0)
    if flagged:
        assert "banned from the lane 06:30-09:00" in found[0].explanation


def test_window_opening_while_the_bus_is_in_the_lane() -> None:
    """The ban begins at 06:30:00 local; the bus is in the lane from 06:29:58."""
    start = datetime(2026, 5, 4, 6, 29, 58, tzinfo=UTC) - timedelta(hours=7)
    (v,) = drive(rule(), {1: ("bus", along(MIXED_Y))}, frames(6), start=start)
    # Its time in the lane counts from the ban's start (t = 2 s), not from entering.
    assert v.offence_t == pytest.approx(3.0)
    assert v.measurements["local_time"].startswith("2026-05-04T06:30:01")


def test_lane_change_across_the_car_lane_is_not_flagged() -> None:
    """A motorbike swerves into the car lane for 0.6 s and back (min_duration_s 1 s)."""

    def swerve(t: float) -> tuple[float, float]:
        y = CARS_Y + 50 if 1.0 <= t < 1.6 else MIXED_Y
        return (100 + 150 * t, y)

    assert drive(rule(), {1: ("motorbike", swerve)}, frames(6)) == []


def test_lane_change_into_the_car_lane_to_stay_is_flagged() -> None:
    def moves_over(t: float) -> tuple[float, float]:
        return (100 + 150 * t, CARS_Y if t >= 1.0 else MIXED_Y)

    (v,) = drive(rule(), {1: ("motorbike", moves_over)}, frames(6))
    assert v.offence_t == pytest.approx(2.0)
    assert v.before.t == pytest.approx(1.0)


def test_riding_the_lane_line_with_jitter_is_not_using_the_lane() -> None:
    """Anchor on the line, jittering 2-8 px to either side in turn: half its sightings
    in each lane."""
    rng = np.random.default_rng(5)

    def on_the_line(t: float) -> tuple[float, float]:
        side = 1.0 if round(t * 10) % 2 else -1.0
        return (100 + 150 * t, 300 + side * rng.uniform(2.0, 8.0))

    assert drive(rule(), {1: ("motorbike", on_the_line)}, frames(6)) == []


def test_jitter_over_the_lane_line_does_not_restart_the_stay() -> None:
    """Mostly in the car lane, a few boxes dip over the line: still one offence."""

    def dips(t: float) -> tuple[float, float]:
        frame = round(t * 10)
        return (100 + 150 * t, 305.0 if frame in (3, 7) else 290.0)

    (v,) = drive(rule(), {1: ("motorbike", dips)}, frames(6))
    assert v.offence_t == pytest.approx(1.0)


@pytest.mark.parametrize(("gap_s", "offence_t"), [(0.5, 1.0), (1.5, 2.8)])
def test_occlusion_gap(gap_s: float, offence_t: float) -> None:
    """Unseen from 0.3 s for `gap_s`: a short gap keeps the stay, a long one restarts it."""
    lane = along(CARS_Y)

    def hidden(t: float) -> tuple[float, float] | None:
        return None if 0.3 <= t < 0.3 + gap_s - 1e-9 else lane(t)

    (v,) = drive(rule(max_gap_s=1.0), {1: ("motorbike", hidden)}, frames(6))
    assert v.offence_t == pytest.approx(offence_t)


def test_tracker_id_switch_does_not_flag_the_vehicle_twice() -> None:
    lane = along(CARS_Y)

    def first(t: float) -> tuple[float, float] | None:
        return lane(t) if t < 2.0 else None

    def second(t: float) -> tuple[float, float] | None:
        return lane(t) if t >= 2.1 else None

    found = drive(rule(), {1: ("motorbike", first), 2: ("motorbike", second)}, frames(6))
    assert [v.track_id for v in found] == [1]


def test_two_motorbikes_one_behind_the_other_are_two_offences() -> None:
    tracks = {1: ("motorbike", along(CARS_Y)), 2: ("motorbike", along(CARS_Y, x0=-400.0))}
    found = drive(rule(), tracks, frames(8))
    assert sorted(v.track_id for v in found) == [1, 2]


def test_uneven_timestamps_time_the_stay_by_the_sightings() -> None:
    rng = np.random.default_rng(2)
    times = [float(t) for t in np.cumsum(rng.uniform(0.03, 0.2, size=40))]
    (v,) = drive(rule(), {1: ("motorbike", along(CARS_Y))}, times)
    first_t = times[0]
    assert v.measurements["time_in_lane_s"] >= 1.0
    assert v.offence_t == min(t for t in times if t - first_t >= 1.0)


def test_lanes_parameter_limits_the_lanes_checked() -> None:
    only_mixed = rule(lanes=["mixed"])
    assert drive(only_mixed, {1: ("motorbike", along(CARS_Y))}, frames(6)) == []
    assert len(drive(only_mixed, {1: ("bus", along(MIXED_Y))}, frames(6))) == 1


def test_classes_and_young_tracks_are_honoured() -> None:
    assert drive(rule(classes=["bus"]), {1: ("motorbike", along(CARS_Y))}, frames(6)) == []
    (v,) = drive(rule(min_track_frames=20), {1: ("motorbike", along(CARS_Y))}, frames(6))
    assert v.offence_t == pytest.approx(1.9)


def test_min_duration_zero_flags_the_first_sighting() -> None:
    (v,) = drive(
        rule(min_duration_s=0.0, min_track_frames=1), {1: ("motorbike", along(CARS_Y))}, frames(3)
    )
    assert v.offence_t == pytest.approx(0.0)


def test_before_key_frame_is_at_most_four_seconds_old() -> None:
    (v,) = drive(
        rule(min_duration_s=6.0), {1: ("motorbike", along(CARS_Y, speed=100.0))}, frames(9)
    )
    assert v.offence_t == pytest.approx(6.0)
    assert v.before.t == pytest.approx(2.0)


def test_needs_lanes() -> None:
    with pytest.raises(ValueError, match="lanes"):
        RestrictedLane(RestrictedLaneRule(), SceneGeometry(Scene()))


def test_one_vehicle_boxed_twice_is_reported_once() -> None:
    """The detector boxes a motorbike as `motorbike` and as `bicycle`: one vehicle."""
    lane = along(CARS_Y)

    def beside(t: float) -> tuple[float, float] | None:
        anchor = lane(t)
        return None if anchor is None else (anchor[0] + 5.0, anchor[1])

    found = drive(rule(), {1: ("motorbike", lane), 2: ("bicycle", beside)}, frames(6))
    assert len(found) == 1
