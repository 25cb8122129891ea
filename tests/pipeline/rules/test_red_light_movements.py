"""red_light per movement on hand-made tracks: a crossing vehicle is followed until its
movement is known and judged against the head controlling that movement when it crossed
(a green right arrow under a red ball, a red left arrow beside a green ball, U-turns),
right turn on red where signed, and the policy for tracks whose movement stays unknown."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.config import (
    Approach,
    Lane,
    MovementExit,
    RedLightRule,
    Scene,
    SignalHead,
    StopLine,
)
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.red_light import RedLight
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory
from pipeline.signals.image import Phase, SignalState

IMAGE = np.zeros((8, 8, 3), np.uint8)
LINE = StopLine(points=((100, 400), (1100, 400)), junction_side=(600, 100))
# Exits beyond the line at y=400: right turners reach x > 1000, left turners x < 200,
# straight traffic heads up the image, U-turners come back down it.
EXITS = {
    "straight": MovementExit(direction=((600, 380), (600, 100))),
    "left": MovementExit(region=[(0, 0), (200, 0), (200, 395), (0, 395)]),
    "right": MovementExit(region=[(1000, 0), (1200, 0), (1200, 395), (1000, 395)]),
    "u_turn": MovementExit(direction=((300, 380), (300, 700))),
}
BALL = SignalHead(id="ball", region=(0, 0, 10, 30))
RIGHT_ARROW = SignalHead(id="right_arrow", region=(0, 40, 10, 50), kind="arrow", arrow="right")
LEFT_ARROW = SignalHead(id="left_arrow", region=(20, 40, 30, 50), kind="arrow", arrow="left")
LANE = Lane(
    id="approach",
    polygon=[(100, 400), (1100, 400), (1100, 800), (100, 800)],
    directions=[((600, 750), (600, 420))],
)
States = Mapping[str, SignalState]
Position = tuple[float, float] | None

RED = SignalState(Phase.RED, -5.0)
GREEN = SignalState(Phase.GREEN, -5.0)


def scene(
    heads: Sequence[SignalHead] = (BALL, RIGHT_ARROW),
    *,
    right_turn_on_red: str = "banned",
    lane_movements: Sequence[str] = (),
) -> Scene:
    return Scene(
        stop_line=LINE,
        signal_heads=list(heads),
        lanes=[LANE.model_copy(update={"movements": list(lane_movements)})],
        approach=Approach(movements=EXITS, right_turn_on_red=right_turn_on_red),  # type: ignore[arg-type]
    )


def drive(
    rule: RedLight,
    paths: Mapping[int, Sequence[Position]],
    signals: States | Callable[[float], States],
    *,
    size: tuple[float, float] = (60.0, 80.0),
    fps: float = 10.0,
    extra_frames: int = 40,
) -> list[tuple[float, ViolationCandidate]]:
    """Move each motorbike's box through its bottom centres; (emitted at, finding)."""
    history = TrackHistory()
    width, height = size
    found: list[tuple[float, ViolationCandidate]] = []
    for i in range(max(len(p) for p in paths.values()) + extra_frames):
        t = i / fps
        live = {tid: path[i] for tid, path in paths.items() if i < len(path) and path[i]}
        seen = history.update(
            seq=i,
            t=t,
            wall_time=datetime.now(UTC),
            track_ids=list(live),
            boxes=[(x - width / 2, y - height, x + width / 2, y) for x, y in live.values()],  # type: ignore[misc]
            classes=["motorbike"] * len(live),
        )
        states = signals(t) if callable(signals) else signals
        ctx = FrameContext("cam", i, t, IMAGE, seen, dict(states))
        found.extend((t, c) for c in rule.check(ctx))
    return found


def rule_for(scene_: Scene, **config: Any) -> RedLight:
    return RedLight(RedLightRule(signal_head="ball", **config), SceneGeometry(scene_))


def approach_up(x: float, stop_short: int = 0) -> list[Position]:
    """Up the lane at 20 px a frame from y=600 to y=420 (just behind the line)."""
    path: list[Position] = [(x, float(y)) for y in range(600, 419, -20)]
    return path + [path[-1]] * stop_short


