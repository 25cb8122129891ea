"""Reading a signal head by comparing its lamps with each other, and learning its layout.

Absolute brightness thresholds fail from one camera to the next: a daytime lit
lamp may measure HSV value 120 on one camera and blow out to white on another,
an over-exposed red lamp turns orange or yellow, and a far head is a few pixels
across. So this reader judges a frame relative to the head itself:

- The head's *dark level* is a low percentile of its region (housing and unlit
  lenses). A lit lamp is a blob far brighter than it, and among the brightest
  of the head: brighter than its unlit neighbours by a share of the frame's own
  contrast, not by a fixed value.
- A lit blob must carry a lamp colour in its body or in the glow around it
  (white light with no colour is a glint or a headlight), and be round when it
  is large enough to judge (countdown digits are bars and holed shapes).
- Its colour: green is told by hue (no exposure turns red or amber green). Red
  and amber are told apart by *position* where the head's layout is known,
  because an over-exposed red reads as orange or yellow: the first warm lamp
  along the head's axis (top of a vertical head, left of a horizontal one) is
  red, a warm lamp after it is amber. The layout is given (`lamps`) or learned
  from the head's own frames: every lit blob seen is a sighting of a lamp slot.
  Before a layout is known (a head that shows one colour throughout) the hue
  decides, with the blob's place along the head as tie-break: a head that is red
  from the first frame reads red from the first frame.
- Several lamps lit at once (a red ball with a green arrow under it, red and
  amber overlapping at a change) read as the most restrictive: red, then amber.
  A turn arrow configured as a head of its own (`kind: arrow`) is read on its own
  (`HeadReader(..., arrow=True)`), so the ball keeps its red while the arrow
  beside it reads green.
- An arrow lamp is no disc: its lit LEDs are a bar with a head, often blown out
  to white with its colour only in the dim glow of the lens around it. In arrow
  mode any compact blob at the lamp may be it, and its colour is taken from the
  saturated, clearly coloured pixels around it whatever their brightness.
- Dark frames (no lamp lit) read unknown, never green.

The reader also learns how bright the head's lamps are when lit: a blob far
dimmer than that is not taken as lit (an unlit tinted lens in a dark spell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.signals.phase import Box, Phase, Point

# Work on at most this many pixels along the head's long side: a near head is
# shrunk, which keeps the cost per frame flat and the shape tests comparable.
_MAX_SIDE = 64
# The head's dark level: this percentile of its (blurred) brightness.
_DARK_PERCENTILE = 30
# A frame whose brightest blob is not this far above the dark level has no lit lamp.
_MIN_CONTRAST = 40.0
# A lit blob reaches at least this share of the frame's contrast (the brightest
# lit lamp sets it; a second lit lamp, an arrow, is seldom dimmer than half).
_LIT_SHARE = 0.5
# Pixels of the glow around a blob count for its colour down to this share.
_GLOW_SHARE = 0.3
# A pixel carries a colour from this HSV saturation on.
_COLOUR_SATURATION = 70
# Share of a blob and its glow that must carry a lamp colour; below it the blob
# is white light (headlight, glint on the housing).
_MIN_COLOURED_SHARE = 0.15
# Once a lamp's lit contrast is known, a blob on it below this share is unlit;
# a blob below this share of the head's main lit contrast is no lamp at all.
_LEARNED_LIT_SHARE = 0.4
_HEAD_LIT_SHARE = 0.25
# A lamp lit for the first time on a head whose lamps have been seen lit must
# reach this share of their contrast (an unlit lens in a dark spell does not).
_NEW_LAMP_SHARE = 0.4
# So many lamps lit at once is a dark head whose tinted lenses all catch the light.
_IMPLAUSIBLE_LIT = 3
# A lamp's blob and glow carry at least this much colour (90th percentile of max -
# min channel): grey background and compression speckle carry less.
_MIN_CHROMA = 20.0
# Shape limits of a lamp (see pipeline.signals.image): a disc, not a digit or a bar.
_MIN_ASPECT = 0.6
_MIN_SOLIDITY = 0.8
_MIN_EXTENT = 0.5
_MIN_SHAPED_AREA = 30
# Hue of the lamp colours (OpenCV 0-179). Warm hues run from red (wrapping
# around 0) through orange to yellow; an over-exposed red drifts up this scale.
_RED_HUES = ((0, 8), (160, 179))
_ORANGE_HUES = ((9, 17),)
_YELLOW_HUES = ((18, 36),)
_GREEN_HUES = ((37, 100),)
# A warm blob is red when this share of its warm weight is red hue, amber when
# at most _AMBER_RED_SHARE is; between, its place on the head decides.
_RED_SHARE = 0.6
_AMBER_RED_SHARE = 0.25
# A coloured piece of a blob that is not round is its lamp only if it holds this
# share of the blob (a lamp beside a pale pole; not one segment of a digit).
_MIN_PIECE_SHARE = 0.35
# A region this many times taller than wide (or wider than tall) shows the
# head's orientation.
_ELONGATED = 1.4
# A blob dimmer than this share of the frame's main lamp is an unlit lens.
_NEIGHBOUR_SHARE = 0.6
# A lit blob under this share of the head's lamp radius is no lamp of it.
_MIN_RADIUS_SHARE = 0.4
# A learned slot orders the others once seen lit this share as often as the
# head's most seen lamp.
_ESTABLISHED_SHARE = 0.1
# An orange lamp nearer the green one than this many lamp radii is amber.
_AMBER_GAP = 5.0
# A lit blob lies within this share of the lamp pitch of a configured lamp centre
# (at least this many pixels: a far head's centres are a pixel off).
_GIVEN_REACH_SHARE = 0.3
_MIN_GIVEN_REACH = 2.0
# Sightings a learned slot needs before it counts in the layout.
_MIN_SIGHTINGS = 3
# An arrow lamp's glow: saturated pixels carrying at least this chroma, however
# dim (a lit teal lens at V 100 and S 120 carries about 47, through JPEG at a
# 16 px head about 25).
_ARROW_GLOW_CHROMA = 20


@dataclass(frozen=True)
class Spot:
    """One lit blob of one frame, in the reader's working pixels.

    Attributes:
        centre: x, y in working pixels of the region.
        radius: Radius of a disc of the blob's area, working pixels.
        contrast: Brightest value of the blob above the head's dark level.
        green: Whether its colour is green (else warm: red, orange or yellow).
        red_share: Share of its warm colour weight that is red hue (0 for green).
        round: Whether its shape passes for a lamp.
        chroma: The colour it carries in absolute terms: 90th percentile of max -
            min channel over it and its glow.
    """

    centre: tuple[float, float]
    radius: float
    contrast: float
    green: bool
    red_share: float
    round: bool
    chroma: float = 0.0


@dataclass
class LampSlot:
    """A lamp position of the head, given or learned from lit sightings.

    Attributes:
        centre: x, y in image pixels.
        colour: The lamp's colour; None while the layout cannot tell it yet.
        given: Whether it came from the configuration.
        sightings: Lit blobs seen at it.
        lit_contrast: Its running brightness above the head's dark level when lit.
        green_weight: Sightings that were green.
        red_weight: Sum of the warm sightings' red shares.
    """

    centre: Point
    colour: Phase | None = None
    given: bool = False
    sightings: int = 0
    lit_contrast: float | None = None
    green_weight: float = 0.0
    red_weight: float = 0.0

    @property
    def green(self) -> bool:
        return self.green_weight * 2 > self.sightings

    @property
    def red_share(self) -> float:
        warm = self.sightings - self.green_weight
        return self.red_weight / warm if warm > 0 else 0.0


def _hue_in(hue: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    return np.logical_or.reduce([(hue >= lo) & (hue <= hi) for lo, hi in ranges])


def is_round(component: np.ndarray, area: int, *, min_aspect: float = _MIN_ASPECT) -> bool:
    """Aspect, solidity and extent of one component's mask against a disc's.

    Args:
        component: Boolean mask of the component.
        area: Its pixel count.
        min_aspect: Least short-to-long side ratio of its box.
    """
    if area < _MIN_SHAPED_AREA:
        return True
    ys, xs = np.nonzero(component)
    height, width = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
    if min(height, width) / max(height, width) < min_aspect:
        return False
    if area / (height * width) < _MIN_EXTENT:
        return False
    contours, _ = cv2.findContours(
        component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    # Contours run through pixel centres, so a convex blob's pixel count exceeds
    # its hull's area; a ring-shaped or bent digit falls well short of it.
    hull_area = cv2.contourArea(cv2.convexHull(np.vstack(contours)))
    return area >= _MIN_SOLIDITY * hull_area


def find_spots(
    patch: np.ndarray, *, min_contrast: float = _MIN_CONTRAST, arrow: bool = False
) -> list[Spot]:
    """The lit, coloured blobs of a head's image, brightest first.

    Args:
        patch: BGR pixels of the head's region (already cropped and scaled).
        min_contrast: Least brightness above the head's dark level for a lit lamp.
        arrow: The head is an arrow lamp: blobs of any shape pass as round, and
            their colour may lie in a dim glow around a blown-out core.
    """
    if patch.shape[0] < 2 or patch.shape[1] < 2:
        return []
    frame = _SpotFrame(patch, arrow=arrow)
    if frame.contrast < min_contrast:
        return []
    # Candidates: everything clearly above the dark level. Each is then cut at
    # half its *own* peak, so a dim lamp is judged by its own light and not by
    # a brighter thing elsewhere in the region (white sky, a lit beam).
    candidates: np.ndarray = (frame.smooth >= frame.dark + min_contrast).astype(np.uint8)
    if min(patch.shape[:2]) >= 8:
        candidates = cv2.morphologyEx(candidates, cv2.MORPH_CLOSE, _CLOSE_KERNEL)
    spots: list[Spot] = []
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        box = (slice(y, y + h), slice(x, x + w))
        member = labels[box] == label
        peak = float(frame.smooth[box][member].max())
        core = (
            member & (frame.smooth[box] >= frame.dark + _LIT_SHARE * (peak - frame.dark))
        ).astype(np.uint8)
        spots.extend(frame.blobs(core, (x, y), split=True))
    spots.sort(key=lambda spot: spot.contrast, reverse=True)
    return spots


class _SpotFrame:
    """One patch's brightness and colour planes, for judging its blobs."""

    def __init__(self, patch: np.ndarray, *, arrow: bool = False) -> None:
        self.arrow = arrow
        hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
        self.hue, self.sat = hsv[..., 0], hsv[..., 1]
        self.value = hsv[..., 2].astype(np.float32)
        # A 3x3 mean takes the edge off compression speckle; a far head's lamp
        # is 3-4 px, which it keeps.
        self.smooth = cv2.blur(self.value, (3, 3)) if min(patch.shape[:2]) >= 6 else self.value
        self.dark = float(np.percentile(self.smooth, _DARK_PERCENTILE))
        # The contrast is set by light at or beside colour: a lamp's coloured
        # rim and the white core it encloses, not a patch of white sky or a
        # pale pole in the region, which would make a dim lamp look unlit.
        coloured = (self.sat >= _COLOUR_SATURATION) & (self.smooth >= self.dark + _MIN_CONTRAST)
        if arrow:
            # An arrow's lens glows dimly beside its white LEDs (see below).
            chroma = patch.max(axis=2).astype(np.int16) - patch.min(axis=2)
            coloured |= (self.sat >= _COLOUR_SATURATION) & (chroma >= _ARROW_GLOW_CHROMA)
        near = cv2.dilate(coloured.astype(np.uint8), _NEAR_KERNEL).astype(bool)
        self.contrast = float(self.smooth[near].max()) - self.dark if near.any() else 0.0
        self.glow = (self.sat >= _COLOUR_SATURATION) & (
            self.smooth >= self.dark + _GLOW_SHARE * self.contrast
        )
        # Chroma (max - min channel): how much colour a pixel carries in absolute
        # terms; a dark tinted lens has high saturation but little chroma.
        self.chroma = patch.max(axis=2).astype(np.int16) - patch.min(axis=2)
        if arrow:
            # A lit arrow blows out to white and lights its lens only dimly:
            # measured on a phone capture, a white arrow (V 255, S < 40) in a
            # teal glow of V 90-120 against a dark level of 83, far below the
            # share of the contrast a ball's glow reaches. Clearly coloured
            # pixels count whatever their brightness (grey sky and housing carry
            # little chroma).
            self.glow = self.glow | (
                (self.sat >= _COLOUR_SATURATION) & (self.chroma >= _ARROW_GLOW_CHROMA)
            )
        self.weight = self.value * self.glow

    def blobs(self, mask: np.ndarray, origin: tuple[int, int], *, split: bool) -> list[Spot]:
        """The spots of a binary `mask` placed at `origin` (x, y) in the patch.

        A blob that is not round may be a lamp merged with white light beside it
        (a pale pole, the sky): with `split`, its bright *and coloured* part, with
        the blown-out core its coloured rim encloses, is tried as the lamp.
        """
        found: list[Spot] = []
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        x0, y0 = origin
        for label in range(1, count):
            x, y, w, h = (int(v) for v in stats[label, :4])
            part = labels[y : y + h, x : x + w] == label
            spot = self.spot(
                part,
                (x0 + x, y0 + y),
                int(stats[label, cv2.CC_STAT_AREA]),
                centroids[label] - (x, y),
            )
            if (spot is not None and spot.round) or not split:
                if spot is not None:
                    found.append(spot)
                continue
            coloured = (
                part & (self.sat[y0 + y : y0 + y + h, x0 + x : x0 + x + w] >= _COLOUR_SATURATION)
            ).astype(np.uint8)
            contours, _ = cv2.findContours(coloured, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(coloured, contours, -1, 1, thickness=cv2.FILLED)
            # Only a piece holding much of the blob's colour: a digit's segments
            # are no lamp, a lamp between two pale strips is.
            least = _MIN_PIECE_SHARE * max(1, int(np.count_nonzero(coloured)))
            pieces = [
                p
                for p in self.blobs(coloured, (x0 + x, y0 + y), split=False)
                if p.round and np.pi * p.radius**2 >= least
            ]
            found.extend(pieces if pieces else [spot] if spot is not None else [])
        return found

    def spot(
        self, part: np.ndarray, origin: tuple[int, int], area: int, centroid: np.ndarray
    ) -> Spot | None:
        """One blob as a Spot; None when it carries no lamp colour.

        Args:
            part: The blob's boolean mask over its bounding box.
            origin: x, y of that box in the patch.
            area: Its pixels.
            centroid: x, y of its centre within the box.
        """
        if area <= 0:
            return None
        radius = float(np.sqrt(area / np.pi))
        # An arrow's glow lies across its thin bars: look a full radius out.
        reach = max(1, int(round((1.0 if self.arrow else 0.6) * radius)))
        # The blob and the ring its glow would light, cut out of the patch.
        x0, y0 = origin
        x1, y1 = max(0, x0 - reach), max(0, y0 - reach)
        x2 = min(self.hue.shape[1], x0 + part.shape[1] + reach)
        y2 = min(self.hue.shape[0], y0 + part.shape[0] + reach)
        component = np.zeros((y2 - y1, x2 - x1), np.uint8)
        component[y0 - y1 : y0 - y1 + part.shape[0], x0 - x1 : x0 - x1 + part.shape[1]] = part
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        around = cv2.dilate(component, kernel).astype(bool)
        glow = self.glow[y1:y2, x1:x2][around]
        # Counted against the ring alone: a blown-out white lamp keeps its colour
        # only in a thin rim, while a headlight's or glint's ring is pale.
        ring = int(np.count_nonzero(around)) - int(np.count_nonzero(component))
        if np.count_nonzero(glow) < _MIN_COLOURED_SHARE * max(ring, 1):
            return None
        hue = self.hue[y1:y2, x1:x2][around]
        votes = self.weight[y1:y2, x1:x2][around]
        w_red = float(votes[_hue_in(hue, _RED_HUES)].sum())
        w_orange = float(votes[_hue_in(hue, _ORANGE_HUES)].sum())
        w_yellow = float(votes[_hue_in(hue, _YELLOW_HUES)].sum())
        w_green = float(votes[_hue_in(hue, _GREEN_HUES)].sum())
        warm = w_red + w_orange + w_yellow
        if warm + w_green <= 0:
            return None
        chroma = float(np.percentile(self.chroma[y1:y2, x1:x2][around], 90))
        if chroma < _MIN_CHROMA:
            return None
        is_green = w_green > warm
        red_share = 0.0 if is_green else (w_red + 0.5 * w_orange) / warm
        peak = float(self.smooth[y0 : y0 + part.shape[0], x0 : x0 + part.shape[1]][part].max())
        return Spot(
            (float(centroid[0]) + x0, float(centroid[1]) + y0),
            radius,
            peak - self.dark,
            is_green,
            red_share,
            self.arrow or is_round(part, area),
            chroma,
        )


_CLOSE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_NEAR_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))


