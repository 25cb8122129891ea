"""Drawing: the static street, the signal head, and vehicles composited onto a frame."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pipeline.evaluation.scenario.layout import Layout, PixelBox
from pipeline.evaluation.scenario.signal_plan import Phase
from pipeline.evaluation.scenario.sprites import Sprite

Image = npt.NDArray[np.uint8]

# BGR. Lit lamps are fully saturated so an HSV reader sees red (hue ~0), amber
# (OpenCV hue ~21, i.e. 42 degrees) and green (hue ~78); unlit lamps are dark grey.
LAMP_ON: dict[Phase, tuple[int, int, int]] = {
    "red": (20, 20, 255),
    "amber": (0, 180, 255),
    "green": (150, 255, 0),
}
LAMP_OFF = (48, 48, 48)
_LAMP_ORDER: tuple[Phase, ...] = ("red", "amber", "green")


def paint_street(layout: Layout, rng: np.random.Generator) -> Image:
    """Paint the static scene: buildings, pavement, asphalt, markings, signal pole.

    Args:
        layout: Scene geometry.
        rng: Source of the texture noise and building colours (seeded by the caller).

    Returns:
        A (height, width, 3) BGR image.
    """
    h, w = layout.height, layout.width
    img = np.zeros((h, w, 3), np.uint8)
    pave_top = layout.road_top - 45

    # Shop-house facades, as along a Hanoi street: narrow fronts of varied colour.
    x = 0
    while x < w:
        front = int(rng.integers(90, 170))
        colour = tuple(int(c) for c in rng.integers(110, 215, 3))
        cv2.rectangle(img, (x, 0), (x + front, pave_top), colour, -1)
        for wy in range(25, pave_top - 60, 70):
            cv2.rectangle(img, (x + 18, wy), (x + front - 18, wy + 38), (70, 62, 55), -1)
        cv2.rectangle(img, (x + 10, pave_top - 55), (x + front - 10, pave_top), (60, 58, 52), -1)
        x += front + 4

    img[pave_top : layout.road_top] = (168, 172, 176)
    img[layout.road_bottom :] = (168, 172, 176)
    img[layout.road_top : layout.road_bottom] = (92, 94, 96)
    cv2.line(img, (0, layout.road_top), (w, layout.road_top), (200, 200, 200), 4)
    cv2.line(img, (0, layout.road_bottom), (w, layout.road_bottom), (200, 200, 200), 4)

    # The cross street runs away from the camera between the crosswalk and the signal
    # pole, cutting through the row of houses and both pavements.
    cross = slice(layout.crosswalk[1] + 10, layout.signal_box[0] - 30)
    img[: layout.road_top + 2, cross] = (92, 94, 96)
    img[layout.road_bottom - 2 :, cross] = (92, 94, 96)

    # Asphalt grain, so the road is not a flat colour (codecs and detectors both
    # behave differently on perfectly flat regions than on real footage).
    grain = rng.normal(0.0, 9.0, (h, w, 1))
    road = slice(layout.road_top, h)
    img[road] = np.clip(img[road].astype(np.float32) + grain[road], 0, 255).astype(np.uint8)

    dash_y = layout.lane_divider_y
    for x0 in range(0, layout.stop_x - 40, 90):
        cv2.line(img, (x0, dash_y), (x0 + 50, dash_y), (225, 225, 225), 5)
    (sx, sy), (_, ey) = layout.stop_line
    cv2.line(img, (sx, sy + 4), (sx, ey - 4), (240, 240, 240), 12)
    x1, x2 = layout.crosswalk
    for y in range(layout.road_top + 14, layout.road_bottom - 14, 34):
        cv2.rectangle(img, (x1, y), (x2, y + 17), (235, 235, 235), -1)

    bx1, by1, bx2, by2 = layout.signal_box
    pole_x = (bx1 + bx2) // 2
    cv2.rectangle(img, (pole_x - 5, by2), (pole_x + 5, layout.road_top - 10), (60, 60, 60), -1)
    return img


def paint_signal(img: Image, layout: Layout, lit: Phase) -> None:
    """Draw the signal head with the `lit` lamp on, in place."""
    x1, y1, x2, y2 = layout.signal_box
    cv2.rectangle(img, (x1, y1), (x2, y2), (22, 22, 22), -1)
    for phase, centre in zip(_LAMP_ORDER, layout.lamp_centres(), strict=True):
        colour = LAMP_ON[phase] if phase == lit else LAMP_OFF
        cv2.circle(img, centre, layout.lamp_radius, colour, -1, lineType=cv2.LINE_AA)


def scale_sprite(sprite: Sprite, width: int) -> Sprite:
    """Resize a sprite to `width` pixels, keeping its aspect ratio."""
    height = max(1, round(width * sprite.aspect))
    bgr = cv2.resize(sprite.bgr, (width, height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(sprite.alpha, (width, height), interpolation=cv2.INTER_AREA)
    return Sprite(sprite.name, np.asarray(bgr, np.uint8), np.asarray(alpha, np.float32))


def sprite_box(sprite: Sprite, anchor_x: float, ground_y: int) -> PixelBox:
    """Box of `sprite` whose bottom centre (anchor) is at `(anchor_x, ground_y)`."""
    h, w = sprite.bgr.shape[:2]
    x1 = round(anchor_x - w / 2)
    return (x1, ground_y - h, x1 + w, ground_y)


def paint_vehicle(img: Image, sprite: Sprite, box: PixelBox) -> None:
    """Composite `sprite` (already scaled to `box`) onto `img` in place, with a shadow."""
    x1, y1, x2, y2 = box
    h, w = img.shape[:2]
    # Contact shadow: grounds the photograph on the asphalt.
    shadow = img[max(0, y2 - 8) : min(h, y2 + 10), max(0, x1 + 6) : min(w, x2 - 6)]
    shadow[:] = (shadow.astype(np.float32) * 0.55).astype(np.uint8)

    cx1, cy1, cx2, cy2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if cx1 >= cx2 or cy1 >= cy2:
        return
    src = (slice(cy1 - y1, cy2 - y1), slice(cx1 - x1, cx2 - x1))
    alpha = sprite.alpha[src][..., None]
    roi = img[cy1:cy2, cx1:cx2].astype(np.float32)
    img[cy1:cy2, cx1:cx2] = (alpha * sprite.bgr[src] + (1.0 - alpha) * roi).astype(np.uint8)
