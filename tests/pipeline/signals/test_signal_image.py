"""Reading lamps where real heads make it hard: countdown digits beside the lamps,
night (white cores in coloured halos), and white light that is no lamp at all."""

from __future__ import annotations

from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.config import CameraConfig, SignalHead
from pipeline.signals.countdown import DIGIT_SEGMENTS
from pipeline.signals.feed import CameraSignals
from pipeline.signals.image import Phase, SignalTracker, classify_lamp, lamp_blobs
from streams.frame import Frame
from tests.pipeline.signal_scene import camera_dict

LAMP_RADIUS = 14
# The head's three lamps in a column, a two-digit countdown to their right: the
# region covers both, as a loosely drawn region on a real camera does.
LAMP_CENTRES = {Phase.RED: (40, 40), Phase.AMBER: (40, 80), Phase.GREEN: (40, 120)}
REGION = (20.0, 20.0, 150.0, 140.0)
BGR = {Phase.RED: (0, 0, 255), Phase.AMBER: (0, 190, 255), Phase.GREEN: (80, 255, 0)}
# Which segments light each digit: the countdown reader's own table.
SEGMENTS = DIGIT_SEGMENTS


def draw_digit(
    image: np.ndarray,
    digit: int,
    x: int,
    y: int,
    colour: tuple[int, int, int],
    *,
    size: tuple[int, int, int] = (26, 50, 6),
) -> None:
    """A 7-segment digit, by default 26 px wide and 50 px tall, segments 6 px thick
    with 1 px gaps."""
    w, h, t = size
    half = h // 2
    bars = {
        "a": (x + t, y, x + w - t, y + t),
        "b": (x + w - t, y + t + 1, x + w, y + half - 1),
        "c": (x + w - t, y + half + 1, x + w, y + h - t - 1),
        "d": (x + t, y + h - t, x + w - t, y + h),
        "e": (x, y + half + 1, x + t, y + h - t - 1),
        "f": (x, y + t + 1, x + t, y + half - 1),
        "g": (x + t, y + half - t // 2, x + w - t, y + half + t // 2 + 1),
    }
    for name in SEGMENTS[digit]:
        x1, y1, x2, y2 = bars[name]
        cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), colour, -1)


def draw_countdown(image: np.ndarray, number: int, colour: tuple[int, int, int]) -> None:
    tens, ones = divmod(number, 10)
    draw_digit(image, tens, 80, 50, colour)
    draw_digit(image, ones, 112, 50, colour)


def day_head(lit: Phase | None, background: int = 90) -> np.ndarray:
    image = np.full((160, 170, 3), background, np.uint8)
    cv2.rectangle(image, (20, 20), (150, 140), (30, 30, 30), -1)
    for phase, centre in LAMP_CENTRES.items():
        colour = BGR[phase] if phase is lit else (60, 60, 60)
        cv2.circle(image, centre, LAMP_RADIUS, colour, -1, lineType=cv2.LINE_AA)
    return image


def night_head(lit: Phase | None) -> np.ndarray:
    """Dark scene; the lit lamp is a white core in a dimmer glow of its colour, wider
    than the lamp: only the glow, never the core, shows the colour."""
    image = np.full((160, 170, 3), 8, np.float32)
    yy, xx = np.mgrid[0:160, 0:170]
    if lit is not None:
        cx, cy = LAMP_CENTRES[lit]
        distance = np.hypot(xx - cx, yy - cy)
        glow = np.exp(-((distance / (1.3 * LAMP_RADIUS)) ** 2))[..., None]
        image += 0.7 * glow * np.array(BGR[lit], np.float32)
        core = np.clip((LAMP_RADIUS * 0.9 - distance) / 2.0, 0, 1)[..., None]
        image = image * (1 - core) + core * 255.0
    return np.clip(image, 0, 255).astype(np.uint8)


OTHER = {Phase.RED: Phase.GREEN, Phase.AMBER: Phase.GREEN, Phase.GREEN: Phase.RED}


@pytest.mark.parametrize("number", [88, 10, 47, 25])
@pytest.mark.parametrize("lamp", [Phase.RED, Phase.AMBER, Phase.GREEN])
def test_countdown_of_another_colour_is_not_read_as_the_lamp(lamp: Phase, number: int) -> None:
    image = day_head(lamp)
    draw_countdown(image, number, BGR[OTHER[lamp]])
    assert classify_lamp(image, REGION) is lamp


