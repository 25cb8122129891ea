"""Turn-arrow lamps: drawn arrow heads of several sizes and exposures, alone and
beside a ball head, read green while the arrow is lit and unknown while dark; the
ball beside a lit green arrow keeps its own red.

The over-exposed case is the one met on a real phone capture: the arrow's LEDs blow
out to white and the lens around them glows a dim teal, barely brighter than the
housing, so a ball reader (round blob, glow a share of the lamp's brightness) sees
no lamp at all."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from pipeline.signals.image import Phase, SignalTracker
from pipeline.signals.lamps import HeadReader

FRAME = (120, 160)
SKY = (150, 148, 140)
HOUSING = (35, 35, 35)


@dataclass(frozen=True)
class ArrowLook:
    """How a camera shows a lit green arrow: its LEDs and the lens around them."""

    name: str
    leds: tuple[int, int, int]
    lens: tuple[int, int, int]


# A daytime arrow: saturated green LEDs, the lens barely lit.
NORMAL = ArrowLook("normal", (120, 230, 40), (45, 70, 40))
# Blown out: white LEDs in a dim teal glow (HSV value ~90, saturation ~140).
OVER = ArrowLook("over", (245, 255, 250), (88, 82, 40))
DARK_LENS = (45, 50, 40)
LOOKS = (NORMAL, OVER)


def arrow_points(x: int, y: int, size: int) -> list[np.ndarray]:
    """A right-turn arrow (a hooked bar with a head) in a size x size box at x, y."""
    s = size / 20.0

    def p(px: float, py: float) -> tuple[int, int]:
        return (int(round(x + px * s)), int(round(y + py * s)))

    bar = np.array([p(3, 6), p(12, 6), p(12, 10), p(3, 10)], np.int32)
    stem = np.array([p(9, 6), p(13, 6), p(13, 16), p(9, 16)], np.int32)
    head = np.array([p(6, 14), p(16, 14), p(11, 19)], np.int32)
    return [bar, stem, head]


def draw_arrow_head(
    image: np.ndarray, box: tuple[int, int, int, int], look: ArrowLook, lit: bool
) -> None:
    """A single-aspect box with a round lens holding a right-turn arrow."""
    x1, y1, x2, y2 = box
    cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), HOUSING, -1)
    size = min(x2 - x1, y2 - y1)
    centre = ((x1 + x2) // 2, (y1 + y2) // 2)
    cv2.circle(image, centre, int(size * 0.42), look.lens if lit else DARK_LENS, -1)
    if lit:
        inner = int(size * 0.65)
        cv2.fillPoly(
            image,
            arrow_points(centre[0] - inner // 2, centre[1] - inner // 2, inner),
            look.leds,
        )


def draw_ball_head(image: np.ndarray, box: tuple[int, int, int, int], lit: Phase) -> None:
    """A three-lamp vertical head with `lit` lamp on (red, amber, green top down)."""
    x1, y1, x2, y2 = box
    cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), HOUSING, -1)
    pitch = (y2 - y1) / 3
    colours = {Phase.RED: (40, 30, 235), Phase.AMBER: (10, 170, 250), Phase.GREEN: (170, 230, 40)}
    unlit = {Phase.RED: (45, 45, 80), Phase.AMBER: (40, 65, 80), Phase.GREEN: (60, 70, 45)}
    for index, phase in enumerate((Phase.RED, Phase.AMBER, Phase.GREEN)):
        centre = ((x1 + x2) // 2, int(y1 + pitch * (index + 0.5)))
        colour = colours[phase] if phase is lit else unlit[phase]
        cv2.circle(image, centre, int(0.38 * (x2 - x1)), colour, -1)


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise, a slight blur and JPEG compression."""
    noisy = image.astype(np.int16) + rng.normal(0, 3, image.shape).astype(np.int16)
    out = cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (3, 3), 0.6)
    ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.asarray(decoded, np.uint8)


