"""Pictures of a camera's scene config for the person installing it.

`draw_overview` draws everything a camera's scene holds on one of its frames, each
item labelled by its id, at the frame's own size so a pixel read off the picture is
a pixel of the config. `draw_signal_strips` lays each signal head's crop out over
time with the phase read under it. Both are what `trafficcam scene check` writes:
a stop line drawn off the painted line, a lane arrow pointing the wrong way or a
head region that misses its lamps is seen at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from pipeline.config import CameraConfig, Scene, SignalHead
from pipeline.evidence.package import wrap_to_width
from pipeline.geometry import Box, DirectedLine, Point
from pipeline.signals.image import Phase

__all__ = [
    "PHASE_COLOURS",
    "STOP_LINE_COLOUR",
    "HeadStrip",
    "StripSample",
    "draw_overview",
    "draw_signal_strips",
    "lamp_points",
]

BGR = tuple[int, int, int]

# Colours chosen to stand out against asphalt, paint and foliage alike; the stop
# line is magenta because no road marking or lamp has that colour.
STOP_LINE_COLOUR: BGR = (255, 0, 255)
_LANE_COLOUR: BGR = (255, 200, 0)
_DIRECTION_COLOUR: BGR = (0, 220, 0)
_CROSSWALK_COLOUR: BGR = (255, 255, 255)
_ZONE_COLOUR: BGR = (0, 140, 255)
_HEAD_COLOUR: BGR = (0, 255, 255)
_DETECTION_COLOUR: BGR = (255, 128, 0)
_TILE_COLOUR: BGR = (200, 160, 120)
_CALIBRATION_COLOUR: BGR = (200, 200, 255)
_WARNING_COLOUR: BGR = (0, 80, 255)
_EXIT_COLOUR: BGR = (203, 192, 255)
PHASE_COLOURS: dict[Phase, BGR] = {
    Phase.RED: (0, 0, 230),
    Phase.AMBER: (0, 170, 255),
    Phase.GREEN: (0, 190, 0),
    Phase.UNKNOWN: (110, 110, 110),
}
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class StripSample:
    """One column of a head's strip.

    Attributes:
        t: Stream time (s) of the frame.
        crop: BGR crop of the head's region and a margin around it.
        phase: The phase the tracker held after this frame.
        reading: That frame's own reading, when the tracker exposes it.
    """

    t: float
    crop: np.ndarray
    phase: Phase
    reading: Phase | None = None


@dataclass(frozen=True)
class HeadStrip:
    """A head's samples and where its region lies in each crop.

    Attributes:
        head: The configured head.
        samples: Columns in time order.
        region_in_crop: x1, y1, x2, y2 of the configured region inside each crop.
        lamps_in_crop: (colour, centre) of each lamp, configured or learned, inside
            each crop.
        changes: (stream time, phase) of each phase the head was read to enter.
    """

    head: SignalHead
    samples: list[StripSample]
    region_in_crop: tuple[int, int, int, int]
    lamps_in_crop: list[tuple[str, Point]]
    changes: list[tuple[float, Phase]] = field(default_factory=list)


# ---------------------------------------------------------------- overview


def draw_overview(
    frame: np.ndarray,
    camera: CameraConfig,
    *,
    learned_lamps: Mapping[str, Sequence[tuple[str, Point]]] | None = None,
    detection: Sequence[tuple[str, Box]] = (),
    header: str = "",
    warnings: Sequence[str] = (),
) -> np.ndarray:
    """A copy of `frame` with the camera's whole scene drawn and labelled on it.

    Args:
        frame: BGR frame of the camera.
        camera: The camera whose `scene` is drawn.
        learned_lamps: Per head id, (colour, centre) of each lamp its reader knows.
        detection: (label, x1, y1, x2, y2) of the part of the frame the detector looks
            at, then of each tile it is cut into.
        header: One line written at the top left (camera, time of the frame).
        warnings: Lines written under the header in the warning colour.

    Returns:
        An image of the frame's size.
    """
    out = frame.copy()
    style = _Style.for_image(out)
    scene = camera.scene
    # The header goes on first: labels of heads high in the frame are drawn over it.
    _text_block(out, [header] if header else [], (255, 255, 255), style)
    _draw_areas(out, scene, style)
    _draw_exits(out, scene, style)
    _draw_detection_boxes(out, detection, style)
    if scene.calibration is not None:
        for index, point in enumerate(scene.calibration.image_points):
            cv2.drawMarker(out, _px(point), _CALIBRATION_COLOUR, cv2.MARKER_CROSS, style.marker, 2)
            _label(out, f"cal{index}", _offset(point, style.marker, 0), _CALIBRATION_COLOUR, style)
    if scene.stop_line is not None:
        _draw_stop_line(out, scene.stop_line.points, scene.stop_line.junction_side, style)
    for head in scene.signal_heads:
        _draw_head(out, head, (learned_lamps or {}).get(head.id, ()), style)
    # Warnings go on last, over everything: they must be read.
    _text_block(out, [f"WARNING: {w}" for w in warnings], _WARNING_COLOUR, style, first_row=1)
    return out


def _draw_areas(out: np.ndarray, scene: Scene, style: _Style) -> None:
    """The scene's zones, crosswalks and lanes (with their directions), labelled."""
    for zone in scene.zones:
        _polygon(out, zone.polygon, _ZONE_COLOUR, style.thin)
        _label(out, f"zone {zone.id} ({zone.kind})", _centroid(zone.polygon), _ZONE_COLOUR, style)
    for crosswalk in scene.crosswalks:
        _polygon(out, crosswalk.polygon, _CROSSWALK_COLOUR, style.thin)
        _label(
            out, f"crosswalk {crosswalk.id}", _centroid(crosswalk.polygon), _CROSSWALK_COLOUR, style
        )
    for lane in scene.lanes:
        _polygon(out, lane.polygon, _LANE_COLOUR, style.thin)
        for tail, tip in lane.directions:
            _arrow(out, tail, tip, _DIRECTION_COLOUR, style.thick, tip=0.12)
        _label(out, f"lane {lane.id}", _centroid(lane.polygon), _LANE_COLOUR, style)


