"""Reading the seconds left on a signal head's seven-segment countdown display.

Countdown displays beside Vietnamese signal heads show one or two seven-segment
digits in the colour of the lamp that is lit (red during red, green during green,
often a dim amber 3-2-1 during amber). On CCTV the digits are a few pixels wide,
blurred, and over-exposed: their LEDs blow out to white and only the glow around
them keeps the colour. So, as for the lamps, everything is judged against the
display itself:

- The display's *dark level* is a low percentile of its region; lit segments are
  the pixels above half the way from it to the region's brightest light. A region
  whose brightest light is not far above its dark level is dark (a blinking
  display, or no countdown at that phase).
- Lit pixels count only at or beside colour: a pale housing edge or sky inside
  the region is white light with no colour around it.
- The digits are the runs of lit columns (a run wider than a digit is two digits
  blurred together and is split in half); a run far narrower than it is tall is a
  "1". Every other digit is read by sampling its seven segments against the
  patterns of 0-9; the nearest pattern wins, and a digit far from every pattern
  leaves the reading unread.
- The colour is the hue of the glow around the lit digits. It is a second opinion
  on the lamps, never the truth: the lamp colour decides the phase.

`CountdownTracker` reads every few frames (the value changes once a second) and
fits the readings of the last seconds jointly to one count down by one a second
(`fit_count`): a reading off the count (a misread digit) is set aside, the fit
gives the value where a reading fails (a blink, a blurred frame), and once the
fit holds several ticks with few readings against it the display counts as seen
counting, so its value at any moment not too near a tick goes into evidence.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from pipeline.signals.phase import Box, Phase

# Digits are read on a patch scaled to about this many pixels tall.
_WORK_HEIGHT = 40
# The region's dark level: this percentile of its brightness.
_DARK_PERCENTILE = 30
# The display is lit when its brightest light stands this far above the dark level.
_MIN_CONTRAST = 45.0
# A segment pixel is lit above this share of the way from dark level to peak.
_LIT_SHARE = 0.5
# A pixel carries colour from this HSV saturation and max - min channel on.
_COLOUR_SATURATION = 70
_MIN_CHROMA = 25
# The glow that gives the colour: coloured pixels above this share of the contrast.
_GLOW_SHARE = 0.2
# Lit pixels filling this share of their box are a lit panel, not digits (the
# segments of two 8s fill about half of theirs).
_PANEL_FILL = 0.7
# A digit is at least this share of the lit rows' height tall.
_MIN_DIGIT_HEIGHT = 0.6
# A run of lit columns narrower than this share of the digits' height is a "1";
# wider than this share it is two digits blurred into one.
_ONE_WIDTH = 0.4
_TWO_WIDTH = 0.9
# A run narrower than this share of the height is a speck, not a digit.
_MIN_RUN_WIDTH = 0.08
# A digit whose seven segment scores lie further than this (sum of absolute
# differences) from every pattern is unread.
_MAX_DISTANCE = 2.2
# The luma cut is read only where it fits the patterns better by this much.
_LUMA_HANDICAP = 0.8
# What a narrow "1" counts as misfit when two cuts of the display are compared.
_ONE_MISFIT = 0.5
# Segment windows: x1, x2, y1, y2 as shares of the digit's box (a, b, c, d, e, f, g).
_SEGMENTS = (
    (0.25, 0.75, 0.0, 0.16),
    (0.65, 1.0, 0.14, 0.42),
    (0.65, 1.0, 0.58, 0.86),
    (0.25, 0.75, 0.84, 1.0),
    (0.0, 0.35, 0.58, 0.86),
    (0.0, 0.35, 0.14, 0.42),
    (0.25, 0.75, 0.42, 0.58),
)
# Digits at most this many frame pixels tall, whose segments the sampler cannot
# resolve, are read by matching templates of 0-9 instead.
_SMALL_DIGIT_PX = 11
# Template shapes tried: digit width as a share of its height, stroke as a share
# of the width (displays differ in both).
_TEMPLATE_SHAPES = tuple((ratio, stroke) for ratio in (0.42, 0.5, 0.6) for stroke in (0.2, 0.3))
# Template blur (frame pixels) and how far blown-out light spreads: rendered
# strokes saturate from this share of their peak down.
_TEMPLATE_BLUR = 0.7
_TEMPLATE_GAIN = 1.8
# Gap between two digits as shares of their height.
_TEMPLATE_GAPS = (0.05, 0.15, 0.25, 0.35)
# A matched digit counts when its template correlates at least this well and this
# much better than the next digit's; otherwise the reading is left unread.
_MATCH_MIN = 0.6
_MATCH_MARGIN = 0.05
# A lit extent narrower than this many digit widths is one digit.
_SINGLE_WIDTHS = 1.3
# A reading tells the value shown this many seconds either side of it.
_SHOWN_REACH_S = 3.0
# Readings of the last this many seconds are fitted to one count (at most this many).
_WINDOW_S = 8.0
_MAX_READINGS = 240
# A reading's weight in the fit halves every this many seconds of age.
_HALF_LIFE_S = 1.0
# A display holds 00 for up to this long before it changes phase.
_ZERO_HOLD_S = 4.0
# At least this many readings in a row, over at least this many seconds, outside
# the fit that fit one count among themselves are a jump to a new count.
_JUMP_READINGS = 3
_JUMP_S = 0.4
# Frames blending two values (read as neither) last no longer than this.
_BLEND_S = 0.1
# Seen counting: at least this many values and readings in the fit, and at most
# this share of the readings since its first against it.
_COUNTING_VALUES = 3
_COUNTING_READINGS = 4
_MAX_AGAINST = 0.3
# A reading is allowed this far off the fitted ticks (a frame or two of blending,
# stream timestamps a little off the display's clock).
_TICK_SLACK_S = 0.15
# Which segments (a-g) each digit lights.
DIGIT_SEGMENTS: dict[int, str] = {
    0: "abcdef",
    1: "bc",
    2: "abdeg",
    3: "abcdg",
    4: "bcfg",
    5: "acdfg",
    6: "acdefg",
    7: "abc",
    8: "abcdefg",
    9: "abcdfg",
}
_PATTERNS = {
    digit: np.array([1.0 if s in lit else 0.0 for s in "abcdefg"])
    for digit, lit in DIGIT_SEGMENTS.items()
}
# Hue ranges (OpenCV 0-179) of the display colours.
_RED_HUES = ((0, 9), (160, 179))
_AMBER_HUES = ((10, 34),)
_GREEN_HUES = ((35, 100),)


@dataclass(frozen=True)
class CountdownReading:
    """What one frame of a countdown display showed.

    Attributes:
        value: Seconds shown; None when the display is dark or its digits unread.
        colour: The lit digits' colour (red, amber, green); UNKNOWN when dark or
            colourless.
        lit: Whether any digit was lit.
        height: Height of the lit digits, working pixels (0 when none); a digit
            without a bottom segment (1, 4, 7) is shorter than the display's digits.
    """

    value: int | None
    colour: Phase
    lit: bool
    height: int = 0


_DARK = CountdownReading(None, Phase.UNKNOWN, False)


def _hue_in(hue: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    return np.logical_or.reduce([(hue >= lo) & (hue <= hi) for lo, hi in ranges])


def read_countdown(
    image: np.ndarray, region: Box, *, digit_height: int | None = None
) -> CountdownReading:
    """Read the countdown display in `region` (x1, y1, x2, y2 pixels) of a BGR frame.

    `digit_height`: the display's digit height in working pixels where known (the
    tracker learns it): digits without a bottom segment (17, 41, 74) are then
    sampled in a box of the display's full height, not their own.
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in region)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 3 or y2 - y1 < 3:
        return _DARK
    patch = image[y1:y2, x1:x2]
    scale = max(1.0, _WORK_HEIGHT / (y2 - y1))
    if scale > 1.0:
        patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    hue, sat = hsv[..., 0], hsv[..., 1]
    value = cv2.blur(hsv[..., 2].astype(np.float32), (3, 3))
    chroma = patch.max(axis=2).astype(np.int16) - patch.min(axis=2)
    dark = float(np.percentile(value, _DARK_PERCENTILE))
    coloured = (sat >= _COLOUR_SATURATION) & (chroma >= _MIN_CHROMA)
    if not coloured.any():
        return _DARK
    # The peak is taken at or beside colour: a white sky or housing edge is no digit.
    reach = max(3, int(round(0.12 * patch.shape[0])))
    near = cv2.dilate(coloured.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    peak = float(value[near].max())
    contrast = peak - dark
    if contrast < _MIN_CONTRAST:
        return _DARK
    glow = coloured & (value >= dark + _GLOW_SHARE * contrast)
    colour = _colour(hue[glow], value[glow])
    shown, height = _read_digits(patch, value, near, digit_height)
    if 0 < height <= _SMALL_DIGIT_PX * scale:
        # Segments a pixel or two wide blur into each other: the sampler's reading
        # of them is a guess, which stands only where the templates read nothing.
        matched = read_small_digits(patch, near, scale)
        shown = shown if matched is None else matched
    return CountdownReading(shown, colour, True, height)


def _read_digits(
    patch: np.ndarray, value: np.ndarray, near: np.ndarray, digit_height: int | None
) -> tuple[int | None, int]:
    """The number the lit segments near colour show (None if no cut reads one), and the
    digit height in working pixels of the cut read."""
    # Segments are cut on the HSV value and on luma, and the cut whose digits fit
    # the segment patterns better is read: compression keeps luma at full
    # resolution while it halves the colour planes, which thins a small red
    # digit's horizontal strokes in the value (its red channel); on a real
    # display the value is often the cleaner cut.
    luma = cv2.blur(cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32), (3, 3))
    height = 0
    best: tuple[float, int, int] | None = None
    for plane, handicap in ((value, 0.0), (luma, _LUMA_HANDICAP)):
        low = float(np.percentile(plane, _DARK_PERCENTILE))
        mask = (plane >= low + _LIT_SHARE * (float(plane[near].max()) - low)) & near
        if _is_panel(mask):
            # A lit panel with blown-out digits on it (a red square with white
            # numerals): the digits are its whitest pixels, so the cut runs on
            # the smallest channel instead, which is low on the coloured panel.
            white = cv2.blur(patch.min(axis=2).astype(np.float32), (3, 3))
            base, high = float(np.percentile(white[mask], 10)), float(white[mask].max())
            mask &= white >= base + _LIT_SHARE * (high - base)
        digits, height = _digits(mask, digit_height)
        shown = _join([d for d, _ in digits]) if digits else None
        misfit = handicap + sum(distance for _, distance in digits)
        if shown is not None and (best is None or misfit < best[0]):
            best = (misfit, shown, height)
    if best is None:
        return None, height
    return best[1], best[2]


