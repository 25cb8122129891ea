"""Signal state read from the image of a signal head.

`SignalTracker.update` reads each frame with `pipeline.signals.lamps.HeadReader`,
which judges the lamps against the head itself (its dark housing, its unlit
lenses, each lamp's own lit brightness) and learns where the lamps are, so it
reads heads of any size and exposure without tuning; see that module.

`classify_lamp` reads one frame alone with fixed thresholds (a lit lamp has HSV
saturation >= 110 and value >= 150). It needs no history, which suits a single
picture, but misses dim daytime lamps and reads an over-exposed red by its hue.
Its blobs:

A lit lamp is a round bright blob whose body or halo has the lamp's colour:
- Round, because 7-segment countdown digits often sit beside the lamps in the
  same region, lit red or green; their segments are thin bars and whole digits
  are tall, holed shapes, so a shape test keeps them from being read as a lamp.
- Body *or halo*, because at night a lamp's core saturates to white and only
  the glow around it keeps the colour; a bright blob with no colour around it is
  a headlight or sun glint, not a lamp.

Real LED heads read dark for whole seconds against the camera's exposure, so a
dark reading is `unknown`, never green, and a short dark spell keeps the phase
that was showing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import cv2
import numpy as np

from pipeline.signals.countdown import CountdownState
from pipeline.signals.lamps import HeadReader, HeadReading, is_round
from pipeline.signals.phase import Box, Phase, Point

SignalSource = Literal["image", "controller"]


# OpenCV hue runs 0-179. Red wraps around 0.
_HUE_RANGES: dict[Phase, tuple[tuple[int, int], ...]] = {
    Phase.RED: ((0, 9), (165, 179)),
    Phase.AMBER: ((10, 34),),
    Phase.GREEN: ((40, 95),),
}
_LAMP_PHASES = (Phase.RED, Phase.AMBER, Phase.GREEN)
_MIN_SATURATION = 110
_MIN_VALUE = 150
# A blown-out core: nearly white, whatever its hue.
_CORE_VALUE = 230
# A halo is dimmer and paler than a lit lens seen by day. At night (a dark
# frame) it is dimmer still; by day so dim a colour is an unlit tinted lens.
_HALO_SATURATION = 90
_HALO_VALUE = 100
_NIGHT_HALO_VALUE = 45
_NIGHT_FRAME_VALUE = 60
"""A frame whose median brightness (HSV value) is below this is a night frame."""
# Share of a blob and its halo ring that must carry a lamp colour; below it the
# blob is white light (headlight, glint on the housing).
_MIN_COLOURED_SHARE = 0.15
# Shape limits of a lamp: a disc has aspect 1, solidity ~1 and fills pi/4 of its
# box. A 7-segment digit is taller than wide (about 0.55), holed or bent (low
# solidity); one segment is a bar (aspect ~0.2).
# Solidity and extent limits, and the least area judged by shape, are the lamp
# reader's (pipeline.signals.lamps.is_round); this one-frame reader asks a little more
# of the aspect.
_MIN_ASPECT = 0.65
_CLOSE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))


@dataclass(frozen=True)
class LampBlob:
    """One bright blob in a signal head region, as `lamp_blobs` judged it.

    Attributes:
        phase: The lamp colour it carries, UNKNOWN for white light.
        area: Pixels of the blob.
        centre: x, y in image pixels.
        round: Whether its shape passes for a lamp (not a digit or a bar).
    """

    phase: Phase
    area: int
    centre: tuple[float, float]
    round: bool


def _hue_mask(hue: np.ndarray, phase: Phase) -> np.ndarray:
    return np.logical_or.reduce([(hue >= lo) & (hue <= hi) for lo, hi in _HUE_RANGES[phase]])


def is_night(image: np.ndarray) -> bool:
    """Whether the whole frame is dark (night exposure), judged on a coarse sample of it."""
    sample = np.ascontiguousarray(image[::8, ::8])
    return float(np.median(sample.max(axis=2))) < _NIGHT_FRAME_VALUE


def lamp_blobs(image: np.ndarray, region: Box) -> list[LampBlob]:
    """Every bright blob in `region`, with its colour and whether it is lamp-shaped.

    Args:
        image: BGR frame.
        region: x1, y1, x2, y2 pixel box around the lamps.

    Returns:
        Blobs, largest first; empty when the region is dark or outside the image.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in region)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 <= x1 or y2 <= y1:
        return []
    hsv = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    lit = ((sat >= _MIN_SATURATION) & (val >= _MIN_VALUE)) | (val >= _CORE_VALUE)
    halo_value = _NIGHT_HALO_VALUE if is_night(image) else _HALO_VALUE
    halo = (sat >= _HALO_SATURATION) & (val >= halo_value)
    colour_masks = {phase: _hue_mask(hue, phase) for phase in _LAMP_PHASES}
    # Closing joins a lamp broken by compression or by its LED dots into one blob;
    # a countdown digit's segments merge into a tall block, still no lamp's shape.
    joined = cv2.morphologyEx(lit.astype(np.uint8), cv2.MORPH_CLOSE, _CLOSE_KERNEL)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(joined, connectivity=8)
    blobs = []
    for label in range(1, count):
        area = int(stats[label, cv2.CC_STAT_AREA])
        component = labels == label
        # The ring a halo would light: about half the blob's radius around it.
        reach = max(2, int(round(0.5 * np.sqrt(area / np.pi))))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        around = cv2.dilate(component.astype(np.uint8), kernel).astype(bool)
        coloured = around & halo
        votes = {
            phase: int(np.count_nonzero(coloured & mask)) for phase, mask in colour_masks.items()
        }
        best = max(votes, key=lambda phase: votes[phase])
        phase = (
            best if votes[best] >= _MIN_COLOURED_SHARE * np.count_nonzero(around) else Phase.UNKNOWN
        )
        cx, cy = centroids[label]
        centre = (float(cx) + x1, float(cy) + y1)
        blobs.append(
            LampBlob(phase, area, centre, is_round(component, area, min_aspect=_MIN_ASPECT))
        )
    blobs.sort(key=lambda blob: blob.area, reverse=True)
    return blobs


