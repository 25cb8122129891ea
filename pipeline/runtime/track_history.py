"""Per-camera history of tracked vehicles, the input every rule reads."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.geometry import Box, Point, anchor_point


@dataclass(frozen=True)
class TrackPoint:
    """One sighting of a track on one analysed frame."""

    seq: int
    t: float
    """Stream time in seconds."""
    wall_time: datetime
    box: Box
    ground: Point | None = None
    """Anchor on the ground in metres, when the camera is calibrated."""
    estimated: bool = False
    """The box was estimated from the vehicle's rider, the detector having missed the
    motorbike itself on this frame (see `models.rider_tracks`)."""

    @property
    def anchor(self) -> Point:
        return anchor_point(self.box)


@dataclass
class TrackState:
    """A live track: its recent sightings and its class as the tracker reports it now."""

    track_id: int
    vehicle_class: str
    """The class the tracker gave on the latest frame; may change until `class_settled`."""
    points: deque[TrackPoint] = field(default_factory=lambda: deque(maxlen=300))
    frames_seen: int = 0
    class_settled: bool = True
    """Whether the tracker has fixed the class for good. Rules whose verdict depends on
    the class (a lane banned for trucks) wait for it, so a young track's first guess
    cannot raise a violation its later sightings overrule."""

    @property
    def last(self) -> TrackPoint:
        return self.points[-1]

    @property
    def previous(self) -> TrackPoint | None:
        return self.points[-2] if len(self.points) >= 2 else None


class TrackHistory:
    """Keeps the recent points of every live track; forgets tracks gone `forget_s`."""

    def __init__(self, *, forget_s: float = 10.0) -> None:
        self.forget_s = forget_s
        self._tracks: dict[int, TrackState] = {}

    def update(
        self,
        *,
        seq: int,
        t: float,
        wall_time: datetime,
        track_ids: list[int],
        boxes: list[Box],
        classes: list[str],
        grounds: list[Point | None] | None = None,
        settled: list[bool] | None = None,
        estimated: list[bool] | None = None,
    ) -> list[TrackState]:
        """Record one frame's tracks; returns the states seen on this frame.

        Args:
            seq, t, wall_time: The frame's sequence number and times.
            track_ids, boxes, classes: Each track's id, box and class on this frame, as
                the tracker reports them; a track takes the class given here every frame.
            grounds: Each box's anchor in ground metres when the camera is calibrated.
            settled: Whether each track's class is final (`Tracks.class_settled`);
                None means all are.
            estimated: Whether each box was estimated from a rider rather than
                detected; None means none was.
        """
        seen = []
        ground_points = grounds if grounds is not None else [None] * len(track_ids)
        settled_flags = settled if settled is not None else [True] * len(track_ids)
        estimated_flags = estimated if estimated is not None else [False] * len(track_ids)
        for track_id, box, vehicle_class, ground, class_settled, from_rider in zip(
            track_ids, boxes, classes, ground_points, settled_flags, estimated_flags, strict=True
        ):
            state = self._tracks.get(track_id)
            if state is None:
                state = self._tracks[track_id] = TrackState(track_id, vehicle_class)
            state.vehicle_class = vehicle_class
            state.class_settled = class_settled
            state.points.append(
                TrackPoint(
                    seq=seq, t=t, wall_time=wall_time, box=box, ground=ground, estimated=from_rider
                )
            )
            state.frames_seen += 1
            seen.append(state)
        stale = [tid for tid, s in self._tracks.items() if t - s.last.t > self.forget_s]
        for track_id in stale:
            del self._tracks[track_id]
        return seen

    def begin(self, track_id: int, vehicle_class: str, points: list[TrackPoint]) -> None:
        """Start a track's history with sightings made before the tracker gave it its id
        (a motorbike's boxes estimated from its rider); nothing for a known track."""
        if track_id in self._tracks or not points:
            return
        state = self._tracks[track_id] = TrackState(track_id, vehicle_class)
        state.points.extend(points)
        state.frames_seen = len(points)

    def get(self, track_id: int) -> TrackState | None:
        return self._tracks.get(track_id)
