"""Red-light scenarios judged per movement: turn arrows and U-turns.

The junction of `red_light` (traffic left to right, right-hand traffic), with the cross
street between the crosswalk and the signal pole: a right turn runs down the image
towards the camera through the near pavement's gap, a left turn up the image into the
cross street, a U-turn swings up over the crosswalk and drives back right to left, and
straight traffic carries on past the cross street. Each movement's exit is a region in
the config (regions decide a movement as soon as it is reached; a left turn's heading
alone would not tell it from the start of a U-turn). The far lane allows straight, left
and U-turn, the near lane straight and right.

Ball plan green 10 s, amber 3 s, red 12 s from t = 0 (as `red_light`): green [0, 10),
amber [10, 13), red [13, 25), green [25, 30).

`red_light_right_arrow`: a single green right arrow under the ball, lit exactly
while the ball is red; the ball controls straight, left and U-turn.

| vehicle     | lane | movement | crossing | signals                 | offence |
|-------------|------|----------|----------|-------------------------|---------|
| car-1       | near | straight | ~4.0 s   | green ball              | no      |
| motorbike-1 | near | right    | ~14.5 s  | red ball, green arrow   | no      |
| motorbike-2 | far  | straight | ~16.0 s  | red ball                | yes     |
| car-2       | near | right    | ~18.5 s  | red ball, green arrow   | no      |
| car-3       | near | straight | ~21.5 s  | red ball                | yes     |
| motorbike-3 | far  | straight | ~27.0 s  | green ball              | no      |

`red_light_left_arrow`: a three-lamp left-arrow head with a protected left phase (its
plan green 6 s, amber 2 s, red 17 s from t = 13: green [13, 19), amber [19, 21), red
otherwise); the ball controls straight, right and U-turn.

| vehicle     | lane | movement | crossing | signals                   | offence |
|-------------|------|----------|----------|---------------------------|---------|
| car-1       | near | straight | ~3.0 s   | green ball                | no      |
| motorbike-1 | far  | left     | ~6.0 s   | green ball, red arrow     | yes     |
| motorbike-2 | far  | left     | ~14.5 s  | red ball, green arrow     | no      |
| car-2       | near | straight | ~15.5 s  | red ball, green arrow     | yes     |
| car-3       | far  | left     | ~17.5 s  | red ball, green arrow     | no      |
| motorbike-3 | near | straight | ~27.0 s  | green ball                | no      |

`red_light_u_turn`: the same heads as `red_light_left_arrow`; a U-turn is controlled by
the ball, not by the left arrow.

| vehicle     | lane | movement | crossing | signals                   | offence |
|-------------|------|----------|----------|---------------------------|---------|
| car-1       | near | straight | ~3.0 s   | green ball                | no      |
| motorbike-1 | far  | u_turn   | ~5.0 s   | green ball, red arrow     | no      |
| motorbike-2 | far  | left     | ~14.0 s  | red ball, green arrow     | no      |
| motorbike-3 | far  | u_turn   | ~17.0 s  | red ball, green arrow     | yes     |
| car-2       | near | straight | ~20.0 s  | red ball                  | yes     |
| motorbike-4 | near | straight | ~27.0 s  | green ball                | no      |

The seed jitters each crossing by up to 0.3 s and each speed by up to 5 %, never enough
to move a crossing into another phase, and changes the street's texture and colours.
"""

from __future__ import annotations

from typing import Any, Literal

from pipeline.evaluation.scenario.arrow_heads import ArrowHead
from pipeline.evaluation.scenario.draft import ScriptDraft
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Swerve, Waypoints
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

Turn = Literal["straight", "left", "right", "u_turn"]

DURATION_S = 30.0
WIDTH = {"car": 320, "motorbike": 270}
START_X = -200.0
"""Anchor x where every vehicle enters (off the left edge)."""
TURN_X = 1065.0
"""Anchor x of the cross street's centre line, where turners turn."""
U_TURN_X = 930.0
"""Anchor x where a U-turner turns round, over the crosswalk."""
TRUTH_WINDOW_S = 0.5

BALL_PLAN = SignalPlan(green_s=10.0, amber_s=3.0, red_s=12.0)
LEFT_ARROW_PLAN = SignalPlan(green_s=6.0, amber_s=2.0, red_s=17.0, offset_s=13.0)
RIGHT_ARROW = ArrowHead("right_arrow", "right", (1190, 204, 1246, 260), ("green",))
LEFT_ARROW = ArrowHead(
    "left_arrow", "left", (1126, 30, 1182, 196), ("red", "amber", "green"), LEFT_ARROW_PLAN
)

# Exits, in image pixels (the frame is 1280 x 720; the cross street spans x 970-1160).
EXITS: dict[str, dict[str, Any]] = {
    "straight": {"region": [[1170, 300], [1280, 300], [1280, 690], [1170, 690]]},
    "left": {"region": [[970, 250], [1160, 250], [1160, 380], [970, 380]]},
    "right": {"region": [[970, 680], [1160, 680], [1160, 720], [970, 720]]},
    "u_turn": {"region": [[830, 300], [960, 300], [960, 425], [830, 425]]},
}
LANE_MOVEMENTS = {"far": ["straight", "left", "u_turn"], "near": ["straight", "right"]}

