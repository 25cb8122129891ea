"""The stop_line rule on hand-made tracks: standing over the line or crossing on red."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest

from pipeline.config import Crosswalk, Lane, Scene, SignalHead, StopLine, StopLineRule
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.stop_line import StopLine as StopLineCheck
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackHistory
from pipeline.signals.image import Phase, SignalState

# Vehicles drive up the image (decreasing y) over a line at y = 400; the crossing lies
# just beyond it, 310-390.
SCENE = Scene(
    stop_line=StopLine(points=((100, 400), (1100, 400)), junction_side=(600, 100)),
    crosswalks=[Crosswalk(id="zebra", polygon=[(100, 310), (1100, 310), (1100, 390), (100, 390)])],
    signal_heads=[SignalHead(id="main", region=(0, 0, 10, 10))],
)
GEOMETRY = SceneGeometry(SCENE)
IMAGE = np.zeros((8, 8, 3), np.uint8)
FPS = 10.0

Signal = Callable[[float], SignalState]


def red_from(onset: float) -> Signal:
    """Amber until `onset`, red from then on."""
    return lambda t: SignalState(Phase.RED, onset) if t >= onset else SignalState(Phase.AMBER, 0.0)


RED_ALL_ALONG = red_from(-10.0)


def drive(
    rule: StopLineCheck,
    tracks: dict[int, list[float | None]],
    signal: Signal = RED_ALL_ALONG,
    *,
    x: float = 600.0,
    times: list[float] | None = None,
    classes: dict[int, str] | None = None,
    box_height: float = 120.0,
) -> list[ViolationCandidate]:
    """Put each track's bottom edge at the given y, one per frame (None: not seen)."""
    history = TrackHistory()
    found = []
    frames = max(len(ys) for ys in tracks.values())
    for i in range(frames):
        t = times[i] if times is not None else i / FPS
        live = {tid: ys[i] for tid, ys in tracks.items() if i < len(ys) and ys[i] is not None}
        seen = history.update(
            seq=i,
            t=t,
            wall_time=datetime.now(UTC),
            track_ids=list(live),
            boxes=[(x - 50, y - box_height, x + 50, y) for y in live.values() if y is not None],
            classes=[(classes or {}).get(tid, "car") for tid in live],
        )
        ctx = FrameContext("cam", i, t, IMAGE, seen, {"main": signal(t)})
        found.extend(rule.check(ctx))
    return found


def approach_and_stand(stop_y: float, stand_frames: int, then: list[float] | None = None) -> list:
    """Drive up from y=520 to `stop_y`, stand there `stand_frames` frames, then go on."""
    approach = [520.0, 490.0, 460.0, 430.0, 410.0]
    return [*approach, *([stop_y] * stand_frames), *(then or [])]


def rule(**params: object) -> StopLineCheck:
    return StopLineCheck(StopLineRule.model_validate(params), GEOMETRY)


def test_standing_on_the_crossing_on_red_is_flagged_once_after_the_allowed_time() -> None:
    found = drive(rule(), {1: approach_and_stand(380.0, 80)})
    (v,) = found
    # Standing from frame 5 (t = 0.5 s); 3 s allowed.
    assert v.offence_t == pytest.approx(3.5)
    assert v.after.t > 3.5 and v.before.t == pytest.approx(0.5)
    assert v.measurements["on_crosswalk"] is True
    assert v.measurements["stopped_on_red_s"] > 3.0
    assert v.measurements["max_stopped_s"] == 3.0
    assert v.measurements["over_line_px"] == pytest.approx(20.0)
    assert "on the crossing" in v.explanation and "red" in v.explanation


def test_allowed_time_is_a_parameter() -> None:
    (v,) = drive(rule(max_stopped_s=5.0), {1: approach_and_stand(380.0, 80)})
    assert v.offence_t == pytest.approx(5.5)


