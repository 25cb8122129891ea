"""A camera's `scene`: what is drawn on its image, and the checks that it agrees.

Lanes, signal heads and the approach's movements have modules of their own; the
smaller parts (stop line, crosswalks, zones, speed limits, ground calibration) live
here with `Scene`, which checks that the parts agree with each other and lie
inside the image.
"""

from __future__ import annotations

from datetime import date as date_type
from typing import Literal

from pydantic import Field, model_validator

from pipeline.config.approach import Approach
from pipeline.config.base import (
    VEHICLE_CLASSES,
    GroundPoint,
    Point,
    Polygon,
    StrictModel,
    VehicleClasses,
)
from pipeline.config.lanes import Lane
from pipeline.config.signal_heads import SignalHead
from pipeline.geometry import all_collinear, collinear_triple


class StopLine(StrictModel):
    points: tuple[Point, Point] = Field(description="The line's two end points in image pixels.")
    junction_side: Point = Field(
        description="Any image point on the junction side of the line (where crossing leads)."
    )

    @model_validator(mode="after")
    def _not_degenerate(self) -> StopLine:
        (x1, y1), (x2, y2) = self.points
        if (x1, y1) == (x2, y2):
            raise ValueError("stop line end points are identical")
        jx, jy = self.junction_side
        if (x2 - x1) * (jy - y1) - (y2 - y1) * (jx - x1) == 0:
            raise ValueError("junction_side lies on the stop line; pick a point off the line")
        return self


class Crosswalk(StrictModel):
    id: str = Field(description="Crosswalk id, unique within the camera.")
    polygon: Polygon = Field(description="Crossing area in image pixels.")


class Zone(StrictModel):
    id: str = Field(description="Zone id, unique within the camera.")
    kind: Literal["no_stopping", "no_parking"] = Field(
        description="no_stopping: no halt beyond a short dwell (not even to drop off); "
        "no_parking: stopping briefly is allowed, staying is not."
    )
    polygon: Polygon = Field(description="Zone area in image pixels.")
    max_dwell_s: float = Field(
        gt=0, description="Seconds a vehicle may stand still in the zone before it is an offence."
    )
    classes: VehicleClasses = Field(
        default_factory=lambda: list(VEHICLE_CLASSES),
        min_length=1,
        description="Vehicle classes the zone applies to.",
    )


class SpeedLimit(StrictModel):
    limit_kmh: float = Field(gt=0, le=200, description="Speed limit in km/h.")
    lanes: list[str] = Field(default_factory=list, description="Lane ids; empty: every lane.")
    classes: VehicleClasses = Field(
        default_factory=list, description="Vehicle classes; empty: every class."
    )


class Calibration(StrictModel):
    """Image-to-ground mapping for speeds and distances in metres."""

    id: str = Field(description="Calibration id, recorded with every speed measured with it.")
    date: date_type = Field(description="Day the calibration was surveyed.")
    image_points: list[Point] = Field(min_length=4, description="Points in image pixels.")
    ground_points: list[GroundPoint] = Field(
        min_length=4, description="The same points on the ground, in metres (any flat frame)."
    )

    @model_validator(mode="after")
    def _usable(self) -> Calibration:
        if len(self.image_points) != len(self.ground_points):
            raise ValueError(
                f"calibration has {len(self.image_points)} image points but "
                f"{len(self.ground_points)} ground points; they must pair up"
            )
        for name, points, tolerance in (
            ("image_points", self.image_points, 2.0),
            ("ground_points", self.ground_points, 0.05),
        ):
            if all_collinear(points, tolerance) or (
                len(points) == 4 and collinear_triple(points, tolerance)
            ):
                raise ValueError(
                    f"calibration {name} are collinear; a homography needs four points of "
                    "which no three lie on one line"
                )
        return self