# (id, kind, lane, movement, crossing time, speed px/s, offence)
Plan = tuple[tuple[str, str, str, Turn, float, float, bool], ...]
_RIGHT_ARROW_PLAN: Plan = (
    ("car-1", "car", "near", "straight", 4.0, 260.0, False),
    ("motorbike-1", "motorbike", "near", "right", 14.5, 240.0, False),
    ("motorbike-2", "motorbike", "far", "straight", 16.0, 260.0, True),
    ("car-2", "car", "near", "right", 18.5, 250.0, False),
    ("car-3", "car", "near", "straight", 21.5, 270.0, True),
    ("motorbike-3", "motorbike", "far", "straight", 27.0, 250.0, False),
)
_LEFT_ARROW_PLAN: Plan = (
    ("car-1", "car", "near", "straight", 3.0, 260.0, False),
    ("motorbike-1", "motorbike", "far", "left", 6.0, 240.0, True),
    ("motorbike-2", "motorbike", "far", "left", 14.5, 250.0, False),
    ("car-2", "car", "near", "straight", 15.5, 270.0, True),
    ("car-3", "car", "far", "left", 17.5, 240.0, False),
    ("motorbike-3", "motorbike", "near", "straight", 27.0, 250.0, False),
)
_U_TURN_PLAN: Plan = (
    ("car-1", "car", "near", "straight", 3.0, 260.0, False),
    ("motorbike-1", "motorbike", "far", "u_turn", 5.0, 240.0, False),
    ("motorbike-2", "motorbike", "far", "left", 14.0, 250.0, False),
    ("motorbike-3", "motorbike", "far", "u_turn", 17.0, 240.0, True),
    ("car-2", "car", "near", "straight", 20.0, 270.0, True),
    ("motorbike-4", "motorbike", "near", "straight", 27.0, 250.0, False),
)


def build_right_arrow(seed: int = 0) -> Script:
    """`red_light_right_arrow`: red ball + green right arrow."""
    ball = ["straight", "left", "u_turn"]
    return _build("red_light_right_arrow", seed, _RIGHT_ARROW_PLAN, (RIGHT_ARROW,), ball)


def build_left_arrow(seed: int = 0) -> Script:
    """`red_light_left_arrow`: a protected left phase on a left-arrow head."""
    ball = ["straight", "right", "u_turn"]
    return _build("red_light_left_arrow", seed, _LEFT_ARROW_PLAN, (LEFT_ARROW,), ball)


def build_u_turn(seed: int = 0) -> Script:
    """`red_light_u_turn`: U-turns judged by the ball beside a left-arrow head."""
    ball = ["straight", "right", "u_turn"]
    return _build("red_light_u_turn", seed, _U_TURN_PLAN, (LEFT_ARROW,), ball)


def _build(
    name: str, seed: int, plan: Plan, arrows: tuple[ArrowHead, ...], ball_movements: list[str]
) -> Script:
    draft = ScriptDraft(name, seed)
    layout = draft.layout
    for vid, kind, lane, movement, t_cross, speed in (row[:6] for row in plan):
        t_cross += draft.jitter(0.3)
        draft.add(_vehicle(layout, vid, kind, lane, movement, t_cross, draft.pace(speed)))
    for vehicle, row in zip(draft.vehicles, plan, strict=True):
        if row[6]:
            t = vehicle.motion.time_at(layout.stop_x)
            draft.offences.append(
                Offence(
                    "red_light", vehicle.id, vehicle.kind, t - TRUTH_WINDOW_S, t + TRUTH_WINDOW_S
                )
            )
    lanes = [
        {**lane, "movements": LANE_MOVEMENTS[str(lane["id"])]} for lane in layout.lanes_config()
    ]
    heads = [
        {"id": "main", "region": list(layout.lamp_region()), "movements": ball_movements},
        *(head.config() for head in arrows),
    ]
    return draft.finish(
        plan=BALL_PLAN,
        duration_s=DURATION_S,
        rules=({"type": "red_light", "signal_head": "main", "amber_grace_s": 0.0},),
        lanes=lanes,
        scene={
            "signal_heads": heads,
            "approach": {"movements": EXITS, "right_turn_on_red": "banned"},
        },
        arrow_heads=arrows,
    )


def _vehicle(
    layout: Layout, vid: str, kind: str, lane: str, movement: Turn, t_cross: float, speed: float
) -> Vehicle:
    """A vehicle crossing the line at `t_cross` at `speed`, then making `movement`."""
    stop = float(layout.stop_x)
    t0 = t_cross - (stop - START_X) / speed
    swerve: Swerve | None = None
    turn_t: float | None = None
    points: tuple[tuple[float, float], ...]
    if movement == "straight":
        points = ((t0, START_X), (t_cross, stop), (t_cross + 8.0, stop + 8.0 * speed))
    elif movement in ("left", "right"):
        # On to the cross street, then along it: up and away (left) or down towards the
        # camera and out of the picture (right).
        arrive = t_cross + (TURN_X - stop) / speed
        points = ((t0, START_X), (t_cross, stop), (arrive, TURN_X), (arrive + 6.0, TURN_X + 20))
        if movement == "left":
            swerve = Swerve(offset=-600.0, t_start=arrive - 0.2, ramp_s=3.0, hold_s=100.0)
        else:
            swerve = Swerve(offset=300.0, t_start=arrive - 0.4, ramp_s=2.5, hold_s=100.0)
    else:
        # Over the crosswalk, swinging up, round, and back the way it came.
        arrive = t_cross + (U_TURN_X - stop) / speed
        back = 350.0
        points = (
            (t0, START_X),
            (t_cross, stop),
            (arrive, U_TURN_X),
            (arrive + 0.5, U_TURN_X + 5),
            (arrive + 0.5 + (U_TURN_X + 5 - START_X) / back, START_X),
        )
        swerve = Swerve(offset=-55.0, t_start=t_cross + 0.1, ramp_s=0.7, hold_s=100.0)
        turn_t = arrive + 0.3
    return Vehicle(vid, kind, lane, WIDTH[kind], Waypoints(points), swerve=swerve, turn_t=turn_t)