def _is_panel(mask: np.ndarray) -> bool:
    """Whether the lit pixels fill their box like a lit panel rather than digits."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return False
    box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    return ys.size >= _PANEL_FILL * box


def _colour(hue: np.ndarray, weight: np.ndarray) -> Phase:
    votes = {
        Phase.RED: float(weight[_hue_in(hue, _RED_HUES)].sum()),
        Phase.AMBER: float(weight[_hue_in(hue, _AMBER_HUES)].sum()),
        Phase.GREEN: float(weight[_hue_in(hue, _GREEN_HUES)].sum()),
    }
    best = max(votes, key=lambda phase: votes[phase])
    return best if votes[best] > 0 else Phase.UNKNOWN


def _join(digits: list[int | None]) -> int | None:
    if not digits:
        return None
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def _digits(
    mask: np.ndarray, digit_height: int | None
) -> tuple[list[tuple[int | None, float]], int]:
    """The digits of a lit mask, left to right (at most two), each with its distance
    from its segment pattern, and their height."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return [], 0
    # The digits' rows: those of the tall components (specks and a lit edge are not).
    tallest = int(stats[1:, cv2.CC_STAT_HEIGHT].max())
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_HEIGHT] >= _MIN_DIGIT_HEIGHT * tallest
    lit = keep[labels]
    rows = np.nonzero(lit.any(axis=1))[0]
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    measured = bottom - top
    if measured < 5:
        return [], measured
    if digit_height is not None and measured < digit_height <= 1.5 * measured:
        # No bottom segment lit (1, 4, 7): the digit box runs on to the display's.
        bottom = min(mask.shape[0], top + digit_height)
    height = bottom - top
    columns = lit[top:bottom].any(axis=0)
    runs = _runs(columns)
    runs = [r for r in runs if r[1] - r[0] >= max(1, _MIN_RUN_WIDTH * height)]
    cells: list[tuple[int, int]] = []
    for start, stop in runs:
        if stop - start > _TWO_WIDTH * height:
            middle = (start + stop) // 2
            cells.extend([(start, middle), (middle, stop)])
        else:
            cells.append((start, stop))
    cells = cells[-2:]
    return [_digit(lit[top:bottom, start:stop], height) for start, stop in cells], measured


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start: int | None = None
    for index, on in enumerate(columns):
        if on and start is None:
            start = index
        elif not on and start is not None:
            out.append((start, index))
            start = None
    if start is not None:
        out.append((start, len(columns)))
    return out


