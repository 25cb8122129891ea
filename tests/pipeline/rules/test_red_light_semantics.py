"""red_light on hand-made tracks: the front decides, only the approach is judged, and a
vehicle over the line when red begins entered lawfully."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
import pytest

from pipeline.config import Lane, RedLightRule, Scene, SignalHead, StopLine
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.red_light import RedLight
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory
from pipeline.signals.image import Phase, SignalState

IMAGE = np.zeros((8, 8, 3), np.uint8)
HEAD = SignalHead(id="main", region=(0, 0, 10, 10))
SCENE = Scene(
    stop_line=StopLine(points=((100, 400), (1100, 400)), junction_side=(600, 100)),
    signal_heads=[HEAD],
)
# One approach lane driving up the image over the line at y=400.
APPROACH = Lane(
    id="north",
    polygon=[(100, 400), (1100, 400), (1100, 700), (100, 700)],
    directions=[((600, 650), (600, 420))],
)
Signal = SignalState | Callable[[float], SignalState]
Position = tuple[float, float] | None
"""A box's bottom centre (x, y) on one frame; None: not seen."""


def drive(
    rule: RedLight,
    paths: Mapping[int, Sequence[Position]],
    signal: Signal,
    *,
    size: tuple[float, float] = (100.0, 120.0),
    vehicle_class: str = "car",
    fps: float = 10.0,
) -> list[ViolationCandidate]:
    """Move each track's box (`size` = width, height) through its bottom centres."""
    history = TrackHistory()
    width, height = size
    found = []
    for i in range(max(len(p) for p in paths.values())):
        t = i / fps
        live = {tid: path[i] for tid, path in paths.items() if i < len(path) and path[i]}
        seen = history.update(
            seq=i,
            t=t,
            wall_time=datetime.now(UTC),
            track_ids=list(live),
            boxes=[(x - width / 2, y - height, x + width / 2, y) for x, y in live.values()],  # type: ignore[misc]
            classes=[vehicle_class] * len(live),
        )
        state = signal(t) if callable(signal) else signal
        found.extend(rule.check(FrameContext("cam", i, t, IMAGE, seen, {"main": state})))
    return found


def up(ys: Sequence[float], x: float = 600.0) -> list[Position]:
    return [(x, y) for y in ys]


def red_from(onset: float) -> Callable[[float], SignalState]:
    """Amber until `onset`, red from then on (read at once)."""
    return lambda t: SignalState(Phase.RED, onset) if t >= onset else SignalState(Phase.AMBER, 0)


# A car box 120 px tall driving up 20 px a frame: its front (0.3 box heights = 36 px
# ahead of the box bottom) meets y=400 at t=0.42 s; its box bottom (the rear) at 0.6 s.
AWAY = [520, 500, 480, 460, 440, 420, 400, 380, 360, 340]


def test_front_crossing_on_red_is_flagged_at_the_fronts_time_not_the_rears() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE))
    (v,) = drive(rule, {1: up(AWAY)}, red_from(0.3))
    assert v.offence_t == pytest.approx(0.42)
    assert v.measurements["crossing_edge"] == "front"
    assert v.measurements["time_into_red_s"] == pytest.approx(0.12)


def test_front_over_the_line_before_red_is_not_flagged_when_the_rear_crosses_on_red() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE))
    # Red begins at 0.5 s: after the front crossed (0.42 s), before the rear (0.6 s).
    assert drive(rule, {1: up(AWAY)}, red_from(0.5)) == []


def test_toward_the_camera_the_box_bottom_is_the_front() -> None:
    scene = SCENE.model_copy(
        update={"stop_line": StopLine(points=((100, 400), (1100, 400)), junction_side=(600, 600))}
    )
    rule = RedLight(RedLightRule(), SceneGeometry(scene))
    (v,) = drive(rule, {1: up([340, 360, 380, 395, 405, 420, 440])}, red_from(0.0))
    assert v.offence_t == pytest.approx(0.35)
    assert v.measurements["crossing_edge"] == "box bottom"


def test_vehicle_straddling_the_line_at_red_onset_is_not_flagged() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE))
    # Entered on amber and stopped with its front 6 px over the line (bottom at 430);
    # its box jitters, the front reading 2 px short of the line on some frames (the
    # red onset's among them), and it drives on while still red.
    stand = [430, 430, 433, 430, 438, 430, 438, 430, 430, 430]
    path = up([500, 480, 460, 445, *stand, 420, 400, 380, 360])
    assert drive(rule, {1: path}, red_from(0.8)) == []
    # The same path with red already on before it reached the line is flagged.
    assert len(drive(RedLight(RedLightRule(), SceneGeometry(SCENE)), {1: path}, red_from(0.0))) == 1


def test_red_read_late_and_dated_back_still_judges_crossings_before_it_was_read() -> None:
    def late(t: float) -> SignalState:
        # The reader confirms red only at 0.9 s, dating its onset back to 0.3 s.
        return SignalState(Phase.RED, 0.3) if t >= 0.9 else SignalState(Phase.AMBER, 0.0)

    (v,) = drive(RedLight(RedLightRule(), SceneGeometry(SCENE)), {1: up(AWAY)}, late)
    assert v.offence_t == pytest.approx(0.42)
    assert v.measurements["red_onset_stream_s"] == pytest.approx(0.3)

    # Red dated back to after the front crossed: the car entered on amber.
    def later(t: float) -> SignalState:
        return SignalState(Phase.RED, 0.5) if t >= 0.9 else SignalState(Phase.AMBER, 0.0)

    assert drive(RedLight(RedLightRule(), SceneGeometry(SCENE)), {1: up(AWAY)}, later) == []


