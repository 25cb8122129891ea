"""`red_light`: a vehicle from the controlled approach crosses the stop line on red.

What is measured:
- **The vehicle's front.** A crossing is the vehicle's leading edge reaching the line.
  For traffic moving toward the camera or across it the box bottom is that edge's
  ground contact. For traffic moving away (up the image) the box bottom is the rear:
  the front's ground contact is hidden, and is taken `front_offset[class]` box heights
  further along the direction of travel, scaled by the share of the travel that runs up
  the image. Without a calibration the along-road scale near the line is unknown; a
  share of the box's height stands in for the vehicle's length there (measured on
  labelled clips: a motorbike's front tyre 0.15-0.33 of its box height ahead of the
  rear contact, a car's 0.27-0.34).
- **From the approach.** The track's path over the `approach_window_s` before the
  crossing must lie in the approach's lanes (behind the stop line when no lanes are
  drawn) and run within `approach_max_angle_deg` of one of their directions. Cross
  traffic in the junction, whose box bottom can pass the line's extension in
  perspective, is never judged by the line.
- **Entered before red.** A vehicle whose front was already over the line at red onset
  (it entered on amber and stands straddling the line) is not flagged, however its box
  moves later. The onset is the signal state's `since`, which the reader may date back
  to before it confirmed red: crossings seen while the head did not read red wait up to
  `signal_settle_s` for such a red, and the position at the onset is read from the
  track's sightings around that time.
- **Per movement** (where `scene.approach.movements` are configured). A crossing whose
  lane's movements all showed red is judged at once; otherwise the vehicle is followed
  until its movement is known (an exit region reached, or its heading settled on an exit
  direction past the line: see `pipeline.rules.movements`) and judged against the head
  controlling that movement at the crossing (an arrow while it shows a phase, else the
  ball). A right turn on red is no offence where `right_turn_on_red` is allowed, or
  after_stop and the vehicle stood still behind the line first. A track that ends (or
  waits `movement_max_wait_s`) with its movement unknown is flagged or held back by
  `unknown_movement`, and the evidence says so. The finding is then emitted after the
  crossing, but its offence time and key frames are the crossing's; the phase of every
  head controlling a possible movement at the crossing is recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pipeline.config import MOVEMENTS, Lane, Movement, RedLightRule
from pipeline.geometry import Point, angle_between, distance, interpolate, unit, vector
from pipeline.rules.base import FrameContext, ViolationCandidate
from pipeline.rules.movements import (
    MovementReader,
    MovementSignal,
    SignalSpells,
    movement_signal,
    stood_still_before,
)
from pipeline.rules.support import FiredVehicle, FlaggedVehicles, SignalledLineRule
from pipeline.runtime.scene import SceneGeometry
from pipeline.runtime.track_history import TrackPoint, TrackState
from pipeline.signals.image import Phase

RULE_VERSION = "2.1"
KEY_FRAME_LEAD_S = 1.0
"""How long before the crossing the 'before' key frame is taken, when the track
was seen then: a frame a second earlier shows the vehicle clearly behind the line
while the signal is red, which a frame 0.1 s earlier barely does."""
FORGET_S = 10.0
"""A track unseen this long is gone (as in `TrackHistory`): its state is dropped."""
ONSET_WINDOW_S = 0.3
"""Sightings this close to the red onset say where the front was at the onset."""
MIN_MOVE_SHARE = 0.1
"""A path shorter than this share of the box's height (or 3 px) has no direction."""


@dataclass(frozen=True)
class _Approach:
    """Where a crossing vehicle came from."""

    lane: str | None
    arrow: tuple[Point, Point] | None
    """The lane arrow its path ran along; None when judged by the stop line's normal."""
    direction: Point
    """That direction as a unit vector in the image."""
    off_deg: float
    """Angle between the path and that direction."""


