"""The `restricted_lane` scenario: a car lane and a kerb lane with evening bus/truck hours.

The far lane is for cars, buses and trucks (no motorbikes). The near (kerb) lane
takes everyone, except buses and trucks from 16:30 to 19:00 local time. The video is
recorded from 16:29:40 (Ho Chi Minh City time, written to the config's
`source.recorded_at`), so the ban begins 20 s in: the same lane is open to a bus at
the start and closed to one after.

| vehicle       | lane           | what it does                                   | offence |
|---------------|----------------|------------------------------------------------|---------|
| car-1         | far            | car in the car lane                            | no      |
| motorbike-ok  | near           | motorbike in the kerb lane                     | no      |
| motorbike-1   | far            | motorbike in the car lane                      | yes     |
| bus-early     | near           | bus in the kerb lane before 16:30              | no      |
| motorbike-sw  | near, swerves  | pulls over the lane line into the car lane for | no      |
|               |                | about half a second, then back                 |         |
| bus-late      | near           | bus in the kerb lane after 16:30               | yes     |
| motorbike-2   | far            | motorbike in the car lane                      | yes     |
| car-2         | near           | car in the kerb lane                           | no      |

An offence's truth window opens when the vehicle has been in view and banned for the
rule's `min_duration_s` and closes when it leaves the frame.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipeline.evaluation.scenario.draft import ScriptDraft
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise, Swerve
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

DURATION_S = 40.0
WIDTH = {"car": 300, "motorbike": 270, "bus": 420}
RECORDED_AT = datetime(2026, 11, 25, 16, 29, 40, tzinfo=timezone(timedelta(hours=7)))
BAN_START_S = 20.0
"""Video time of 16:30, when buses and trucks are banned from the kerb lane."""
MIN_DURATION_S = 1.0
SWERVE_PAST_LINE_PX = 45
"""How far past the lane line the swerving motorbike's anchor goes."""

# (id, kind, lane, time its anchor passes the frame centre, speed px/s)
_CRUISERS = (
    ("car-1", "car", "far", 4.0, 260.0),
    ("motorbike-ok", "motorbike", "near", 6.5, 280.0),
    ("motorbike-1", "motorbike", "far", 10.0, 250.0),
    ("bus-early", "bus", "near", 13.5, 260.0),
    ("bus-late", "bus", "near", 27.5, 250.0),
    ("motorbike-2", "motorbike", "far", 32.0, 260.0),
    ("car-2", "car", "near", 36.0, 280.0),
)


def lanes_config(layout: Layout) -> list[dict[str, object]]:
    """The layout's lanes, the far one for cars, the near one closed to buses at rush hour."""
    far, near = layout.lanes_config()
    far["allowed_classes"] = ["car", "bus", "truck"]
    near["restrictions"] = [
        {"classes": ["bus", "truck"], "windows": [{"start": "16:30", "end": "19:00"}]}
    ]
    return [far, near]


def _banned(kind: str, lane: str) -> bool:
    return (lane == "far" and kind == "motorbike") or (lane == "near" and kind == "bus")


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    draft = ScriptDraft("restricted_lane", seed)
    layout = draft.layout
    centre = layout.width / 2
    for vid, kind, lane, t_centre, speed in _CRUISERS:
        motion = draft.cruise(speed, centre, t_centre, spread=0.3)
        draft.add(Vehicle(vid, kind, lane, WIDTH[kind], motion))
        if not _banned(kind, lane):
            continue
        half = WIDTH[kind] * layout.lane(lane).scale / 2
        enters = motion.time_at(-half)
        leaves = motion.time_at(layout.width + half)
        since = max(enters, BAN_START_S) if kind == "bus" else enters
        if since < leaves:
            draft.offences.append(
                Offence("restricted_lane", vid, kind, since + MIN_DURATION_S, leaves)
            )

    # The swerving motorbike: its anchor leaves the kerb lane's row, passes the lane
    # line by SWERVE_PAST_LINE_PX for about half a second, and comes back.
    near = layout.lane("near")
    past_line = layout.lane_divider_y - SWERVE_PAST_LINE_PX - near.ground_y
    swerve = Swerve(offset=past_line, t_start=19.5 + draft.jitter(0.2), ramp_s=0.6, hold_s=0.2)
    motion = Cruise(draft.pace(270.0), centre - 150, swerve.t_start)
    draft.add(
        Vehicle("motorbike-sw", "motorbike", "near", WIDTH["motorbike"], motion, swerve=swerve)
    )
    return draft.finish(
        plan=SignalPlan(green_s=DURATION_S + 60.0, amber_s=3.0, red_s=12.0),
        duration_s=DURATION_S,
        rules=({"type": "restricted_lane", "min_duration_s": MIN_DURATION_S},),
        lanes=lanes_config(layout),
        recorded_at=RECORDED_AT,
    )