def _digit(cell: np.ndarray, height: int) -> tuple[int | None, float]:
    """One digit's cell (lit mask, digit height tall) read by its segments, with
    the distance of its segment scores from the digit's pattern."""
    width = cell.shape[1]
    if width < _ONE_WIDTH * height:
        # A "1": a bar down most of the height; a narrow "7" is that bar with a
        # top stroke reaching far wider than it.
        if cell.any(axis=1).mean() < 0.5:
            return None, _ONE_MISFIT
        widths = cell.sum(axis=1)
        top = int(widths[: max(1, int(0.16 * height))].max())
        bar = float(np.median(widths[widths > 0]))
        return (7 if top >= 1.8 * bar else 1), _ONE_MISFIT
    scores = segment_scores(cell)
    distances = {d: float(np.abs(scores - p).sum()) for d, p in _PATTERNS.items()}
    best = min(distances, key=lambda d: distances[d])
    return (best if distances[best] <= _MAX_DISTANCE else None), distances[best]


def segment_scores(cell: np.ndarray) -> np.ndarray:
    """Share of each segment's window (a-g) lit in a digit's boolean cell."""
    h, w = cell.shape
    scores = []
    for sx1, sx2, sy1, sy2 in _SEGMENTS:
        xa, xb = int(sx1 * w), max(int(sx1 * w) + 1, int(round(sx2 * w)))
        ya, yb = int(sy1 * h), max(int(sy1 * h) + 1, int(round(sy2 * h)))
        window = cell[ya:yb, xa:xb]
        scores.append(float(window.mean()) if window.size else 0.0)
    return np.clip(np.array(scores) * 1.6, 0.0, 1.0)


