"""`scene.lanes`: the lanes of a camera's approach.

Each lane's area and directions of travel, the vehicle classes allowed in it, its
bans by time window, and the movements its painted arrows allow.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline.config.approach import Movement
from pipeline.config.base import VEHICLE_CLASSES, Point, Polygon, StrictModel, VehicleClasses

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TimeWindow(StrictModel):
    """A daily window in the camera's local time, e.g. 06:00-21:00 on weekdays.

    A window whose end is before its start runs past midnight (22:00-05:00).
    """

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM, local time.")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="HH:MM, local.")
    days: list[Weekday] = Field(
        default_factory=lambda: list(WEEKDAYS),
        min_length=1,
        description="Days the window applies on.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> TimeWindow:
        if self.start == self.end:
            raise ValueError("time window start and end are the same")
        return self


class LaneRestriction(StrictModel):
    """Vehicle classes banned from a lane, always or within time windows."""

    classes: VehicleClasses = Field(min_length=1, description="Banned classes.")
    windows: list[TimeWindow] = Field(
        default_factory=list, description="When the ban applies; empty: always."
    )


class Lane(StrictModel):
    id: str = Field(description="Lane id, unique within the camera.")
    polygon: Polygon = Field(description="Lane area in image pixels (vertices in order).")
    directions: list[tuple[Point, Point]] = Field(
        description="Allowed directions of travel, each an arrow [tail, head] in image pixels "
        "drawn along the lane (several for a lane that also turns)."
    )
    allowed_classes: VehicleClasses = Field(
        default_factory=lambda: list(VEHICLE_CLASSES),
        min_length=1,
        description="Vehicle classes allowed in the lane at any time.",
    )
    restrictions: list[LaneRestriction] = Field(
        default_factory=list, description="Further bans, e.g. trucks 06:00-21:00."
    )
    movements: list[Movement] = Field(
        default_factory=list,
        description="Movements the lane's painted arrows allow over the stop line (straight, "
        "left, right, u_turn); empty: every movement of the approach.",
    )

    @field_validator("directions")
    @classmethod
    def _has_direction(cls, arrows: list[tuple[Point, Point]]) -> list[tuple[Point, Point]]:
        if not arrows:
            raise ValueError("lane has no direction of travel; give at least one [tail, head]")
        for tail, head in arrows:
            if tail == head:
                raise ValueError("a direction arrow's tail and head are the same point")
        return arrows
