"""`restricted_lane`: a vehicle class in a lane it may not use (always, or in banned hours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pipeline.config import WEEKDAYS, Lane, RestrictedLaneRule
from pipeline.geometry import distance
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.support import UNDER_A_MINUTE_S, FlaggedVehicles
from pipeline.runtime.scene import SceneGeometry, window_open
from pipeline.runtime.track_history import TrackPoint, TrackState

RULE_VERSION = "1.0"
TIME_EPSILON_S = 1e-6
"""Stream times are sums of frame intervals; 1.8 + 1.0 may fall just short of 2.8."""
MIN_IN_LANE_SHARE = 0.7
"""Share of a stay's sightings that must be in the lane: a vehicle riding the lane
line, its anchor flickering across it, is not using the lane."""
BEFORE_KEY_FRAME_MAX_S = 4.0
"""The 'before' key frame is at most this old: the pipeline keeps ~5 s of frames."""
SAME_VEHICLE_S = 1.5
"""A new track starting within this long of a reported track's last sighting, in the
same lane and near it, is that vehicle under a new tracker id."""
DUPLICATE_SHARE = 0.5
"""A track whose anchor is within this share of a reported vehicle's box width of that
vehicle's, on the same frame, is the same vehicle boxed twice (as `car` and `truck`)."""


@dataclass
class _Stay:
    """A vehicle's current time in a lane it may not use."""

    lane_id: str
    vehicle_class: str
    """The class the lane bans that this stay was judged under."""
    first: TrackPoint
    last_in: TrackPoint
    sightings: int = 1
    in_lane: int = 1


@dataclass
class _Reported:
    lane_id: str
    vehicle_class: str
    last: TrackPoint