@lru_cache(maxsize=128)
def digit_templates(height: int, ratio: float, stroke: float, blur: float) -> np.ndarray:
    """Templates of 0-9 drawn from `DIGIT_SEGMENTS`: (10, rows, columns) float32, each
    a digit `height` pixels tall, `ratio` of it wide, blurred by `blur` pixels and
    saturated like blown-out LEDs, with a dark margin of `blur` rounded up around it."""
    width = max(3, round(ratio * height))
    margin = max(1, math.ceil(blur))
    fine = 4  # drawn this many times finer, then shrunk: strokes land between pixels
    rows, cols = height * fine, width * fine
    t = max(fine, round(stroke * cols))
    half = rows // 2
    boxes = {
        "a": (t, 0, cols - t, t),
        "b": (cols - t, t, cols, half),
        "c": (cols - t, half, cols, rows - t),
        "d": (t, rows - t, cols - t, rows),
        "e": (0, half, t, rows - t),
        "f": (0, t, t, half),
        "g": (t, half - t // 2, cols - t, half - t // 2 + t),
    }
    pad = margin * fine
    out = []
    for digit in range(10):
        canvas = np.zeros((rows + 2 * pad, cols + 2 * pad), np.float32)
        for segment in DIGIT_SEGMENTS[digit]:
            xa, ya, xb, yb = boxes[segment]
            canvas[pad + ya : pad + yb, pad + xa : pad + xb] = 1.0
        canvas = np.minimum(1.0, _TEMPLATE_GAIN * cv2.GaussianBlur(canvas, (0, 0), blur * fine))
        size = (width + 2 * margin, height + 2 * margin)
        out.append(cv2.resize(canvas, size, interpolation=cv2.INTER_AREA))
    return np.stack(out)


def read_small_digits(patch: np.ndarray, near: np.ndarray, scale: float) -> int | None:
    """The one or two digits of a display too small for its segments to be sampled,
    matched against templates of 0-9 (normalised cross-correlation on the luma of
    the working `patch`, `scale` working pixels a frame pixel). The digits sit in
    the lit block near colour: the last digit's right edge at the block's, the one
    before it a pitch to the left. None where the block is too small, or a digit's
    best template fits badly or hardly better than another digit's."""
    luma = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32)
    dark = float(np.percentile(luma, _DARK_PERCENTILE))
    lit = (luma >= dark + _LIT_SHARE * (float(luma[near].max()) - dark)) & near
    rows, cols = np.nonzero(lit.any(axis=1))[0], np.nonzero(lit.any(axis=0))[0]
    if rows.size == 0 or rows[-1] - rows[0] < 4 * scale:
        return None
    height = int(rows[-1] - rows[0] + 1)
    best = _best_placement(luma, height, int(rows[0]), int(cols[0]), int(cols[-1]) + 1, scale)
    if best is None:
        return None
    digits = []
    for scores in best:
        order = np.argsort(scores)[::-1]
        first, second = float(scores[order[0]]), float(scores[order[1]])
        if first < _MATCH_MIN or first - second < _MATCH_MARGIN:
            return None
        digits.append(int(order[0]))
    return _join(list(digits))


