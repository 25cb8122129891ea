"""Vehicle kinematics along a lane: where a vehicle's anchor is at each moment.

A vehicle's anchor is the bottom centre of its box (ground contact); positions are the
anchor's x in image pixels, increasing in the direction of travel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


class Motion(Protocol):
    """Anchor position over time."""

    def x_at(self, t: float) -> float:
        """Anchor x (pixels) at video time `t` (seconds)."""
        ...

    def time_at(self, x: float) -> float:
        """First video time at which the anchor reaches `x`."""
        ...


@dataclass(frozen=True)
class Cruise:
    """Constant speed, passing `x_ref` at `t_ref`.

    Attributes:
        speed: Pixels per second (> 0).
        x_ref: A reference position, usually the stop line.
        t_ref: Time at which the anchor is at `x_ref`.
    """

    speed: float
    x_ref: float
    t_ref: float

    def x_at(self, t: float) -> float:
        """Anchor x at time `t`."""
        return self.x_ref + self.speed * (t - self.t_ref)

    def time_at(self, x: float) -> float:
        """Time at which the anchor is at `x`."""
        return self.t_ref + (x - self.x_ref) / self.speed


@dataclass(frozen=True)
class StopAndGo:
    """Approach at `speed`, brake to a stop at `x_stop` by `t_stop`, wait, then go at `t_go`.

    Braking and pulling away use the same constant rate `accel`.

    Attributes:
        speed: Cruise speed before and after the stop (pixels per second).
        accel: Braking/acceleration magnitude (pixels per second squared).
        x_stop: Anchor x while stopped.
        t_stop: Time the vehicle comes to rest.
        t_go: Time it starts moving again (>= `t_stop`).
    """

    speed: float
    accel: float
    x_stop: float
    t_stop: float
    t_go: float

    @property
    def _ramp_s(self) -> float:
        return self.speed / self.accel

    @property
    def _ramp_px(self) -> float:
        return self.speed**2 / (2 * self.accel)

    def x_at(self, t: float) -> float:
        """Anchor x at time `t`."""
        if t <= self.t_stop:
            left = self.t_stop - t  # seconds until rest
            if left <= self._ramp_s:
                return self.x_stop - 0.5 * self.accel * left**2
            return self.x_stop - self._ramp_px - self.speed * (left - self._ramp_s)
        if t <= self.t_go:
            return self.x_stop
        moving = t - self.t_go
        if moving <= self._ramp_s:
            return self.x_stop + 0.5 * self.accel * moving**2
        return self.x_stop + self._ramp_px + self.speed * (moving - self._ramp_s)

    def time_at(self, x: float) -> float:
        """First time the anchor is at `x` (the stop instant for `x == x_stop`)."""
        if x <= self.x_stop:
            before = self.x_stop - x
            if before <= self._ramp_px:
                return self.t_stop - math.sqrt(2 * before / self.accel)
            return self.t_stop - self._ramp_s - (before - self._ramp_px) / self.speed
        after = x - self.x_stop
        if after <= self._ramp_px:
            return self.t_go + math.sqrt(2 * after / self.accel)
        return self.t_go + self._ramp_s + (after - self._ramp_px) / self.speed


@dataclass(frozen=True)
class Swerve:
    """A sideways excursion of the anchor, e.g. a motorbike pulling into the next lane
    to pass and back again.

    The anchor moves `offset` pixels down the image (negative: up, away from the
    camera) over `ramp_s` from `t_start`, stays there `hold_s`, and comes back over
    `ramp_s`.

    Attributes:
        offset: Sideways displacement at full excursion, pixels.
        t_start: Time the excursion begins.
        ramp_s: Seconds to move out (and, later, back).
        hold_s: Seconds held at full excursion.
    """

    offset: float
    t_start: float
    ramp_s: float
    hold_s: float

    def offset_at(self, t: float) -> float:
        """Sideways displacement (pixels) at time `t`."""
        out = (t - self.t_start) / self.ramp_s
        back = (self.t_start + 2 * self.ramp_s + self.hold_s - t) / self.ramp_s
        return self.offset * max(0.0, min(1.0, out, back))

    def time_beyond(self, offset: float) -> tuple[float, float]:
        """First and last time the displacement is at least `offset` (same sign as it)."""
        share = offset / self.offset
        if not 0 < share <= 1:
            raise ValueError(f"the swerve never reaches {offset} px")
        first = self.t_start + share * self.ramp_s
        last = self.t_start + 2 * self.ramp_s + self.hold_s - share * self.ramp_s
        return first, last


@dataclass(frozen=True)
class Waypoints:
    """Anchor x through timed waypoints, at constant speed between them.

    Before the first waypoint the anchor is at the first one's x, after the last at the
    last one's. For manoeuvres the other motions cannot do: rolling back, pulling out
    against the flow and turning back.

    Attributes:
        points: `(t, x)` pairs, times strictly increasing.

    Example:
        >>> roll_back = Waypoints(((0.0, 500.0), (2.0, 500.0), (3.0, 460.0)))
        >>> roll_back.x_at(2.5)
        480.0
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        times = [t for t, _ in self.points]
        if len(times) < 2 or any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise ValueError("waypoints need two or more points with increasing times")

    def x_at(self, t: float) -> float:
        """Anchor x at time `t`."""
        (t0, x0), (tn, xn) = self.points[0], self.points[-1]
        if t <= t0:
            return x0
        if t >= tn:
            return xn
        for (ta, xa), (tb, xb) in zip(self.points, self.points[1:], strict=False):
            if ta <= t <= tb:
                return xa + (xb - xa) * (t - ta) / (tb - ta)
        raise AssertionError("unreachable: t lies within the waypoints")

    def time_at(self, x: float) -> float:
        """First time the anchor is at `x`; infinity when it never is."""
        for (ta, xa), (tb, xb) in zip(self.points, self.points[1:], strict=False):
            if min(xa, xb) <= x <= max(xa, xb):
                return ta if xa == xb else ta + (tb - ta) * (x - xa) / (xb - xa)
        return math.inf


OFF_SCREEN_X = -10_000.0
"""Anchor x of something not in the scene at that moment (far left of any frame)."""


@dataclass(frozen=True)
class Standing:
    """Stands still at `x` from `t_from` until `t_to` and is elsewhere otherwise (a
    pedestrian waiting at the kerb, who arrives and leaves out of the picture).

    Attributes:
        x: Anchor x while standing.
        t_from: Time it appears.
        t_to: Time it is gone.
    """

    x: float
    t_from: float
    t_to: float

    def x_at(self, t: float) -> float:
        """Anchor x at time `t` (`OFF_SCREEN_X` outside the standing time)."""
        return self.x if self.t_from <= t < self.t_to else OFF_SCREEN_X

    def time_at(self, x: float) -> float:
        """When it is at `x`: the moment it appears there; never anywhere else."""
        return self.t_from if x == self.x else math.inf
