"""What the `no_stopping` and `no_parking` scenarios share: kerb zones and stopping vehicles.

Both scenes mark a zone along each kerb before the junction: the near kerb beside the
near lane and the far kerb beside the far lane, from the left edge of the frame to
x = 560. A vehicle waiting at the stop line rests with its anchor at x = 647-692
(its half width short of the line), outside both zones, so a queue at a red light is
never a stay in a zone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise, StopAndGo
from pipeline.evaluation.scenario.script import Offence, Vehicle

ZONE_END_X = 560
"""Right edge of both kerb zones, short of where vehicles queue for the stop line."""
ZONE_HALF_DEPTH = 45
"""Zone rows either side of a lane's tyre line."""
ACCEL = 300.0
"""Braking/pull-away rate, pixels per second squared (as in the red_light scene)."""
WIDTH = {"car": 320, "motorbike": 270, "bus": 420}
"""Widths in the near lane (see red_light): large enough for yolov3-tiny at 608."""
TRUTH_EARLY_S = 1.0
"""How long before the scripted dwell end a report is still right: the rule counts a
stay from the first still sighting, which comes a moment before the vehicle is fully
at rest (the last pixels of braking)."""
TRUTH_LATE_S = 0.5


def zones_config(layout: Layout, kind: str, max_dwell_s: float) -> list[dict[str, Any]]:
    """One zone of `kind` along each kerb, before the junction."""
    zones = []
    for lane in layout.lanes:
        top, bottom = lane.ground_y - ZONE_HALF_DEPTH, lane.ground_y + ZONE_HALF_DEPTH
        zones.append(
            {
                "id": f"kerb-{lane.name}",
                "kind": kind,
                "polygon": [[0, top], [ZONE_END_X, top], [ZONE_END_X, bottom], [0, bottom]],
                "max_dwell_s": max_dwell_s,
            }
        )
    return zones


def stopper(
    rng: np.random.Generator, vid: str, kind: str, lane: str, x_stop: float, rest: float, go: float
) -> Vehicle:
    """A vehicle that drives in, rests with its anchor at `x_stop` from `rest` to `go`."""
    motion = StopAndGo(
        speed=(270.0 if kind == "motorbike" else 260.0) * rng.uniform(0.95, 1.05),
        accel=ACCEL,
        x_stop=x_stop,
        t_stop=rest,
        t_go=go,
    )
    return Vehicle(vid, kind, lane, WIDTH[kind], motion)


def at_the_line(layout: Layout, kind: str, lane: str) -> float:
    """Anchor x of a vehicle resting with its front 8 px short of the stop line."""
    scale = layout.lane(lane).scale
    return layout.stop_x - 8 - round(WIDTH[kind] * scale) / 2


def cruiser(vid: str, kind: str, lane: str, speed: float, x_ref: float, t_ref: float) -> Vehicle:
    """A vehicle driving through at constant `speed`, at `x_ref` at `t_ref`."""
    return Vehicle(vid, kind, lane, WIDTH[kind], Cruise(speed=speed, x_ref=x_ref, t_ref=t_ref))


def overstay(rule: str, vehicle: Vehicle, max_dwell_s: float) -> Offence:
    """The offence of a vehicle resting in a zone longer than `max_dwell_s`."""
    motion = vehicle.motion
    if not isinstance(motion, StopAndGo) or motion.t_go - motion.t_stop <= max_dwell_s + 1.0:
        raise ValueError(f"{vehicle.id} does not rest beyond the {max_dwell_s:g} s dwell")
    due = motion.t_stop + max_dwell_s
    return Offence(rule, vehicle.id, vehicle.kind, due - TRUTH_EARLY_S, due + TRUTH_LATE_S)