def classify_lamp(
    image: np.ndarray,
    region: Box,
    *,
    min_fraction: float = 0.015,
    lamps: Mapping[Phase, Point] | None = None,
) -> Phase:
    """Classify one frame's signal head region as red, amber, green or unknown.

    Args:
        image: BGR frame.
        region: x1, y1, x2, y2 pixel box around the lamps (a countdown display
            beside them may lie inside it).
        min_fraction: share of the region's pixels a lit lamp must cover.
        lamps: the head's layout, where known: each lamp's centre in image pixels.
            A blob then counts only at the lamp of its own colour.

    Returns:
        The colour of the largest round, coloured blob, or UNKNOWN when no lamp is lit.
    """
    x1, y1, x2, y2 = region
    least = min_fraction * max(0.0, x2 - x1) * max(0.0, y2 - y1)
    near = _lamp_reach(lamps, region) if lamps else 0.0
    for blob in lamp_blobs(image, region):
        if not blob.round or blob.phase is Phase.UNKNOWN or blob.area < least:
            continue
        if lamps:
            at = lamps.get(blob.phase)
            if at is None or np.hypot(blob.centre[0] - at[0], blob.centre[1] - at[1]) > near:
                continue
        return blob.phase
    return Phase.UNKNOWN


def _lamp_reach(lamps: Mapping[Phase, Point], region: Box) -> float:
    """How far from a configured lamp centre its blob may lie: half the lamp pitch
    (then it cannot be the neighbour's), or half the region's short side for one lamp."""
    points = list(lamps.values())
    if len(points) >= 2:
        return 0.5 * min(
            float(np.hypot(a[0] - b[0], a[1] - b[1]))
            for i, a in enumerate(points)
            for b in points[i + 1 :]
        )
    x1, y1, x2, y2 = region
    return 0.5 * min(x2 - x1, y2 - y1)


@dataclass(frozen=True)
class SignalState:
    """A head's phase as the rules see it.

    Attributes:
        phase: red, amber, green or unknown.
        since: Stream time (s) the phase began; None while unknown.
        source: What gave the phase: the image of the head, or its controller.
        changed_at: UTC wall-clock time of the change, as the controller reported it.
        countdown: The head's countdown display as last read, where it has one
            (SignalHead.countdown); a second opinion, never the phase.
    """

    phase: Phase
    since: float | None
    source: SignalSource = "image"
    changed_at: datetime | None = None
    countdown: CountdownState | None = None

    def time_in_phase(self, t: float) -> float | None:
        return None if self.since is None else t - self.since


class SignalTracker:
    """Smooths per-frame lamp readings into phases with their start times.

    A new colour must be seen on `confirm_frames` consecutive readings before the
    phase changes (one odd frame is noise); a dark/unknown spell keeps the last
    phase for up to `hold_s` seconds, after which the phase is unknown.
    """

    def __init__(
        self,
        region: Box,
        *,
        confirm_frames: int = 2,
        hold_s: float = 2.0,
        lamps: Mapping[Phase, Point] | None = None,
        arrow: bool = False,
    ) -> None:
        """`arrow`: the head is a turn arrow (SignalHead kind arrow), read as one
        (see `HeadReader`): green while lit, unknown while dark."""
        self.region = region
        self.lamps = dict(lamps) if lamps else None
        self.reader = HeadReader(region, self.lamps, arrow=arrow)
        self.last_reading: HeadReading | None = None
        """The raw reading of the last frame given to `update` (before smoothing)."""
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

    @property
    def layout(self) -> list[tuple[Phase | None, Point]]:
        """The head's lamps as given or learned so far: colour (None while untold)
        and centre in image pixels."""
        return self.reader.layout

    def update(self, image: np.ndarray, t: float) -> SignalState:
        """Read the head on one frame taken at stream time `t`; returns the smoothed state."""
        self.last_reading = self.reader.read(image)
        return self.observe(self.last_reading.phase, t)

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
