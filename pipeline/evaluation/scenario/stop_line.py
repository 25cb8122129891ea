"""The `stop_line` scenario: vehicles standing over the stop line or on the crossing on red.

Signal plan green 5 s, amber 2 s, red 8 s from t = 0, so over the 45 s video:
green [0, 5), amber [5, 7), red [7, 15), green [15, 20), amber [20, 22), red [22, 30),
green [30, 35), amber [35, 37), red [37, 45). The rule allows 3 s over the line on red.

| vehicle     | lane | what it does                                        | offence       |
|-------------|------|-----------------------------------------------------|---------------|
| car-1       | near | passes on green                                     |               |
| car-2       | near | halts over the line on amber, stands through red    | red + 3 = 10 s|
| motorbike-1 | far  | runs the red without stopping (red_light's)         |               |
| motorbike-2 | far  | halts over the line on red, green comes after ~2 s  |               |
| car-3       | near | halts 20 px short of the line on red                |               |
| motorbike-3 | far  | halts on the crossing on red, stands until green    | stop + 3 s    |
| motorbike-4 | near | halts over the line on red, stands to the end       | stop + 3 s    |
| car-4       | far  | halts 20 px short of the line on red                |               |

The seed jitters each halt by up to 0.2 s and each speed by up to 5 %, never enough to
move a halt into another phase. One vehicle at a time in each lane near the line.
"""

from __future__ import annotations

import numpy as np

from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise, StopAndGo
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

FPS = 10
DURATION_S = 45.0
ACCEL = 300.0
"""Braking/pull-away rate, pixels per second squared (as in the red_light scene)."""
WIDTH = {"car": 320, "motorbike": 270, "bus": 420}
"""Widths in the near lane (see red_light): large enough for yolov3-tiny at 608."""
MAX_STOPPED_S = 3.0
SHORT_OF_LINE_PX = 20
"""Gap between the front of a vehicle halted before the line and the line: clear of the
rule's 10 px margin even with a few pixels of box jitter."""
SETTLE_S = 0.3
"""The rule's count starts at the first still sighting, which comes a moment before
the vehicle is fully at rest (its last pixels of braking)."""
TRUTH_EARLY_S = 0.5 + SETTLE_S
TRUTH_LATE_S = 0.5

# (id, kind, lane, front of the vehicle at rest (x), rest time, go time)
_HALTS = (
    ("car-2", "car", "near", 905, 6.2, 15.4),
    ("motorbike-2", "motorbike", "far", 870, 13.4, 15.3),
    ("car-3", "car", "near", 815 - SHORT_OF_LINE_PX, 23.0, 30.4),
    ("motorbike-3", "motorbike", "far", 905, 24.0, 30.5),
    ("motorbike-4", "motorbike", "near", 880, 38.5, 60.0),
    ("car-4", "car", "far", 815 - SHORT_OF_LINE_PX, 39.5, 60.0),
)
# (id, kind, lane, time the anchor passes the stop line, speed px/s)
_CRUISERS = (
    ("car-1", "car", "near", 2.0, 260.0),
    ("motorbike-1", "motorbike", "far", 8.5, 260.0),
)


def crosswalks_config(layout: Layout) -> list[dict[str, object]]:
    """The zebra crossing beyond the stop line, across both lanes."""
    x1, x2 = layout.crosswalk
    top, bottom = layout.road_top, layout.road_bottom
    return [{"id": "zebra", "polygon": [[x1, top], [x2, top], [x2, bottom], [x1, bottom]]}]


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    rng = np.random.default_rng(seed)
    layout = Layout()
    plan = SignalPlan(green_s=5.0, amber_s=2.0, red_s=8.0)
    vehicles: list[Vehicle] = []
    offences: list[Offence] = []
    for vid, kind, lane, t_cross, speed in _CRUISERS:
        motion = Cruise(
            speed=speed * rng.uniform(0.95, 1.05),
            x_ref=layout.stop_x,
            t_ref=t_cross + rng.uniform(-0.2, 0.2),
        )
        vehicles.append(Vehicle(vid, kind, lane, WIDTH[kind], motion))
    for vid, kind, lane, front_x, rest, go in _HALTS:
        width = round(WIDTH[kind] * layout.lane(lane).scale)
        halt = StopAndGo(
            speed=260.0 * rng.uniform(0.95, 1.05),
            accel=ACCEL,
            x_stop=front_x - width / 2,
            t_stop=rest + rng.uniform(-0.2, 0.2),
            t_go=go,
        )
        vehicles.append(Vehicle(vid, kind, lane, WIDTH[kind], halt))
        if front_x > layout.stop_x + 20:
            offence = _overstay(vid, kind, halt, plan)
            if offence is not None:
                offences.append(offence)
    return Script(
        name="stop_line",
        layout=layout,
        plan=plan,
        fps=FPS,
        duration_s=DURATION_S,
        vehicles=tuple(vehicles),
        seed=seed,
        rules=({"type": "stop_line", "max_stopped_s": MAX_STOPPED_S},),
        scene={"lanes": layout.lanes_config(), "crosswalks": crosswalks_config(layout)},
        offences=tuple(offences),
    )


def _overstay(vid: str, kind: str, halt: StopAndGo, plan: SignalPlan) -> Offence | None:
    """The offence of a vehicle resting over the line, when it rests there long on red.

    Its time over the line on red runs from the later of its halt and the red onset to
    the earlier of pulling away and green; beyond `MAX_STOPPED_S` it is an offence.
    """
    for red_start, red_end in plan.intervals("red", DURATION_S + plan.cycle_s):
        start = max(halt.t_stop, red_start)
        end = min(halt.t_go, red_end)
        if end - start > MAX_STOPPED_S + TRUTH_LATE_S:
            moment = start + MAX_STOPPED_S
            return Offence("stop_line", vid, kind, moment - TRUTH_EARLY_S, moment + TRUTH_LATE_S)
        if end - start > MAX_STOPPED_S - 1.0:
            raise AssertionError(f"{vid}: {end - start:.1f} s over the line is too close to call")
    return None
