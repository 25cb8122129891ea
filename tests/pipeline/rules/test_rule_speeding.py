"""The speeding rule on hand-made tracks: smoothing, tolerance, jitter, gaps, id switches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import numpy as np
import pytest

from pipeline.config import Calibration, Lane, Scene, SpeedingRule, SpeedLimit
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.speeding import Speeding, estimate_speed
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory

# 0.1 m per pixel, flat: 1 km/h is 1/0.36 = 2.78 px/s.
CALIBRATION = Calibration(
    id="cal-7",
    date=date(2026, 3, 14),
    image_points=[(0, 0), (1000, 0), (1000, 500), (0, 500)],
    ground_points=[(0, 0), (100, 0), (100, 50), (0, 50)],
)
LANES = [
    Lane(
        id="car",
        polygon=[(0, 100), (1280, 100), (1280, 300), (0, 300)],
        directions=[((0, 200), (1280, 200))],
    ),
    Lane(
        id="mixed",
        polygon=[(0, 300), (1280, 300), (1280, 500), (0, 500)],
        directions=[((0, 400), (1280, 400))],
    ),
]
SCENE = Scene(
    lanes=LANES,
    calibration=CALIBRATION,
    speed_limits=[
        SpeedLimit(limit_kmh=50),
        SpeedLimit(limit_kmh=40, lanes=["mixed"], classes=["motorbike"]),
    ],
)
GEOMETRY = SceneGeometry(SCENE)
IMAGE = np.zeros((720, 1280, 3), np.uint8)
LANE_Y = {"car": 200.0, "mixed": 400.0}
PX_PER_KMH = 1 / 0.36  # pixels per second at 1 km/h, 0.1 m/px


def kmh(speed: float) -> float:
    """Pixel speed of `speed` km/h in this scene."""
    return speed * PX_PER_KMH


Position = Callable[[float], float | None]
"""Anchor x at stream time t, or None when the track is not seen then."""


def drive(
    rule: Speeding,
    tracks: dict[int, tuple[str, str, Position]],
    times: list[float],
) -> list[ViolationCandidate]:
    """Feed frames at `times`; each track is (class, lane, position over time)."""
    history = TrackHistory()
    found: list[ViolationCandidate] = []
    for seq, t in enumerate(times):
        ids, boxes, classes, grounds = [], [], [], []
        for track_id, (vehicle_class, lane, position) in tracks.items():
            x = position(t)
            if x is None:
                continue
            y = LANE_Y[lane]
            box = (x - 60.0, y - 80.0, x + 60.0, y)
            ids.append(track_id)
            boxes.append(box)
            classes.append(vehicle_class)
            grounds.append(GEOMETRY.to_ground((x, y)))
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=datetime(2026, 5, 4, 3, 0, tzinfo=UTC),
            track_ids=ids,
            boxes=boxes,
            classes=classes,
            grounds=grounds,
        )
        found.extend(rule.check(FrameContext("cam", seq, t, IMAGE, seen, {})))
    return found


def cruise(speed_kmh: float, x0: float = 100.0, t0: float = 0.0) -> Position:
    def position(t: float) -> float | None:
        x = x0 + kmh(speed_kmh) * (t - t0)
        return x if t >= t0 and 70.0 <= x <= 1200.0 else None

    return position


def frames(seconds: float, fps: float = 10.0) -> list[float]:
    return [i / fps for i in range(round(seconds * fps))]


def test_fast_car_is_flagged_once_with_speed_limit_and_calibration() -> None:
    rule = Speeding(SpeedingRule(), GEOMETRY)
    (v,) = drive(rule, {1: ("car", "car", cruise(80))}, frames(4))
    m = v.measurements
    assert m["speed_kmh"] == pytest.approx(80, abs=0.5)
    assert m["limit_kmh"] == 50 and m["threshold_kmh"] == 53
    assert m["lane"] == "car"
    assert m["calibration_id"] == "cal-7" and m["calibration_date"] == "2026-03-14"
    assert "80 km/h" in v.explanation and "50 km/h" in v.explanation
    # Key frames bound the measured window; the offence moment is its middle.
    assert v.before.t < v.offence_t < v.after.t
    assert v.after.t - v.before.t == pytest.approx(m["window_s"])
    assert m["window_s"] >= 0.75
    assert v.rule_type == "speeding" and v.rule_version == Speeding.version


def test_slow_car_is_not_flagged() -> None:
    rule = Speeding(SpeedingRule(), GEOMETRY)
    assert drive(rule, {1: ("car", "car", cruise(30))}, frames(6)) == []


@pytest.mark.parametrize(
    ("speed", "flagged"),
    [(50.0, False), (52.5, False), (53.6, True)],
    ids=["at-limit", "within-tolerance", "just-over"],
)
def test_tolerance_is_allowed(speed: float, flagged: bool) -> None:
    rule = Speeding(SpeedingRule(tolerance_kmh=3.0), GEOMETRY)
    found = drive(rule, {1: ("car", "car", cruise(speed, x0=80))}, frames(6))
    assert len(found) == (1 if flagged else 0)


def test_percentage_tolerance_adds_to_the_fixed_one() -> None:
    config = SpeedingRule(tolerance_kmh=2.0, tolerance_pct=10.0)
    rule = Speeding(config, GEOMETRY)
    assert rule.threshold_kmh(50) == pytest.approx(57.0)
    assert drive(rule, {1: ("car", "car", cruise(56, x0=80))}, frames(6)) == []
    assert (
        len(drive(Speeding(config, GEOMETRY), {1: ("car", "car", cruise(58, x0=80))}, frames(6)))
        == 1
    )


def test_limit_per_lane_and_class() -> None:
    # 45 km/h: over the 40 limit of motorbikes in the mixed lane, under everyone else's 50.
    tracks = {
        1: ("motorbike", "mixed", cruise(45, x0=80)),
        2: ("car", "mixed", cruise(45, x0=80, t0=3.0)),
        3: ("motorbike", "car", cruise(45, x0=80)),
    }
    found = drive(Speeding(SpeedingRule(), GEOMETRY), tracks, frames(8))
    assert [(v.track_id, v.measurements["limit_kmh"]) for v in found] == [(1, 40)]


def test_box_jitter_spikes_are_not_speeds() -> None:
    """A slow car whose box jumps 25 px every fourth frame: frame-to-frame it 'moves'
    at 90+ km/h now and then, the smoothed speed stays near its true 30."""
    rng = np.random.default_rng(3)

    def jittery(t: float) -> float:
        x = 100 + kmh(30) * t + rng.normal(0, 2.0)
        return x + (25.0 if round(t * 10) % 4 == 1 else 0.0)

    times = frames(8)
    assert (
        max(
            abs((jittery(b) - jittery(a)) / (b - a)) / PX_PER_KMH
            for a, b in zip(times, times[1:], strict=False)
        )
        > 90
    )
    rule = Speeding(SpeedingRule(), GEOMETRY)
    assert drive(rule, {1: ("car", "car", jittery)}, times) == []


def test_a_run_of_misplaced_boxes_is_not_a_speed() -> None:
    """Three consecutive boxes stretched 60 px ahead (merged with a passing vehicle),
    then clean again: the robust slope stays near the true 30 km/h."""

    def surge(t: float) -> float:
        return 100 + kmh(30) * t + (60.0 if 2.0 <= t < 2.3 else 0.0)

    rule = Speeding(SpeedingRule(min_frames_over=1), GEOMETRY)
    assert drive(rule, {1: ("car", "car", surge)}, frames(6)) == []


@pytest.mark.parametrize(("min_frames_over", "flagged"), [(3, False), (2, True)])
def test_speed_must_stay_over_for_min_frames_over(min_frames_over: int, flagged: bool) -> None:
    """Seen for 1 s only: its 0.75 s windows read fast on two frames, the 9th and 10th."""

    def brief(t: float) -> float | None:
        return 100 + kmh(80) * t if t < 0.95 else None

    rule = Speeding(SpeedingRule(min_frames_over=min_frames_over), GEOMETRY)
    assert len(drive(rule, {1: ("car", "car", brief)}, frames(3))) == (1 if flagged else 0)


@pytest.mark.parametrize("speed", [80.0, 30.0], ids=["fast", "slow"])
def test_occlusion_gap_keeps_the_true_speed(speed: float) -> None:
    """Unseen for 0.4 s mid-window: the sightings either side still give the speed."""
    moving = cruise(speed)

    def hidden(t: float) -> float | None:
        return None if 1.0 <= t < 1.4 else moving(t)

    found = drive(Speeding(SpeedingRule(), GEOMETRY), {1: ("car", "car", hidden)}, frames(5))
    if speed > 53:
        (v,) = found
        assert v.measurements["speed_kmh"] == pytest.approx(speed, abs=1.0)
    else:
        assert found == []


def test_uneven_timestamps_give_the_true_speed() -> None:
    """Frames 40-160 ms apart: speed comes from each sighting's own time."""
    rng = np.random.default_rng(11)
    times = list(np.cumsum(rng.uniform(0.04, 0.16, size=60)))
    (v,) = drive(Speeding(SpeedingRule(), GEOMETRY), {1: ("car", "car", cruise(70))}, times)
    assert v.measurements["speed_kmh"] == pytest.approx(70, abs=0.5)
    assert drive(Speeding(SpeedingRule(), GEOMETRY), {1: ("car", "car", cruise(45))}, times) == []


