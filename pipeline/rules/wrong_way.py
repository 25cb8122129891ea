"""`wrong_way`: sustained motion against the lane's direction of travel."""

from __future__ import annotations

import math

from pipeline.config import Lane, WrongWayRule
from pipeline.geometry import angle_between, box_containment, vector
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.support import FlaggedVehicles
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint, TrackState

RULE_VERSION = "1.0"
KEY_FRAME_MAX_AGE_S = 4.5
"""The 'before' key frame is the start of the run against the lane, unless that is
older than this: the camera pipeline keeps about 5 s of decoded frames."""


CONTAINED_SHARE = 0.6
"""A box this much inside a flagged vehicle's box (or holding it) is that vehicle."""
FRAME_RATE_FLOOR = 2.0
"""Slowest frame rate expected: boxes of tracks seen this close in time are compared."""
STANDING_S = 0.5
"""A vehicle within `jitter_px` of one spot this long was standing, not driving."""


class WrongWay:
    """Flags vehicles that keep moving against their lane's direction of travel.

    On each frame the rule looks back along the track from its newest sighting for the
    run against the lane: every earlier sighting, in the same lane and with no gap
    longer than `max_gap_s`, from which the vehicle has since moved against the lane
    (more than `max_angle_deg` off every allowed direction), or not at all (within
    `jitter_px`). Once that run covers `min_distance_px` and `min_duration_s`, the
    vehicle is flagged, once.

    So a stopped vehicle's jittering box, a vehicle rolling back a metre, and the first
    metres of a U-turn (against the lane briefly, then turning away or out of the lane)
    are not flagged: they never cover the distance and the time together. A vehicle that
    reappears under a new track id where a flagged one vanished is that same vehicle.
    """

    type = "wrong_way"
    version = RULE_VERSION

    def __init__(self, config: WrongWayRule, geometry: SceneGeometry) -> None:
        if not geometry.scene.lanes:
            raise ValueError("wrong_way needs lanes with directions of travel")
        self.config = config
        self.geometry = geometry
        self.lane_ids = set(config.lanes) or {lane.id for lane in geometry.scene.lanes}
        # A flagged vehicle unseen for longer than any id switch could bridge is gone.
        self._flagged = FlaggedVehicles[TrackPoint](
            lambda last: last.t, forget_s=10 * config.max_gap_s
        )
        """Flagged track id -> its latest sighting (to recognise it after an id switch)."""

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        found = []
        for track in ctx.tracks:
            if self._flagged.refresh(track.track_id, track.last):
                continue
            if track.vehicle_class not in self.config.classes:
                continue
            if track.frames_seen < self.config.min_track_frames:
                continue
            lane = self.geometry.lane_at(track.last.anchor)
            if lane is None or lane.id not in self.lane_ids:
                continue
            start = self._run_start(track, lane)
            if start is None:
                continue
            candidate = self._candidate(track, lane, start)
            if candidate is None:
                continue
            same_vehicle = self._already_flagged_vehicle(track)
            self._flagged.flag(track.track_id, track.last)
            if not same_vehicle:
                found.append(candidate)
        self._flagged.forget(ctx.t)
        return found

    def _run_start(self, track: TrackState, lane: Lane) -> TrackPoint | None:
        """The sighting the current run against the lane starts from, or None.

        Walking back from the newest sighting, the run goes on while the vehicle, from
        each earlier sighting, went on to the farthest point of the run by moving
        against the lane, or by less than `jitter_px`. A forward move ends it, and so
        do a change of lane and a gap over `max_gap_s`. Standing still before setting
        off is not part of the run: a vehicle that waited, then turns, has not been
        driving against the lane all that while.
        """
        points = list(track.points)
        now = points[-1]
        run = [now]
        farthest = now
        for point in reversed(points[:-1]):
            if run[-1].t - point.t > self.config.max_gap_s:
                break
            if getattr(self.geometry.lane_at(point.anchor), "id", None) != lane.id:
                break
            motion = vector(point.anchor, farthest.anchor)
            if math.hypot(*motion) > self.config.jitter_px and not self.geometry.against_lane(
                lane, motion, self.config.max_angle_deg
            ):
                break
            run.append(point)
            if math.dist(point.anchor, now.anchor) > math.dist(farthest.anchor, now.anchor):
                farthest = point
        if len(run) < 2:
            return None
        origin = run[-1]
        set_off = next(
            p for p in run if math.dist(p.anchor, origin.anchor) <= self.config.jitter_px
        )
        return set_off if set_off.t - origin.t >= STANDING_S else origin

    def _candidate(
        self, track: TrackState, lane: Lane, start: TrackPoint
    ) -> ViolationCandidate | None:
        now = track.last
        motion = vector(start.anchor, now.anchor)
        distance_px = math.hypot(*motion)
        duration_s = now.t - start.t
        if distance_px < self.config.min_distance_px or duration_s < self.config.min_duration_s:
            return None
        if not self.geometry.against_lane(lane, motion, self.config.max_angle_deg):
            return None
        angle = min(angle_between(motion, vector(tail, head)) for tail, head in lane.directions)
        measurements: dict[str, object] = {
            "lane": lane.id,
            "direction_angle_deg": round(angle, 1),
            "distance_px": round(distance_px, 1),
            "duration_s": round(duration_s, 3),
            "speed_px_s": round(distance_px / duration_s, 1),
            "run_start_stream_s": round(start.t, 3),
            "stream_time_s": round(now.t, 3),
            "min_distance_px": self.config.min_distance_px,
            "min_duration_s": self.config.min_duration_s,
        }
        if start.ground is not None and now.ground is not None:
            measurements["distance_m"] = round(math.dist(start.ground, now.ground), 2)
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=now.t,
            before=_key_point_before(track, start),
            after=now,
            explanation=(
                f"{track.vehicle_class} drove against lane {lane.id!r} for "
                f"{distance_px:.0f} px over {duration_s:.1f} s ({angle:.0f}° off its direction)"
            ),
            measurements=measurements,
        )

    def _already_flagged_vehicle(self, track: TrackState) -> bool:
        """Whether this track is a vehicle already flagged under another track id.

        Either it continues a flagged track that vanished where it appeared (an id
        switch), or its box lies mostly inside a flagged track's box of this moment, or
        holds it (a detector reporting part of a motorbike as a second vehicle).
        """
        first, now = track.points[0], track.last
        width = first.box[2] - first.box[0]
        for last in self._flagged.values():
            gap = first.t - last.t
            if 0 < gap <= self.config.max_gap_s and math.dist(first.anchor, last.anchor) <= max(
                width, last.box[2] - last.box[0]
            ):
                return True
            recent = abs(now.t - last.t) <= 1.0 / FRAME_RATE_FLOOR
            if recent and box_containment(now.box, last.box) >= CONTAINED_SHARE:
                return True
        return False


def _key_point_before(track: TrackState, start: TrackPoint) -> TrackPoint:
    now = track.last.t
    if now - start.t <= KEY_FRAME_MAX_AGE_S:
        return start
    return min((p for p in track.points if now - p.t <= KEY_FRAME_MAX_AGE_S), key=lambda p: p.t)