def _best_placement(
    luma: np.ndarray, height: int, top: int, left: int, right: int, scale: float
) -> list[np.ndarray] | None:
    """Each digit's template scores (0-9) where the templates, of every shape and
    pitch tried, fit the lit block best; None where no template fits in the patch."""
    best: tuple[float, list[np.ndarray]] | None = None
    for ratio, stroke in _TEMPLATE_SHAPES:
        templates = digit_templates(height, ratio, stroke, _TEMPLATE_BLUR * scale)
        rows, cols = templates.shape[1:]
        if rows > luma.shape[0] or cols > luma.shape[1]:
            continue
        maps = np.stack([cv2.matchTemplate(luma, t, cv2.TM_CCOEFF_NORMED) for t in templates])
        fit = maps.max(axis=0)
        margin = (cols - round(ratio * height)) // 2
        width = cols - 2 * margin
        pitches = [0]
        if right - left >= _SINGLE_WIDTHS * width:
            pitches = sorted({width + round(gap * height) for gap in _TEMPLATE_GAPS})
        # The block's edges are found to a pixel or so of blur either way.
        slack = max(1, round(scale))
        for y in range(top - margin - slack, top - margin + slack + 1):
            for x in range(right - width - margin - slack, right - width - margin + slack + 1):
                for pitch in pitches:
                    cells = [(y, x - pitch), (y, x)] if pitch else [(y, x)]
                    if any(not (0 <= r < fit.shape[0] and 0 <= c < fit.shape[1]) for r, c in cells):
                        continue
                    score = sum(float(fit[cell]) for cell in cells) / len(cells)
                    if best is None or score > best[0]:
                        best = (score, [maps[:, r, c] for r, c in cells])
    return None if best is None else best[1]