def test_tracker_id_switch_does_not_flag_the_vehicle_twice() -> None:
    moving = cruise(80, x0=80)

    def first(t: float) -> float | None:
        return moving(t) if t < 1.6 else None

    def second(t: float) -> float | None:
        return moving(t) if t >= 1.7 else None

    found = drive(
        Speeding(SpeedingRule(), GEOMETRY),
        {1: ("car", "car", first), 2: ("car", "car", second)},
        frames(4),
    )
    assert [v.track_id for v in found] == [1]


def test_two_fast_vehicles_side_by_side_are_two_offences() -> None:
    tracks = {1: ("car", "car", cruise(80)), 2: ("car", "mixed", cruise(82))}
    found = drive(Speeding(SpeedingRule(), GEOMETRY), tracks, frames(4))
    assert sorted(v.track_id for v in found) == [1, 2]


def test_a_vehicle_slowing_down_after_the_offence_is_reported_once() -> None:
    def brakes(t: float) -> float:
        return 100 + kmh(80) * min(t, 1.5) + kmh(20) * max(0.0, t - 1.5)

    found = drive(Speeding(SpeedingRule(), GEOMETRY), {1: ("car", "car", brakes)}, frames(8))
    assert len(found) == 1


def test_classes_and_young_tracks_are_honoured() -> None:
    buses_only = Speeding(SpeedingRule(classes=["bus"]), GEOMETRY)
    assert drive(buses_only, {1: ("car", "car", cruise(80))}, frames(4)) == []
    patient = Speeding(SpeedingRule(min_track_frames=50), GEOMETRY)
    assert drive(patient, {1: ("car", "car", cruise(80))}, frames(4)) == []