STRAIGHT = approach_up(600) + [(600.0, float(y)) for y in range(400, 0, -25)]
# Crosses at x=900, then bends right along the line into the right exit.
RIGHT_TURN = approach_up(900) + [
    (905.0, 395.0),
    (915.0, 380.0),
    (935.0, 370.0),
    (965.0, 365.0),
    (1000.0, 362.0),
    (1040.0, 360.0),
    (1080.0, 360.0),
]
LEFT_TURN = approach_up(400) + [
    (395.0, 395.0),
    (385.0, 380.0),
    (360.0, 370.0),
    (320.0, 365.0),
    (270.0, 362.0),
    (220.0, 360.0),
    (180.0, 360.0),
]
U_TURN = approach_up(400) + [
    (395.0, 395.0),
    (380.0, 380.0),
    (350.0, 372.0),
    (320.0, 380.0),
    (305.0, 410.0),
    (300.0, 450.0),
    (298.0, 500.0),
    (296.0, 550.0),
    (295.0, 600.0),
    (294.0, 650.0),
    (293.0, 700.0),
    (292.0, 750.0),
]


def test_green_right_arrow_under_a_red_ball_lets_right_turners_go_and_flags_straight() -> None:
    rule = rule_for(scene())
    found = drive(rule, {1: RIGHT_TURN, 2: STRAIGHT}, {"ball": RED, "right_arrow": GREEN})
    assert [c.track_id for _, c in found] == [2]
    emitted, finding = found[0]
    m = finding.measurements
    assert m["movement"] == "straight"
    assert m["movement_decided_by"] == "heading"
    assert m["signal_head"] == "ball"
    assert m["signal_phases_at_crossing"] == {
        "ball": {"phase": "red", "since_stream_s": -5.0},
        "right_arrow": {"phase": "green", "since_stream_s": -5.0},
    }
    # Emitted once the heading is known, but dated and framed at the crossing.
    assert finding.offence_t == pytest.approx(1.0, abs=0.06)
    assert emitted > finding.offence_t + 0.2
    assert finding.after.t == pytest.approx(1.0, abs=0.11)
    assert finding.before.t < finding.offence_t


def test_a_turner_heading_straight_on_at_first_is_not_judged_straight_mid_turn() -> None:
    # Up 100 px past the line (more than a box height), then a bend right into the exit.
    late = approach_up(900) + [(900.0, float(y)) for y in range(395, 290, -21)]
    late += [(915.0, 285.0), (940.0, 282.0), (970.0, 280.0), (1010.0, 280.0), (1050.0, 280.0)]
    rule = rule_for(scene())
    assert drive(rule, {1: late}, {"ball": RED, "right_arrow": GREEN}) == []


def test_a_right_turn_under_a_red_ball_is_flagged_once_the_arrow_is_dark() -> None:
    rule = rule_for(scene())
    found = drive(rule, {1: RIGHT_TURN}, {"ball": RED})
    assert len(found) == 1
    # Every movement was red (the ball controls them all): judged without waiting.
    assert found[0][1].measurements["movement_decided_by"] == "lane"
    assert found[0][1].measurements["signal_phases_at_crossing"]["right_arrow"] == {
        "phase": "unknown",
        "since_stream_s": None,
    }


def test_a_ball_that_controls_only_straight_left_u_turn_leaves_right_to_the_arrow() -> None:
    ball = BALL.model_copy(update={"movements": ["straight", "left", "u_turn"]})
    rule = rule_for(scene((ball, RIGHT_ARROW)))
    # The arrow is dark (no state): right is controlled by nothing showing red.
    assert drive(rule, {1: RIGHT_TURN}, {"ball": RED}) == []


def test_left_arrow_phase_red_arrow_beside_green_ball_flags_left_turners_only() -> None:
    heads = (BALL, LEFT_ARROW)
    left_red = {"ball": GREEN, "left_arrow": RED}
    found = drive(rule_for(scene(heads)), {1: LEFT_TURN, 2: STRAIGHT}, left_red)
    assert [c.track_id for _, c in found] == [1]
    m = found[0][1].measurements
    assert (m["movement"], m["signal_head"]) == ("left", "left_arrow")
    # The protected left phase: left arrow green, ball red.
    left_green = {"ball": RED, "left_arrow": GREEN}
    found = drive(rule_for(scene(heads)), {1: LEFT_TURN, 2: STRAIGHT}, left_green)
    assert [c.track_id for _, c in found] == [2]


def test_a_u_turn_on_red_is_flagged_as_a_u_turn() -> None:
    rule = rule_for(scene())
    found = drive(rule, {1: U_TURN}, {"ball": RED, "right_arrow": GREEN})
    assert len(found) == 1
    assert found[0][1].measurements["movement"] == "u_turn"


