"""Signal state read from the image of a signal head.

The lit lamp is the one with the most bright, saturated pixels of its colour.
Real LED heads read dark for whole seconds against the camera's exposure, so a
dark reading is `unknown`, never green, and a short dark spell keeps the phase
that was showing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

Box = tuple[float, float, float, float]


class Phase(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    UNKNOWN = "unknown"


# OpenCV hue runs 0-179. Red wraps around 0.
_HUE_RANGES: dict[Phase, tuple[tuple[int, int], ...]] = {
    Phase.RED: ((0, 9), (165, 179)),
    Phase.AMBER: ((10, 34),),
    Phase.GREEN: ((40, 95),),
}
_MIN_SATURATION = 110
_MIN_VALUE = 150


def classify_lamp(image: np.ndarray, region: Box, *, min_fraction: float = 0.015) -> Phase:
    """Classify one frame's signal head region as red, amber, green or unknown.

    Args:
        image: BGR frame.
        region: x1, y1, x2, y2 pixel box around the lamps.
        min_fraction: share of the region's pixels a lit lamp must cover.

    Returns:
        The colour with the most lit pixels, or UNKNOWN when nothing is lit.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in region)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 <= x1 or y2 <= y1:
        return Phase.UNKNOWN
    hsv = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    lit = (sat >= _MIN_SATURATION) & (val >= _MIN_VALUE)
    counts = {
        phase: int(
            np.count_nonzero(
                lit & np.logical_or.reduce([(hue >= lo) & (hue <= hi) for lo, hi in ranges])
            )
        )
        for phase, ranges in _HUE_RANGES.items()
    }
    best = max(counts, key=lambda phase: counts[phase])
    if counts[best] < min_fraction * hue.size:
        return Phase.UNKNOWN
    return best


@dataclass(frozen=True)
class SignalState:
    phase: Phase
    since: float | None
    """Stream time (s) the phase began; None while unknown."""

    def time_in_phase(self, t: float) -> float | None:
        return None if self.since is None else t - self.since


class SignalTracker:
    """Smooths per-frame lamp readings into phases with their start times.

    A new colour must be seen on `confirm_frames` consecutive readings before the
    phase changes (one odd frame is noise); a dark/unknown spell keeps the last
    phase for up to `hold_s` seconds, after which the phase is unknown.
    """

    def __init__(self, region: Box, *, confirm_frames: int = 2, hold_s: float = 2.0) -> None:
        self.region = region
        self.confirm_frames = confirm_frames
        self.hold_s = hold_s
        self._state = SignalState(Phase.UNKNOWN, None)
        self._candidate: Phase | None = None
        self._candidate_since = 0.0
        self._candidate_count = 0
        self._last_lit_t: float | None = None

    @property
    def state(self) -> SignalState:
        return self._state

    def update(self, image: np.ndarray, t: float) -> SignalState:
        return self.observe(classify_lamp(image, self.region), t)

    def observe(self, reading: Phase, t: float) -> SignalState:
        """Feed one reading taken at stream time `t`; returns the smoothed state."""
        if reading is Phase.UNKNOWN:
            self._candidate, self._candidate_count = None, 0
            if self._last_lit_t is not None and t - self._last_lit_t > self.hold_s:
                self._state = SignalState(Phase.UNKNOWN, None)
            return self._state
        self._last_lit_t = t
        if reading is self._state.phase:
            self._candidate, self._candidate_count = None, 0
            return self._state
        if reading is not self._candidate:
            self._candidate, self._candidate_since, self._candidate_count = reading, t, 0
        self._candidate_count += 1
        if self._candidate_count >= self.confirm_frames:
            # The phase began when its colour was first seen, not when confirmed.
            self._state = SignalState(reading, self._candidate_since)
            self._candidate, self._candidate_count = None, 0
        return self._state
