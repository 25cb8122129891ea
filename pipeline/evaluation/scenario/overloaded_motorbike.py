"""The `overloaded_motorbike` scenario: motorbikes with one, two and three riders.

Signal plan green 14 s, amber 3 s, red 10 s: green [0, 14), amber [14, 17),
red [17, 27), green [27, 41), amber [41, 42). Every motorbike rides the near lane,
one after another (three riders need a large bike to be told apart by yolov3-tiny at
608: see `riders`), so riders never overlap another vehicle.

| vehicle      | riders | what it does                                         | offence |
|--------------|--------|------------------------------------------------------|---------|
| motorbike-1  | 3      | passes on green                                      | yes     |
| motorbike-2  | 2      | passes on green                                      | -       |
| motorbike-3  | 1      | passes on green                                      | -       |
| motorbike-4  | 2      | waits at the stop line on red 19.0-27.4 s, a         | -       |
|              |        | pedestrian standing at its tail 19.5-28.8 s          |         |
| motorbike-5  | 3      | passes on green                                      | yes     |
| motorbike-6  | 2      | passes on green                                      | -       |
| motorbike-7  | 3      | passes on green                                      | yes     |

The pedestrian stands at the waiting bike's tail, at the same depth, so on each frame
`models.riders` counts him as its third rider (measured with bench/rider_count.py:
three on every frame the bike is found while it waits); only following the riders
over time (they move with the bike, he does not) tells him apart. Standing at its
front instead, he hides the front wheel and the bike is not found at all.

The seed jitters crossing times by up to 0.2 s and speeds by up to 5 %.
"""

from __future__ import annotations

from pipeline.evaluation.scenario.draft import ACCEL, ScriptDraft
from pipeline.evaluation.scenario.motion import Standing, StopAndGo
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

RULE = "overloaded_motorbike"
DURATION_S = 42.0
BIKE_WIDTH = 420
"""Near-lane width of every motorbike: three riders side by side need it."""
PEDESTRIAN_WIDTH = 100
"""Width of the standing pedestrian: the riders' scale (see `riders.RIDER_HEIGHT`)."""
SPEED = 270.0
TRUTH_EARLY_S = 1.0
"""A report may come this long before the bike is wholly in view (its riders are)."""

# (id, riders, stop-line crossing time)
_CRUISERS = (
    ("motorbike-1", 3, 3.0),
    ("motorbike-2", 2, 6.5),
    ("motorbike-3", 1, 10.0),
    ("motorbike-5", 3, 31.5),
    ("motorbike-6", 2, 35.0),
    ("motorbike-7", 3, 38.5),
)


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    draft = ScriptDraft(RULE, seed)
    layout = draft.layout
    for vid, riders, t_cross in _CRUISERS:
        motion = draft.cruise(SPEED, layout.stop_x, t_cross, spread=0.2)
        draft.add(Vehicle(vid, "motorbike", "near", BIKE_WIDTH, motion, riders=riders))
        if riders > 2:
            # From a moment before the bike is wholly in view until it starts leaving it.
            t_in = motion.time_at(BIKE_WIDTH / 2)
            t_out = motion.time_at(layout.width - BIKE_WIDTH / 2)
            draft.offences.append(
                Offence(RULE, vid, "motorbike", max(0.0, t_in - TRUTH_EARLY_S), t_out)
            )
    # Two riders waiting at the line on red, a pedestrian standing right beside them.
    x_wait = layout.stop_x - 8 - BIKE_WIDTH / 2
    waiting = StopAndGo(speed=SPEED, accel=ACCEL, x_stop=x_wait, t_stop=19.0, t_go=27.4)
    draft.add(Vehicle("motorbike-4", "motorbike", "near", BIKE_WIDTH, waiting, riders=2))
    # Painted after the bike, so he stands in front of its tail.
    pedestrian = Standing(x=x_wait - 0.42 * BIKE_WIDTH, t_from=19.5, t_to=28.8)
    draft.add(Vehicle("pedestrian-1", "pedestrian", "near", PEDESTRIAN_WIDTH, pedestrian))
    return draft.finish(
        plan=SignalPlan(green_s=14.0, amber_s=3.0, red_s=10.0),
        duration_s=DURATION_S,
        rules=({"type": RULE},),
    )
