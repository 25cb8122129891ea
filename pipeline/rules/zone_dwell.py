"""Standing still inside a zone for longer than it allows: what `no_stopping` and
`no_parking` share.

A *stay* is one vehicle standing at one spot of a zone. It begins when a track's
anchor has stayed within `stationary_radius_px` of one point for a second; its
arrival is the first sighting of that still run. It survives box jitter (positions
are the median of the last few anchors, and it only ends when the vehicle is seen
more than twice the radius away), short occlusions (a gap up to `max_gap_s` keeps the
clock running), tracker id switches and duplicate boxes (a new track standing still
with a box mostly inside the stay's, or around it, joins it; a vehicle passing in
front does not, as it is not still). A stay fires once, when its
dwell passes the zone's `max_dwell_s`; a fired stay is remembered while its vehicle is
out of sight for up to `forget_s`, so the same parked vehicle is never flagged twice.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from pipeline.config import DwellRule
from pipeline.geometry import Box, Point, box_containment, distance
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint, TrackState

RULE_VERSION = "1.0"
SMOOTHING_POINTS = 5
"""Anchors whose median stands for the vehicle's position: one jittery box moves a
median of five by nothing."""
STILL_TO_OPEN_S = 1.0
"""How long a track must stand within the radius before a stay opens. Vehicles in
traffic that slow down are never still for this long at walking-pace speeds."""
LEAVE_FACTOR = 2.0
"""A stay ends when the vehicle is seen this many radii from the spot: hysteresis, so
jitter at the radius's edge never ends a stay and restarts its clock."""
SAME_VEHICLE_OVERLAP = 0.7
"""Share of the smaller box inside the larger that makes a new track the stay's vehicle:
an id switch gives the same box, and the detector often boxes a part of a vehicle (a
pickup's cab, a motorbike's front) besides the whole of it."""
KEY_FRAME_SPAN_S = 4.0
"""The 'before' key frame is the stay's earliest sighting this recent: the camera
pipeline keeps five seconds of frames, and a stay's arrival is usually older."""


@dataclass
class _Stay:
    zone_id: str
    max_dwell_s: float
    vehicle_class: str
    centre: Point
    box: Box
    arrival: TrackPoint
    last: TrackPoint
    track_centres: dict[int, Point] = field(default_factory=dict)
    """Each track seen on the vehicle -> where its own anchor stood when it joined."""
    sightings: list[TrackPoint] = field(default_factory=list)
    """Recent sightings (last KEY_FRAME_SPAN_S), for the 'before' key frame."""
    fired: bool = False


