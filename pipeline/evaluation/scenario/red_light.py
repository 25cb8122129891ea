"""The `red_light` scenario: one signal cycle and a half at a two-lane approach.

Signal plan green 10 s, amber 3 s, red 12 s from t = 0, so over the 45 s video:
green [0, 10), amber [10, 13), red [13, 25), green [25, 35), amber [35, 38), red [38, 45).

| vehicle      | lane | what it does                          | crossing        |
|--------------|------|---------------------------------------|-----------------|
| car-1        | near | passes on green                       | ~4.0 s, green   |
| motorbike-1  | far  | passes on green                       | ~7.5 s, green   |
| motorbike-2  | near | passes during amber (not an offence)  | ~11.5 s, amber  |
| car-2        | near | runs the red                          | ~15.5 s, red    |
| motorbike-3  | far  | runs the red                          | ~19.0 s, red    |
| car-3        | near | stops at the line on red, goes on green | ~26.4 s, green |
| motorbike-4  | far  | passes on green                       | ~29.5 s, green  |
| bus-1        | near | runs the red                          | ~41.0 s, red    |

The seed jitters each crossing by up to 0.3 s and each speed by up to 5 %, never enough
to move a crossing into another phase, and changes the street's texture and colours.
Vehicles in one lane never overlap, and the two lanes' boxes only meet for the bus.
"""

from __future__ import annotations

from pipeline.evaluation.scenario.draft import ACCEL, WIDTH, ScriptDraft
from pipeline.evaluation.scenario.motion import StopAndGo
from pipeline.evaluation.scenario.script import Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

__all__ = ["ACCEL", "DURATION_S", "WIDTH", "build"]

DURATION_S = 45.0

# (id, kind, lane, crossing time, speed px/s)
_CRUISERS = (
    ("car-1", "car", "near", 4.0, 260.0),
    ("motorbike-1", "motorbike", "far", 7.5, 240.0),
    ("motorbike-2", "motorbike", "near", 11.5, 270.0),
    ("car-2", "car", "near", 15.5, 280.0),
    ("motorbike-3", "motorbike", "far", 19.0, 260.0),
    ("motorbike-4", "motorbike", "far", 29.5, 250.0),
    ("bus-1", "bus", "near", 41.0, 240.0),
)


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    draft = ScriptDraft("red_light", seed)
    layout = draft.layout
    plan = SignalPlan(green_s=10.0, amber_s=3.0, red_s=12.0)
    draft.add_line_crossers(_CRUISERS, spread=0.3)

    # The stopper: its front bumper rests 8 px short of the line, and it pulls away
    # a moment after the light turns green (drivers react; 0.3-0.6 s).
    width = WIDTH["car"]
    green_again = plan.green_s + plan.amber_s + plan.red_s
    stopper = StopAndGo(
        speed=draft.pace(260.0),
        accel=ACCEL,
        x_stop=layout.stop_x - 8 - width / 2,
        t_stop=22.0 + draft.jitter(0.3),
        t_go=green_again + float(draft.rng.uniform(0.3, 0.6)),
    )
    draft.add(Vehicle("car-3", "car", "near", width, stopper))
    return draft.finish(plan=plan, duration_s=DURATION_S)
