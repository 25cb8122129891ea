"""The `wrong_way` scenario: vehicles driving against a left-to-right lane, and look-alikes.

Both lanes run left to right. The signal plan is red_light's (green 10 s, amber 3 s,
red 12 s): red [13, 25) and [38, 45) hold two vehicles at the line.

| vehicle     | lane | what it does                                              | offence |
|-------------|------|-----------------------------------------------------------|---------|
| motorbike-0 | far  | passes left to right on green                             |         |
| motorbike-2 | near | waits facing against the lane, pulls out 80 px against    |         |
|             |      | it (a U-turn's first metres), turns round and leaves      |         |
| motorbike-1 | far  | drives right to left through the whole view               | yes     |
| car-2       | near | drives right to left through the whole view               | yes     |
| car-1       | far  | halts at the line on red, rolls back 40 px, goes on green |         |
| car-3       | near | halts at the line on red for 7 s (a still, jittering box) |         |
| motorbike-3 | near | drives right to left through the whole view               | yes     |
| motorbike-4 | far  | passes left to right on green                             |         |
| car-5       | far  | drives right to left through the whole view               | yes     |

A wrong-way vehicle is reported once its run against the lane covers the rule's 120 px
and 1.5 s: 1.5 s after it is first tracked, as it comes in at the right edge. The seed
jitters every time by up to 0.2 s and every speed by up to 5 %. One vehicle at a time
in each lane, so oncoming vehicles never meet.
"""

from __future__ import annotations

from pipeline.evaluation.scenario.draft import ACCEL, WIDTH, ScriptDraft
from pipeline.evaluation.scenario.motion import Cruise, StopAndGo, Waypoints
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

DURATION_S = 45.0
PLAN = SignalPlan(green_s=10.0, amber_s=3.0, red_s=12.0)
GREEN_AGAIN_S = PLAN.green_s + PLAN.amber_s + PLAN.red_s
"""Start of the second green, when the vehicles waiting at the line go."""
MIN_DISTANCE_PX = 120.0
MIN_DURATION_S = 1.5
FIRST_TRACKED_SHARE = 0.3
"""Share of a vehicle's width in view when it can first be tracked, at the earliest:
the truth window opens MIN_DURATION_S after that and closes MIN_DURATION_S after it is
wholly in view (plus TRUTH_LATE_S)."""
TRUTH_LATE_S = 0.5
U_TURN_PX = 80.0
"""How far the U-turning motorbike pulls out against the lane: short of MIN_DISTANCE_PX
by more than box jitter."""
ROLL_BACK_PX = 40.0

# (id, kind, lane, time its box first touches the right edge, speed px/s)
_WRONG_WAY = (
    ("motorbike-1", "motorbike", "far", 5.0, 230.0),
    ("car-2", "car", "near", 8.0, 260.0),
    ("motorbike-3", "motorbike", "near", 30.0, 250.0),
    ("car-5", "car", "far", 36.0, 250.0),
)
# (id, kind, lane, time the anchor passes the stop line, speed px/s)
_WITH_THE_FLOW = (
    ("motorbike-0", "motorbike", "far", 1.5, 260.0),
    ("motorbike-4", "motorbike", "far", 31.0, 260.0),
)


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`.

    The steps draw from the seed's generator in this order; reordering them would
    change every jittered time and speed.
    """
    draft = ScriptDraft("wrong_way", seed)
    draft.add_line_crossers(_WITH_THE_FLOW, spread=0.2)
    for vid, kind, lane, t_edge, speed in _WRONG_WAY:
        _add_wrong_way(draft, vid, kind, lane, t_edge, speed)
    draft.add(_u_turn_start(draft), _roll_back_at_the_line(draft), _waiting_at_the_line(draft))
    return draft.finish(
        plan=PLAN,
        duration_s=DURATION_S,
        rules=(
            {
                "type": "wrong_way",
                "min_distance_px": MIN_DISTANCE_PX,
                "min_duration_s": MIN_DURATION_S,
            },
        ),
    )


def _add_wrong_way(
    draft: ScriptDraft, vid: str, kind: str, lane: str, t_edge: float, speed: float
) -> None:
    """A vehicle driving right to left through the whole view, and its offence."""
    width = draft.width_in(kind, lane)
    pace = draft.pace(speed)
    t_edge += draft.jitter(0.2)
    entering = Cruise(-pace, draft.layout.width + width / 2, t_edge)
    draft.add(Vehicle(vid, kind, lane, WIDTH[kind], entering, flip=True))
    first_tracked = t_edge + FIRST_TRACKED_SHARE * width / pace
    in_view = t_edge + width / pace
    draft.offences.append(
        Offence(
            "wrong_way",
            vid,
            kind,
            first_tracked + MIN_DURATION_S,
            in_view + MIN_DURATION_S + TRUTH_LATE_S,
        )
    )


def _u_turn_start(draft: ScriptDraft) -> Vehicle:
    """A U-turn's first metres: waiting beyond the junction facing against the lane, it
    pulls out 80 px in a second, pauses, turns round and leaves with the flow."""
    start, x0 = 2.5 + draft.jitter(0.2), 1000.0
    pull = start + 1.0
    turn = pull + 0.8
    u_turn = Waypoints(
        (
            (0.0, x0),
            (start, x0),
            (pull, x0 - U_TURN_PX),
            (turn, x0 - U_TURN_PX),
            (turn + 2.4, x0 - U_TURN_PX + 2.4 * 230.0),
        )
    )
    return Vehicle(
        "motorbike-2", "motorbike", "near", WIDTH["motorbike"], u_turn, flip=True, turn_t=turn
    )


def _roll_back_at_the_line(draft: ScriptDraft) -> Vehicle:
    """Rolling back a metre while waiting at the line on red, then away on green."""
    width = draft.width_in("car", "far")
    rest_x = draft.layout.stop_x - 20 - width / 2
    rest = 16.8 + draft.jitter(0.2)
    roll = rest + 2.7
    go = GREEN_AGAIN_S + 0.5
    roll_back = Waypoints(
        (
            (rest - 0.5 - (rest_x - 65 + width / 2) / 260.0, -width / 2),
            (rest - 0.5, rest_x - 65),
            (rest, rest_x),
            (roll, rest_x),
            (roll + 1.0, rest_x - ROLL_BACK_PX),
            (go, rest_x - ROLL_BACK_PX),
            (go + 0.5, rest_x - ROLL_BACK_PX + 65),
            (go + 0.5 + 900 / 260.0, rest_x - ROLL_BACK_PX + 965),
        )
    )
    return Vehicle("car-1", "car", "far", WIDTH["car"], roll_back)


def _waiting_at_the_line(draft: ScriptDraft) -> Vehicle:
    """Standing at the line on red: a still vehicle whose box only jitters."""
    waiting = StopAndGo(
        speed=draft.pace(260.0),
        accel=ACCEL,
        x_stop=draft.layout.stop_x - 20 - draft.width_in("car", "near") / 2,
        t_stop=18.5 + draft.jitter(0.2),
        t_go=GREEN_AGAIN_S + 0.5 - 0.1,
    )
    return Vehicle("car-3", "car", "near", WIDTH["car"], waiting)