def test_cross_traffic_whose_box_bottom_passes_the_lines_extension_is_not_flagged() -> None:
    # In perspective the stop line slants; a car driving across the junction (to the
    # right, along y=412) passes its extension near x=900.
    line = StopLine(points=((100, 380), (700, 404)), junction_side=(400, 100))
    cross = [(float(x), 412.0) for x in range(500, 1300, 40)]
    without_lanes = Scene(stop_line=line, signal_heads=[HEAD])
    lane = APPROACH.model_copy(
        update={"polygon": [(100, 380), (1200, 424), (1200, 700), (100, 700)]}
    )
    with_lanes = without_lanes.model_copy(update={"lanes": [lane]})
    for scene in (without_lanes, with_lanes):
        rule = RedLight(RedLightRule(), SceneGeometry(scene))
        assert drive(rule, {1: cross}, red_from(0.0), size=(120, 90)) == []
        # A car coming up the approach over the same line is flagged.
        rule = RedLight(RedLightRule(), SceneGeometry(scene))
        assert len(drive(rule, {2: up(AWAY, x=400)}, red_from(0.0))) == 1


def test_path_across_the_approach_lane_is_not_judged_even_inside_it() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE.model_copy(update={"lanes": [APPROACH]})))
    # Diagonal at ~63 degrees off the lane's arrow: more than the default 50.
    diagonal = [(400.0 + 40 * i, 470.0 - 20 * i) for i in range(8)]
    assert drive(rule, {1: diagonal}, red_from(0.0), size=(100, 50)) == []
    lenient = RedLight(
        RedLightRule(approach_max_angle_deg=70),
        SceneGeometry(SCENE.model_copy(update={"lanes": [APPROACH]})),
    )
    assert len(drive(lenient, {1: diagonal}, red_from(0.0), size=(100, 50))) == 1


def test_a_rider_in_the_approach_lane_turning_as_he_crosses_is_judged() -> None:
    # The lane's painted arrow leans right in perspective (27 degrees off the line's
    # normal); a rider veering left over the line (27 degrees the other way, 53 off
    # the arrow) still comes from the approach, heading across the line.
    lane = APPROACH.model_copy(update={"directions": [((400, 650), (600, 250))]})
    scene = SCENE.model_copy(update={"lanes": [lane]})
    veering = [(700.0 - 10 * i, 520.0 - 20 * i) for i in range(10)]
    (v,) = drive(RedLight(RedLightRule(), SceneGeometry(scene)), {1: veering}, red_from(0.0))
    assert v.measurements["lane"] == "north"
    assert v.measurements["approach_direction"] == "the stop line's normal"
    assert v.measurements["path_off_direction_deg"] == pytest.approx(26.6, abs=0.1)


def test_evidence_names_the_lane_and_direction_the_offender_came_from() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE.model_copy(update={"lanes": [APPROACH]})))
    (v,) = drive(rule, {1: up(AWAY)}, red_from(0.0))
    assert v.measurements["lane"] == "north"
    assert v.measurements["approach_direction"] == "lane north arrow (600,650)->(600,420)"
    assert v.measurements["approach_direction_deg"] == pytest.approx(90.0)
    assert v.measurements["path_off_direction_deg"] == pytest.approx(0.0)
    assert "coming along lane north" in v.explanation
    # Without lanes the approach is the stop line's normal.
    (w,) = drive(RedLight(RedLightRule(), SceneGeometry(SCENE)), {1: up(AWAY)}, red_from(0.0))
    assert w.measurements["lane"] is None
    assert w.measurements["approach_direction"] == "the stop line's normal"


def test_track_lost_just_after_its_front_crossed_is_flagged_once_under_its_first_id() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE))
    # Track 1's front is 4 px over the line when the tracker loses it (too little to
    # count yet); the vehicle comes back as track 2 already well past the line.
    first = up([520, 500, 480, 460, 440, 432])
    second: list[Position] = [*([None] * 7), *up([400, 380, 360, 340])]
    (v,) = drive(rule, {1: first, 2: second}, red_from(0.0))
    assert v.track_id == 1
    assert v.offence_t == pytest.approx(0.45)


def test_a_motorbike_is_judged_by_its_box_bottom_by_default() -> None:
    rule = RedLight(RedLightRule(), SceneGeometry(SCENE))
    (v,) = drive(rule, {1: up(AWAY)}, red_from(0.0), vehicle_class="motorbike")
    assert v.offence_t == pytest.approx(0.6)
    assert v.measurements["crossing_edge"] == "box bottom"


def test_front_offset_names_only_vehicle_classes() -> None:
    with pytest.raises(ValueError, match="front_offset: unknown class 'tank'"):
        RedLightRule(front_offset={"tank": 0.3})
