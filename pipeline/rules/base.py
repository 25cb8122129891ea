"""What every rule shares: the per-frame input and the violation it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from pipeline.geometry import Box
from pipeline.runtime.track_history import TrackPoint, TrackState
from pipeline.signals.image import SignalState


@dataclass(frozen=True)
class FrameContext:
    """Everything a rule may look at for one analysed frame of one camera."""

    camera_id: str
    seq: int
    t: float
    image: np.ndarray
    tracks: list[TrackState]
    """Tracks seen on this frame, with their history."""
    signals: dict[str, SignalState]
    wall_time: datetime | None = None
    """UTC wall-clock time of the frame (for lanes' and zones' time windows)."""
    riders: dict[int, list[Box]] = field(default_factory=dict)
    """Motorbike track id -> boxes of the persons riding it on this frame."""


@dataclass(frozen=True)
class ViolationCandidate:
    """A rule's finding, before evidence is written and it is stored."""

    rule_type: str
    rule_version: str
    track_id: int
    vehicle_class: str
    offence_t: float
    """Stream time (s) of the offence moment."""
    before: TrackPoint
    """A sighting before the offence (key frame 'before')."""
    after: TrackPoint
    """A sighting after the offence (key frame 'after')."""
    explanation: str
    measurements: dict[str, Any] = field(default_factory=dict)


class Rule(Protocol):
    type: str
    version: str

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        """Look at one frame; return the violations completed on it."""
        ...