class ZoneDwell:
    """Flags a vehicle standing in a zone of this rule's kind beyond its allowed dwell.

    Subclasses set `type` (which is also the zone kind) and the wording of the
    explanation.
    """

    type: str = ""
    version = RULE_VERSION
    verb = "stood"
    """How the explanation names the stay ('stopped', 'parked')."""

    def __init__(self, config: DwellRule, geometry: SceneGeometry) -> None:
        self.config = config
        self.geometry = geometry
        self.zones = [
            zone
            for zone in geometry.scene.zones
            if zone.kind == self.type and (not config.zones or zone.id in config.zones)
        ]
        if not self.zones:
            raise ValueError(f"{self.type} needs at least one zone of kind {self.type}")
        self._stays: list[_Stay] = []

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        found = []
        updated: set[int] = set()
        for track in ctx.tracks:
            if track.frames_seen < self.config.min_track_frames:
                continue
            if track.vehicle_class not in self.config.classes:
                continue
            position = _smoothed_anchor(track)
            stay = self._stay_of(track, position, updated)
            if stay is not None and distance(position, stay.track_centres[track.track_id]) > (
                LEAVE_FACTOR * self.config.stationary_radius_px
            ):
                # This track drove off. When it was the last one on the vehicle, the
                # vehicle left: its stay is over, fired or not.
                del stay.track_centres[track.track_id]
                if not stay.track_centres:
                    self._stays.remove(stay)
                stay = None
            if stay is None:
                stay = self._open_stay(track, position)
                if stay is None:
                    continue
                self._stays.append(stay)
            else:
                self._continue(stay, track)
            updated.add(id(stay))
            candidate = self._maybe_fire(stay, track, ctx.t)
            if candidate is not None:
                found.append(candidate)
        self._forget_unseen(ctx.t, updated)
        return found

    def _stay_of(self, track: TrackState, position: Point, updated: set[int]) -> _Stay | None:
        """The stay this track belongs to: its own, or another one at the same spot."""
        for stay in self._stays:
            if track.track_id in stay.track_centres:
                return stay
        radius = self.config.stationary_radius_px
        recent = list(track.points)[-SMOOTHING_POINTS:]
        if any(distance(p.anchor, position) > radius for p in recent):
            return None  # moving: at most passing a parked vehicle
        # A track that drove here is a vehicle of its own, unless it is a second box
        # on the vehicle of a stay that is still being seen (on this frame, or since
        # this track's previous sighting: tracks are checked in no particular order);
        # one that appeared here is a tracker id switch or the vehicle coming back
        # from behind a bus.
        appeared_here = distance(track.points[0].anchor, position) <= radius
        previous_t = track.points[-2].t if len(track.points) > 1 else track.last.t
        for stay in self._stays:
            live = id(stay) in updated or stay.last.t >= previous_t
            if not appeared_here and not live:
                continue
            if box_containment(track.last.box, stay.box) >= SAME_VEHICLE_OVERLAP:
                stay.track_centres[track.track_id] = position
                return stay
        return None

    def _open_stay(self, track: TrackState, position: Point) -> _Stay | None:
        """A new stay when the track has stood still for STILL_TO_OPEN_S inside a zone."""
        if not track.class_settled:
            # Zones may bar only some classes; the stay keeps the class it opened with.
            # Its arrival is the first still sighting, so waiting costs no dwell time.
            return None
        radius = self.config.stationary_radius_px
        still: list[TrackPoint] = []
        strays = 0
        for point in reversed(track.points):
            if still and still[-1].t - point.t > self.config.max_gap_s:
                break  # unseen too long to know it stood still meanwhile
            if distance(point.anchor, position) > radius:
                # One jittery box is not a move; two in a row are where it arrived.
                strays += 1
                if strays == 2:
                    break
                continue
            strays = 0
            still.append(point)
        if not still or still[0].t - still[-1].t < STILL_TO_OPEN_S:
            return None
        zone = next(
            (
                z
                for z in self.geometry.zones_at(position, self.type)
                if z in self.zones and track.vehicle_class in z.classes
            ),
            None,
        )
        if zone is None:
            return None
        still.reverse()
        centre = (
            statistics.median(p.anchor[0] for p in still),
            statistics.median(p.anchor[1] for p in still),
        )
        return _Stay(
            zone_id=zone.id,
            max_dwell_s=zone.max_dwell_s,
            vehicle_class=track.vehicle_class,
            centre=centre,
            box=track.last.box,
            arrival=still[0],
            last=track.last,
            track_centres={track.track_id: position},
            sightings=[p for p in still if track.last.t - p.t <= KEY_FRAME_SPAN_S],
        )

    def _continue(self, stay: _Stay, track: TrackState) -> None:
        point = track.last
        gap = point.t - stay.last.t
        if gap > self.config.max_gap_s and not stay.fired:
            # Out of sight too long to know it stood still all along: count afresh.
            stay.arrival = point
            stay.sightings = []
        stay.box = point.box
        stay.last = point
        stay.sightings.append(point)
        stay.sightings = [p for p in stay.sightings if point.t - p.t <= KEY_FRAME_SPAN_S]

    def _maybe_fire(self, stay: _Stay, track: TrackState, now: float) -> ViolationCandidate | None:
        dwell = now - stay.arrival.t
        if stay.fired or dwell < stay.max_dwell_s:
            return None
        stay.fired = True
        arrival_wall = stay.arrival.wall_time.isoformat()
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=now,
            before=stay.sightings[0],
            after=track.last,
            explanation=(
                f"{track.vehicle_class} {self.verb} {dwell:.1f} s in {self.type.replace('_', '-')} "
                f"zone {stay.zone_id!r} (allowed {stay.max_dwell_s:g} s)"
            ),
            measurements={
                "zone": stay.zone_id,
                "dwell_s": round(dwell, 3),
                "max_dwell_s": stay.max_dwell_s,
                "arrival_stream_s": round(stay.arrival.t, 3),
                "arrival_wall_time": arrival_wall,
                "stream_time_s": round(now, 3),
                "position_px": [round(stay.centre[0], 1), round(stay.centre[1], 1)],
                "track_ids": sorted(stay.track_centres),
            },
        )

    def _forget_unseen(self, now: float, updated: set[int]) -> None:
        def keep(stay: _Stay) -> bool:
            if id(stay) in updated:
                return True
            unseen = now - stay.last.t
            # A fired stay outlives long occlusions so its vehicle is not flagged again.
            return unseen <= (self.config.forget_s if stay.fired else self.config.max_gap_s)

        self._stays = [s for s in self._stays if keep(s)]


def _smoothed_anchor(track: TrackState) -> Point:
    recent = list(track.points)[-SMOOTHING_POINTS:]
    return (
        statistics.median(p.anchor[0] for p in recent),
        statistics.median(p.anchor[1] for p in recent),
    )
