"""The phases a signal head shows, and the pixel types its readers use."""

from __future__ import annotations

from enum import StrEnum

Box = tuple[float, float, float, float]
Point = tuple[float, float]


class Phase(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    UNKNOWN = "unknown"
