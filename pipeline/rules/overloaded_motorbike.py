"""`overloaded_motorbike`: more riders on a motorbike than allowed, held over frames.

Riders come from `models.riders` through `FrameContext.riders`: the persons whose box
sits on the tracked motorbike on that frame. One frame proves little (a pedestrian
standing beside a bike passes the one-frame test, and detections flicker), so a
motorbike is flagged when it carries more than `max_riders` on `min_frames` sightings
within `window_s`, while it moves at least `min_travel_px` and every rider keeps their
place on it: a pedestrian standing still slides along a moving bike's box.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pipeline.config import OverloadedMotorbikeRule
from pipeline.geometry import Box, box_containment, distance
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.support import FlaggedVehicles
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint, TrackState

RULE_VERSION = "1.0"
MAX_SEAT_DRIFT = 0.08
"""How far (in bike widths) a rider's centre may shift along the bike between the
first and last counted sighting: box jitter and a rider's sway, not a bike's length.
The bike must also travel at least twice this far, so a person standing still beside
it drifts out of tolerance before the excess can count."""
SAME_PERSON_OVERLAP = 0.7
"""Share of the smaller of two rider boxes inside the larger that makes them one
person: the detector often boxes a rider twice (head and shoulders, and the whole)."""
SWITCH_GAP_S = 2.0
"""A new track that starts within this long of a flagged one's last sighting, near
it, is taken for the same motorbike after a tracker id switch."""


@dataclass(frozen=True)
class _Sighting:
    point: TrackPoint
    seats: tuple[float, ...]
    """Riders' box centres along the bike, in bike widths from its centre, sorted."""


def distinct_riders(riders: list[Box]) -> list[Box]:
    """The rider boxes less those lying mostly inside a larger one (the same person)."""
    kept: list[Box] = []
    for box in sorted(riders, key=_area, reverse=True):
        if all(box_containment(box, other) < SAME_PERSON_OVERLAP for other in kept):
            kept.append(box)
    return kept


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _seats(bike: Box, riders: list[Box]) -> tuple[float, ...]:
    width = max(bike[2] - bike[0], 1e-6)
    centre = (bike[0] + bike[2]) / 2
    return tuple(sorted(((r[0] + r[2]) / 2 - centre) / width for r in riders))


class OverloadedMotorbike:
    """Flags motorbikes seen carrying more than `max_riders`, once per motorbike."""

    type = "overloaded_motorbike"
    version = RULE_VERSION

    def __init__(self, config: OverloadedMotorbikeRule, geometry: SceneGeometry) -> None:
        self.config = config
        self.geometry = geometry
        self._excess: dict[int, deque[_Sighting]] = {}
        self._flagged = FlaggedVehicles[TrackPoint](lambda last: last.t, forget_s=10 * SWITCH_GAP_S)
        """Flagged track id -> its latest sighting (to recognise it after an id switch)."""

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        found = []
        for track in ctx.tracks:
            if self._flagged.refresh(track.track_id, track.last):
                continue
            if track.vehicle_class not in self.config.classes:
                continue
            candidate = self._check_track(track, ctx)
            if candidate is not None:
                found.append(candidate)
        seen = {t.track_id for t in ctx.tracks}
        self._excess = {
            tid: s
            for tid, s in self._excess.items()
            if tid in seen or (s and ctx.t - s[-1].point.t <= self.config.window_s)
        }
        self._flagged.forget(ctx.t)
        return found

    def _check_track(self, track: TrackState, ctx: FrameContext) -> ViolationCandidate | None:
        """Note this frame's riders on the motorbike; its finding once the excess is held."""
        riders = distinct_riders(ctx.riders.get(track.track_id, []))
        sightings = self._excess.setdefault(track.track_id, deque())
        excess = len(riders) > self.config.max_riders
        if excess:
            sightings.append(_Sighting(track.last, _seats(track.last.box, riders)))
        while sightings and ctx.t - sightings[0].point.t > self.config.window_s:
            sightings.popleft()
        # Decided on a frame that shows the excess, so the 'after' key frame and
        # the recorded rider boxes show it too.
        if not excess or track.frames_seen < self.config.min_track_frames:
            return None
        if not track.class_settled:  # a young `motorbike` may yet turn out a bicycle
            return None
        held = self._held(sightings)
        if held is None:
            return None
        if self._switched_from_flagged(track):
            self._flagged.flag(track.track_id, track.last)
            return None
        self._flagged.flag(track.track_id, track.last)
        self._excess.pop(track.track_id, None)
        return self._candidate(track, held, len(sightings), riders)

    def _candidate(
        self,
        track: TrackState,
        held: tuple[_Sighting, _Sighting],
        frames_with_excess: int,
        riders: list[Box],
    ) -> ViolationCandidate:
        first, last = held
        count = len(last.seats)
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=last.point.t,
            before=first.point,
            after=last.point,
            explanation=(
                f"{track.vehicle_class} carried {count} riders "
                f"(allowed {self.config.max_riders}) on {frames_with_excess} frames over "
                f"{last.point.t - first.point.t:.1f} s"
            ),
            measurements={
                "riders": count,
                "max_riders": self.config.max_riders,
                "frames_with_excess": frames_with_excess,
                "first_seen_s": round(first.point.t, 3),
                "stream_time_s": round(last.point.t, 3),
                "travel_px": round(_travel(first.point, last.point), 1),
                "rider_boxes": [[round(v, 1) for v in box] for box in riders],
            },
        )

    def _held(self, sightings: deque[_Sighting]) -> tuple[_Sighting, _Sighting] | None:
        """The first and last sighting proving the excess, or None while unproven.

        Only sightings with the latest rider count are compared seat by seat; at least
        `min_frames` of them must lie from the first to the last, and the bike must have
        moved `min_travel_px` (and twice MAX_SEAT_DRIFT) between them with every rider
        in place.
        """
        if len(sightings) < self.config.min_frames:
            return None
        last = sightings[-1]
        same = [s for s in sightings if len(s.seats) == len(last.seats)]
        if len(same) < self.config.min_frames:
            return None
        width = last.point.box[2] - last.point.box[0]
        needed = max(self.config.min_travel_px, 2 * MAX_SEAT_DRIFT * width)
        for first in same[: len(same) - self.config.min_frames + 1]:
            if _travel(first.point, last.point) < needed:
                break
            if all(
                abs(a - b) <= MAX_SEAT_DRIFT for a, b in zip(first.seats, last.seats, strict=True)
            ):
                return first, last
        return None

    def _switched_from_flagged(self, track: TrackState) -> bool:
        start = track.points[0]
        width = start.box[2] - start.box[0]
        for tid, point in self._flagged.items():
            if tid == track.track_id:
                continue
            gap = start.t - point.t
            if 0 <= gap <= SWITCH_GAP_S and _travel(point, start) <= width:
                return True
        return False


def _travel(a: TrackPoint, b: TrackPoint) -> float:
    return distance(b.anchor, a.anchor)