@pytest.mark.parametrize("number", [88, 7, 30])
def test_countdown_alone_is_no_lamp(number: int) -> None:
    """The lamps dark for an exposure flicker while the countdown stays lit."""
    image = day_head(None)
    draw_countdown(image, number, BGR[Phase.RED])
    assert classify_lamp(image, REGION) is Phase.UNKNOWN


def test_countdown_digits_are_seen_and_judged_not_round() -> None:
    image = day_head(Phase.GREEN)
    draw_countdown(image, 88, BGR[Phase.RED])
    blobs = lamp_blobs(image, REGION)
    digits = [b for b in blobs if b.phase is Phase.RED]
    lamps = [b for b in blobs if b.phase is Phase.GREEN]
    # The digits outweigh the lamp in red pixels: only their shape gives them away.
    assert sum(b.area for b in digits) > sum(b.area for b in lamps)
    assert digits and not any(b.round for b in digits)
    assert [b.round for b in lamps] == [True]


@pytest.mark.parametrize("lamp", [Phase.RED, Phase.AMBER, Phase.GREEN])
def test_night_lamp_with_white_core_reads_by_its_halo(lamp: Phase) -> None:
    image = night_head(lamp)
    cx, cy = LAMP_CENTRES[lamp]
    core_hsv = cv2.cvtColor(image[cy : cy + 1, cx : cx + 1], cv2.COLOR_BGR2HSV)[0, 0]
    assert core_hsv[1] < 40 and core_hsv[2] > 240, "the core must be blown out to white"
    assert classify_lamp(image, REGION) is lamp


def test_night_with_lit_countdown_of_another_colour() -> None:
    image = night_head(Phase.RED)
    draw_countdown(image, 88, BGR[Phase.GREEN])
    assert classify_lamp(image, REGION) is Phase.RED


def test_dark_night_head_is_unknown() -> None:
    assert classify_lamp(night_head(None), REGION) is Phase.UNKNOWN


