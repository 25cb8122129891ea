"""The `speeding` scenario: a calibrated two-lane street with 30 and 40 km/h limits.

The calibration comes from the vehicles themselves: a car is about 4.5 m long, and its
sprite is `CAR_WIDTH` pixels wide in the near lane and 0.85 of that in the far lane
(the far lane is farther away), the lanes' ground rows are 3.5 m apart. Four points
(both ends of each lane's ground row) pair image pixels with ground metres; the
homography through them gives every anchor's ground position.

Limits: 30 km/h in the near (kerb) lane, 40 km/h in the far lane; the rule allows
3 km/h over. The limits are per lane, not per class: yolov3-tiny calls the car sprite
(a pickup) `truck` about as often as `car` in the far lane, and a class-specific
limit would then measure a car against a truck's limit. The signal stays green (this
scene is about speed only).

| vehicle       | lane | speed    | limit | what it is                          |
|---------------|------|----------|-------|-------------------------------------|
| car-slow      | near | 20 km/h  | 30    | slow car (negative)                 |
| motorbike-1   | far  | 50 km/h  | 40    | fast motorbike (offence)            |
| car-fast-1    | near | 45 km/h  | 30    | fast car (offence)                  |
| car-far-ok    | far  | 37 km/h  | 40    | fast for the near lane, legal here  |
| car-under     | near | 30 km/h  | 30    | at the limit (negative)             |
| motorbike-2   | near | 42 km/h  | 30    | fast motorbike (offence)            |
| car-fast-2    | far  | 55 km/h  | 40    | fast car (offence)                  |
| motorbike-ok  | near | 22 km/h  | 30    | slow motorbike (negative)           |
| motorbike-un  | far  | 38 km/h  | 40    | just under the limit (negative)     |
| bus-1         | near | 25 km/h  | 30    | slow bus (negative)                 |

Each offence's truth window is the time the vehicle is wholly in view: the rule
measures over sightings whose boxes the frame edge does not cut.
"""

from __future__ import annotations

from pipeline.evaluation.scenario.draft import ScriptDraft
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

DURATION_S = 38.0
CAR_LENGTH_M = 4.5
LANE_SPACING_M = 3.5
CAR_WIDTH = 300
"""Car sprite width in the near lane, pixels (the far lane's is scaled by its `scale`)."""
WIDTH = {"car": CAR_WIDTH, "motorbike": 270, "bus": 420}
LIMIT_KMH = {"near": 30.0, "far": 40.0}
TOLERANCE_KMH = 3.0
WINDOW_S = 0.6
"""Speed window: a fast car is wholly in view for about a second at this scale."""
CALIBRATION_ID = "scenario-speeding-1"
CALIBRATION_DATE = "2026-11-20"

# (id, kind, lane, time its anchor passes the frame centre, speed km/h)
_VEHICLES = (
    ("car-slow", "car", "near", 4.0, 20.0),
    ("motorbike-1", "motorbike", "far", 5.5, 50.0),
    ("car-fast-1", "car", "near", 9.0, 45.0),
    ("car-far-ok", "car", "far", 11.5, 37.0),
    ("car-under", "car", "near", 14.5, 30.0),
    ("motorbike-2", "motorbike", "near", 18.5, 42.0),
    ("car-fast-2", "car", "far", 21.5, 55.0),
    ("motorbike-ok", "motorbike", "near", 25.0, 22.0),
    ("motorbike-un", "motorbike", "far", 29.0, 38.0),
    ("bus-1", "bus", "near", 33.5, 25.0),
)


def metres_per_pixel(layout: Layout, lane: str) -> float:
    """Ground metres per image pixel along `lane`'s ground row."""
    return CAR_LENGTH_M / (CAR_WIDTH * layout.lane(lane).scale)


def calibration(layout: Layout) -> dict[str, object]:
    """Both ends of each lane's ground row, in pixels and in metres.

    Ground x runs along the street (0 at the near row's left end), ground y across
    it (0 on the near row). The image's centre column is the same ground x in both
    lanes: the camera looks straight across.
    """
    near, far = layout.lanes[1], layout.lanes[0]
    centre = layout.width / 2
    image_points, ground_points = [], []
    centre_m = centre * metres_per_pixel(layout, near.name)
    for lane, across_m in ((near, 0.0), (far, LANE_SPACING_M)):
        scale = metres_per_pixel(layout, lane.name)
        for x in (0, layout.width):
            image_points.append([x, lane.ground_y])
            ground_points.append([round(centre_m + (x - centre) * scale, 4), across_m])
    return {
        "id": CALIBRATION_ID,
        "date": CALIBRATION_DATE,
        "image_points": image_points,
        "ground_points": ground_points,
    }


def pixel_speed(layout: Layout, lane: str, kmh: float) -> float:
    """Anchor speed in pixels per second of `kmh` in `lane`."""
    return kmh / 3.6 / metres_per_pixel(layout, lane)


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    draft = ScriptDraft("speeding", seed)
    layout = draft.layout
    centre = layout.width / 2
    for vid, kind, lane, t_centre, kmh in _VEHICLES:
        speed = pixel_speed(layout, lane, draft.pace(kmh, 0.98, 1.02))
        t_ref = t_centre + draft.jitter(0.3)
        draft.add(Vehicle(vid, kind, lane, WIDTH[kind], Cruise(speed, centre, t_ref)))
        if kmh > LIMIT_KMH[lane] + TOLERANCE_KMH:
            half_free = (layout.width - WIDTH[kind] * layout.lane(lane).scale) / 2
            draft.offences.append(
                Offence("speeding", vid, kind, t_ref - half_free / speed, t_ref + half_free / speed)
            )
    return draft.finish(
        plan=SignalPlan(green_s=DURATION_S + 60.0, amber_s=3.0, red_s=12.0),
        duration_s=DURATION_S,
        rules=({"type": "speeding", "tolerance_kmh": TOLERANCE_KMH, "window_s": WINDOW_S},),
        scene={
            "calibration": calibration(layout),
            "speed_limits": [
                {"limit_kmh": limit, "lanes": [lane]} for lane, limit in LIMIT_KMH.items()
            ],
        },
    )
