"""The wrong_way rule on hand-made tracks: sustained motion against the lane."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from pipeline.config import Lane, Scene, WrongWayRule
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.wrong_way import WrongWay
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory

# The generated scenes' layout: two lanes seen from the side, both driving left to
# right; anchors of the near lane at y = 662, of the far lane at y = 462.
NEAR_Y, FAR_Y = 662.0, 462.0
LANES = [
    Lane(
        id="far",
        polygon=[(0, 300), (1280, 300), (1280, 542), (0, 542)],
        directions=[((100, 462), (1180, 462))],
    ),
    Lane(
        id="near",
        polygon=[(0, 542), (1280, 542), (1280, 690), (0, 690)],
        directions=[((100, 662), (1180, 662))],
    ),
]
GEOMETRY = SceneGeometry(Scene(lanes=LANES))
IMAGE = np.zeros((8, 8, 3), np.uint8)
FPS = 10.0

Anchor = tuple[float, float] | None


def drive(
    rule: WrongWay,
    tracks: dict[int, list[Anchor]],
    *,
    times: list[float] | None = None,
    classes: dict[int, str] | None = None,
    width: float = 200.0,
) -> list[ViolationCandidate]:
    """Put each track's anchor at the given (x, y), one per frame (None: not seen)."""
    history = TrackHistory()
    found = []
    frames = max(len(anchors) for anchors in tracks.values())
    for i in range(frames):
        t = times[i] if times is not None else i / FPS
        live = {tid: a for tid, anchors in tracks.items() if i < len(anchors) and (a := anchors[i])}
        seen = history.update(
            seq=i,
            t=t,
            wall_time=datetime.now(UTC),
            track_ids=list(live),
            boxes=[(x - width / 2, y - 120, x + width / 2, y) for x, y in live.values()],
            classes=[(classes or {}).get(tid, "car") for tid in live],
        )
        found.extend(rule.check(FrameContext("cam", i, t, IMAGE, seen, {})))
    return found


def along(xs: list[float] | np.ndarray, y: float = NEAR_Y) -> list[Anchor]:
    return [(float(x), y) for x in xs]


def cruise(x0: float, speed: float, frames: int, y: float = NEAR_Y) -> list[Anchor]:
    """Constant speed in px/s from `x0` (negative: right to left)."""
    return along([x0 + speed * i / FPS for i in range(frames)], y)


def rule(**params: object) -> WrongWay:
    return WrongWay(WrongWayRule.model_validate(params), GEOMETRY)


def test_car_driving_right_to_left_is_flagged_once() -> None:
    (v,) = drive(rule(), {1: cruise(1100, -200, 50)})
    # 120 px take 0.6 s at 200 px/s; 1.5 s is the longer of the two.
    assert v.offence_t == pytest.approx(1.5)
    assert v.before.t == 0.0 and v.after.t == pytest.approx(1.5)
    m = v.measurements
    assert m["lane"] == "near"
    assert m["direction_angle_deg"] == pytest.approx(180.0)
    assert m["distance_px"] == pytest.approx(300.0)
    assert m["duration_s"] == pytest.approx(1.5)
    assert "against lane 'near'" in v.explanation


def test_slow_vehicle_must_cover_the_distance_too() -> None:
    (v,) = drive(rule(), {1: cruise(1100, -50, 60)})
    assert v.offence_t == pytest.approx(2.4)  # 120 px at 50 px/s


def test_thresholds_are_parameters() -> None:
    (v,) = drive(rule(min_distance_px=400, min_duration_s=0.5), {1: cruise(1100, -200, 50)})
    assert v.offence_t == pytest.approx(2.0)


def test_motorbike_in_the_far_lane_with_a_jittering_box() -> None:
    rng = np.random.default_rng(1)
    xs = 1100 - 250 * np.arange(40) / FPS + rng.uniform(-10, 10, 40)
    (v,) = drive(rule(), {1: along(xs, FAR_Y)}, classes={1: "motorbike"})
    assert v.vehicle_class == "motorbike" and v.measurements["lane"] == "far"
    assert 1.5 <= v.offence_t <= 1.7


def test_traffic_the_right_way_is_not_flagged() -> None:
    assert drive(rule(), {1: cruise(100, 250, 45), 2: cruise(150, 80, 45, FAR_Y)}) == []


def test_jitter_of_a_stopped_vehicle_is_not_flagged() -> None:
    rng = np.random.default_rng(2)
    xs = 700 + rng.uniform(-12, 12, 150)
    assert drive(rule(), {1: along(xs)}) == []


def test_rolling_back_a_metre_is_not_flagged() -> None:
    forward = [300 + 20 * i for i in range(20)]  # to 680
    rolling = [680 - 4 * i for i in range(1, 16)]  # back 60 px over 1.5 s
    waiting = [620.0] * 20
    onward = [620 + 20 * i for i in range(1, 25)]
    assert drive(rule(), {1: along([*forward, *rolling, *waiting, *onward])}) == []


def test_u_turn_first_metres_then_out_of_the_lane_is_not_flagged() -> None:
    # Against the lane for 80 px over a second, then turning up and out of it.
    against = [(900 - 8 * i, NEAR_Y) for i in range(10)]
    turning = [(820 - 3 * i, NEAR_Y - 25 * i) for i in range(1, 16)]
    assert drive(rule(), {1: [*against, *turning]}) == []


