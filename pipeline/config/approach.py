"""`scene.approach`: the movements from the approach and its turn-on-red sign.

A movement is where a vehicle goes once over the stop line (straight, left, right,
u_turn); each has an exit region and/or direction in the image.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.config.base import Point, Polygon, StrictModel

Movement = Literal["straight", "left", "right", "u_turn"]
"""Where a vehicle goes once over the stop line."""
MOVEMENTS: tuple[Movement, ...] = ("straight", "left", "right", "u_turn")


class MovementExit(StrictModel):
    """Where one movement leaves the junction, as the image shows it."""

    region: Polygon | None = Field(
        default=None,
        description="Image area a vehicle making this movement reaches (its box bottom), "
        "e.g. the mouth of the road it turns into. Reaching it decides the movement.",
    )
    direction: tuple[Point, Point] | None = Field(
        default=None,
        description="Arrow [tail, head] in image pixels along which a vehicle making this "
        "movement travels once past the line; the movement is decided when a vehicle's "
        "heading settles on it (see the red_light rule's movement_* settings).",
    )

    @model_validator(mode="after")
    def _region_or_direction(self) -> MovementExit:
        if self.region is None and self.direction is None:
            raise ValueError("a movement needs an exit region, an exit direction, or both")
        if self.direction is not None and self.direction[0] == self.direction[1]:
            raise ValueError("a movement's direction arrow has the same tail and head")
        return self


class Approach(StrictModel):
    """The camera's approach: the movements it leads to and the turn-on-red sign."""

    movements: dict[Movement, MovementExit] = Field(
        default_factory=dict,
        description="Movements from the approach (straight, left, right, u_turn), each with "
        "its exit region and/or direction in the image. Empty: every crossing counts as "
        "straight and is judged by the rule's head at once.",
    )
    right_turn_on_red: Literal["allowed", "after_stop", "banned"] = Field(
        default="banned",
        description="A right turn while the heads controlling it show red: banned (an "
        "offence), allowed (signed free right turn), or after_stop (allowed once the "
        "vehicle has stood still behind the line).",
    )