@dataclass(frozen=True)
class CountdownState:
    """The countdown as the rules see it.

    Attributes:
        value: Seconds left as the fit gives them at the last reading; None while
            unread or dark.
        colour: The digits' colour when last read in the fit.
        read_at: Stream time (s) of the last reading in the fit; None before any.
        counting: Whether the display has been seen counting down: readings of
            at least three values, one a second, fit one count with few readings
            against it, since it last jumped or went dark. A display whose digits
            are misread seldom does, so only then is its value trusted for evidence.
        zero_at: Where the fit is known: the stream times (earliest, latest)
            between which the count reaches 0; None without a fit.
    """

    value: int | None
    colour: Phase
    read_at: float | None
    counting: bool = False
    zero_at: tuple[float, float] | None = None

    def shown_at(self, t: float) -> int | None:
        """The value the display showed at stream time `t`: from the fitted count
        where there is one (None when `t` lies too near a tick to tell which side
        of it), else counted on from the reading (one less per second after it,
        one more per second before it); None when unread, not seen counting, or
        read more than `_SHOWN_REACH_S` from `t`."""
        if self.value is None or self.read_at is None or not self.counting:
            return None
        if abs(t - self.read_at) > _SHOWN_REACH_S:
            return None
        if self.zero_at is None:
            return max(0, self.value - int(round(t - self.read_at)))
        early, late = self.zero_at
        # The fitted interval holds the readings' slack (a frame or two either side
        # of each tick), so a `t` that near a tick gives no value.
        first = max(0, math.ceil(early - t))
        last = max(0, math.ceil(late - t))
        return first if first == last else None

    def predicts(self) -> Phase | None:
        """The lamp phase the display foretells: a red countdown at zero, green next;
        a green one at zero, amber next. None otherwise."""
        if self.value != 0:
            return None
        return {Phase.RED: Phase.GREEN, Phase.GREEN: Phase.AMBER}.get(self.colour)


