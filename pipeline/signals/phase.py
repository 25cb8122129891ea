"""The phases a signal head shows, and the pixel types its readers use."""

from __future__ import annotations

from enum import StrEnum

from pipeline.geometry import Box as Box  # the readers' pixel types, re-exported
from pipeline.geometry import Point as Point


class Phase(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    UNKNOWN = "unknown"
