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

import numpy as np

from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise, StopAndGo, Waypoints
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

FPS = 10
DURATION_S = 45.0
ACCEL = 300.0
"""Braking/pull-away rate, pixels per second squared (as in the red_light scene)."""
WIDTH = {"car": 320, "motorbike": 270, "bus": 420}
"""Widths in the near lane (see red_light): large enough for yolov3-tiny at 608."""
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
    """Return the scenario's script for `seed`."""
    rng = np.random.default_rng(seed)
    layout = Layout()
    plan = SignalPlan(green_s=10.0, amber_s=3.0, red_s=12.0)
    vehicles: list[Vehicle] = []
    offences: list[Offence] = []

    def width_in(kind: str, lane: str) -> int:
        return round(WIDTH[kind] * layout.lane(lane).scale)

    def jitter() -> float:
        return float(rng.uniform(-0.2, 0.2))

    for vid, kind, lane, t_cross, speed in _WITH_THE_FLOW:
        motion = Cruise(speed * rng.uniform(0.95, 1.05), layout.stop_x, t_cross + jitter())
        vehicles.append(Vehicle(vid, kind, lane, WIDTH[kind], motion))

    for vid, kind, lane, t_edge, speed in _WRONG_WAY:
        width = width_in(kind, lane)
        pace = speed * rng.uniform(0.95, 1.05)
        t_edge += jitter()
        entering = Cruise(-pace, layout.width + width / 2, t_edge)
        vehicles.append(Vehicle(vid, kind, lane, WIDTH[kind], entering, flip=True))
        first_tracked = t_edge + FIRST_TRACKED_SHARE * width / pace
        in_view = t_edge + width / pace
        offences.append(
            Offence(
                "wrong_way",
                vid,
                kind,
                first_tracked + MIN_DURATION_S,
                in_view + MIN_DURATION_S + TRUTH_LATE_S,
            )
        )

    # A U-turn's first metres: waiting beyond the junction facing against the lane, it
    # pulls out 80 px in a second, pauses, turns round and leaves with the flow.
    start, x0 = 2.5 + jitter(), 1000.0
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
    vehicles.append(
        Vehicle(
            "motorbike-2", "motorbike", "near", WIDTH["motorbike"], u_turn, flip=True, turn_t=turn
        )
    )

    # Rolling back a metre while waiting at the line on red, then away on green.
    width = width_in("car", "far")
    rest_x = layout.stop_x - 20 - width / 2
    rest = 16.8 + jitter()
    roll = rest + 2.7
    go = plan.green_s + plan.amber_s + plan.red_s + 0.5
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
    vehicles.append(Vehicle("car-1", "car", "far", WIDTH["car"], roll_back))

    # Standing at the line on red: a still vehicle whose box only jitters.
    width = width_in("car", "near")
    waiting = StopAndGo(
        speed=260.0 * rng.uniform(0.95, 1.05),
        accel=ACCEL,
        x_stop=layout.stop_x - 20 - width / 2,
        t_stop=18.5 + jitter(),
        t_go=go - 0.1,
    )
    vehicles.append(Vehicle("car-3", "car", "near", WIDTH["car"], waiting))

    return Script(
        name="wrong_way",
        layout=layout,
        plan=plan,
        fps=FPS,
        duration_s=DURATION_S,
        vehicles=tuple(vehicles),
        seed=seed,
        rules=(
            {
                "type": "wrong_way",
                "min_distance_px": MIN_DISTANCE_PX,
                "min_duration_s": MIN_DURATION_S,
            },
        ),
        scene={"lanes": layout.lanes_config()},
        offences=tuple(offences),
    )
