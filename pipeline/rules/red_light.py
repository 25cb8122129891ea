"""`red_light`: a vehicle's ground point crosses the stop line into the junction on red."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.config import RedLightRule
from pipeline.geometry import DirectedLine
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.scene import SceneGeometry
from pipeline.signal import Phase
from pipeline.track_history import TrackPoint

RULE_VERSION = "1.0"
KEY_FRAME_LEAD_S = 1.0
"""How long before the crossing the 'before' key frame is taken, when the track
was seen then: a frame a second earlier shows the vehicle clearly behind the line
while the signal is red, which a frame 0.1 s earlier barely does."""


@dataclass(frozen=True)
class _Fired:
    t: float
    anchor: tuple[float, float]
    width: float


class RedLight:
    """Flags stop-line crossings while the controlling signal shows red.

    A crossing is the anchor (bottom centre of the box) moving from the approach
    side to the junction side between two sightings, alongside the line. The
    offence moment is interpolated between the two sightings. Vehicles already
    past the line when red began never cross it, so they are never flagged.
    """

    type = "red_light"
    version = RULE_VERSION

    def __init__(self, config: RedLightRule, geometry: SceneGeometry) -> None:
        scene = geometry.scene
        if scene.stop_line is None or not scene.signal_heads:
            raise ValueError("red_light needs a stop line and a signal head")
        self.config = config
        self.geometry = geometry
        self.signal_head = config.signal_head or scene.signal_heads[0].id
        head = next(h for h in scene.signal_heads if h.id == self.signal_head)
        self.controlled_lanes = set(head.lanes)
        a, b = scene.stop_line.points
        self.line = DirectedLine(a, b, scene.stop_line.junction_side)
        self._flagged: set[int] = set()
        self._recent: list[_Fired] = []

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        found = []
        for track in ctx.tracks:
            previous = track.previous
            if previous is None or track.track_id in self._flagged:
                continue
            if track.frames_seen < self.config.min_track_frames:
                continue
            if track.vehicle_class not in self.config.classes:
                continue
            crossing_t = self._crossing_time(previous, track.last)
            if crossing_t is None:
                continue
            lane = self.geometry.lane_at(previous.anchor)
            lane_id = lane.id if lane is not None else None
            if lane_id is not None and (
                lane_id in self.config.exempt_lanes
                or (self.controlled_lanes and lane_id not in self.controlled_lanes)
            ):
                # A signed turn on red, or a lane another head controls.
                continue
            signal = ctx.signals.get(self.signal_head)
            if signal is None or signal.phase is not Phase.RED or signal.since is None:
                continue
            time_into_red = crossing_t - signal.since
            if time_into_red < self.config.amber_grace_s:
                continue
            if self._same_vehicle_as_recent(track.last, crossing_t):
                # A tracker id switch at the line would otherwise flag one vehicle twice.
                self._flagged.add(track.track_id)
                continue
            self._flagged.add(track.track_id)
            box = track.last.box
            self._recent.append(_Fired(crossing_t, track.last.anchor, box[2] - box[0]))
            found.append(
                ViolationCandidate(
                    rule_type=self.type,
                    rule_version=self.version,
                    track_id=track.track_id,
                    vehicle_class=track.vehicle_class,
                    offence_t=crossing_t,
                    before=self._key_point_before(track.points, crossing_t),
                    after=track.last,
                    explanation=(
                        f"{track.vehicle_class} crossed the stop line "
                        f"{time_into_red:.1f} s after the signal turned red"
                    ),
                    measurements={
                        "signal_head": self.signal_head,
                        "signal_phase": signal.phase.value,
                        "time_into_red_s": round(time_into_red, 3),
                        "red_onset_stream_s": round(signal.since, 3),
                        "stream_time_s": round(crossing_t, 3),
                        "amber_grace_s": self.config.amber_grace_s,
                        "lane": lane_id,
                    },
                )
            )
        self._recent = [f for f in self._recent if ctx.t - f.t < 5.0]
        return found

    def _crossing_time(self, before: TrackPoint, after: TrackPoint) -> float | None:
        d0 = self.line.signed_distance(before.anchor)
        d1 = self.line.signed_distance(after.anchor)
        if not (d0 < 0 <= d1) or not self.line.spans(after.anchor, margin=0.05):
            return None
        share = -d0 / (d1 - d0)
        return before.t + share * (after.t - before.t)

    def _key_point_before(self, points: Iterable[TrackPoint], crossing_t: float) -> TrackPoint:
        """The earliest sighting behind the line within KEY_FRAME_LEAD_S of the crossing."""
        behind = [
            p
            for p in points
            if crossing_t - KEY_FRAME_LEAD_S <= p.t < crossing_t
            and self.line.signed_distance(p.anchor) < 0
        ]
        return min(behind, key=lambda p: p.t)

    def _same_vehicle_as_recent(self, point: TrackPoint, t: float) -> bool:
        x, y = point.anchor
        for fired in self._recent:
            near = (
                abs(x - fired.anchor[0]) < 0.5 * fired.width
                and abs(y - fired.anchor[1]) < 0.5 * fired.width
            )
            if near and abs(t - fired.t) < 1.5:
                return True
        return False
