"""What the `no_stopping` and `no_parking` scenarios share: kerb zones and stopping vehicles.

Both scenes mark a zone along each kerb before the junction: the near kerb beside the
near lane and the far kerb beside the far lane, from the left edge of the frame to
x = 560. A vehicle waiting at the stop line rests with its anchor at x = 647-692
(its half width short of the line), outside both zones, so a queue at a red light is
never a stay in a zone.

The two scenes stage the same seven vehicles (see `build_scene`); only the rule, its
allowed dwell and four rest times differ, which each scene's module gives as a
`KerbScene`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.evaluation.scenario.draft import ACCEL, WIDTH, ScriptDraft
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise, StopAndGo
from pipeline.evaluation.scenario.script import Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

DURATION_S = 45.0
PLAN = SignalPlan(green_s=20.0, amber_s=3.0, red_s=12.0)
"""Green [0, 20), amber [20, 23), red [23, 35), green [35, 45)."""
ZONE_END_X = 560
"""Right edge of both kerb zones, short of where vehicles queue for the stop line."""
ZONE_HALF_DEPTH = 45
"""Zone rows either side of a lane's tyre line."""
TRUTH_EARLY_S = 1.0
"""How long before the scripted dwell end a report is still right: the rule counts a
stay from the first still sighting, which comes a moment before the vehicle is fully
at rest (the last pixels of braking)."""
TRUTH_LATE_S = 0.5


Rest = tuple[float, float]
"""`(rest, go)`: when a vehicle comes to rest in its zone and when it pulls away."""


@dataclass(frozen=True)
class KerbScene:
    """What tells one kerb-zone scene from the other.

    Attributes:
        rule: Rule type, which is also the zones' kind.
        max_dwell_s: Longest stay the zones allow.
        parked_near: `car-1` in the near zone (an offence).
        brief_stop: `motorbike-2` in the near zone, shorter than the dwell (no offence).
        parked_far: `car-3` in the far zone (an offence).
        parked_behind_queue: `motorbike-3` in the near zone behind the queue at the line
            (an offence).
    """

    rule: str
    max_dwell_s: float
    parked_near: Rest
    brief_stop: Rest
    parked_far: Rest
    parked_behind_queue: Rest


def build_scene(scene: KerbScene, seed: int) -> Script:
    """The script of a kerb-zone scene for `seed`.

    Seven vehicles: three rest in a zone beyond the dwell, one rests there briefly,
    one queues at the line on red outside both zones, two drive through (one crawling).
    The seed jitters rest times by up to 0.2 s and speeds by up to 5 %.
    """
    draft = ScriptDraft(scene.rule, seed)
    layout, rng = draft.layout, draft.rng

    def rest_in_zone(vid: str, kind: str, lane: str, x_stop: float, rest: Rest) -> Vehicle:
        return stopper(rng, vid, kind, lane, x_stop, rest[0] + draft.jitter(0.2), rest[1])

    parked_near = rest_in_zone("car-1", "car", "near", 280, scene.parked_near)
    parked_far = rest_in_zone("car-3", "car", "far", 300, scene.parked_far)
    behind_queue = rest_in_zone("motorbike-3", "motorbike", "near", 300, scene.parked_behind_queue)
    draft.add(
        parked_near,
        cruiser("motorbike-1", "motorbike", "far", 250.0, layout.stop_x, 5.0 + draft.jitter(0.2)),
        cruiser("car-2", "car", "far", 80.0, -136.0, 7.0),
        rest_in_zone("motorbike-2", "motorbike", "near", 320, scene.brief_stop),
        parked_far,
        stopper(rng, "car-4", "car", "near", at_the_line(layout, "car", "near"), 26.0, 35.4),
        behind_queue,
    )
    draft.add_offences(
        overstay(scene.rule, v, scene.max_dwell_s) for v in (parked_near, parked_far, behind_queue)
    )
    return draft.finish(
        plan=PLAN,
        duration_s=DURATION_S,
        rules=({"type": scene.rule},),
        scene={"zones": zones_config(layout, scene.rule, scene.max_dwell_s)},
    )


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