@pytest.mark.parametrize(
    ("case", "ys"),
    [
        ("stops just before the line", approach_and_stand(404.0, 100)),
        ("stops right at the line", approach_and_stand(398.0, 100)),
        ("drives over without stopping", [520, 480, 440, 400, 360, 320, 280, 240, 200, 160]),
        ("brief stop on the crossing", approach_and_stand(380.0, 25, [350, 310, 270, 230, 190])),
        ("stands in the junction beyond", approach_and_stand(250.0, 100)),
        ("creeps on without standing", [420 - 2.0 * i for i in range(60)]),
    ],
)
def test_look_alikes_are_not_flagged(case: str, ys: list[float]) -> None:
    assert drive(rule(), {1: ys}) == [], case


def test_box_jitter_around_the_line_is_not_standing_over_it() -> None:
    rng = np.random.default_rng(3)
    ys = [*approach_and_stand(402.0, 0), *(402.0 + rng.uniform(-7, 7, 120))]
    assert drive(rule(), {1: list(ys)}) == []


def test_box_jitter_while_standing_on_the_crossing_still_counts() -> None:
    rng = np.random.default_rng(4)
    ys = [*approach_and_stand(370.0, 0), *(370.0 + rng.uniform(-5, 5, 60))]
    (v,) = drive(rule(), {1: list(ys)})
    assert v.offence_t == pytest.approx(3.5)


def test_vehicle_standing_on_the_line_at_red_onset_is_timed_from_the_onset() -> None:
    # It pulled up on the crossing during amber; red begins at 2.0 s.
    (v,) = drive(rule(), {1: approach_and_stand(380.0, 80)}, red_from(2.0))
    assert v.offence_t == pytest.approx(5.0)
    assert v.measurements["time_into_red_s"] == pytest.approx(3.0)
    assert v.measurements["red_onset_stream_s"] == 2.0


def test_vehicle_leaving_the_line_soon_after_red_onset_is_not_flagged() -> None:
    ys = approach_and_stand(380.0, 40, [340, 300, 260, 220])
    assert drive(rule(), {1: ys}, red_from(2.0)) == []


@pytest.mark.parametrize("phase", [Phase.GREEN, Phase.AMBER, Phase.UNKNOWN])
def test_standing_there_when_not_red_is_not_flagged(phase: Phase) -> None:
    signal = SignalState(phase, None if phase is Phase.UNKNOWN else 0.0)
    assert drive(rule(), {1: approach_and_stand(380.0, 100)}, lambda t: signal) == []


def test_green_then_red_again_starts_a_new_count() -> None:
    # Flagged in the first red; green for a while; a new red flags it again only if it
    # is still standing there more than the allowed time into the new red.
    def plan(t: float) -> SignalState:
        if t < 5.0:
            return SignalState(Phase.RED, -10.0)
        if t < 8.0:
            return SignalState(Phase.GREEN, 5.0)
        return SignalState(Phase.RED, 8.0)

    found = drive(rule(), {1: approach_and_stand(380.0, 120)}, plan)
    assert [round(v.offence_t, 2) for v in found] == [3.5, 11.0]


def test_occlusion_gap_keeps_the_count() -> None:
    ys: list[float | None] = list(approach_and_stand(380.0, 60))
    ys[15:25] = [None] * 10  # unseen for a second while standing
    (v,) = drive(rule(), {1: ys})
    assert v.offence_t == pytest.approx(3.5)


def test_gap_longer_than_allowed_restarts_the_count() -> None:
    ys: list[float | None] = list(approach_and_stand(380.0, 80))
    ys[15:40] = [None] * 25  # 2.5 s unseen, max_gap_s is 2
    (v,) = drive(rule(), {1: ys})
    assert v.offence_t == pytest.approx(4.0 + 3.0)


def test_id_switch_while_standing_carries_the_count_and_flags_once() -> None:
    stand = approach_and_stand(380.0, 15)
    first: list[float | None] = [*stand, *([None] * 60)]
    second: list[float | None] = [*([None] * (len(stand) + 3)), *([381.0] * 57)]
    found = drive(rule(), {1: first, 2: second})
    (v,) = found
    assert v.track_id == 2
    assert v.offence_t == pytest.approx(3.5)