def _draw_exits(out: np.ndarray, scene: Scene, style: _Style) -> None:
    """Each movement's exit region and direction, labelled with the movement."""
    # Movements' exits dashed, so they read apart from lanes and zones.
    for movement, exit_ in scene.approach.movements.items():
        if exit_.region is not None:
            _polygon(out, exit_.region, _EXIT_COLOUR, style.thin, dashed=True)
            _label(out, f"exit {movement}", _centroid(exit_.region), _EXIT_COLOUR, style)
        if exit_.direction is not None:
            tail, tip = exit_.direction
            _arrow(out, tail, tip, _EXIT_COLOUR, style.thin, tip=0.12)
            _label(out, movement, tip, _EXIT_COLOUR, style)


def _draw_stop_line(
    out: np.ndarray, points: tuple[Point, Point], junction_side: Point, style: _Style
) -> None:
    """The line, thick, with an arrow from its middle toward the junction side and the
    configured junction-side point marked: a line whose arrow points back at the
    camera has its junction_side on the wrong side."""
    a, b = points
    _line(out, a, b, STOP_LINE_COLOUR, style.thick + 1)
    line = DirectedLine(a, b, positive_side=junction_side)
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    # Unit normal toward the junction side.
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = float(np.hypot(dx, dy))
    nx, ny = -dy / length, dx / length
    if line.signed_distance((mid[0] + nx, mid[1] + ny)) < 0:
        nx, ny = -nx, -ny
    reach = style.arrow
    tip = (mid[0] + nx * reach, mid[1] + ny * reach)
    _arrow(out, mid, tip, STOP_LINE_COLOUR, style.thick, tip=0.3)
    cv2.drawMarker(
        out, _px(junction_side), STOP_LINE_COLOUR, cv2.MARKER_TILTED_CROSS, style.marker, 2
    )
    _label(out, "junction side", _offset(junction_side, style.marker, 0), STOP_LINE_COLOUR, style)
    _label(out, "stop line", _offset(a, 0, -style.marker), STOP_LINE_COLOUR, style)