@dataclass
class HeadReading:
    """What one frame of a head showed.

    Attributes:
        phase: The most restrictive colour lit, UNKNOWN when none.
        lit: Colour and image position of each lit lamp read.
    """

    phase: Phase
    lit: list[tuple[Phase, Point]] = field(default_factory=list)


class HeadReader:
    """Reads one signal head frame by frame, learning its lamps as it goes.

    Args:
        region: x1, y1, x2, y2 pixel box around the lamps.
        lamps: The head's layout where configured: each lamp's centre in image
            pixels. A lit blob then takes the colour of the lamp it lies on.
        arrow: The head is a turn arrow (`kind: arrow`): its lamps are arrows,
            not discs (see the module's notes). It reads green while its arrow
            is lit green and UNKNOWN while dark: a dark arrow shows no phase, so
            the ball decides its movement.
    """

    def __init__(
        self, region: Box, lamps: Mapping[Phase, Point] | None = None, *, arrow: bool = False
    ) -> None:
        self.region = region
        self.arrow = arrow
        x1, y1, x2, y2 = region
        width, height = x2 - x1, y2 - y1
        # A region clearly taller than wide holds a vertical head, one clearly
        # wider a horizontal one; a squarish region (a countdown drawn in with
        # the lamps) tells nothing, and the lamps seen lit will.
        self.drawn_vertical: bool | None = (
            True
            if height >= _ELONGATED * width
            else False
            if width >= _ELONGATED * height
            else None
        )
        long_side = max(x2 - x1, y2 - y1)
        self.scale = min(1.0, _MAX_SIDE / long_side) if long_side > 0 else 1.0
        self.slots: list[LampSlot] = [
            LampSlot((float(p[0]), float(p[1])), colour=colour, given=True)
            for colour, p in (lamps or {}).items()
        ]
        self.lit_contrast: float | None = None
        """Typical contrast of the head's lit lamps (running), once seen."""
        self.lamp_radius: float | None = None
        """Typical radius of a lit lamp, image pixels, once seen."""
        self.axis: float | None = None
        """Where the lamps' line runs across the head (x of a vertical head, y of a
        horizontal one), image pixels, once seen."""

    @property
    def layout(self) -> list[tuple[Phase | None, Point]]:
        """Each known lamp slot: its colour (None while untold) and centre in image pixels."""
        return [
            (slot.colour, slot.centre)
            for slot in self.slots
            if slot.given or slot.sightings >= _MIN_SIGHTINGS
        ]

    def read(self, image: np.ndarray) -> HeadReading:
        """Read one BGR frame: the phase it shows and the lamps lit."""
        patch, origin = self._patch(image)
        if patch is None:
            return HeadReading(Phase.UNKNOWN)
        placed = self._placed_spots(patch, origin)
        lit: list[tuple[Phase, Point]] = []
        if not placed:
            return HeadReading(Phase.UNKNOWN, lit)
        best = max(placed, key=lambda p: self._lampness(*p))
        chosen = self._lit_among(placed, best)
        never_lit = all(slot is None or slot.lit_contrast is None for _, _, slot in chosen)
        if len(chosen) >= _IMPLAUSIBLE_LIT and never_lit:
            # Lamps never seen lit, all alike: a dark head whose tinted lenses
            # catch the light, not three lamps lit at once.
            return HeadReading(Phase.UNKNOWN, lit)
        slots = self._learn_lit(chosen)
        # Named before they are read: a red lamp lit for the first time above a
        # known amber reads red on that very frame, however yellow it looks.
        self._name_slots()
        for (spot, at, _), slot in zip(chosen, slots, strict=True):
            colour = slot.colour if slot.colour is not None else self._colour_alone(at, spot)
            if colour is not None:
                lit.append((colour, at))
        if lit:
            self._learn_head(*best)
        for phase in (Phase.RED, Phase.AMBER, Phase.GREEN):
            if any(colour is phase for colour, _ in lit):
                return HeadReading(phase, lit)
        return HeadReading(Phase.UNKNOWN, lit)

    def _placed_spots(self, patch: np.ndarray, origin: Point) -> list[tuple[Spot, Point]]:
        """The round bright spots of the head's patch on its lamps' line, each with its
        centre in image pixels."""
        floor = _MIN_CONTRAST
        if self.lit_contrast is not None:
            floor = max(floor, _HEAD_LIT_SHARE * self.lit_contrast)
        placed = [
            (
                spot,
                (origin[0] + spot.centre[0] / self.scale, origin[1] + spot.centre[1] / self.scale),
            )
            for spot in find_spots(patch, min_contrast=floor, arrow=self.arrow)
            if spot.round
        ]
        placed = [(spot, at) for spot, at in placed if self._on_axis(at, spot)]
        return placed

    def _lit_among(
        self, placed: list[tuple[Spot, Point]], best: tuple[Spot, Point]
    ) -> list[tuple[Spot, Point, LampSlot | None]]:
        """The spots that are lit lamps beside `best` (the likeliest lamp), each with its
        known slot (None for a lamp not yet placed)."""
        chosen: list[tuple[Spot, Point, LampSlot | None]] = []
        for spot, at in placed:
            # A lit lamp stands out from its unlit neighbours: a blob far dimmer
            # than the head's main lamp is an unlit tinted lens, one far smaller
            # a piece of a countdown digit or a glint.
            if spot.contrast < _NEIGHBOUR_SHARE * best[0].contrast:
                continue
            if spot.radius < _MIN_RADIUS_SHARE * best[0].radius:
                continue
            if not self._beside(at, best, spot):
                continue
            allowed, slot = self._slot_for(at, spot)
            if not allowed:
                continue
            # Each lamp against its own lit state: a red LED may be twice as
            # bright as the green beside it, and its unlit lens brighter than
            # the lit green. A lamp never seen lit is held to the head's.
            own = slot.lit_contrast if slot is not None else None
            if own is not None and spot.contrast < _LEARNED_LIT_SHARE * own:
                continue
            first_time = own is None and self.lit_contrast is not None
            if first_time and spot.contrast < _NEW_LAMP_SHARE * (self.lit_contrast or 0.0):
                continue
            chosen.append((spot, at, slot))
        return chosen

    def _learn_lit(self, chosen: list[tuple[Spot, Point, LampSlot | None]]) -> list[LampSlot]:
        """The slot of each lit lamp (placing new ones), with its lit contrast and place
        learned."""
        slots = []
        for spot, at, known in chosen:
            slot = known if known is not None else self._new_slot(at)
            slot.lit_contrast = (
                spot.contrast
                if slot.lit_contrast is None
                else 0.8 * slot.lit_contrast + 0.2 * spot.contrast
            )
            self._learn(slot, spot, at)
            slots.append(slot)
        return slots

    def _learn_head(self, strongest: Spot, at: Point) -> None:
        """Running lit contrast, lamp size and axis of the head, from its main lit lamp."""
        radius = strongest.radius / self.scale
        cross = at[0] if self.vertical else at[1]
        if self.lit_contrast is None or self.lamp_radius is None or self.axis is None:
            self.lit_contrast, self.lamp_radius, self.axis = strongest.contrast, radius, cross
            return
        self.lit_contrast = 0.9 * self.lit_contrast + 0.1 * strongest.contrast
        self.lamp_radius = 0.9 * self.lamp_radius + 0.1 * radius
        self.axis = 0.9 * self.axis + 0.1 * cross

    @property
    def vertical(self) -> bool:
        """Whether the lamps run top to bottom: from the region's shape, else from
        the lamps seen so far, else (nothing seen yet) the common vertical head."""
        if self.drawn_vertical is not None:
            return self.drawn_vertical
        seen = [s.centre for s in self.slots if s.given or s.sightings >= _MIN_SIGHTINGS]
        if len(seen) >= 2:
            xs, ys = [p[0] for p in seen], [p[1] for p in seen]
            return max(ys) - min(ys) >= max(xs) - min(xs)
        return True

    def _lampness(self, spot: Spot, at: Point) -> float:
        """How much a blob looks like the head's main lamp: bright, large, and on
        the head's line (the region's middle until the lamps have shown it)."""
        if self.drawn_vertical is None:
            return spot.contrast * spot.radius
        x1, y1, x2, y2 = self.region
        if self.axis is not None:
            middle = self.axis
        else:
            middle = 0.5 * (x1 + x2) if self.vertical else 0.5 * (y1 + y2)
        half = 0.5 * min(x2 - x1, y2 - y1)
        cross = at[0] if self.vertical else at[1]
        centrality = max(0.1, 1.0 - abs(cross - middle) / half) if half > 0 else 1.0
        return spot.contrast * spot.radius * centrality

    def _on_axis(self, at: Point, spot: Spot) -> bool:
        """Whether a blob can be one of the head's lamps: on the line the lit lamps
        have shown so far, and not much smaller than them (a countdown digit beside
        the head, a red car passing behind it are neither)."""
        if self.lamp_radius is None or any(slot.given for slot in self.slots):
            return True
        if spot.radius / self.scale < _MIN_RADIUS_SHARE * self.lamp_radius:
            return False
        if self.axis is None or self.drawn_vertical is None:
            return True
        cross = at[0] if self.vertical else at[1]
        return abs(cross - self.axis) <= max(1.5, 0.8 * self.lamp_radius)

    def _beside(self, at: Point, best: tuple[Spot, Point], spot: Spot) -> bool:
        """Before the head's line of lamps is learned: whether a blob lies on the
        line through the frame's main lamp (a countdown digit lies beside it)."""
        if self.axis is not None or self.drawn_vertical is None or spot is best[0]:
            return True
        index = 0 if self.vertical else 1
        reach = max(1.5, best[0].radius / self.scale)
        return abs(at[index] - best[1][index]) <= reach

    def _established(self, slot: LampSlot) -> bool:
        """Whether a learned slot is a lamp of the head for ordering the others:
        seen lit a few times and not far less often than the head's busiest lamp
        (a countdown digit on the head's line is seen now and then), on the
        head's line of lamps."""
        most = max((s.sightings for s in self.slots if not s.given), default=0)
        if slot.sightings < max(_MIN_SIGHTINGS, _ESTABLISHED_SHARE * most):
            return False
        if self.axis is None or self.lamp_radius is None or self.drawn_vertical is None:
            return True
        cross = slot.centre[0] if self.vertical else slot.centre[1]
        return abs(cross - self.axis) <= max(1.5, self.lamp_radius)

    def _patch(self, image: np.ndarray) -> tuple[np.ndarray | None, Point]:
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (int(round(v)) for v in self.region)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 - x1 < 2 or y2 - y1 < 2:
            return None, (0.0, 0.0)
        patch = image[y1:y2, x1:x2]
        if self.scale < 1.0:
            size = (max(2, round((x2 - x1) * self.scale)), max(2, round((y2 - y1) * self.scale)))
            patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
        return patch, (float(x1), float(y1))

    def _reach(self, spot: Spot) -> float:
        """How far (image pixels) a sighting may lie from a slot and still be that lamp."""
        return max(1.5, 1.2 * spot.radius / self.scale)

    def _slot_for(self, at: Point, spot: Spot) -> tuple[bool, LampSlot | None]:
        """Whether this blob may be a lamp of the head, and the known slot it lights
        (None: a lamp not seen before).

        With a given layout a blob away from every given lamp (a countdown digit)
        and one whose colour cannot be that lamp's (green at a red lamp) is none.
        """
        nearest = min(
            self.slots,
            key=lambda s: np.hypot(s.centre[0] - at[0], s.centre[1] - at[1]),
            default=None,
        )
        if nearest is not None and nearest.given:
            reach = _given_reach(self.slots, self.region)
            if np.hypot(nearest.centre[0] - at[0], nearest.centre[1] - at[1]) > reach:
                return False, None
            if spot.green != (nearest.colour is Phase.GREEN):
                return False, None
            return True, nearest
        if nearest is not None:
            distance = np.hypot(nearest.centre[0] - at[0], nearest.centre[1] - at[1])
            if distance <= self._reach(spot) and nearest.green == spot.green:
                return True, nearest
        return True, None

    def _new_slot(self, at: Point) -> LampSlot:
        slot = LampSlot(at)
        self.slots.append(slot)
        return slot

    def _learn(self, slot: LampSlot, spot: Spot, at: Point) -> None:
        if slot.given:
            slot.sightings += 1
            return
        # Running mean of the lamp's centre; a few hundred sightings settle it.
        keep = min(slot.sightings, 200) / (min(slot.sightings, 200) + 1)
        slot.centre = (
            keep * slot.centre[0] + (1 - keep) * at[0],
            keep * slot.centre[1] + (1 - keep) * at[1],
        )
        slot.sightings += 1
        slot.green_weight += 1.0 if spot.green else 0.0
        slot.red_weight += spot.red_share

    def _name_slots(self) -> None:
        """Give each learned slot its colour from hue and its place among the others."""
        learned = [s for s in self.slots if not s.given and s.sightings >= 1]
        if not learned:
            return
        warm = sorted((s for s in learned if not s.green), key=self._along)
        for slot in learned:
            if slot.green:
                slot.colour = Phase.GREEN
        for index, slot in enumerate(warm):
            share = slot.red_share
            # Only lamps seen lit a few times on the head's line order the others:
            # one stray blob must not turn an amber into a red.
            before = [s for s in warm[:index] if self._established(s)]
            after = [s for s in warm[index + 1 :] if self._established(s)]
            if share >= _RED_SHARE:
                slot.colour = Phase.RED
            elif any(s.red_share >= _RED_SHARE or self._apart(s, slot) for s in before):
                # A warm lamp further down the head than another: amber.
                slot.colour = Phase.AMBER
            elif any(self._apart(slot, s) for s in after):
                # First of two warm lamps: red, whatever its exposure did to its hue.
                slot.colour = Phase.RED
            else:
                slot.colour = None

    def _apart(self, first: LampSlot, second: LampSlot) -> bool:
        """Whether `first` lies a lamp before `second` along the head's axis."""
        x1, y1, x2, y2 = self.region
        pitch = 0.15 * max(x2 - x1, y2 - y1)
        return self._along(second) - self._along(first) >= pitch

    def _along(self, slot: LampSlot) -> float:
        return slot.centre[1] if self.vertical else slot.centre[0]

    def _colour_alone(self, at: Point, spot: Spot) -> Phase | None:
        """A blob's colour while its lamp's place among the others is unknown."""
        if spot.green:
            return Phase.GREEN
        if spot.red_share >= _RED_SHARE:
            return Phase.RED
        if spot.red_share <= _AMBER_RED_SHARE:
            return Phase.AMBER
        # Orange: an over-exposed red or a deep amber. Next to the known green
        # lamp it is amber, two lamps away red (lamps sit about two lit radii
        # apart, more with the housing between them).
        greens = [
            slot.centre
            for slot in self.slots
            if slot.colour is Phase.GREEN and (slot.given or self._established(slot))
        ]
        radius = self.lamp_radius or spot.radius / self.scale
        if greens and radius > 0:
            gap = min(float(np.hypot(at[0] - g[0], at[1] - g[1])) for g in greens)
            return Phase.AMBER if gap < _AMBER_GAP * radius else Phase.RED
        # No green seen: red in the first part of the head along its axis, else amber.
        x1, y1, x2, y2 = self.region
        place = (at[1] - y1) / (y2 - y1) if self.vertical else (at[0] - x1) / (x2 - x1)
        return Phase.RED if place < 0.45 else Phase.AMBER


def _given_reach(slots: list[LampSlot], region: Box) -> float:
    """How far from a configured lamp centre its lit blob's centre may lie: under a
    lamp's radius (lamps nearly touch, so about 0.3 of the lamp pitch), or 0.3 of
    the region's short side for one lamp. A bright beam or digit at the lamp's
    edge is not that lamp lit."""
    points = [s.centre for s in slots if s.given]
    if len(points) >= 2:
        pitch = min(
            float(np.hypot(a[0] - b[0], a[1] - b[1]))
            for i, a in enumerate(points)
            for b in points[i + 1 :]
        )
    else:
        x1, y1, x2, y2 = region
        pitch = min(x2 - x1, y2 - y1)
    return max(_MIN_GIVEN_REACH, _GIVEN_REACH_SHARE * pitch)