def test_sun_glint_on_unlit_lenses_is_not_lit() -> None:
    """Bright sky behind, tinted unlit lenses, a white specular spot on each."""
    image = day_head(None, background=215)
    tints = {Phase.RED: (25, 25, 95), Phase.AMBER: (20, 70, 95), Phase.GREEN: (50, 90, 20)}
    for phase, (cx, cy) in LAMP_CENTRES.items():
        cv2.circle(image, (cx, cy), LAMP_RADIUS, tints[phase], -1, lineType=cv2.LINE_AA)
        cv2.circle(image, (cx - 4, cy - 4), 5, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    assert classify_lamp(image, REGION) is Phase.UNKNOWN


def test_headlights_in_the_region_are_not_lit() -> None:
    """Warm white headlights (slightly yellow, weakly saturated) with a bloom around them."""
    image = day_head(None)
    for cx in (70, 120):
        cv2.circle(image, (cx, 110), 16, (170, 215, 235), -1, lineType=cv2.LINE_AA)
        cv2.circle(image, (cx, 110), 10, (250, 255, 255), -1, lineType=cv2.LINE_AA)
    image = cv2.GaussianBlur(image, (0, 0), 2.0)
    assert classify_lamp(image, REGION) is Phase.UNKNOWN


def test_lamp_cut_by_the_region_edge_still_reads() -> None:
    image = day_head(Phase.RED)
    assert classify_lamp(image, (33.0, 20.0, 150.0, 140.0)) is Phase.RED


def test_tracker_on_night_frames_with_a_countdown_reports_time_in_phase() -> None:
    tracker = SignalTracker(REGION, confirm_frames=2, hold_s=1.0)
    frames = [(0.0, Phase.GREEN)] * 3 + [(0.3, Phase.RED)] * 4
    states = []
    for index, (_, lamp) in enumerate(frames):
        image = night_head(lamp)
        draw_countdown(image, 30 - index, BGR[OTHER[lamp]])
        states.append(tracker.update(image, 0.1 * index))
    assert states[-1].phase is Phase.RED and states[-1].source == "image"
    assert states[-1].since == pytest.approx(0.3)
    assert states[-1].time_in_phase(1.0) == pytest.approx(0.7)


def test_night_headlights_with_bloom_are_not_lit() -> None:
    image = night_head(None)
    for cx in (70, 120):
        cv2.circle(image, (cx, 110), 18, (120, 150, 165), -1, lineType=cv2.LINE_AA)
        cv2.circle(image, (cx, 110), 10, (250, 255, 255), -1, lineType=cv2.LINE_AA)
    image = cv2.GaussianBlur(image, (0, 0), 3.0)
    assert classify_lamp(image, REGION) is Phase.UNKNOWN


def test_small_lamp_split_by_a_compression_seam_still_reads() -> None:
    """A far head: the lamp is a few pixels across and a dark seam cuts it in two, as
    seen on the Hanoi clip; each half alone is below the lit-area threshold."""
    image = np.full((160, 170, 3), 90, np.uint8)
    region = (20.0, 20.0, 48.0, 80.0)
    cv2.rectangle(image, (20, 20), (48, 80), (30, 30, 30), -1)
    cv2.circle(image, (34, 62), 4, BGR[Phase.GREEN], -1)
    image[62, 28:41] = (30, 30, 30)
    halves = [b for b in lamp_blobs(image, region) if b.phase is Phase.GREEN]
    assert len(halves) == 1  # joined again
    assert classify_lamp(image, region) is Phase.GREEN


FAR_LAMPS = {Phase.RED: 20.0, Phase.AMBER: 34.0, Phase.GREEN: 48.0}


def far_head_with_countdown() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A far head: lamps 11 px across, green lit; a red '88' countdown whose 10x15 px
    digits blur into solid blocks, as round as a lamp at this size and larger."""
    image = np.full((80, 80, 3), 90, np.uint8)
    cv2.rectangle(image, (10, 8), (60, 60), (30, 30, 30), -1)
    for phase, y in FAR_LAMPS.items():
        lit = BGR[phase] if phase is Phase.GREEN else (60, 60, 60)
        cv2.circle(image, (20, int(y)), 5, lit, -1)
    for x in (32, 45):
        draw_digit(image, 8, x, 26, BGR[Phase.RED], size=(10, 15, 3))
    image = cv2.GaussianBlur(image, (0, 0), 0.7)
    return image, (10.0, 8.0, 60.0, 60.0)


def test_far_countdown_passes_the_shape_test_but_not_the_lamp_layout() -> None:
    image, region = far_head_with_countdown()
    # The limit of shape alone: at this size the digits pass for lamps, and are larger.
    assert classify_lamp(image, region) is Phase.RED
    # With the head's layout configured only a blob at the lamp of its colour counts.
    lamps = {phase: (20.0, y) for phase, y in FAR_LAMPS.items()}
    assert classify_lamp(image, region, lamps=lamps) is Phase.GREEN
    # A colour at another colour's lamp is no reading (here: the layout given upside down).
    upside_down = {Phase.RED: (20.0, 48.0), Phase.AMBER: (20.0, 34.0), Phase.GREEN: (20.0, 20.0)}
    assert classify_lamp(image, region, lamps=upside_down) is Phase.UNKNOWN


def test_a_configured_layout_reaches_the_reading_of_a_running_camera() -> None:
    image, region = far_head_with_countdown()
    camera = camera_dict(source="image")
    camera["scene"]["image_size"] = [80, 80]
    camera["scene"]["stop_line"] = {"points": [[0, 70], [80, 70]], "junction_side": [40, 10]}
    camera["scene"]["signal_heads"][0].update(
        region=list(region), lamps={"red": [20, 20], "amber": [20, 34], "green": [20, 48]}
    )
    signals = CameraSignals(CameraConfig.model_validate(camera))
    now = datetime.now(UTC)
    states = [signals.update(Frame("cam", i, i / 10, now, image))["main"] for i in range(3)]
    assert states[-1].phase is Phase.GREEN


@pytest.mark.parametrize(
    ("lamps", "region", "words"),
    [
        ({"red": [5, 5]}, [10, 8, 60, 60], "lamps.red (5, 5) is outside its region"),
        ({"blue": [20, 20]}, [10, 8, 60, 60], "'red', 'amber' or 'green'"),
        ({"red": [20, 20]}, None, "lamps need a region"),
    ],
)
def test_bad_lamp_layout_is_refused_naming_it(
    lamps: dict[str, list[int]], region: list[int] | None, words: str
) -> None:
    head: dict[str, object] = {"id": "far", "lamps": lamps, "source": "controller"}
    if region is not None:
        head["region"] = region
    with pytest.raises(ValidationError) as error:
        SignalHead.model_validate(head)
    assert words in str(error.value)