def test_boxes_cut_by_the_frame_edge_are_left_out() -> None:
    """Entering at the left edge, the box is cut: those sightings do not enter a window."""
    rule = Speeding(SpeedingRule(), GEOMETRY)
    (v,) = drive(rule, {1: ("car", "car", cruise(80, x0=20))}, frames(4))
    assert v.before.box[0] > 2


def test_no_limit_for_the_lane_means_no_offence() -> None:
    scene = SCENE.model_copy(update={"speed_limits": [SpeedLimit(limit_kmh=30, lanes=["mixed"])]})
    rule = Speeding(SpeedingRule(), SceneGeometry(scene))
    assert drive(rule, {1: ("car", "car", cruise(80))}, frames(4)) == []


def test_estimate_needs_enough_sightings() -> None:
    history = TrackHistory()
    for i in range(3):
        history.update(
            seq=i,
            t=i / 10,
            wall_time=datetime.now(UTC),
            track_ids=[1],
            boxes=[(0.0, 0.0, 10.0, 10.0)],
            classes=["car"],
            grounds=[(i * 1.0, 0.0)],
        )
    state = history.get(1)
    assert state is not None
    assert estimate_speed(list(state.points)) is None


def test_needs_a_calibration() -> None:
    with pytest.raises(ValueError, match="calibration"):
        Speeding(SpeedingRule(), SceneGeometry(Scene(lanes=LANES)))


