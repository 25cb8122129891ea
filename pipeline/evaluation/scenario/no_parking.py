"""The `no_parking` scenario: kerb zones where a stay may last 8 s at most.

Signal plan green 20 s, amber 3 s, red 12 s: green [0, 20), amber [20, 23),
red [23, 35), green [35, 45). Zones `kerb-near` and `kerb-far` run along both kerbs
from the left edge to x = 560. `kerb.build_scene` stages the vehicles; this module
gives the rule, its dwell and the rest times. Stopping briefly (a drop-off) is allowed.

| vehicle      | lane | what it does                                      | offence   |
|--------------|------|---------------------------------------------------|-----------|
| car-1        | near | parks in the zone 1.5-11.0 s                      | ~9.5 s    |
| motorbike-1  | far  | passes on green                                   | -         |
| car-2        | far  | crawls through the zone at 80 px/s                | -         |
| motorbike-2  | near | drops someone off in the zone 14.0-18.0 s (4 s)   | -         |
| car-3        | far  | parks in the zone 25.0-36.0 s                     | ~33.0 s   |
| car-4        | near | waits at the stop line on red 26.0-35.4 s         | -         |
| motorbike-3  | near | parks in the zone behind car-4, 28.0-41.0 s       | ~36.0 s   |

The seed jitters rest times by up to 0.2 s and speeds by up to 5 %, never enough to
make a stop cross the allowed dwell or two vehicles in one lane touch.
"""

from __future__ import annotations

from pipeline.evaluation.scenario.kerb import KerbScene, build_scene
from pipeline.evaluation.scenario.script import Script

RULE = "no_parking"
MAX_DWELL_S = 8.0
SCENE = KerbScene(
    rule=RULE,
    max_dwell_s=MAX_DWELL_S,
    parked_near=(1.5, 11.0),
    brief_stop=(14.0, 18.0),
    parked_far=(25.0, 36.0),
    parked_behind_queue=(28.0, 41.0),
)


def build(seed: int = 0) -> Script:
    """Return the scenario's script for `seed`."""
    return build_scene(SCENE, seed)