@dataclass(frozen=True)
class _Crossing:
    """A confirmed crossing by the front, waiting for (or given) the signal's verdict."""

    track: TrackState
    t: float
    before: TrackPoint
    """The latest sighting with the front behind the line."""
    after: TrackPoint
    """The first sighting with the front past the line."""
    approach: _Approach
    front_offset_px: float
    at_line: Point
    """Where the front met the line."""
    candidates: frozenset[Movement] = frozenset({"straight"})
    """The movements its lane allows (straight alone without configured movements)."""


@dataclass(frozen=True)
class _Verdict:
    """One movement's judgement at a crossing."""

    signal: MovementSignal
    offence: bool
    why: str
    """Why it is or is not an offence, for the evidence."""


@dataclass
class _LineState:
    """A track's progress towards the line."""

    track: TrackState
    seen: float
    behind: TrackPoint | None = None
    crossing: tuple[float, TrackPoint, Point] | None = None
    """Time and place the front met the line, and the first sighting past it, until
    confirmed: (time, sighting, place)."""


class RedLight(SignalledLineRule):
    """Flags crossings of the stop line by a vehicle's front while its signal shows red.

    A crossing is the front moving from the approach side to the junction side between
    two sightings, alongside the line, then reaching `confirm_past` box heights beyond
    it; its moment is interpolated between the two sightings. Each track is judged once:
    the first time its front crosses.
    """

    type = "red_light"
    version = RULE_VERSION

    def __init__(self, config: RedLightRule, geometry: SceneGeometry) -> None:
        super().__init__(config.signal_head, geometry)
        scene = geometry.scene
        self.config = config
        self.approach_lanes: dict[str, Lane] = {
            lane.id: lane
            for lane in scene.lanes
            if not self.controlled_lanes or lane.id in self.controlled_lanes
        }
        self.normal = self.line.normal
        self._max_front_share = max(config.front_offset.values(), default=0.0)
        self._states: dict[int, _LineState] = {}
        self._done = FlaggedVehicles[float](lambda seen: seen, forget_s=FORGET_S)
        """Tracks judged (or never to be judged), with when they were last seen."""
        self._pending: list[_Crossing] = []
        self.heads = scene.signal_heads
        self.exits = scene.approach.movements
        """Movements and their exits; empty: every crossing is straight, judged by the
        rule's head alone."""
        self.defined: frozenset[Movement] = (
            frozenset(self.exits) if self.exits else frozenset({"straight"})
        )
        self._spells = SignalSpells(
            [h.id for h in self.heads] if self.exits else [self.signal_head]
        )
        self._movement_reader = MovementReader(
            scene.approach,
            distance=config.movement_distance,
            max_angle_deg=config.movement_max_angle_deg,
            heading_s=config.movement_heading_s,
        )
        self._recent: list[FiredVehicle] = []
        self._last_t: float | None = None

    def check(self, ctx: FrameContext) -> list[ViolationCandidate]:
        self._last_t = ctx.t
        self._note_signal(ctx)
        for track in ctx.tracks:
            if self._done.refresh(track.track_id, ctx.t):
                continue
            self._advance(track, ctx.t)
        found = self._judge(ctx)
        self._recent = [f for f in self._recent if ctx.t - f.t < 5.0]
        self._forget(ctx.t)
        return found

    # -- crossings ---------------------------------------------------------------

    def _advance(self, track: TrackState, now: float) -> None:
        """Follow one track's front towards the line; queue its crossing once confirmed."""
        last = track.last
        state = self._states.get(track.track_id)
        if state is None:
            state = self._states[track.track_id] = _LineState(track, seen=now)
            # A history may begin before this frame (a motorbike's boxes from its rider
            # before the tracker gave it an id): its last sighting behind the line counts.
            for point in list(track.points)[-2::-1]:
                if self._front(point, track.vehicle_class)[1] < 0:
                    state.behind = point
                    break
        state.seen = now
        front, past = self._front(last, track.vehicle_class)
        if past < 0:
            state.behind = last
            state.crossing = None  # the front went back: box jitter, not a crossing
            return
        if state.crossing is None:
            if state.behind is None:
                # First seen with its front past the line: it never crosses it here,
                # but it may be a vehicle the tracker lost just after its front crossed.
                self._done.flag(track.track_id, now)
                lost = self._lost_crossing(last, now)
                if lost is not None and past >= self.config.confirm_past * _height(last):
                    self._done.flag(lost.track.track_id, now)
                    self._confirm(lost, extra_frames=track.frames_seen, latest=last)
                return
            behind = state.behind
            front0, d0 = self._front(behind, track.vehicle_class, exact=True)
            front, past = self._front(last, track.vehicle_class, exact=True)
            share = -d0 / (past - d0)
            at_line = interpolate(front0, front, share)
            if not self.line.spans(at_line, margin=0.05):
                self._done.flag(track.track_id, now)  # passes beyond the line's ends
                return
            state.crossing = (behind.t + share * (last.t - behind.t), last, at_line)
        if past < self.config.confirm_past * _height(last):
            return
        if track.frames_seen < self.config.min_track_frames:
            # Judged once the track is old enough to be trusted, by the same crossing.
            return
        self._done.flag(track.track_id, now)
        self._confirm(state)

    def _lost_crossing(self, point: TrackPoint, now: float) -> _LineState | None:
        """A track lost within the last second, its front just over the line (crossing
        not yet confirmed), whose last sighting lies within a box height and a half of
        `point`: the tracker gave the same vehicle a new id."""
        for state in self._states.values():
            if state.crossing is None or state.seen >= now or now - state.seen > 1.0:
                continue
            if state.track.track_id in self._done:
                continue
            last = state.track.last
            reach = 1.5 * max(_height(last), _height(point))
            if distance(last.anchor, point.anchor) <= reach:
                return state
        return None

    def _confirm(
        self, state: _LineState, *, extra_frames: int = 0, latest: TrackPoint | None = None
    ) -> None:
        """Queue a confirmed crossing for the signal's verdict if the track qualifies.

        Args:
            state: The crossing track's state.
            extra_frames: Sightings of the vehicle under a later track id.
            latest: Its latest sighting, when under a later track id.
        """
        track = state.track
        assert state.crossing is not None and state.behind is not None
        crossing_t, after, at_line = state.crossing
        if track.frames_seen + extra_frames < self.config.min_track_frames:
            return
        if track.vehicle_class not in self.config.classes:
            return
        approach = self._approach(track, crossing_t, state.behind, after, latest or track.last)
        if approach is None or approach.lane in self.config.exempt_lanes:
            # Cross traffic, or a signed turn on red.
            return
        shift = self._front_shift(after, track.vehicle_class)[1]
        allowed = self.defined
        if self.exits and approach.lane is not None:
            lane_movements = self.geometry.scene.lane(approach.lane).movements
            allowed = frozenset(lane_movements) & self.defined or self.defined
        self._pending.append(
            _Crossing(
                track,
                crossing_t,
                state.behind,
                after,
                approach,
                round(shift, 1),
                at_line,
                allowed,
            )
        )

    def _front(
        self, point: TrackPoint, vehicle_class: str, *, exact: bool = False
    ) -> tuple[Point, float]:
        """The front's ground contact and its signed distance from the line.

        Unless `exact`, a point far from the line gets its box bottom's (the front is on
        the same side): the side is all most callers need, and it spares a lane lookup.
        """
        anchor = point.anchor
        d = self.line.signed_distance(anchor)
        if not exact and abs(d) > self._max_front_share * _height(point) + 1.0:
            return anchor, d
        (dx, dy), _ = self._front_shift(point, vehicle_class)
        front = (anchor[0] + dx, anchor[1] + dy)
        return front, self.line.signed_distance(front)

    def _front_shift(self, point: TrackPoint, vehicle_class: str) -> tuple[Point, float]:
        """The front's offset from the box bottom (a vector) and its length, in pixels."""
        share = self.config.front_offset.get(vehicle_class, 0.0)
        if share == 0:
            return (0.0, 0.0), 0.0
        ux, uy = self._direction_at(point.anchor)
        length = share * _height(point) * max(0.0, -uy)
        return (ux * length, uy * length), length

    def _direction_at(self, anchor: Point) -> Point:
        """The approach's direction of travel at a point: the arrow of its lane that runs
        most towards the junction, or the stop line's normal outside lanes."""
        lane = self.geometry.lane_at(anchor) if self.geometry.scene.lanes else None
        if lane is None:
            return self.normal
        arrows = [unit(head[0] - tail[0], head[1] - tail[1]) for tail, head in lane.directions]
        return max(arrows, key=lambda u: u[0] * self.normal[0] + u[1] * self.normal[1])

    def _approach(
        self,
        track: TrackState,
        crossing_t: float,
        behind: TrackPoint,
        after: TrackPoint,
        latest: TrackPoint,
    ) -> _Approach | None:
        """Where the track came from, or None when it did not come along the approach.

        The path runs from the sightings of the `approach_window_s` before the crossing
        to the first one past the line (to the `latest` one when that is too short to
        show a direction).
        """
        path = [
            p for p in track.points if crossing_t - self.config.approach_window_s <= p.t <= behind.t
        ] or [behind]
        motion = self._approach_motion(track, path[0], behind, after, latest)
        if motion is None:
            return None
        if self.geometry.scene.lanes:
            best = self._approach_along_lanes(path, motion)
        else:
            best = self._approach_behind_line(path, motion)
        if best is None or best.off_deg > self.config.approach_max_angle_deg:
            return None
        return best

    def _approach_motion(
        self,
        track: TrackState,
        start: TrackPoint,
        behind: TrackPoint,
        after: TrackPoint,
        latest: TrackPoint,
    ) -> Point | None:
        """The track's motion from `start` to the first sighting past the line (to the
        `latest` one when that is too short); None when too short to show a direction."""
        min_move = max(3.0, MIN_MOVE_SHARE * _height(after))
        if distance(start.anchor, after.anchor) < min_move:
            # Crept off from a standstill: its direction shows over a longer stretch.
            for p in reversed(track.points):
                if p.t < behind.t and distance(p.anchor, after.anchor) >= min_move:
                    start = p
                    break
        end = after if distance(start.anchor, after.anchor) >= min_move else latest
        motion = vector(start.anchor, end.anchor)
        if math.hypot(*motion) < min_move:
            return None
        return motion

    def _approach_along_lanes(self, path: list[TrackPoint], motion: Point) -> _Approach | None:
        """The approach lane arrow nearest the motion, when the path lies mostly in the
        approach lanes (the stop line's normal for one heading across the line)."""
        lanes = [self.geometry.lane_at(p.anchor) for p in path]
        inside = [lane for lane in lanes if lane is not None and lane.id in self.approach_lanes]
        if not inside or 2 * len(inside) < len(path):
            return None
        best: _Approach | None = None
        # The lane nearest the line first.
        for lane in {lane.id: lane for lane in reversed(inside)}.values():
            for tail, head in lane.directions:
                arrow = vector(tail, head)
                off = angle_between(motion, arrow)
                if best is None or off < best.off_deg:
                    best = _Approach(lane.id, (tail, head), unit(*arrow), off)
        # A vehicle in the approach lanes heading across the line into the junction
        # came from the approach, though not along a painted arrow: a rider turning
        # left as he crosses (cross traffic runs along the line, and is not in the
        # approach lanes behind it).
        across = angle_between(motion, self.normal)
        limit = self.config.approach_max_angle_deg
        if best is not None and best.off_deg > limit and across <= limit:
            best = _Approach(inside[-1].id, None, self.normal, across)
        return best

    def _approach_behind_line(self, path: list[TrackPoint], motion: Point) -> _Approach | None:
        """The stop line's normal, when the path lies mostly behind the line (no lanes)."""
        behind_line = [
            p
            for p in path
            if self.line.signed_distance(p.anchor) < 0 and self.line.spans(p.anchor, 0.05)
        ]
        if 2 * len(behind_line) < len(path):
            return None
        return _Approach(None, None, self.normal, angle_between(motion, self.normal))

    # -- the signal's verdict ------------------------------------------------------

    def _note_signal(self, ctx: FrameContext) -> None:
        self._spells.note(ctx.signals, ctx.t)

    def _red_onset_at(self, t: float) -> float | None:
        """The onset of the rule head's red spell that covers stream time `t`, if read."""
        return self._spells.red_onset(self.signal_head, t)

    def _judge(self, ctx: FrameContext) -> list[ViolationCandidate]:
        if self.exits:
            return self._judge_movements(ctx)
        found = []
        waiting = []
        signal = ctx.signals.get(self.signal_head)
        red_now = (
            signal.since
            if signal is not None and signal.phase is Phase.RED and signal.since is not None
            else None
        )
        for crossing in self._pending:
            onset = self._red_onset_at(crossing.t)
            if onset is None:
                # Not red at the crossing as read so far; a red read late may yet date
                # its onset back to before it, unless red has begun after it.
                if (red_now is None or red_now <= crossing.t) and (
                    ctx.t - crossing.t <= self.config.signal_settle_s
                ):
                    waiting.append(crossing)
                continue
            time_into_red = crossing.t - onset
            if time_into_red < self.config.amber_grace_s:
                continue
            if self._over_line_at(crossing, onset):
                continue  # entered before red, straddling the line at the onset
            if self._same_vehicle_as_recent(crossing):
                continue  # a tracker id switch at the line would flag one vehicle twice
            found.append(self._candidate(crossing, onset))
        self._pending = waiting
        return found

    def finish(self) -> list[ViolationCandidate]:
        """The stream has ended: crossings still waiting for their movement are decided
        as if their tracks had ended (`unknown_movement`); those waiting for a late red
        are dropped."""
        if self._last_t is None or not self.exits:
            self._pending = []
            return []
        end = self._last_t + self.config.movement_lost_s + self.config.movement_max_wait_s
        found = []
        for crossing in self._pending:
            candidate, _ = self._judge_movement(crossing, end)
            if candidate is not None:
                found.append(candidate)
        self._pending = []
        return found

    # -- judged per movement ---------------------------------------------------------

    def _judge_movements(self, ctx: FrameContext) -> list[ViolationCandidate]:
        """Judge each pending crossing once its movement (or its lane's) is known."""
        found = []
        waiting = []
        for crossing in self._pending:
            candidate, wait = self._judge_movement(crossing, ctx.t)
            if candidate is not None:
                found.append(candidate)
            elif wait:
                waiting.append(crossing)
        self._pending = waiting
        return found

    def _judge_movement(
        self, crossing: _Crossing, now: float
    ) -> tuple[ViolationCandidate | None, bool]:
        """The finding for one crossing, or None and whether to keep waiting."""
        track = crossing.track
        past = [p for p in track.points if p.t > crossing.t]
        decided = self._movement_reader.read(
            past, crossing.at_line, _height(crossing.after), crossing.candidates
        )
        possible = decided[0] if decided is not None else crossing.candidates
        verdicts = {m: self._verdict(m, crossing) for m in _ordered(possible)}
        offences = [m for m, v in verdicts.items() if v.offence]
        settled = now - crossing.t > self.config.signal_settle_s
        if not offences:
            # Not red as read so far: a red read late may yet date back before it.
            return None, not settled
        if len(offences) == len(verdicts):
            how = decided[1] if decided is not None else "lane"
            return self._movement_candidate(crossing, verdicts, offences[0], how), False
        ended = now - track.last.t > self.config.movement_lost_s
        if not ended and now - crossing.t <= self.config.movement_max_wait_s:
            return None, True
        # Unknown (or split between heads) when the track ends: the policy decides.
        if self.config.unknown_movement == "hold":
            return None, False
        judged = "straight" if "straight" in offences else offences[0]
        return self._movement_candidate(crossing, verdicts, judged, "unknown_movement_flag"), False

    def _verdict(self, movement: Movement, crossing: _Crossing) -> _Verdict:
        signal = movement_signal(self.heads, movement, crossing.t, self._spells)
        if signal.phase is not Phase.RED or signal.onset is None:
            return _Verdict(signal, False, f"{signal.phase.value} at the crossing")
        if crossing.t - signal.onset < self.config.amber_grace_s:
            return _Verdict(signal, False, "within the amber grace")
        if self._over_line_at(crossing, signal.onset):
            return _Verdict(signal, False, "over the line at the red onset")
        if movement == "right":
            turn = self.geometry.scene.approach.right_turn_on_red
            if turn == "allowed":
                return _Verdict(signal, False, "right turn on red allowed")
            if turn == "after_stop":
                height = _height(crossing.before)
                if stood_still_before(
                    list(crossing.track.points), crossing.t, self.config.stop_min_s, 0.1 * height
                ):
                    return _Verdict(signal, False, "right turn on red after a stop")
                return _Verdict(signal, True, "right turn on red without stopping first")
        return _Verdict(signal, True, f"{movement} on red")

    def _movement_candidate(
        self,
        crossing: _Crossing,
        verdicts: dict[Movement, _Verdict],
        movement: Movement,
        how: str,
    ) -> ViolationCandidate | None:
        if self._same_vehicle_as_recent(crossing):
            return None
        verdict = verdicts[movement]
        assert verdict.signal.onset is not None and verdict.signal.head is not None
        candidate = self._candidate(crossing, verdict.signal.onset, head=verdict.signal.head)
        known = how in ("exit_region", "heading")
        heads = {
            h.id
            for h in self.heads
            if any(m in h.controlled_movements for m in crossing.candidates | set(verdicts))
        }
        phases = {}
        for head_id in sorted(heads):
            spell = self._spells.phase_at(head_id, crossing.t)
            phases[head_id] = {
                "phase": spell.phase.value if spell is not None else Phase.UNKNOWN.value,
                "since_stream_s": round(spell.since, 3) if spell is not None else None,
            }
        what = {
            "exit_region": f"{movement} (reached its exit)",
            "heading": f"{movement} (by its heading past the line)",
            "lane": "any its lane allows, each on red",
            "unknown_movement_flag": "unknown when its track ended; flagged by policy",
        }[how]
        explanation = (
            candidate.explanation + f"; movement: {what}; head {verdict.signal.head} showed red"
        )
        measurements = {
            **candidate.measurements,
            "movement": movement if known else None,
            "movement_decided_by": how,
            "movements_possible": _ordered(verdicts),
            "movement_verdicts": {m: v.why for m, v in verdicts.items()},
            "signal_phases_at_crossing": phases,
        }
        if how == "unknown_movement_flag":
            measurements["unknown_movement_policy"] = self.config.unknown_movement
        return replace(candidate, explanation=explanation, measurements=measurements)

    def _over_line_at(self, crossing: _Crossing, t: float) -> bool:
        """Whether the track's front was past the line at stream time `t`: the median of
        its front's distance at `t` (interpolated) and at its sightings within
        ONSET_WINDOW_S either side, so one jittery box at the onset does not decide."""
        points = list(crossing.track.points)
        if not points or t < points[0].t:
            return False
        cls = crossing.track.vehicle_class
        distances = [
            self._front(p, cls, exact=True)[1] for p in points if abs(p.t - t) <= ONSET_WINDOW_S
        ]
        for p, q in zip(points, points[1:], strict=False):
            if p.t <= t <= q.t:
                dp, dq = self._front(p, cls, exact=True)[1], self._front(q, cls, exact=True)[1]
                share = 0.0 if q.t == p.t else (t - p.t) / (q.t - p.t)
                distances.append(dp + share * (dq - dp))
                break
        if not distances:
            distances.append(self._front(points[-1], cls, exact=True)[1])
        return float(np.median(distances)) >= 0

    def _candidate(
        self, crossing: _Crossing, onset: float, *, head: str | None = None
    ) -> ViolationCandidate:
        track, approach = crossing.track, crossing.approach
        self._recent.append(FiredVehicle.at(crossing.after, t=crossing.t, at_line=crossing.at_line))
        time_into_red = crossing.t - onset
        came = (
            f", coming along lane {approach.lane}"
            if approach.lane is not None
            else ", coming from behind the line"
        )
        if approach.arrow is not None:
            (tx, ty), (hx, hy) = approach.arrow
            along = f"lane {approach.lane} arrow ({tx:g},{ty:g})->({hx:g},{hy:g})"
        else:
            along = "the stop line's normal"
        points = [p for p in track.points if crossing.before.t <= p.t <= crossing.after.t]
        return ViolationCandidate(
            rule_type=self.type,
            rule_version=self.version,
            track_id=track.track_id,
            vehicle_class=track.vehicle_class,
            offence_t=crossing.t,
            before=self._key_point_before(crossing),
            after=crossing.after,
            explanation=(
                f"{track.vehicle_class} crossed the stop line "
                f"{time_into_red:.1f} s after the signal turned red{came}"
            ),
            measurements={
                "signal_head": head or self.signal_head,
                "signal_phase": Phase.RED.value,
                "time_into_red_s": round(time_into_red, 3),
                "red_onset_stream_s": round(onset, 3),
                "stream_time_s": round(crossing.t, 3),
                "amber_grace_s": self.config.amber_grace_s,
                "lane": approach.lane,
                "approach_direction": along,
                "approach_direction_deg": round(
                    math.degrees(math.atan2(-approach.direction[1], approach.direction[0])), 1
                ),
                "path_off_direction_deg": round(approach.off_deg, 1),
                "crossing_edge": "front" if crossing.front_offset_px > 0 else "box bottom",
                "front_offset_px": crossing.front_offset_px,
                "box_from_rider": any(p.estimated for p in points),
            },
        )

    def _key_point_before(self, crossing: _Crossing) -> TrackPoint:
        """The earliest sighting with the front behind the line within KEY_FRAME_LEAD_S
        of the crossing (the latest one behind it when none is earlier)."""
        cls = crossing.track.vehicle_class
        behind = [
            p
            for p in crossing.track.points
            if crossing.t - KEY_FRAME_LEAD_S <= p.t < crossing.t and self._front(p, cls)[1] < 0
        ]
        return min(behind, key=lambda p: p.t) if behind else crossing.before

    def _same_vehicle_as_recent(self, crossing: _Crossing) -> bool:
        """Whether a crossing just flagged was this vehicle's under another track id: seen
        at about the same place soon after, or meeting the line at the same place within
        a second (two ids on one vehicle at the line, one of them from its rider)."""
        for fired in self._recent:
            if fired.covers(crossing.after.anchor) and abs(crossing.t - fired.t) < 1.5:
                return True
            same_place = (
                fired.at_line is not None
                and distance(crossing.at_line, fired.at_line) < 0.5 * fired.width
            )
            if same_place and abs(crossing.t - fired.t) < 1.0:
                return True
        return False

    def _forget(self, now: float) -> None:
        self._states = {k: s for k, s in self._states.items() if now - s.seen <= FORGET_S}
        self._done.forget(now)


def _ordered(movements: frozenset[Movement] | dict[Movement, _Verdict]) -> list[Movement]:
    """Movements in their canonical order (straight, left, right, u_turn)."""
    return [m for m in MOVEMENTS if m in movements]


def _height(point: TrackPoint) -> float:
    return max(point.box[3] - point.box[1], 1.0)
