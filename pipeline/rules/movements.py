"""Movements over the stop line: which one a vehicle makes, and which head's phase
governs it at a given moment.

`red_light` asks two questions of a crossing vehicle once movements are configured
(`scene.approach.movements`):
- **Where is it going?** `MovementReader.read` narrows the movements from the track's
  sightings past the line: reaching an exit region decides at once; otherwise, once
  the vehicle has travelled far enough beyond the line, its heading decides when it has
  settled: the latest `heading_s` of its path and the `heading_s` before it both lie
  closest to (and within the angle of) the same exit direction.
- **What did its signal show?** `SignalSpells` keeps each head's recent phase spells
  (dated from the phase's `since`, so a red the reader confirms late still covers a
  crossing just after its onset); `movement_signal` answers for one movement: an
  arrow head controlling it decides while it shows a phase, a ball head otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.config import Approach, Movement, SignalHead
from pipeline.geometry import Point, angle_between, point_in_polygon
from pipeline.runtime.track_history import TrackPoint
from pipeline.signals.image import Phase, SignalState

SPELLS_KEPT = 8
"""Phase spells remembered per head: several cycles' worth of changes."""


@dataclass
class Spell:
    """A head showing one phase: from `since` to the last time it was read so."""

    phase: Phase
    since: float
    last: float


class SignalSpells:
    """Recent phase spells of a camera's heads, as read frame by frame."""

    def __init__(self, heads: Iterable[str]) -> None:
        self._spells: dict[str, list[Spell]] = {head: [] for head in heads}

    def note(self, signals: dict[str, SignalState], t: float) -> None:
        """Record the heads' states read on the frame at stream time `t`."""
        for head, spells in self._spells.items():
            state = signals.get(head)
            if state is None or state.phase is Phase.UNKNOWN or state.since is None:
                continue
            if spells and spells[-1].phase is state.phase and spells[-1].since == state.since:
                spells[-1].last = t
            else:
                spells.append(Spell(state.phase, state.since, t))
                del spells[:-SPELLS_KEPT]

    def red_onset(self, head: str, t: float) -> float | None:
        """The onset of the head's red spell covering `t`, if one was read."""
        for spell in reversed(self._spells.get(head, [])):
            if spell.phase is Phase.RED and spell.since <= t <= spell.last:
                return spell.since
        return None

    def phase_at(self, head: str, t: float) -> Spell | None:
        """The head's latest-read spell covering `t` (a red dated back before the
        green it ended wins), or None when the head showed nothing read then."""
        onset = self.red_onset(head, t)
        for spell in reversed(self._spells.get(head, [])):
            if spell.since <= t <= spell.last:
                if onset is not None and spell.phase is not Phase.RED:
                    continue
                return spell
        return None

    def red_now_since(self, head: str) -> float | None:
        """The onset of the head's latest spell when it is red, else None."""
        spells = self._spells.get(head, [])
        if spells and spells[-1].phase is Phase.RED:
            return spells[-1].since
        return None


@dataclass(frozen=True)
class MovementSignal:
    """What governed one movement at a moment."""

    movement: Movement
    head: str | None
    """The deciding head; None when no head controlling it showed a phase."""
    phase: Phase
    onset: float | None
    """The red's onset when `phase` is red."""


def movement_signal(
    heads: Sequence[SignalHead], movement: Movement, t: float, spells: SignalSpells
) -> MovementSignal:
    """The phase that governed `movement` at stream time `t`.

    An arrow head controlling the movement decides while it shows a phase: a green
    right arrow lets right turners go under a red ball, a red left arrow stops left
    turners beside a green ball. Where no arrow shows one, the ball heads decide, red
    if any of them showed red.
    """
    controlling = [h for h in heads if movement in h.controlled_movements]
    arrows = [h for h in controlling if h.kind == "arrow"]
    balls = [h for h in controlling if h.kind != "arrow"]
    for group in (arrows, balls):
        shown = []
        for head in group:
            spell = spells.phase_at(head.id, t)
            if spell is not None:
                shown.append((head.id, spell))
        red = [(hid, s) for hid, s in shown if s.phase is Phase.RED]
        if red:
            hid, spell = red[0]
            return MovementSignal(movement, hid, Phase.RED, spell.since)
        if shown:
            hid, spell = shown[0]
            return MovementSignal(movement, hid, spell.phase, None)
    return MovementSignal(movement, None, Phase.UNKNOWN, None)