def test_id_switch_after_flagging_does_not_flag_again() -> None:
    stand = approach_and_stand(380.0, 40)
    first: list[float | None] = [*stand, *([None] * 90)]
    # Reappears after a long occlusion (the stay is gone), standing on the same spot.
    second: list[float | None] = [*([None] * (len(stand) + 30)), *([379.0] * 60)]
    found = drive(rule(), {1: first, 2: second})
    assert [v.track_id for v in found] == [1]


def test_uneven_frame_spacing() -> None:
    # A camera delivering ~6 fps with 0.16 s and 0.24 s steps.
    times = [round(0.2 * i + (0.04 if i % 2 else 0.0), 2) for i in range(60)]
    (v,) = drive(rule(), {1: approach_and_stand(380.0, 55)}, times=times)
    assert v.offence_t == pytest.approx(1.04 + 3.0)
    assert v.measurements["stop_began_stream_s"] == pytest.approx(1.04)


def test_two_vehicles_side_by_side_are_both_flagged() -> None:
    checker = rule()
    found = drive(checker, {1: approach_and_stand(380.0, 50)}, x=300)
    found += drive(checker, {2: approach_and_stand(380.0, 50)}, x=900)
    assert len(found) == 2


def test_young_track_cannot_trigger_until_seen_enough() -> None:
    (v,) = drive(rule(min_track_frames=50), {1: approach_and_stand(380.0, 80)})
    assert v.offence_t == pytest.approx(3.5)
    assert v.after.seq == 49


def test_classes_not_covered_by_the_rule_are_ignored() -> None:
    found = drive(rule(classes=["car"]), {1: approach_and_stand(380.0, 80)}, classes={1: "bus"})
    assert found == []


def test_head_controlling_another_lane_ignores_this_one() -> None:
    lanes = [
        Lane(
            id=name,
            polygon=[(x1, 200), (x2, 200), (x2, 700), (x1, 700)],
            directions=[((0, 1), (0, 0))],
        )
        for name, x1, x2 in (("left", 100, 600), ("right", 600, 1100))
    ]
    head = SignalHead(id="main", region=(0, 0, 10, 10), lanes=["left"])
    scene = SCENE.model_copy(update={"lanes": lanes, "signal_heads": [head]})
    checker = StopLineCheck(StopLineRule(), SceneGeometry(scene))
    assert drive(checker, {1: approach_and_stand(380.0, 80)}, x=900) == []
    (v,) = drive(checker, {2: approach_and_stand(380.0, 80)}, x=300)
    assert v.measurements["lane"] == "left"


# Seen from the side (the generated scenes): traffic left to right, line at x = 815.
SIDE = Scene(
    stop_line=StopLine(points=((815, 300), (815, 690)), junction_side=(1180, 495)),
    crosswalks=[Crosswalk(id="zebra", polygon=[(840, 300), (960, 300), (960, 690), (840, 690)])],
    signal_heads=[SignalHead(id="main", region=(0, 0, 10, 10))],
)


@pytest.mark.parametrize(
    ("front_x", "flagged"),
    [(807.0, False), (820.0, False), (830.0, True), (900.0, True), (1100.0, True), (1300.0, False)],
)
def test_side_view_vehicle_across_the_line(front_x: float, flagged: bool) -> None:
    checker = StopLineCheck(StopLineRule(), SceneGeometry(SIDE))
    history = TrackHistory()
    found = []
    for i in range(60):
        t = i / FPS
        box = (front_x - 320, 540.0, front_x, 662.0)
        seen = history.update(
            seq=i, t=t, wall_time=datetime.now(UTC), track_ids=[7], boxes=[box], classes=["car"]
        )
        found += checker.check(FrameContext("cam", i, t, IMAGE, seen, {"main": RED_ALL_ALONG(t)}))
    assert (len(found) == 1) is flagged
