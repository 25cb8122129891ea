"""The `no_stopping` scenario: kerb zones where a halt may last 5 s at most.

Signal plan green 20 s, amber 3 s, red 12 s: green [0, 20), amber [20, 23),
red [23, 35), green [35, 45). Zones `kerb-near` and `kerb-far` run along both kerbs
from the left edge to x = 560 (see `kerb`).

| vehicle      | lane | what it does                                      | offence   |
|--------------|------|---------------------------------------------------|-----------|
| car-1        | near | rests in the zone 2.0-9.0 s                       | ~7.0 s    |
| motorbike-1  | far  | passes on green                                   | -         |
| car-2        | far  | crawls through the zone at 80 px/s                | -         |
| motorbike-2  | near | halts in the zone 12.0-14.5 s (2.5 s, allowed)    | -         |
| car-3        | far  | rests in the zone 25.0-33.0 s                     | ~30.0 s   |
| car-4        | near | waits at the stop line on red 26.0-35.4 s         | -         |
| motorbike-3  | near | rests in the zone behind car-4, 29.0-37.0 s       | ~34.0 s   |

The seed jitters rest times by up to 0.2 s and speeds by up to 5 %, never enough to
make a halt cross the allowed dwell or two vehicles in one lane touch.
"""

from __future__ import annotations

import numpy as np

from pipeline.evaluation.scenario.kerb import at_the_line, cruiser, overstay, stopper, zones_config
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.script import Script
from pipeline.evaluation.scenario.signal_plan import SignalPlan

RULE = "no_stopping"
MAX_DWELL_S = 5.0
FPS = 10
DURATION_S = 45.0


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    rng = np.random.default_rng(seed)
    layout = Layout()

    def jitter() -> float:
        return float(rng.uniform(-0.2, 0.2))

    parked_near = stopper(rng, "car-1", "car", "near", 280, 2.0 + jitter(), 9.0)
    parked_far = stopper(rng, "car-3", "car", "far", 300, 25.0 + jitter(), 33.0)
    parked_behind_queue = stopper(
        rng, "motorbike-3", "motorbike", "near", 300, 29.0 + jitter(), 37.0
    )
    vehicles = (
        parked_near,
        cruiser("motorbike-1", "motorbike", "far", 250.0, layout.stop_x, 5.0 + jitter()),
        cruiser("car-2", "car", "far", 80.0, -136.0, 7.0),
        stopper(rng, "motorbike-2", "motorbike", "near", 320, 12.0 + jitter(), 14.5),
        parked_far,
        stopper(rng, "car-4", "car", "near", at_the_line(layout, "car", "near"), 26.0, 35.4),
        parked_behind_queue,
    )
    return Script(
        name=RULE,
        layout=layout,
        plan=SignalPlan(green_s=20.0, amber_s=3.0, red_s=12.0),
        fps=FPS,
        duration_s=DURATION_S,
        vehicles=vehicles,
        seed=seed,
        rules=({"type": RULE},),
        scene={
            "lanes": layout.lanes_config(),
            "zones": zones_config(layout, RULE, MAX_DWELL_S),
        },
        offences=tuple(
            overstay(RULE, v, MAX_DWELL_S) for v in (parked_near, parked_far, parked_behind_queue)
        ),
    )
