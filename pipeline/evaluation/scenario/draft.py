"""What every scenario builder starts and ends with: a seeded draft that becomes a `Script`.

A builder opens a `ScriptDraft` (the seed's random generator and the junction layout),
adds its vehicles and offences, and calls `finish` with what is particular to its
scene: the signal plan, the rule configs and the scene entries besides the lanes.
The draft draws from the seed's generator only when a builder asks, in the order it
asks: reordering a builder's calls changes the jitter its seed gives.

Example:
    >>> draft = ScriptDraft("red_light", seed=0)
    >>> draft.add(Vehicle("car-1", "car", "near", 320, draft.cruise(260.0, 815.0, 4.0, 0.3)))
    >>> script = draft.finish(plan=SignalPlan(10.0, 3.0, 12.0), duration_s=45.0)
    >>> [v.id for v in script.vehicles]
    ['car-1']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from pipeline.evaluation.scenario.arrow_heads import ArrowHead
from pipeline.evaluation.scenario.layout import Layout
from pipeline.evaluation.scenario.motion import Cruise
from pipeline.evaluation.scenario.script import RED_LIGHT_RULES, Offence, Script, Vehicle
from pipeline.evaluation.scenario.signal_plan import SignalPlan

FPS = 10
"""Frame rate of every generated video."""
ACCEL = 300.0
"""Braking/pull-away rate, pixels per second squared (about 0.35 g at this scale)."""
WIDTH = {"car": 320, "motorbike": 270, "bus": 420}
"""Widths in the near lane, pixels: large enough for yolov3-tiny at 608 (see
bench/detection_rate.py), and in proportion to one another."""


@dataclass
class ScriptDraft:
    """A scenario being built: its seeded randomness, its layout, vehicles and offences.

    Attributes:
        name: Scenario name.
        seed: Seed of the jitter and of the street texture.
        layout: Scene geometry.
        vehicles: Vehicles added so far, in the order added.
        offences: Offences added so far.
        rng: The seed's generator; every random draw of the scenario comes from it.
    """

    name: str
    seed: int
    layout: Layout = field(default_factory=Layout)
    vehicles: list[Vehicle] = field(default_factory=list)
    offences: list[Offence] = field(default_factory=list)
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def jitter(self, spread: float) -> float:
        """A random time offset within `spread` seconds either side."""
        return float(self.rng.uniform(-spread, spread))

    def pace(self, speed: float, low: float = 0.95, high: float = 1.05) -> float:
        """`speed` scaled by a random factor in `[low, high)`."""
        return float(speed * self.rng.uniform(low, high))

    def cruise(self, speed: float, x_ref: float, t_ref: float, spread: float) -> Cruise:
        """Constant jittered speed, at `x_ref` at `t_ref` give or take `spread` seconds.

        Draws the speed factor first, then the time offset.
        """
        pace = self.pace(speed)
        return Cruise(speed=pace, x_ref=x_ref, t_ref=t_ref + self.jitter(spread))

    def add_line_crossers(
        self, rows: Iterable[tuple[str, str, str, float, float]], spread: float
    ) -> None:
        """Add vehicles driving through at constant speed, one per row.

        Args:
            rows: `(id, kind, lane, time the anchor passes the stop line, speed px/s)`;
                sizes from `WIDTH`.
            spread: Jitter of each crossing time, seconds either side.
        """
        for vid, kind, lane, t_cross, speed in rows:
            motion = self.cruise(speed, self.layout.stop_x, t_cross, spread)
            self.add(Vehicle(vid, kind, lane, WIDTH[kind], motion))

    def width_in(self, kind: str, lane: str) -> int:
        """Pixel width of a `kind` sprite (see `WIDTH`) in `lane`."""
        return round(WIDTH[kind] * self.layout.lane(lane).scale)

    def add(self, *vehicles: Vehicle) -> None:
        """Add vehicles to the scene."""
        self.vehicles.extend(vehicles)

    def add_offences(self, offences: Iterable[Offence]) -> None:
        """Add offences to the truth."""
        self.offences.extend(offences)

    def finish(
        self,
        *,
        plan: SignalPlan,
        duration_s: float,
        rules: tuple[dict[str, Any], ...] = RED_LIGHT_RULES,
        lanes: list[dict[str, Any]] | None = None,
        scene: dict[str, Any] | None = None,
        recorded_at: datetime | None = None,
        arrow_heads: tuple[ArrowHead, ...] = (),
        fps: int = FPS,
    ) -> Script:
        """The finished script.

        Args:
            plan: Signal plan of the ball head.
            duration_s: Video length.
            rules: Rule configs for the camera config.
            lanes: Lane config entries; the layout's plain lanes when None.
            scene: Scene config entries after the lanes (zones, crosswalks, ...).
            recorded_at: Wall-clock time of the first frame, or None.
            arrow_heads: Turn-arrow heads painted beside the ball head.
            fps: Frame rate.
        """
        return Script(
            name=self.name,
            layout=self.layout,
            plan=plan,
            fps=fps,
            duration_s=duration_s,
            vehicles=tuple(self.vehicles),
            seed=self.seed,
            rules=rules,
            scene={
                "lanes": self.layout.lanes_config() if lanes is None else lanes,
                **(scene or {}),
            },
            offences=tuple(self.offences),
            recorded_at=recorded_at,
            arrow_heads=arrow_heads,
        )