class MovementReader:
    """Decides a crossing vehicle's movement from its sightings past the line."""

    def __init__(
        self,
        approach: Approach,
        *,
        distance: float,
        max_angle_deg: float,
        heading_s: float,
    ) -> None:
        """
        Args:
            approach: The scene's movements and their exits.
            distance: Travel past the line (in box heights) before the heading decides.
            max_angle_deg: How close the heading must lie to an exit direction.
            heading_s: Seconds of the latest path that give the heading.
        """
        self.exits = approach.movements
        self.distance = distance
        self.max_angle_deg = max_angle_deg
        self.heading_s = heading_s

    def read(
        self,
        points: Sequence[TrackPoint],
        at_line: Point,
        height: float,
        candidates: frozenset[Movement],
    ) -> tuple[frozenset[Movement], str] | None:
        """The movements still possible once decided, and how it was decided; None
        while undecided.

        Args:
            points: The track's sightings after its crossing, oldest first.
            at_line: Where its front met the line.
            height: Its box height at the crossing, for distances.
            candidates: The movements its lane allows.
        """
        for point in points:
            reached = frozenset(
                m
                for m, exit_ in self.exits.items()
                if exit_.region is not None and point_in_polygon(point.anchor, exit_.region)
            )
            if reached:
                # An exit region drawn for two movements (left and U-turn leave by the
                # same mouth) narrows to both.
                return reached, "exit_region"
        if not points:
            return None
        last = points[-1]
        if math.hypot(last.anchor[0] - at_line[0], last.anchor[1] - at_line[1]) < (
            self.distance * height
        ):
            return None
        if last.t - points[0].t < 2 * self.heading_s:
            return None
        # Settled: the latest stretch and the one before it point the same way (a turn
        # in progress turns between them).
        mid = min(points, key=lambda p: abs(last.t - self.heading_s - p.t))
        start = min(points, key=lambda p: abs(last.t - 2 * self.heading_s - p.t))
        earlier = self._nearest_exit(start, mid, height)
        latest = self._nearest_exit(mid, last, height)
        if latest is None or latest != earlier:
            return None
        return frozenset({latest}), "heading"

    def _nearest_exit(self, start: TrackPoint, end: TrackPoint, height: float) -> Movement | None:
        """The movement whose exit direction lies nearest the path from `start` to `end`,
        within `max_angle_deg`; None when none does or the path is too short."""
        heading = (end.anchor[0] - start.anchor[0], end.anchor[1] - start.anchor[1])
        if math.hypot(*heading) < max(3.0, 0.05 * height):
            return None
        best: tuple[float, Movement] | None = None
        for movement, exit_ in self.exits.items():
            if exit_.direction is None:
                continue
            (tx, ty), (hx, hy) = exit_.direction
            off = angle_between(heading, (hx - tx, hy - ty))
            if off <= self.max_angle_deg and (best is None or off < best[0]):
                best = (off, movement)
        return None if best is None else best[1]


def stood_still_before(
    points: Sequence[TrackPoint], until: float, min_s: float, tolerance: float
) -> bool:
    """Whether the box bottom stayed within `tolerance` px over some `min_s` span of
    the sightings before stream time `until`."""
    before = [p for p in points if p.t < until]
    start = 0
    for end in range(len(before)):
        while start < end and _spread(before[start : end + 1]) > tolerance:
            start += 1
        if before[end].t - before[start].t >= min_s:
            return True
    return False


def _spread(points: Sequence[TrackPoint]) -> float:
    xs = [p.anchor[0] for p in points]
    ys = [p.anchor[1] for p in points]
    return max(max(xs) - min(xs), max(ys) - min(ys))
