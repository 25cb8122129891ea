"""`speeding`: a vehicle's ground speed, smoothed over a window, above limit + tolerance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from pipeline.config import SpeedingRule
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.support import UNDER_A_MINUTE_S, FlaggedVehicles
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint, TrackState

RULE_VERSION = "1.0"
MS_TO_KMH = 3.6
MIN_POINTS = 4
"""Sightings a speed window needs: fewer cannot outvote one jittery box."""
MIN_SPAN_SHARE = 0.75
"""The sightings in a window must span this share of `window_s` (an occlusion gap
in the middle is fine; a window that is mostly gap is not a measurement)."""
EDGE_MARGIN_PX = 2.0
"""A box this close to the frame edge is cut by it: its bottom centre is not the
vehicle's, so it is left out of speed windows."""
CALIBRATED_MARGIN_SHARE = 0.25
"""Speeds are measured only on ground within the calibration points' extent, widened by
this share of it on each side: beyond the surveyed points a homography extrapolates,
and towards the horizon a pixel of box jitter becomes metres."""
BEFORE_KEY_FRAME_MAX_S = 4.0
"""The 'before' key frame (the window's first sighting) is at most this old: the
pipeline keeps about 5 s of frames."""
SAME_VEHICLE_M = 3.0
"""A track within this many metres of where a flagged vehicle should be by now is that
vehicle: under a new tracker id, or tracked twice (a second box of another class)."""
SAME_VEHICLE_S = 2.0
"""...if the flagged vehicle was seen within this many seconds."""


@dataclass(frozen=True)
class SpeedEstimate:
    speed_kmh: float
    velocity_ms: tuple[float, float]
    points: list[TrackPoint]

    @property
    def span_s(self) -> float:
        return self.points[-1].t - self.points[0].t


def _theil_sen_slope(ts: list[float], values: list[float]) -> float:
    """Median of pairwise slopes: a few outliers (box jitter spikes) cannot move it."""
    slopes = [
        (values[j] - values[i]) / (ts[j] - ts[i])
        for i in range(len(ts))
        for j in range(i + 1, len(ts))
        if ts[j] > ts[i]
    ]
    return median(slopes)


def estimate_speed(points: list[TrackPoint]) -> SpeedEstimate | None:
    """Ground speed through the sightings' ground points, robust to outliers.

    Uses each sighting's own time, so unevenly spaced frames and gaps are measured
    as they happened.
    """
    grounded = [p for p in points if p.ground is not None]
    if len(grounded) < MIN_POINTS or grounded[-1].t <= grounded[0].t:
        return None
    ts = [p.t for p in grounded]
    vx = _theil_sen_slope(ts, [p.ground[0] for p in grounded if p.ground is not None])
    vy = _theil_sen_slope(ts, [p.ground[1] for p in grounded if p.ground is not None])
    return SpeedEstimate(math.hypot(vx, vy) * MS_TO_KMH, (vx, vy), grounded)


@dataclass
class _Flagged:
    """A vehicle already reported: where it was last seen, to know it after an id switch."""

    last_t: float
    ground: tuple[float, float]
    velocity_ms: tuple[float, float]

    def expected_at(self, t: float) -> tuple[float, float]:
        dt = t - self.last_t
        return (
            self.ground[0] + self.velocity_ms[0] * dt,
            self.ground[1] + self.velocity_ms[1] * dt,
        )