class RestrictedLane:
    """Flags a vehicle that stays in a lane its class may not use.

    A sighting counts against the vehicle when its anchor (bottom centre) is in a
    checked lane that does not allow its class at that sighting's wall-clock time
    (lane's allowed classes, then restrictions with time windows in the camera's
    time zone). The stay must last `min_duration_s` (a lane change only crosses the
    lane), may survive gaps of `max_gap_s` (occlusion, jitter over the lane line)
    and must be mostly in the lane. One violation per vehicle, also across tracker
    id switches. The verdict depends on the class, so it waits until the tracker has
    settled the track's class, and a stay judged under a class the vote has since
    dropped starts again under the new one.
    """

    type = "restricted_lane"
    version = RULE_VERSION

    def __init__(self, config: RestrictedLaneRule, geometry: SceneGeometry) -> None:
        if not geometry.scene.lanes:
            raise ValueError("restricted_lane needs scene lanes")
        self.config = config
        self.geometry = geometry
        self.lane_ids = set(config.lanes) or {lane.id for lane in geometry.scene.lanes}
        self._stays: dict[int, _Stay] = {}
        # Tracker ids are not reused; a minute unseen is long gone.
        self._reported = FlaggedVehicles[_Reported](
            lambda reported: reported.last.t, forget_s=UNDER_A_MINUTE_S
        )

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        found = []
        for track in ctx.tracks:
            reported = self._reported.get(track.track_id)
            if reported is not None:
                reported.last = track.last
                continue
            if track.vehicle_class not in self.config.classes:
                continue
            stay = self._update_stay(track)
            if stay is None or track.frames_seen < self.config.min_track_frames:
                continue
            if not track.class_settled:  # the stay goes on; the verdict waits
                continue
            duration = stay.last_in.t - stay.first.t
            if duration < self.config.min_duration_s - TIME_EPSILON_S:
                continue
            if stay.in_lane < MIN_IN_LANE_SHARE * stay.sightings:
                continue
            del self._stays[track.track_id]
            self._reported.flag(
                track.track_id, _Reported(stay.lane_id, track.vehicle_class, track.last)
            )
            if self._same_vehicle_as_reported(track, stay):
                continue
            found.append(self._candidate(track, stay, duration))
        self._forget(ctx.t)
        return found

    def _update_stay(self, track: TrackState) -> _Stay | None:
        """Extend, start or end the track's stay in a banned lane with its newest sighting."""
        point = track.last
        lane = self._banned_lane(point, track.vehicle_class)
        stay = self._stays.get(track.track_id)
        if stay is not None and point.t - stay.last_in.t > self.config.max_gap_s:
            stay = None
        if stay is not None and stay.vehicle_class != track.vehicle_class:
            # The tracker's vote changed the class: sightings banned for the old class
            # say nothing about the vehicle it now is.
            stay = None
        if lane is None:
            if stay is None:
                self._stays.pop(track.track_id, None)
                return None
            stay.sightings += 1
            return stay
        if stay is None or stay.lane_id != lane.id:
            stay = self._stays[track.track_id] = _Stay(lane.id, track.vehicle_class, point, point)
            return stay
        stay.last_in = point
        stay.sightings += 1
        stay.in_lane += 1
        return stay

    def _banned_lane(self, point: TrackPoint, vehicle_class: str) -> Lane | None:
        lane = self.geometry.lane_at(point.anchor)
        if lane is None or lane.id not in self.lane_ids:
            return None
        if self.geometry.class_allowed(lane, vehicle_class, point.wall_time):
            return None
        return lane

    def _candidate(self, track: TrackState, stay: _Stay, duration: float) -> ViolationCandidate:
        lane = self.geometry.scene.lane(stay.lane_id)
        offence = stay.last_in
        reason = self.reason(lane, track.vehicle_class, offence.wall_time)
        local = offence.wall_time.astimezone(ZoneInfo(self.geometry.timezone))
        # The vehicle entering the lane, unless that is older than the kept frames.
        earliest = next(
            (p for p in track.points if p.t >= offence.t - BEFORE_KEY_FRAME_MAX_S), offence
        )
        before = stay.first if stay.first.t >= earliest.t else earliest
        if before.t >= offence.t and track.previous is not None:
            before = track.previous
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=offence.t,
            before=before,
            after=offence,
            explanation=(
                f"{track.vehicle_class} in lane {lane.id} for {duration:.1f} s: {reason} "
                f"(local time {local:%H:%M})"
            ),
            measurements={
                "lane": lane.id,
                "allowed_classes": list(lane.allowed_classes),
                "reason": reason,
                "time_in_lane_s": round(duration, 3),
                "entered_stream_s": round(stay.first.t, 3),
                "stream_time_s": round(offence.t, 3),
                "local_time": local.isoformat(timespec="seconds"),
                "timezone": self.geometry.timezone,
            },
        )

    def reason(self, lane: Lane, vehicle_class: str, when: datetime) -> str:
        """Why `vehicle_class` may not use `lane` at `when`, in words."""
        if vehicle_class not in lane.allowed_classes:
            return f"the lane allows only {', '.join(lane.allowed_classes)}"
        for restriction in lane.restrictions:
            if vehicle_class in restriction.classes and window_open(
                restriction.windows, when, self.geometry.timezone
            ):
                if not restriction.windows:
                    return f"{vehicle_class} is banned from the lane"
                hours = ", ".join(
                    f"{w.start}-{w.end}"
                    + (" daily" if len(w.days) == len(WEEKDAYS) else f" {','.join(w.days)}")
                    for w in restriction.windows
                )
                return f"{vehicle_class} is banned from the lane {hours}"
        return "the lane does not allow it"

    def _same_vehicle_as_reported(self, track: TrackState, stay: _Stay) -> bool:
        """Whether the track is a reported vehicle under another tracker id.

        After an id switch, the new track's first sighting follows the reported
        track's last one closely in time and place; a duplicate track (the detector
        boxing one vehicle twice) is where the reported one is, on the same frame.
        """
        first, last = track.points[0], track.last
        for track_id, reported in self._reported.items():
            if track_id == track.track_id or reported.lane_id != stay.lane_id:
                continue
            x1, _, x2, _ = reported.last.box
            width = max(x2 - x1, 1.0)
            if abs(last.t - reported.last.t) <= 0.5 and (
                distance(last.anchor, reported.last.anchor) <= DUPLICATE_SHARE * width
            ):
                return True
            if reported.vehicle_class != track.vehicle_class:
                continue
            if 0 <= first.t - reported.last.t <= SAME_VEHICLE_S and (
                distance(first.anchor, reported.last.anchor) <= width
            ):
                return True
        return False

    def _forget(self, t: float) -> None:
        self._reported.forget(t)
        # Tracker ids are not reused; a minute unseen is long gone.
        self._stays = {k: s for k, s in self._stays.items() if t - s.last_in.t < 60.0}