def _draw_head(
    out: np.ndarray, head: SignalHead, learned: Sequence[tuple[str, Point]], style: _Style
) -> None:
    if head.region is None:
        return
    x1, y1, x2, y2 = (round(v) for v in head.region)
    cv2.rectangle(out, (x1, y1), (x2, y2), (0, 0, 0), style.thin + 2)
    cv2.rectangle(out, (x1, y1), (x2, y2), _HEAD_COLOUR, style.thin)
    radius = max(2, round(min(x2 - x1, y2 - y1) / 6))
    # Configured lamps as small dots, which leave the lamp itself in view.
    for colour, at in head.lamps.items():
        cv2.circle(out, _px(at), 3, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(out, _px(at), 2, PHASE_COLOURS[Phase(colour)], -1, cv2.LINE_AA)
    # The reader's lamps as rings, so they read apart from the configured dots; white
    # for a lamp whose colour it has not told yet.
    for name, centre in learned:
        cv2.circle(out, _px(centre), radius + 1, _lamp_colour(name), 1, cv2.LINE_AA)
    # Left of the box, level with its top: above it the label would sit under the
    # header band whenever the head is high in the frame (it often is).
    name = f"head {head.id}"
    if head.kind == "arrow" or head.movements:
        name += f" ({', '.join(head.controlled_movements)})"
    _label(out, name, (x1 - 4, y1 + style.marker), _HEAD_COLOUR, style, anchor="right")


def _draw_detection_boxes(out: np.ndarray, boxes: Sequence[tuple[str, Box]], style: _Style) -> None:
    """The detector's region (dashed) and its tiles (dashed, thinner), labelled."""
    for index, (name, (x1, y1, x2, y2)) in enumerate(boxes):
        corners: list[Point] = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        thickness = style.thin if index == 0 else max(1, style.thin - 1)
        colour = _DETECTION_COLOUR if index == 0 else _TILE_COLOUR
        _polygon(out, corners, colour, thickness, dashed=True)
        # At the bottom left, inside: the top of the frame holds the header, and the
        # region often starts there. Tiles' labels stack upward from it.
        at = (x1 + 4, y2 - 6 - index * 2 * style.marker)
        _label(out, name, at, colour, style)


# ---------------------------------------------------------------- signal strips

_CROP_SIZE = 48
"""Pixels of a crop's shorter side in the strips (a vertical head's width)."""
_CROP_MAX = 4 * _CROP_SIZE
"""Most pixels of a crop's longer side."""
_ROW_WIDTH = 1268
_GAP = 4
_BAR = 10
_MARGIN = 10


def draw_signal_strips(strips: Sequence[HeadStrip], *, row_width: int = _ROW_WIDTH) -> np.ndarray:
    """Each head's crops side by side over time, the phase read under each as a bar.

    Crops are enlarged so their shorter side is 48 px (a vertical head 48 px wide, a
    horizontal one 48 px tall) with nearest-neighbour scaling, so single lamp pixels
    stay visible; the configured region is outlined in each and lamp centres are
    ticked on its edge. Under each crop: the frame's own reading (thin bar, when
    known), the phase held (thick bar) and the stream time in seconds.

    Args:
        strips: One per head, in the order drawn top to bottom.
        row_width: Pixels of a row before a head's strip wraps onto the next one.

    Returns:
        One BGR image.
    """
    blocks: list[np.ndarray] = []
    for strip in strips:
        region = ", ".join(f"{v:g}" for v in strip.head.region or ())
        title = f"head {strip.head.id} [{region}]: {len(strip.samples)} crops"
        if strip.samples:
            title += f", {strip.samples[0].t:.1f}-{strip.samples[-1].t:.1f} s"
        changes = "read: " + (
            ", ".join(f"{phase.value} at {t:.2f} s" for t, phase in strip.changes)
            or "unknown throughout"
        )
        lines = [title, *wrap_to_width(changes, row_width - 2 * _MARGIN, 0.45)]
        blocks.append(_text_image(lines, 0.45, 18, (255, 255, 255)))
        size = _crop_size(strip.samples[0].crop) if strip.samples else (_CROP_SIZE, _CROP_SIZE)
        per_row = max(1, (row_width - 2 * _MARGIN) // (size[0] + _GAP))
        rows = [strip.samples[i : i + per_row] for i in range(0, len(strip.samples), per_row)]
        for row in rows or [[]]:
            blocks.append(_strip_row(strip, row, size, row_width))
    with_readings = any(s.reading is not None for strip in strips for s in strip.samples)
    blocks.append(_legend(with_readings))
    width = max(block.shape[1] for block in blocks)
    padded = [
        np.pad(block, ((0, 0), (0, width - block.shape[1]), (0, 0)), constant_values=24)
        for block in blocks
    ]
    return np.vstack(padded)


def _crop_size(crop: np.ndarray) -> tuple[int, int]:
    """Width, height of a crop in the strip: shorter side 48 px, longer at most 192."""
    h, w = crop.shape[:2]
    factor = min(_CROP_SIZE / max(1, min(w, h)), _CROP_MAX / max(1, w, h))
    return max(1, round(w * factor)), max(1, round(h * factor))


def _strip_row(
    strip: HeadStrip, samples: Sequence[StripSample], size: tuple[int, int], row_width: int
) -> np.ndarray:
    width, crop_h = size
    line_h = 16
    column = width + _GAP
    height = crop_h + 2 * _BAR + 4 + line_h + _GAP
    out = np.full((height, row_width, 3), 24, np.uint8)
    vertical = crop_h >= width
    for index, sample in enumerate(samples):
        x = _MARGIN + index * column
        big = cv2.resize(sample.crop, size, interpolation=cv2.INTER_NEAREST)
        fx = width / max(1, sample.crop.shape[1])
        fy = crop_h / max(1, sample.crop.shape[0])
        rx1, ry1, rx2, ry2 = strip.region_in_crop
        cv2.rectangle(
            big,
            (round(rx1 * fx), round(ry1 * fy)),
            (max(0, round(rx2 * fx) - 1), max(0, round(ry2 * fy) - 1)),
            _HEAD_COLOUR,
            1,
        )
        # Lamp centres ticked on the edge beside them, clear of the lamp itself.
        for colour, (lx, ly) in strip.lamps_in_crop:
            tick = _lamp_colour(colour)
            if vertical:
                cv2.line(big, (0, round(ly * fy)), (3, round(ly * fy)), tick, 2)
            else:
                cv2.line(big, (round(lx * fx), 0), (round(lx * fx), 3), tick, 2)
        out[0:crop_h, x : x + width] = big
        top = crop_h + 2
        if sample.reading is not None:
            out[top : top + _BAR // 2, x : x + width] = PHASE_COLOURS[sample.reading]
        out[top + _BAR // 2 + 1 : top + 2 * _BAR, x : x + width] = PHASE_COLOURS[sample.phase]
        cv2.putText(
            out,
            f"{sample.t:.1f}",
            (x + 2, top + 2 * _BAR + line_h - 2),
            _FONT,
            0.4,
            (230, 230, 230),
            1,
            cv2.LINE_AA,
        )
    return out


def _legend(with_readings: bool) -> np.ndarray:
    """What the bars under the crops mean, with a swatch per phase."""
    text = "bar under each crop: phase held after that frame"
    if with_readings:
        text = "bars: upper thin = that frame's own reading, lower = phase held after it"
    out = _text_image([text], 0.45, 20, (230, 230, 230))
    x = out.shape[1]
    legend = np.full((out.shape[0], x + len(PHASE_COLOURS) * 110, 3), 24, np.uint8)
    legend[:, :x] = out
    for index, (phase, colour) in enumerate(PHASE_COLOURS.items()):
        left = x + index * 110
        legend[7:17, left : left + 30] = colour
        cv2.putText(
            legend, phase.value, (left + 36, 17), _FONT, 0.45, (230, 230, 230), 1, cv2.LINE_AA
        )
    return legend


def _text_image(lines: Sequence[str], scale: float, line_h: int, colour: BGR) -> np.ndarray:
    width = max((_text_size(line, scale)[0] for line in lines), default=0) + 2 * _MARGIN
    out = np.full((line_h * len(lines) + 6, width, 3), 24, np.uint8)
    for row, line in enumerate(lines):
        cv2.putText(out, line, (_MARGIN, line_h * (row + 1)), _FONT, scale, colour, 1, cv2.LINE_AA)
    return out


# ---------------------------------------------------------------- lamps


_LAMP_NAMES = ("red", "amber", "green")
UNNAMED_LAMP = "lamp"
"""Name of a lamp whose colour the reader has not told yet."""


def lamp_points(layout: Any) -> list[tuple[str, Point]]:
    """(colour, centre) of each lamp in a signal reader's layout, whatever shape it has.

    Accepts a mapping colour -> centre, or an iterable of (colour, centre) pairs or of
    objects with a `phase`/`colour` and a `centre`/`center`; a centre is (x, y) or has
    one of those attributes. A colour that is None (not told yet) is `UNNAMED_LAMP`.
    Anything else gives no points: the picture is then drawn without learned lamps.
    """
    if layout is None:
        return []
    items: list[tuple[Any, Any]] = []
    if isinstance(layout, Mapping):
        items = list(layout.items())
    else:
        try:
            entries = list(getattr(layout, "lamps", layout))
        except TypeError:
            return []
        for entry in entries:
            if isinstance(entry, tuple) and len(entry) == 2 and not _is_number(entry[0]):
                items.append(entry)
            else:
                colour = getattr(entry, "phase", None) or getattr(entry, "colour", None)
                items.append((colour, entry))
    points: list[tuple[str, Point]] = []
    for colour, value in items:
        name = str(getattr(colour, "value", colour)) if colour is not None else UNNAMED_LAMP
        if name not in _LAMP_NAMES:
            name = UNNAMED_LAMP
        centre = getattr(value, "centre", None) or getattr(value, "center", None) or value
        try:
            points.append((name, (float(centre[0]), float(centre[1]))))
        except (TypeError, ValueError, IndexError, KeyError):
            continue
    return points


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number)


def _lamp_colour(name: str) -> BGR:
    return PHASE_COLOURS[Phase(name)] if name in _LAMP_NAMES else (255, 255, 255)


# ---------------------------------------------------------------- drawing primitives


@dataclass(frozen=True)
class _Style:
    thin: int
    thick: int
    font: float
    marker: int
    arrow: float

    @classmethod
    def for_image(cls, image: np.ndarray) -> _Style:
        """Line widths and text sizes that read the same on a 640 and a 1920 px frame."""
        width = image.shape[1]
        unit = max(1.0, width / 640)
        return cls(
            thin=max(1, round(1.5 * unit)),
            thick=max(2, round(3 * unit)),
            # Text grows slower than the frame: labels must not cover what they name.
            font=max(0.4, 0.45 * unit**0.5),
            marker=max(8, round(10 * unit)),
            arrow=40 * unit,
        )


def _px(point: Sequence[float]) -> tuple[int, int]:
    return round(point[0]), round(point[1])


def _offset(point: Point, dx: float, dy: float) -> Point:
    return (point[0] + dx, point[1] + dy)


def _centroid(polygon: Sequence[Point]) -> Point:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def _line(out: np.ndarray, a: Point, b: Point, colour: BGR, thickness: int) -> None:
    # A dark edge under every line keeps it visible on bright paint and sky.
    cv2.line(out, _px(a), _px(b), (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.line(out, _px(a), _px(b), colour, thickness, cv2.LINE_AA)


def _arrow(out: np.ndarray, a: Point, b: Point, colour: BGR, thickness: int, tip: float) -> None:
    cv2.arrowedLine(out, _px(a), _px(b), (0, 0, 0), thickness + 2, cv2.LINE_AA, tipLength=tip)
    cv2.arrowedLine(out, _px(a), _px(b), colour, thickness, cv2.LINE_AA, tipLength=tip)


def _polygon(
    out: np.ndarray, points: Sequence[Point], colour: BGR, thickness: int, dashed: bool = False
) -> None:
    if not dashed:
        pts = np.array([_px(p) for p in points], np.int32)
        cv2.polylines(out, [pts], True, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.polylines(out, [pts], True, colour, thickness, cv2.LINE_AA)
        return
    dash = 10
    for a, b in zip(points, [*points[1:], points[0]], strict=True):
        length = float(np.hypot(b[0] - a[0], b[1] - a[1]))
        steps = max(1, int(length // dash))
        for i in range(0, steps, 2):
            s, e = i / steps, min(1.0, (i + 1) / steps)
            p = (a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s)
            q = (a[0] + (b[0] - a[0]) * e, a[1] + (b[1] - a[1]) * e)
            cv2.line(out, _px(p), _px(q), colour, thickness, cv2.LINE_AA)


def _text_size(text: str, scale: float) -> tuple[int, int]:
    (width, height), _ = cv2.getTextSize(text, _FONT, scale, 1)
    return int(width), int(height)


def _label(
    out: np.ndarray,
    text: str,
    at: Point,
    colour: BGR,
    style: _Style,
    anchor: str = "left",
) -> None:
    """Text on a dark box, kept inside the image."""
    width, height = _text_size(text, style.font)
    x, y = _px(at)
    if anchor == "right":
        x -= width
    x = min(max(2, x), max(2, out.shape[1] - width - 4))
    y = min(max(height + 4, y), out.shape[0] - 4)
    cv2.rectangle(out, (x - 2, y - height - 3), (x + width + 2, y + 3), (0, 0, 0), -1)
    cv2.putText(out, text, (x, y), _FONT, style.font, colour, 1, cv2.LINE_AA)


def _text_block(
    out: np.ndarray,
    lines: Sequence[str],
    colour: BGR,
    style: _Style,
    first_row: int = 0,
) -> None:
    """Lines at the top left from row `first_row`, each on a dark box of its own width
    (a band across the frame would hide the scene near its top)."""
    rows = [part for text in lines for part in wrap_to_width(text, out.shape[1] - 16, style.font)]
    step = _text_size("Ag", style.font)[1] + 8
    for index, text in enumerate(rows, start=first_row):
        width, _ = _text_size(text, style.font)
        top = step * index + 2
        cv2.rectangle(out, (2, top), (width + 10, top + step), (0, 0, 0), -1)
        cv2.putText(out, text, (6, top + step - 6), _FONT, style.font, colour, 1, cv2.LINE_AA)