class Speeding:
    """Flags vehicles whose smoothed ground speed exceeds their lane's limit.

    Each frame, a track's speed is the robust (Theil-Sen) slope of its calibrated
    ground positions over the last `window_s` of sightings whose boxes are not cut by
    the frame edge and that stand on calibrated ground. Where the scene has lanes, a
    vehicle outside all of them is not measured. The speed must stay above the limit
    plus tolerance for `min_frames_over` consecutive frames. One violation per
    vehicle, also across tracker id switches. Limits may differ per class, so the
    verdict waits until the tracker has settled the track's class, and frames judged
    under a class the vote has since dropped do not count.
    """

    type = "speeding"
    version = RULE_VERSION

    def __init__(self, config: SpeedingRule, geometry: SceneGeometry) -> None:
        calibration = geometry.scene.calibration
        if calibration is None or geometry.ground is None:
            raise ValueError("speeding needs a ground calibration")
        self.config = config
        self.geometry = geometry
        self.calibration = calibration
        self.calibrated_area = _widened_extent(calibration.ground_points, CALIBRATED_MARGIN_SHARE)
        self._over: dict[int, tuple[str, int]] = {}
        """Track id -> the class its frames were judged under, consecutive frames over."""
        # Tracker ids are not reused; a minute unseen is long gone.
        self._flagged = FlaggedVehicles[_Flagged](
            lambda flagged: flagged.last_t, forget_s=UNDER_A_MINUTE_S
        )

    def threshold_kmh(self, limit_kmh: float) -> float:
        """Speed above which a vehicle under `limit_kmh` is speeding."""
        return limit_kmh + self.config.tolerance_kmh + limit_kmh * self.config.tolerance_pct / 100

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        found = []
        height, width = ctx.image.shape[:2]
        for track in ctx.tracks:
            flagged = self._flagged.get(track.track_id)
            if flagged is not None:
                self._follow(flagged, track, ctx.t)
                continue
            if track.frames_seen < self.config.min_track_frames:
                continue
            if track.vehicle_class not in self.config.classes:
                continue
            window = [
                p
                for p in track.points
                if ctx.t - self.config.window_s <= p.t <= ctx.t
                and _inside(p, width, height)
                and self._calibrated(p)
            ]
            estimate = estimate_speed(window)
            if estimate is None or estimate.span_s < MIN_SPAN_SHARE * self.config.window_s:
                self._over.pop(track.track_id, None)
                continue
            lane = self.geometry.lane_at(track.last.anchor)
            if lane is None and self.geometry.scene.lanes:
                # Outside every configured lane (the other carriageway, a pavement):
                # the scene does not say a limit or a calibration is meant for it.
                self._over.pop(track.track_id, None)
                continue
            lane_id = lane.id if lane is not None else None
            limit = self.geometry.speed_limit_kmh(lane_id, track.vehicle_class)
            if limit is None or estimate.speed_kmh <= self.threshold_kmh(limit):
                self._over.pop(track.track_id, None)
                continue
            judged_as, frames_over = self._over.get(track.track_id, (track.vehicle_class, 0))
            if judged_as != track.vehicle_class:
                frames_over = 0  # counted against another class's limit
            frames_over += 1
            self._over[track.track_id] = (track.vehicle_class, frames_over)
            if frames_over < self.config.min_frames_over or not track.class_settled:
                continue
            self._over.pop(track.track_id, None)
            last = estimate.points[-1]
            assert last.ground is not None
            duplicate = self._same_vehicle_as_flagged(track, last)
            self._flagged.flag(track.track_id, _Flagged(last.t, last.ground, estimate.velocity_ms))
            if duplicate:
                continue
            found.append(self._candidate(track, estimate, lane_id, limit))
        seen = {track.track_id for track in ctx.tracks}
        self._over = {k: n for k, n in self._over.items() if k in seen}
        self._flagged.forget(ctx.t)
        return found

    def _candidate(
        self, track: TrackState, estimate: SpeedEstimate, lane_id: str | None, limit: float
    ) -> ViolationCandidate:
        first, last = estimate.points[0], estimate.points[-1]
        before = next(p for p in estimate.points if p.t >= last.t - BEFORE_KEY_FRAME_MAX_S)
        speed = estimate.speed_kmh
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=(first.t + last.t) / 2,
            before=before,
            after=last,
            explanation=(
                f"{track.vehicle_class} at {speed:.0f} km/h where the limit is {limit:g} km/h"
                + (f" (lane {lane_id})" if lane_id else "")
            ),
            measurements={
                "speed_kmh": round(speed, 1),
                "limit_kmh": limit,
                "threshold_kmh": round(self.threshold_kmh(limit), 2),
                "excess_kmh": round(speed - limit, 1),
                "tolerance_kmh": self.config.tolerance_kmh,
                "tolerance_pct": self.config.tolerance_pct,
                "lane": lane_id,
                "calibration_id": self.calibration.id,
                "calibration_date": self.calibration.date.isoformat(),
                "window_s": round(estimate.span_s, 3),
                "window_start_stream_s": round(first.t, 3),
                "window_end_stream_s": round(last.t, 3),
                "sightings": len(estimate.points),
            },
        )

    def _calibrated(self, point: TrackPoint) -> bool:
        """Whether the sighting stands on ground the calibration covers."""
        if point.ground is None:
            return False
        x1, y1, x2, y2 = self.calibrated_area
        return x1 <= point.ground[0] <= x2 and y1 <= point.ground[1] <= y2

    def _follow(self, flagged: _Flagged, track: TrackState, t: float) -> None:
        """Keep a reported vehicle's last ground position current."""
        ground = track.last.ground
        if ground is not None:
            flagged.last_t, flagged.ground = t, ground

    def _same_vehicle_as_flagged(self, track: TrackState, point: TrackPoint) -> bool:
        """Whether a track is a reported vehicle under another tracker id.

        After an id switch the reported track is gone and the new one is where it
        would be by now; a duplicate track (the detector boxing one vehicle twice, as
        `car` and as `truck`) is where the reported one is.
        """
        if point.ground is None:
            return False
        for track_id, flagged in self._flagged.items():
            # Either order: an id switch comes after, a duplicate's newest usable
            # sighting may be a frame older than the reported track's.
            if track_id == track.track_id or abs(point.t - flagged.last_t) > SAME_VEHICLE_S:
                continue
            ex, ey = flagged.expected_at(point.t)
            if math.hypot(point.ground[0] - ex, point.ground[1] - ey) <= SAME_VEHICLE_M:
                return True
        return False


def _widened_extent(
    points: list[tuple[float, float]], share: float
) -> tuple[float, float, float, float]:
    """Bounding box of `points` (x1, y1, x2, y2), widened by `share` of its size per side."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    dx, dy = (max(xs) - min(xs)) * share, (max(ys) - min(ys)) * share
    return (min(xs) - dx, min(ys) - dy, max(xs) + dx, max(ys) + dy)


def _inside(point: TrackPoint, width: int, height: int) -> bool:
    x1, y1, x2, y2 = point.box
    return (
        x1 > EDGE_MARGIN_PX
        and y1 > EDGE_MARGIN_PX
        and x2 < width - EDGE_MARGIN_PX
        and y2 < height - EDGE_MARGIN_PX
    )
