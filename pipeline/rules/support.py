"""What several rules share: the memory of the vehicles they have flagged, knowing a
flagged vehicle again under another track id, and the stop line under a signal head."""

from __future__ import annotations

import math
from collections.abc import Callable, ItemsView, ValuesView
from dataclasses import dataclass
from typing import Generic, TypeVar

from pipeline.geometry import DirectedLine, Point
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint

Record = TypeVar("Record")

UNDER_A_MINUTE_S = math.nextafter(60.0, 0.0)
"""A `forget_s` that keeps a vehicle only while it has been unseen for less than a minute:
`forget` drops those unseen longer than `forget_s`, and the float just below 60 makes
that a full minute or more."""


class FlaggedVehicles(Generic[Record]):
    """Tracks a rule is done with, each with what the rule keeps to know the vehicle again.

    A flagged track is never judged again. Its record (its latest sighting, where it was
    heading, or just when it was last seen) lets the rule recognise the same vehicle under
    another tracker id, and says when it was last seen: `forget` drops those unseen for
    longer than `forget_s`, as tracker ids are not reused.
    """

    def __init__(self, last_seen: Callable[[Record], float], forget_s: float) -> None:
        self._last_seen = last_seen
        self.forget_s = forget_s
        self._records: dict[int, Record] = {}

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._records

    def get(self, track_id: int) -> Record | None:
        return self._records.get(track_id)

    def flag(self, track_id: int, record: Record) -> None:
        """Mark the track as done, or replace its record with a newer one."""
        self._records[track_id] = record

    def refresh(self, track_id: int, record: Record) -> bool:
        """Give a flagged track its newer record; whether the track is flagged."""
        if track_id not in self._records:
            return False
        self._records[track_id] = record
        return True

    def items(self) -> ItemsView[int, Record]:
        return self._records.items()

    def values(self) -> ValuesView[Record]:
        return self._records.values()

    def forget(self, now: float) -> None:
        """Drop the tracks unseen for longer than `forget_s` at stream time `now`."""
        self._records = {
            track_id: record
            for track_id, record in self._records.items()
            if now - self._last_seen(record) <= self.forget_s
        }

    def clear(self) -> None:
        self._records.clear()


@dataclass(frozen=True)
class FiredVehicle:
    """Where a vehicle stood when a rule flagged it: a new track there is that vehicle."""

    t: float
    anchor: Point
    width: float
    """The box width when flagged."""
    at_line: Point | None = None
    """Where its front met the stop line, for a crossing."""

    @classmethod
    def at(cls, point: TrackPoint, *, t: float, at_line: Point | None = None) -> FiredVehicle:
        box = point.box
        return cls(t, point.anchor, box[2] - box[0], at_line)

    def covers(self, anchor: Point) -> bool:
        """Whether `anchor` lies within half the vehicle's width of where it stood."""
        reach = 0.5 * self.width
        return abs(anchor[0] - self.anchor[0]) < reach and abs(anchor[1] - self.anchor[1]) < reach


class SignalledLineRule:
    """A rule that watches the stop line under one signal head (`red_light`, `stop_line`).

    The head is the rule's `signal_head`, or the scene's first; the lanes it controls
    (all, when it names none) are the approach the rule judges.
    """

    type: str

    def __init__(self, signal_head: str | None, geometry: SceneGeometry) -> None:
        scene = geometry.scene
        if scene.stop_line is None or not scene.signal_heads:
            raise ValueError(f"{self.type} needs a stop line and a signal head")
        self.geometry = geometry
        self.signal_head = signal_head or scene.signal_heads[0].id
        head = next(h for h in scene.signal_heads if h.id == self.signal_head)
        self.controlled_lanes = set(head.lanes)
        a, b = scene.stop_line.points
        self.line = DirectedLine(a, b, scene.stop_line.junction_side)
