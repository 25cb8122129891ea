"""`stop_line`: a vehicle stands over the stop line or on the crossing on red too long."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import StopLineRule
from pipeline.geometry import Point, distance
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.support import FiredVehicle, FlaggedVehicles, SignalledLineRule
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint, TrackState
from pipeline.signals.image import Phase, SignalState

RULE_VERSION = "1.0"
KEY_FRAME_MAX_AGE_S = 4.5
"""The 'before' key frame is the first sighting of the stay, unless that is older than
this: the camera pipeline keeps about 5 s of decoded frames."""


@dataclass
class _Stay:
    """One vehicle standing still over the line during one red phase."""

    red_since: float
    start_t: float
    """When the stay began counting: it stood still there, and the signal was red."""
    reference: Point
    """Where it stands: the anchor of the stay's first sighting."""
    first: TrackPoint
    last: TrackPoint
    on_crosswalk: bool
    over_line_px: float


class StopLine(SignalledLineRule):
    """Flags vehicles standing over the stop line or on a crossing for too long on red.

    A vehicle occupies the line when its ground contact (the bottom edge of its box)
    reaches more than `line_margin_px` past the stop line while some of it is still
    behind the line (a side view), when its anchor is just past the line (a front or
    rear view), or when its ground contact past the line lies on a crosswalk. It stands
    still while its anchor stays within `stationary_radius_px` of where the stay began.
    Time counts from the later of the stop and the red onset, so standing there through
    amber is not counted; it is reported once `max_stopped_s` of red has passed.

    A vehicle driving over the line without stopping is never flagged here (that is
    `red_light`'s offence); nor is one that stops short of the line, nor a brief stop.
    Occlusions and tracker id switches up to `max_gap_s` carry the stay over to the new
    sighting, and one vehicle is flagged at most once per red phase.
    """

    type = "stop_line"
    version = RULE_VERSION

    def __init__(self, config: StopLineRule, geometry: SceneGeometry) -> None:
        super().__init__(config.signal_head, geometry)
        self.config = config
        self._stays: dict[int, _Stay] = {}
        self._flagged = FlaggedVehicles[TrackPoint](lambda point: point.t, forget_s=float("inf"))
        """Tracks flagged since the signal last showed green or amber."""
        self._fired: list[FiredVehicle] = []

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        signal = ctx.signals.get(self.signal_head)
        if signal is None or signal.phase in (Phase.GREEN, Phase.AMBER):
            # Standing over the line is only an offence on red; the next red starts afresh.
            self._stays.clear()
            self._flagged.clear()
            self._fired.clear()
            return []
        if signal.phase is not Phase.RED or signal.since is None:
            # A long dark spell: nothing is counted, and nothing already flagged this
            # red is forgotten, so the red that follows cannot flag the same vehicle.
            return []
        found = []
        for track in ctx.tracks:
            candidate = self._check_track(track, ctx, signal, signal.since)
            if candidate is not None:
                found.append(candidate)
        self._forget_lost(ctx.t)
        return found

    def _check_track(
        self, track: TrackState, ctx: FrameContext, signal: SignalState, red_since: float
    ) -> ViolationCandidate | None:
        if track.track_id in self._flagged:
            return None
        if track.vehicle_class not in self.config.classes:
            return None
        point = track.last
        occupancy = self._occupancy(point)
        if occupancy is None or not self._lane_controlled(point.anchor):
            self._stays.pop(track.track_id, None)
            return None
        stay = self._extend_stay(track.track_id, point, occupancy, red_since)
        stopped_s = point.t - stay.start_t
        if stopped_s <= self.config.max_stopped_s:
            return None
        if track.frames_seen < self.config.min_track_frames:
            return None
        self._flagged.flag(track.track_id, point)
        if any(fired.covers(point.anchor) for fired in self._fired):
            # The same vehicle under a new tracker id, after an id switch the stay
            # did not survive (e.g. a longer occlusion).
            return None
        self._fired.append(FiredVehicle.at(point, t=point.t))
        return self._candidate(track, stay, ctx, signal, stopped_s)

    def _extend_stay(
        self, track_id: int, point: TrackPoint, occupancy: tuple[float, bool], red_since: float
    ) -> _Stay:
        """The track's stay with its newest sighting, over the line: the one it was in, one
        a lost track left at this spot, or a new one."""
        over_line_px, on_crosswalk = occupancy
        stay = self._stays.get(track_id)
        if stay is not None and (
            stay.red_since != red_since
            or point.t - stay.last.t > self.config.max_gap_s
            or distance(point.anchor, stay.reference) > self.config.stationary_radius_px
        ):
            stay = None
        if stay is None:
            stay = self._carried_over(track_id, point, red_since) or _Stay(
                red_since=red_since,
                start_t=max(point.t, red_since),
                reference=point.anchor,
                first=point,
                last=point,
                on_crosswalk=on_crosswalk,
                over_line_px=over_line_px,
            )
            self._stays[track_id] = stay
        stay.last = point
        stay.on_crosswalk = stay.on_crosswalk or on_crosswalk
        stay.over_line_px = max(stay.over_line_px, over_line_px)
        return stay

    def _candidate(
        self,
        track: TrackState,
        stay: _Stay,
        ctx: FrameContext,
        signal: SignalState,
        stopped_s: float,
    ) -> ViolationCandidate:
        point = track.last
        red_since = stay.red_since
        offence_t = stay.start_t + self.config.max_stopped_s
        lane = self.geometry.lane_at(point.anchor)
        where = "on the crossing" if stay.on_crosswalk else "over the stop line"
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=offence_t,
            before=_key_point_before(stay, track, ctx.t),
            after=point,
            explanation=(
                f"{track.vehicle_class} stood {where} for {stopped_s:.1f} s while the signal "
                f"was red (allowed {self.config.max_stopped_s:g} s)"
            ),
            measurements={
                "signal_head": self.signal_head,
                "signal_phase": signal.phase.value,
                "stopped_on_red_s": round(stopped_s, 3),
                "max_stopped_s": self.config.max_stopped_s,
                "stop_began_stream_s": round(stay.start_t, 3),
                "red_onset_stream_s": round(red_since, 3),
                "time_into_red_s": round(offence_t - red_since, 3),
                "stream_time_s": round(offence_t, 3),
                "over_line_px": round(stay.over_line_px, 1),
                "on_crosswalk": stay.on_crosswalk,
                "lane": lane.id if lane is not None else None,
            },
        )

    def _occupancy(self, point: TrackPoint) -> tuple[float, bool] | None:
        """(px past the line, on a crosswalk) when the vehicle occupies the line or crossing.

        The ground contact is the bottom edge of the box: its two ends and the anchor.
        """
        x1, y1, x2, y2 = point.box
        ground = [(x1, y2), point.anchor, (x2, y2)]
        distances = [self.line.signed_distance(p) for p in ground]
        margin = self.config.line_margin_px
        if not any(self.line.spans(p, margin=0.05) for p in ground):
            return None
        # The margin keeps a vehicle halted at the line, its box jittering a few
        # pixels across it, from counting as over it.
        on_crosswalk = any(
            d > margin and self.geometry.on_crosswalk(p)
            for p, d in zip(ground, distances, strict=True)
        )
        # Seen from the side, the bottom edge runs along the road: part of it behind the
        # line and part past it is a vehicle standing across the line.
        straddles = max(distances) > margin and min(distances) < 0
        # Seen from the front or back, the bottom edge runs along the line: ground
        # contact just past the line (less than half the vehicle's apparent height)
        # still has the body over the line; farther on it is in the junction.
        just_past = margin < distances[1] <= margin + 0.5 * (y2 - y1)
        if not (on_crosswalk or straddles or just_past):
            return None
        return max(distances), on_crosswalk

    def _lane_controlled(self, anchor: Point) -> bool:
        if not self.controlled_lanes:
            return True
        lane = self.geometry.lane_at(anchor)
        # Outside every lane (e.g. on the crossing beyond the lane polygons) still counts.
        return lane is None or lane.id in self.controlled_lanes

    def _carried_over(self, track_id: int, point: TrackPoint, red_since: float) -> _Stay | None:
        """A lost track's stay at this spot, taken over by this (new) track id.

        Occlusions and id switches end a track while the vehicle stands still; its new
        track continues the same stay rather than starting the count again.
        """
        for other_id, stay in list(self._stays.items()):
            if other_id == track_id or stay.red_since != red_since:
                continue
            lost = point.t > stay.last.t and point.t - stay.last.t <= self.config.max_gap_s
            if lost and distance(point.anchor, stay.reference) <= self.config.stationary_radius_px:
                del self._stays[other_id]
                return stay
        return None

    def _forget_lost(self, now: float) -> None:
        for track_id in [
            tid for tid, s in self._stays.items() if now - s.last.t > self.config.max_gap_s
        ]:
            del self._stays[track_id]


def _key_point_before(stay: _Stay, track: TrackState, now: float) -> TrackPoint:
    """The stay's first sighting, or the earliest one of it still in the frame buffer."""
    if now - stay.first.t <= KEY_FRAME_MAX_AGE_S:
        return stay.first
    kept = [p for p in track.points if p.t >= stay.first.t and now - p.t <= KEY_FRAME_MAX_AGE_S]
    return min(kept, key=lambda p: p.t) if kept else track.last