class Scene(StrictModel):
    image_size: tuple[int, int] | None = Field(
        default=None,
        description="Width, height of the camera's frames; when set, every point of the scene "
        "must lie inside the image.",
    )
    stop_line: StopLine | None = Field(default=None, description="Stop line of the approach.")
    crosswalks: list[Crosswalk] = Field(default_factory=list, description="Pedestrian crossings.")
    lanes: list[Lane] = Field(default_factory=list, description="Lanes of the approach.")
    signal_heads: list[SignalHead] = Field(default_factory=list, description="Signal heads.")
    zones: list[Zone] = Field(default_factory=list, description="No-stopping/no-parking zones.")
    calibration: Calibration | None = Field(
        default=None, description="Ground calibration (needed for speeds)."
    )
    speed_limits: list[SpeedLimit] = Field(
        default_factory=list,
        description="Limits per lane and class; the most specific entry wins (lane and class, "
        "then lane, then class, then one with neither).",
    )
    approach: Approach = Field(
        default_factory=Approach,
        description="Movements from the approach and its turn-on-red sign (for red_light).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scene:
        for kind, items in (
            ("lanes", self.lanes),
            ("zones", self.zones),
            ("crosswalks", self.crosswalks),
            ("signal_heads", self.signal_heads),
        ):
            ids = [item.id for item in items]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{kind} ids used twice: {duplicates}")
        lane_ids = {lane.id for lane in self.lanes}
        for head in self.signal_heads:
            unknown = sorted(set(head.lanes) - lane_ids)
            if unknown:
                raise ValueError(f"signal head {head.id!r} controls unknown lanes {unknown}")
        for limit in self.speed_limits:
            unknown = sorted(set(limit.lanes) - lane_ids)
            if unknown:
                raise ValueError(f"speed limit names unknown lanes {unknown}")
        self._movements_consistent()
        if self.image_size is not None:
            self._inside_image(*self.image_size)
        return self

    def _movements_consistent(self) -> None:
        """Heads, lanes and exits agree on the approach's movements."""
        defined = set(self.approach.movements)
        named = [
            (f"signal head {head.id!r}", head.movements + ([head.arrow] if head.arrow else []))
            for head in self.signal_heads
        ] + [(f"lane {lane.id!r}", lane.movements) for lane in self.lanes]
        if not defined:
            for where, movements in named:
                if any(m != "straight" for m in movements):
                    raise ValueError(
                        f"{where} names movements {sorted(set(movements))} but "
                        "approach.movements defines no exits; give each movement an exit "
                        "region or direction"
                    )
            return
        for where, movements in named:
            unknown = sorted(set(movements) - defined)
            if unknown:
                raise ValueError(
                    f"{where} names movements {unknown} that approach.movements does not "
                    f"define (it defines {sorted(defined)})"
                )
        controlled = {m for head in self.signal_heads for m in head.controlled_movements}
        uncontrolled = sorted(defined - controlled)
        if self.signal_heads and uncontrolled:
            raise ValueError(
                f"approach.movements {uncontrolled} are controlled by no signal head; add them "
                "to a head's movements"
            )
        for head in self.signal_heads:
            if head.kind == "arrow" and head.movements and head.arrow not in head.movements:
                raise ValueError(
                    f"signal head {head.id!r}: an arrow pointing {head.arrow} does not control "
                    f"it (movements {head.movements})"
                )

    def _inside_image(self, width: int, height: int) -> None:
        def check(where: str, points: list[Point] | tuple[Point, ...]) -> None:
            for x, y in points:
                if not (0 <= x <= width and 0 <= y <= height):
                    raise ValueError(
                        f"{where} point ({x:g}, {y:g}) is outside the {width}x{height} image"
                    )

        if self.stop_line is not None:
            check("stop_line", self.stop_line.points)
        for head in self.signal_heads:
            if head.region is not None:
                x1, y1, x2, y2 = head.region
                check(f"signal head {head.id!r} region", [(x1, y1), (x2, y2)])
        for lane in self.lanes:
            check(f"lane {lane.id!r} polygon", lane.polygon)
        for zone in self.zones:
            check(f"zone {zone.id!r} polygon", zone.polygon)
        for crosswalk in self.crosswalks:
            check(f"crosswalk {crosswalk.id!r} polygon", crosswalk.polygon)
        for name, exit_ in self.approach.movements.items():
            if exit_.region is not None:
                check(f"approach.movements.{name} region", exit_.region)
        if self.calibration is not None:
            check("calibration image", self.calibration.image_points)

    def lane(self, lane_id: str) -> Lane:
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        raise KeyError(lane_id)