def scene(
    size: int, look: ArrowLook, arrow_lit: bool, ball: Phase, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """A ball head with an arrow box under it; returns the frame and both boxes."""
    image = np.full((*FRAME, 3), SKY, np.uint8)
    ball_box = (60, 10, 60 + size, 10 + 3 * size)
    arrow_box = (60, 10 + 3 * size + 2, 60 + size, 10 + 4 * size + 2)
    draw_ball_head(image, ball_box, ball)
    draw_arrow_head(image, arrow_box, look, arrow_lit)
    return degrade(image, rng), ball_box, arrow_box


SIZES = (16, 22, 30)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("look", LOOKS, ids=lambda look: look.name)
def test_lit_arrow_reads_green_beside_red_ball(size: int, look: ArrowLook) -> None:
    rng = np.random.default_rng(size)
    image, ball_box, arrow_box = scene(size, look, True, Phase.RED, rng)
    assert HeadReader(arrow_box, arrow=True).read(image).phase is Phase.GREEN
    # The ball beside it keeps its own red: the arrow is a head of its own.
    assert HeadReader(ball_box).read(image).phase is Phase.RED


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("look", LOOKS, ids=lambda look: look.name)
def test_dark_arrow_reads_unknown(size: int, look: ArrowLook) -> None:
    rng = np.random.default_rng(100 + size)
    reader = HeadReader(scene(size, look, True, Phase.RED, rng)[2], arrow=True)
    # Seen lit first (as on a real head), then dark beside a green ball.
    assert reader.read(scene(size, look, True, Phase.RED, rng)[0]).phase is Phase.GREEN
    image, ball_box, _ = scene(size, look, False, Phase.GREEN, rng)
    assert reader.read(image).phase is Phase.UNKNOWN
    assert HeadReader(ball_box).read(image).phase is Phase.GREEN


@pytest.mark.parametrize("size", SIZES)
def test_blown_out_arrow_needs_arrow_mode(size: int) -> None:
    """A white arrow in a dim teal glow is no lamp to a ball reader: why an arrow
    head is read in arrow mode (it read unknown for a second on the real clip)."""
    rng = np.random.default_rng(200 + size)
    image, _, arrow_box = scene(size, OVER, True, Phase.RED, rng)
    assert HeadReader(arrow_box).read(image).phase is Phase.UNKNOWN
    assert HeadReader(arrow_box, arrow=True).read(image).phase is Phase.GREEN


def test_given_arrow_lamp_and_tracker_follow_the_arrow() -> None:
    """With the arrow's lamp configured, the tracker reads the arrow green while lit
    and unknown once it has been dark longer than the hold."""
    rng = np.random.default_rng(7)
    size = 20
    _, _, arrow_box = scene(size, OVER, True, Phase.RED, rng)
    x1, y1, x2, y2 = arrow_box
    tracker = SignalTracker(
        arrow_box,
        lamps={Phase.GREEN: ((x1 + x2) / 2, (y1 + y2) / 2)},
        confirm_frames=2,
        hold_s=1.0,
        arrow=True,
    )
    phases = []
    for frame in range(40):
        t = frame / 10
        lit = t < 2.0
        image = scene(size, OVER, lit, Phase.RED if lit else Phase.GREEN, rng)[0]
        phases.append(tracker.update(image, t).phase)
    assert all(p is Phase.GREEN for p in phases[1:20])
    assert all(p is Phase.UNKNOWN for p in phases[31:])


def test_white_glint_is_no_arrow() -> None:
    """A white blob with no coloured glow (a glint on the housing) is no lit arrow."""
    rng = np.random.default_rng(3)
    image = np.full((*FRAME, 3), SKY, np.uint8)
    box = (60, 40, 84, 64)
    cv2.rectangle(image, box[:2], (box[2] - 1, box[3] - 1), HOUSING, -1)
    cv2.fillPoly(image, arrow_points(63, 43, 18), (250, 250, 250))
    assert HeadReader(box, arrow=True).read(degrade(image, rng)).phase is Phase.UNKNOWN