def test_u_turn_after_waiting_is_not_flagged_for_the_wait() -> None:
    # Waits 3 s at the kerb, then turns: 110 px against the lane in 0.9 s, then up
    # and out of the lane. The wait is not driving against the lane.
    waiting = along([900.0] * 30)
    against = cruise(900, -120, 10)
    turning = [(792 - 3 * i, NEAR_Y - 25 * i) for i in range(1, 16)]
    assert drive(rule(), {1: [*waiting, *against, *turning]}) == []


def test_setting_off_the_wrong_way_after_waiting_is_timed_from_setting_off() -> None:
    (v,) = drive(rule(), {1: [*along([900.0] * 30), *cruise(900, -200, 30)]})
    assert v.measurements["run_start_stream_s"] == pytest.approx(3.0)
    assert v.offence_t == pytest.approx(4.5)


def test_reversing_far_after_driving_forward_is_flagged() -> None:
    forward = cruise(300, 200, 20)  # to 680
    back = cruise(680, -200, 30)[1:]
    (v,) = drive(rule(), {1: [*forward, *back]})
    assert v.measurements["run_start_stream_s"] == pytest.approx(1.9)
    assert v.offence_t == pytest.approx(3.4)


def test_u_turn_first_metres_then_with_the_flow_is_not_flagged() -> None:
    against = cruise(900, -90, 12)  # ~100 px, 1.1 s
    halt = along([792.0] * 5)
    away = cruise(792, 150, 30)
    assert drive(rule(), {1: [*against, *halt, *away]}) == []


def test_back_and_forth_never_sustains_a_run() -> None:
    xs = [700 + 80 * np.sin(i / 3) for i in range(150)]  # 160 px swings, ~1.9 s period
    assert drive(rule(), {1: along(xs)}) == []


def test_occlusion_gap_does_not_restart_the_run() -> None:
    anchors = cruise(1100, -100, 40)
    anchors[5:10] = [None] * 5  # half a second unseen
    (v,) = drive(rule(), {1: anchors})
    assert v.offence_t == pytest.approx(1.5) and v.measurements["run_start_stream_s"] == 0.0


def test_gap_longer_than_allowed_restarts_the_run() -> None:
    anchors = cruise(1100, -100, 50)
    anchors[5:20] = [None] * 15  # 1.5 s unseen, max_gap_s is 1
    (v,) = drive(rule(), {1: anchors})
    assert v.measurements["run_start_stream_s"] == pytest.approx(2.0)
    assert v.offence_t == pytest.approx(3.5)


def test_id_switch_after_flagging_does_not_flag_again() -> None:
    first = [*cruise(1100, -200, 25), *([None] * 35)]
    second = [*([None] * 28), *cruise(1100 - 200 * 2.8, -200, 32)]
    found = drive(rule(), {1: first, 2: second})
    assert [v.track_id for v in found] == [1]


def test_a_second_box_on_part_of_the_vehicle_is_not_a_second_vehicle() -> None:
    # The detector also boxes the body of a motorbike, inside the box of the whole bike,
    # and the tracker follows both.
    whole = cruise(1100, -200, 40, FAR_Y)
    part = [None, *((x + 15, y - 16) for x, y in cruise(1100, -200, 39, FAR_Y))]
    found = drive(rule(), {1: whole, 2: part}, classes={1: "motorbike", 2: "motorbike"})
    assert [v.track_id for v in found] == [1]


def test_another_wrong_way_vehicle_after_the_first_is_flagged_too() -> None:
    first = [*cruise(1100, -200, 25), *([None] * 35)]
    other = [*([None] * 28), *cruise(1100, -200, 32, FAR_Y)]
    found = drive(rule(), {1: first, 2: other})
    assert [v.track_id for v in found] == [1, 2]


def test_uneven_frame_spacing() -> None:
    times = [round(0.2 * i + (0.04 if i % 2 else 0.0), 2) for i in range(30)]
    anchors = along([1100 - 150 * t for t in times])
    (v,) = drive(rule(), {1: anchors}, times=times)
    assert v.offence_t == pytest.approx(1.6)  # first sighting 1.5 s or more after t = 0
    assert v.measurements["duration_s"] == pytest.approx(1.6)


def test_only_the_configured_lanes_are_checked() -> None:
    checker = rule(lanes=["far"])
    assert drive(checker, {1: cruise(1100, -200, 40)}) == []
    assert len(drive(checker, {2: cruise(1100, -200, 40, FAR_Y)})) == 1


def test_a_lane_that_also_turns_allows_both_ways() -> None:
    turning = Lane(
        id="turn",
        polygon=[(0, 300), (1280, 300), (1280, 720), (0, 720)],
        directions=[((100, 500), (1180, 500)), ((600, 320), (600, 700))],
    )
    checker = WrongWay(WrongWayRule(), SceneGeometry(Scene(lanes=[turning])))
    down = [(600.0, 320 + 25.0 * i) for i in range(16)]
    assert drive(checker, {1: down}) == []
    # Up the image is 90 degrees off the straight-on way: not against it.
    up = [(600.0, 700 - 25.0 * i) for i in range(16)]
    assert drive(checker, {2: up}) == []
    up_left = [(900 - 20.0 * i, 700 - 20.0 * i) for i in range(16)]
    (v,) = drive(checker, {3: up_left})
    assert v.measurements["direction_angle_deg"] == pytest.approx(135.0)


def test_young_tracks_and_other_classes_are_ignored() -> None:
    assert drive(rule(classes=["car"]), {1: cruise(1100, -200, 40)}, classes={1: "bus"}) == []
    (v,) = drive(rule(min_track_frames=20), {1: cruise(1100, -200, 40)})
    assert v.offence_t == pytest.approx(1.9)
