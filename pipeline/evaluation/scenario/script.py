"""A scenario script: the signal plan, the vehicles and their motions, and what follows.

The script is pure data and arithmetic; `render` turns it into frames. Ground truth
(crossing moments, violations, per-frame boxes) comes from the same motions that place
the sprites, so it is exact by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from pipeline.evaluation.scenario.arrow_heads import ArrowHead, paint_arrow_head
from pipeline.evaluation.scenario.layout import Layout, PixelBox
from pipeline.evaluation.scenario.motion import Motion, Swerve
from pipeline.evaluation.scenario.painter import (
    Image,
    paint_signal,
    paint_street,
    paint_vehicle,
    scale_sprite,
    sprite_box,
)
from pipeline.evaluation.scenario.riders import paint_riders
from pipeline.evaluation.scenario.signal_plan import Phase, SignalPlan
from pipeline.evaluation.scenario.sprites import Sprite

RED_LIGHT_RULES: tuple[dict[str, Any], ...] = ({"type": "red_light", "amber_grace_s": 0.0},)
"""The rule configs of a plain red-light scene: no amber grace, the crossings are exact."""


@dataclass(frozen=True)
class Vehicle:
    """One scripted vehicle.

    Attributes:
        id: Stable id, used in `boxes.jsonl`.
        kind: Sprite name, which is also its COCO class (`car`, `motorbike`, `bus`), or
            `pedestrian` for a person standing in the road.
        lane: Lane name in the layout.
        width: Width in pixels in the near lane (scaled by the lane's `scale`).
        motion: Anchor position over time.
        flip: Drives right to left: the sprite is mirrored (its photo faces left
            to right). Its motion's speed is then negative.
        swerve: A sideways excursion out of its lane and back (the sprite keeps
            its lane's size), or None.
        turn_t: Time the vehicle turns round, its sprite then facing the other way
            (a U-turn as a side view shows it), or None.
        riders: Persons seated on a motorbike, driver included, painted with it
            (see `riders`); 0 for vehicles without visible riders.
    """

    id: str
    kind: str
    lane: str
    width: int
    motion: Motion
    flip: bool = False
    swerve: Swerve | None = None
    turn_t: float | None = None
    riders: int = 0

    def ground_y_at(self, layout: Layout, t: float) -> int:
        """Image row of the anchor at time `t`."""
        y = layout.lane(self.lane).ground_y
        return y if self.swerve is None else round(y + self.swerve.offset_at(t))


@dataclass(frozen=True)
class Offence:
    """A violation staged in the scenario, as the truth file lists it.

    Attributes:
        rule: Rule type that should report it.
        vehicle: Id of the offending vehicle.
        kind: Its class.
        t_start: Earliest video time the rule may report it.
        t_end: Latest video time the rule may report it.
    """

    rule: str
    vehicle: str
    kind: str
    t_start: float
    t_end: float


@dataclass(frozen=True)
class Crossing:
    """A vehicle's anchor passing the stop line into the junction.

    Attributes:
        vehicle: The vehicle.
        t: Video time of the crossing (seconds).
        phase: Signal phase at that moment.
    """

    vehicle: Vehicle
    t: float
    phase: Phase


@dataclass(frozen=True)
class FrameTruth:
    """Ground truth of one frame.

    Attributes:
        index: Frame number from 0.
        t: Presentation time (seconds).
        phase: Lit lamp.
        boxes: `(vehicle, box, fully_in_view)` for every vehicle at least partly in view.
    """

    index: int
    t: float
    phase: Phase
    boxes: list[tuple[Vehicle, PixelBox, bool]]


@dataclass(frozen=True)
class Script:
    """Everything that happens in a generated scenario.

    Attributes:
        name: Scenario name.
        layout: Scene geometry.
        plan: Signal plan.
        fps: Frame rate of the video.
        duration_s: Video length.
        vehicles: The vehicles, in any order.
        seed: Seed of the street texture (vehicle jitter is already in `vehicles`).
        rules: Rule configs written to the camera config (`type` plus parameters).
        scene: Scene config entries besides the stop line and signal head (lanes,
            zones, calibration, speed limits), in config form.
        offences: What the truth file lists; empty means the red-light crossings.
        recorded_at: Wall-clock time the first frame shows (written to the config's
            `source.recorded_at`), for scenes whose rules depend on the time of day.
        arrow_heads: Turn-arrow heads painted beside the ball head (their config
            entries go in `scene`).
    """

    name: str
    layout: Layout
    plan: SignalPlan
    fps: int
    duration_s: float
    vehicles: tuple[Vehicle, ...]
    seed: int
    rules: tuple[dict[str, Any], ...] = RED_LIGHT_RULES
    scene: dict[str, Any] = field(default_factory=dict)
    offences: tuple[Offence, ...] = ()
    recorded_at: datetime | None = None
    arrow_heads: tuple[ArrowHead, ...] = ()

    @property
    def n_frames(self) -> int:
        """Number of frames in the video."""
        return round(self.duration_s * self.fps)

    def crossings(self) -> list[Crossing]:
        """Stop-line crossings that happen within the video, in time order."""
        out = []
        for vehicle in self.vehicles:
            t = vehicle.motion.time_at(self.layout.stop_x)
            if 0.0 <= t < self.duration_s:
                out.append(Crossing(vehicle, t, self.plan.phase_at(t)))
        return sorted(out, key=lambda c: c.t)

    def violations(self) -> list[Crossing]:
        """Crossings on red: the offences the pipeline should find, and only these."""
        return [c for c in self.crossings() if c.phase == "red"]

    def truth(self, window_s: float = 0.5) -> list[Offence]:
        """The offences the pipeline should report, and only these.

        Scenarios that stage other rules list them in `offences`; a red-light scene
        derives them from its crossings on red, `window_s` either side of each.
        """
        if self.offences:
            return sorted(self.offences, key=lambda o: o.t_start)
        return [
            Offence(
                "red_light",
                c.vehicle.id,
                c.vehicle.kind,
                max(0.0, c.t - window_s),
                c.t + window_s,
            )
            for c in self.violations()
        ]

    def render(self, sprites: dict[str, Sprite]) -> Iterator[tuple[Image, FrameTruth]]:
        """Yield each frame with its ground truth.

        Args:
            sprites: Unscaled sprites by name (see `sprites.load_sprites`).
        """
        layout = self.layout
        street = paint_street(layout, np.random.default_rng(self.seed))
        scaled = {
            v.id: _mirrored(
                scale_sprite(sprites[v.kind], round(v.width * layout.lane(v.lane).scale)), v.flip
            )
            for v in self.vehicles
        }
        # Paint the far lane first so nearer vehicles occlude farther ones.
        order = sorted(self.vehicles, key=lambda v: layout.lane(v.lane).ground_y)
        for index in range(self.n_frames):
            t = index / self.fps
            frame = street.copy()
            phase = self.plan.phase_at(t)
            paint_signal(frame, layout, phase)
            for head in self.arrow_heads:
                paint_arrow_head(frame, head, head.lit_at(t, self.plan))
            boxes: list[tuple[Vehicle, PixelBox, bool]] = []
            for vehicle in order:
                sprite = scaled[vehicle.id]
                if vehicle.turn_t is not None and t >= vehicle.turn_t:
                    sprite = _mirrored(sprite, True)
                box = sprite_box(sprite, vehicle.motion.x_at(t), vehicle.ground_y_at(layout, t))
                x1, y1, x2, y2 = box
                if x2 <= 0 or x1 >= layout.width:
                    continue
                paint_vehicle(frame, sprite, box)
                if vehicle.riders:
                    turned = vehicle.turn_t is not None and t >= vehicle.turn_t
                    paint_riders(frame, sprites, box, vehicle.riders, flip=vehicle.flip != turned)
                inside = x1 >= 0 and y1 >= 0 and x2 <= layout.width and y2 <= layout.height
                boxes.append((vehicle, box, inside))
            yield frame, FrameTruth(index, t, phase, boxes)


def _mirrored(sprite: Sprite, flip: bool) -> Sprite:
    """The sprite facing the other way, for vehicles driving right to left."""
    if not flip:
        return sprite
    return Sprite(
        sprite.name,
        np.ascontiguousarray(sprite.bgr[:, ::-1]),
        np.ascontiguousarray(sprite.alpha[:, ::-1]),
    )
