"""Fixed-time signal plans: which lamp is lit at a given moment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Phase = Literal["green", "amber", "red"]


@dataclass(frozen=True)
class SignalPlan:
    """A fixed cycle green -> amber -> red, repeating from `offset_s`.

    Attributes:
        green_s: Green duration.
        amber_s: Amber duration.
        red_s: Red duration.
        offset_s: Video time at which a green phase starts.

    Example:
        >>> plan = SignalPlan(green_s=10, amber_s=3, red_s=12)
        >>> plan.phase_at(11.0), plan.phase_at(14.0), plan.phase_at(26.0)
        ('amber', 'red', 'green')
    """

    green_s: float = 10.0
    amber_s: float = 3.0
    red_s: float = 12.0
    offset_s: float = 0.0

    @property
    def cycle_s(self) -> float:
        """Length of one full cycle."""
        return self.green_s + self.amber_s + self.red_s

    def phase_at(self, t: float) -> Phase:
        """Return the lit lamp at video time `t` (seconds)."""
        into = (t - self.offset_s) % self.cycle_s
        if into < self.green_s:
            return "green"
        if into < self.green_s + self.amber_s:
            return "amber"
        return "red"

    def intervals(self, phase: Phase, until_s: float) -> list[tuple[float, float]]:
        """Return the `[start, end)` intervals of `phase` within `[0, until_s)`."""
        starts = {"green": 0.0, "amber": self.green_s, "red": self.green_s + self.amber_s}
        length = {"green": self.green_s, "amber": self.amber_s, "red": self.red_s}[phase]
        out: list[tuple[float, float]] = []
        start = self.offset_s + starts[phase]
        while start > 0:  # back up to the first cycle that may overlap t = 0
            start -= self.cycle_s
        while start < until_s:
            lo, hi = max(0.0, start), min(until_s, start + length)
            if lo < hi:
                out.append((lo, hi))
            start += self.cycle_s
        return out