def test_unknown_movement_when_the_track_ends_follows_the_policy_and_says_so() -> None:
    lost = approach_up(900) + [(902.0, 395.0), (904.0, 388.0), (906.0, 381.0)]
    signals = {"ball": RED, "right_arrow": GREEN}
    found = drive(rule_for(scene()), {1: lost}, signals)
    assert len(found) == 1
    m = found[0][1].measurements
    assert m["movement"] is None
    assert m["movement_decided_by"] == "unknown_movement_flag"
    assert m["unknown_movement_policy"] == "flag"
    assert "unknown" in found[0][1].explanation
    assert drive(rule_for(scene(), unknown_movement="hold"), {1: lost}, signals) == []


def test_a_lane_whose_every_movement_shows_red_is_judged_at_the_crossing() -> None:
    rule = rule_for(scene(lane_movements=("straight", "left")))
    lost = approach_up(600) + [(600.0, 395.0), (600.0, 385.0), (600.0, 375.0)]
    found = drive(rule, {1: lost}, {"ball": RED, "right_arrow": GREEN})
    assert len(found) == 1
    emitted, finding = found[0]
    assert finding.measurements["movement_decided_by"] == "lane"
    assert finding.measurements["movements_possible"] == ["straight", "left"]
    assert emitted <= finding.offence_t + 0.2


@pytest.mark.parametrize(
    ("sign", "stops", "flagged"),
    [
        ("banned", True, True),
        ("allowed", False, False),
        ("after_stop", True, False),
        ("after_stop", False, True),
    ],
)
def test_right_turn_on_red_where_signed(sign: str, stops: bool, flagged: bool) -> None:
    ball = BALL.model_copy(update={"movements": ["straight", "left", "right", "u_turn"]})
    rule = rule_for(scene((ball,), right_turn_on_red=sign))
    path = approach_up(900, stop_short=15 if stops else 0) + RIGHT_TURN[10:]
    found = drive(rule, {1: path}, {"ball": RED})
    assert bool(found) is flagged
    if found:
        assert "right" in found[0][1].measurements["movement_verdicts"]["right"]


def test_without_movements_every_crossing_is_straight_and_judged_at_once() -> None:
    old = Scene(stop_line=LINE, signal_heads=[BALL], lanes=[LANE])
    rule = RedLight(RedLightRule(), SceneGeometry(old))
    found = drive(rule, {1: RIGHT_TURN}, {"ball": RED})
    assert len(found) == 1
    emitted, finding = found[0]
    assert "movement" not in finding.measurements
    assert emitted <= finding.offence_t + 0.2


def test_validation_names_what_is_missing_or_contradictory() -> None:
    with pytest.raises(ValidationError, match=r"\['right'\] are controlled by no signal head"):
        scene((BALL.model_copy(update={"movements": ["straight", "left", "u_turn"]}),))
    with pytest.raises(ValidationError, match="lane 'approach' names movements"):
        Scene(
            stop_line=LINE,
            signal_heads=[BALL],
            lanes=[LANE.model_copy(update={"movements": ["straight", "left"]})],
            approach=Approach(movements={"straight": EXITS["straight"]}),
        )
    with pytest.raises(ValidationError, match="signal head 'right_arrow' names movements"):
        Scene(
            stop_line=LINE,
            signal_heads=[BALL, RIGHT_ARROW],
            approach=Approach(movements={"straight": EXITS["straight"]}),
        )
    with pytest.raises(ValidationError, match="defines no exits"):
        Scene(stop_line=LINE, signal_heads=[BALL, RIGHT_ARROW])
    with pytest.raises(ValidationError, match="kind arrow needs `arrow`"):
        SignalHead(id="a", region=(0, 0, 10, 10), kind="arrow")
    with pytest.raises(ValidationError, match="exit region, an exit direction"):
        MovementExit()
    # An old scene (heads with lanes, no movements) is as valid as before.
    Scene(
        stop_line=LINE, signal_heads=[BALL.model_copy(update={"lanes": ["approach"]})], lanes=[LANE]
    )


def test_the_stream_ending_before_the_movement_is_known_follows_the_policy() -> None:
    short = approach_up(900) + [(902.0, 395.0), (904.0, 388.0), (906.0, 381.0)]
    signals = {"ball": RED, "right_arrow": GREEN}
    rule = rule_for(scene())
    assert drive(rule, {1: short}, signals, extra_frames=0) == []
    found = rule.finish()
    assert len(found) == 1
    assert found[0].measurements["movement_decided_by"] == "unknown_movement_flag"
    assert found[0].offence_t == pytest.approx(1.0, abs=0.06)
    held = rule_for(scene(), unknown_movement="hold")
    assert drive(held, {1: short}, signals, extra_frames=0) == []
    assert held.finish() == []
