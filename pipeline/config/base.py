"""What every config section builds on.

The strict base model, the error the loader raises, and the checked types for
image coordinates, polygons and vehicle classes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat

from pipeline.geometry import polygon_problem

# Image coordinates in pixels: finite (a NaN or infinity would poison every geometry
# test downstream) and within 100,000 px of the origin (no camera's frame is that big;
# a larger number is a typo or a unit mistake).
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-100_000, le=100_000)]
Point = tuple[Coordinate, Coordinate]
Box = tuple[Coordinate, Coordinate, Coordinate, Coordinate]
GroundPoint = tuple[FiniteFloat, FiniteFloat]


class ConfigError(Exception):
    """A config file that cannot be used; the message names file, camera and field."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


VEHICLE_CLASSES: tuple[str, ...] = ("car", "motorbike", "bus", "truck", "bicycle")
"""Canonical classes that are vehicles (what lanes, zones and limits are about)."""


def _check_polygon(points: list[Point]) -> list[Point]:
    problem = polygon_problem(points)
    if problem:
        raise ValueError(problem)
    return points


def _check_vehicle_classes(classes: list[str]) -> list[str]:
    for name in classes:
        if name not in VEHICLE_CLASSES:
            raise ValueError(f"unknown vehicle class {name!r}; expected one of {VEHICLE_CLASSES}")
    return classes


Polygon = Annotated[list[Point], AfterValidator(_check_polygon)]
VehicleClasses = Annotated[list[str], AfterValidator(_check_vehicle_classes)]