def test_one_vehicle_boxed_twice_is_reported_once() -> None:
    """The detector boxes a pickup as `car` and as `truck`: two tracks, one vehicle."""
    moving = cruise(80)

    def beside(t: float) -> float | None:
        x = moving(t)
        return None if x is None else x + 4.0

    tracks = {1: ("car", "car", moving), 2: ("truck", "car", beside)}
    found = drive(Speeding(SpeedingRule(), GEOMETRY), tracks, frames(4))
    assert len(found) == 1


def test_long_window_keeps_the_before_key_frame_within_four_seconds() -> None:
    """A 6 s window: the speed uses all of it, the 'before' frame is one the pipeline keeps."""
    rule = Speeding(SpeedingRule(window_s=6.0), GEOMETRY)
    (v,) = drive(rule, {1: ("car", "car", cruise(60, x0=80))}, frames(12, fps=5.0))
    assert v.measurements["window_s"] >= 4.5
    assert v.after.t - v.before.t == pytest.approx(4.0)


def run_along_row(
    geometry: SceneGeometry, x0: float, y: float, speed_kmh: float, seconds: float = 3.0
) -> list[ViolationCandidate]:
    """One car from x0 along image row y; the image is wide enough for any x here."""
    rule, history = Speeding(SpeedingRule(), geometry), TrackHistory()
    image = np.zeros((720, 4000, 3), np.uint8)
    found: list[ViolationCandidate] = []
    for seq, t in enumerate(frames(seconds)):
        x = x0 + kmh(speed_kmh) * t
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=datetime(2026, 5, 4, tzinfo=UTC),
            track_ids=[1],
            boxes=[(x - 60.0, y - 80.0, x + 60.0, y)],
            classes=["car"],
            grounds=[geometry.to_ground((x, y))],
        )
        found.extend(rule.check(FrameContext("cam", seq, t, image, seen, {})))
    return found


def test_only_calibrated_ground_is_measured() -> None:
    """Calibrated over 100 x 50 m (image 1000 x 500 px): a quarter beyond it still
    counts, ground farther out is extrapolation and is not measured."""
    lane = Lane(
        id="long",
        polygon=[(0, 0), (4000, 0), (4000, 500), (0, 500)],
        directions=[((0, 200), (4000, 200))],
    )
    geometry = SceneGeometry(SCENE.model_copy(update={"lanes": [lane]}))
    assert Speeding(SpeedingRule(), geometry).calibrated_area == (-25.0, -12.5, 125.0, 62.5)
    assert len(run_along_row(geometry, 1000.0, 200.0, 80)) == 1  # from 100 m: measured
    assert run_along_row(geometry, 1300.0, 200.0, 80) == []  # from 130 m: beyond


def test_vehicles_outside_every_lane_are_not_measured() -> None:
    assert len(run_along_row(GEOMETRY, 100.0, 400.0, 80)) == 1  # in the mixed lane
    assert run_along_row(GEOMETRY, 100.0, 600.0, 80) == []  # below both lanes


def test_duplicate_whose_newest_usable_sighting_is_older_is_still_the_same_vehicle() -> None:
    """The duplicate box touches the frame edge on every other frame, so when both
    tracks are over the limit long enough (frame 0.9 s) its newest usable sighting is
    a frame older than the reported track's: still one vehicle."""
    moving = cruise(80, x0=300)
    rule = Speeding(SpeedingRule(min_frames_over=2), GEOMETRY)
    history = TrackHistory()
    found: list[ViolationCandidate] = []
    for seq, t in enumerate(frames(3)):
        x = moving(t)
        assert x is not None
        top = 0.0 if seq % 2 else 120.0  # cut by the top edge on odd frames
        seen = history.update(
            seq=seq,
            t=t,
            wall_time=datetime(2026, 5, 4, tzinfo=UTC),
            track_ids=[1, 2],
            boxes=[(x - 60.0, 120.0, x + 60.0, 200.0), (x - 50.0, top, x + 56.0, 200.0)],
            classes=["car", "truck"],
            grounds=[GEOMETRY.to_ground((x, 200.0)), GEOMETRY.to_ground((x + 3.0, 200.0))],
        )
        found.extend(rule.check(FrameContext("cam", seq, t, IMAGE, seen, {})))
    assert [(v.track_id, v.after.t) for v in found] == [(1, pytest.approx(0.9))]