def fit_count(
    times: np.ndarray, values: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Fit readings (stream times, values) to one count down by one a second.

    A count that reaches 0 at time c shows ceil(c - t) at t, so each reading of
    v > 0 at t allows c in (t + v - 1, t + v], widened by `_TICK_SLACK_S` both
    ways (a frame blending two values, a stream clock a little off the display's);
    a reading of 0 allows c up to `_ZERO_HOLD_S` before it (displays hold 00 a
    while). The c that the most
    reading weight allows is the fit. Returns the readings that allow it
    (inliers) and the interval (earliest, latest) of c they all allow.
    """
    high = times + values + _TICK_SLACK_S
    low = np.where(values > 0, high - 1.0 - 2 * _TICK_SLACK_S, times - _ZERO_HOLD_S)
    # Every candidate is some reading's latest c; the best allowed by most weight.
    allowed = (low[None, :] < high[:, None]) & (high[:, None] <= high[None, :])
    best = int(np.argmax(allowed.astype(np.float64) @ weights))
    inliers = allowed[best]
    return inliers, float(low[inliers].max()), float(high[inliers].min())


class CountdownTracker:
    """Reads a countdown display every `every` frames and fits its readings to a count.

    The readings of the last `_WINDOW_S` seconds are fitted jointly to one count
    down by one a second (`fit_count`, recent readings weighing more); a reading
    the fit does not allow is set aside, and the fit gives the value between
    readings and where a reading fails. A value needs two readings in the fit (the
    same value twice, or a value and the one below it a second later); a dark
    spell (the display blinks) keeps the fitted count for up to `hold_s` seconds.
    When the latest readings fall outside the fit but fit one count among
    themselves, the display has jumped (a new phase, or the fit was of
    misread digits) and the fit starts again from them: after two such readings
    `_BLEND_S` apart (frames blending two values are no jump), or, once the display
    was seen counting, after `_JUMP_S` seconds of them (at least `_JUMP_READINGS`).
    """

    def __init__(self, region: Box, *, every: int = 3, hold_s: float = 1.5) -> None:
        self.region = region
        self.every = max(1, every)
        self.hold_s = hold_s
        self._frames = 0
        self._state = CountdownState(None, Phase.UNKNOWN, None)
        self._readings: deque[tuple[float, int, Phase]] = deque()
        self.last_reading: CountdownReading | None = None
        """The raw reading of the last frame read (None before any)."""
        self.digit_height: int | None = None
        """The display's digit height in working pixels, once digits were read."""

    @property
    def state(self) -> CountdownState:
        return self._state

    def update(self, image: np.ndarray, t: float) -> CountdownState:
        """Offer one frame taken at stream time `t`; read it if its turn has come."""
        self._frames += 1
        if (self._frames - 1) % self.every:
            return self._state
        reading = read_countdown(image, self.region, digit_height=self.digit_height)
        self.last_reading = reading
        if reading.value is not None and reading.height > 0:
            # The tallest digits read lately are the display's; a slow decay lets a
            # wrong early one go.
            held = 0.0 if self.digit_height is None else 0.98 * self.digit_height
            self.digit_height = max(reading.height, int(held))
        return self.observe(reading, t)

    def observe(self, reading: CountdownReading, t: float) -> CountdownState:
        """Feed one reading taken at stream time `t`; returns the accepted state."""
        readings = self._readings
        if reading.value is not None:
            readings.append((t, reading.value, reading.colour))
        while readings and (t - readings[0][0] > _WINDOW_S or len(readings) > _MAX_READINGS):
            readings.popleft()
        if not readings:
            self._state = CountdownState(None, self._state.colour, None)
            return self._state
        times = np.array([r[0] for r in readings])
        values = np.array([r[1] for r in readings], np.float64)
        weights = 0.5 ** ((t - times) / _HALF_LIFE_S)
        inliers, early, late = fit_count(times, values, weights)
        index = np.nonzero(inliers)[0]
        since = int(index[-1]) + 1
        if since < len(readings):
            # The readings since: the count that most of them fit, the latest among them.
            after, _, _ = fit_count(times[since:], values[since:], weights[since:])
            first = since + int(np.argmax(after))
            span = t - times[first]
            # A count seen counting is left only for readings against it for a
            # while; any other gives way to two in a row that agree.
            if self._state.counting:
                jump = int(after.sum()) >= _JUMP_READINGS and span >= _JUMP_S
            else:
                jump = int(after.sum()) >= 2 and span >= _BLEND_S
            if jump and after[-1]:
                # The display jumped: the readings before the jump are another count.
                for _ in range(first):
                    readings.popleft()
                return self.observe(CountdownReading(None, Phase.UNKNOWN, False), t)
        last = int(index[-1])
        read_at = float(times[last])
        if index.size < 2 or t - read_at > self.hold_s:
            self._state = CountdownState(None, self._state.colour, None)
            return self._state
        shown = {int(v) for v in values[inliers]}
        # Readings since the fit's first one that it does not allow.
        against = int(np.count_nonzero(~inliers[int(index[0]) :]))
        counting = (
            len(shown) >= _COUNTING_VALUES
            and index.size >= _COUNTING_READINGS
            and against <= _MAX_AGAINST * (index.size + against)
        )
        value = max(0, math.ceil((early + late) / 2 - read_at))
        colour = readings[last][2]
        self._state = CountdownState(value, colour, read_at, counting, (early, late))
        return self._state
