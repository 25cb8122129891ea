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

from pipeline.evaluation.scenario.draft import ACCEL, WIDTH, ScriptDraft
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import StopAndGo
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

DURATION_S = 45.0
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
    draft = ScriptDraft("stop_line", seed)
    layout = draft.layout
    plan = SignalPlan(green_s=5.0, amber_s=2.0, red_s=8.0)
    draft.add_line_crossers(_CRUISERS, spread=0.2)
    for vid, kind, lane, front_x, rest, go in _HALTS:
        halt = StopAndGo(
            speed=draft.pace(260.0),
            accel=ACCEL,
            x_stop=front_x - draft.width_in(kind, lane) / 2,
            t_stop=rest + draft.jitter(0.2),
            t_go=go,
        )
        draft.add(Vehicle(vid, kind, lane, WIDTH[kind], halt))
        if front_x > layout.stop_x + 20:
            offence = _overstay(vid, kind, halt, plan)
            if offence is not None:
                draft.offences.append(offence)
    return draft.finish(
        plan=plan,
        duration_s=DURATION_S,
        rules=({"type": "stop_line", "max_stopped_s": MAX_STOPPED_S},),
        scene={"crosswalks": crosswalks_config(layout)},
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
