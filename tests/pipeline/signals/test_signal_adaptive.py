"""The signal reader on heads it was not tuned on: drawn heads from 8x20 to 40x100
pixels, vertical and horizontal, dim to over-exposed, with sensor noise and JPEG
compression, cycling through their phases. Each lamp is read against the head
itself (its dark housing, its unlit neighbours, its own lit brightness), so one
reader must give every phase change at the frame it happened on all of them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from pipeline.evaluation.signal_agreement import LabelledSpan, agreement
from pipeline.signals.image import Phase, SignalState, SignalTracker
from pipeline.signals.lamps import HeadReader
from tests.pipeline.signals.test_signal_image import draw_digit

FPS = 10.0
FRAME = 160
LAMP_ORDER = (Phase.RED, Phase.AMBER, Phase.GREEN)
HOUSING = (28, 28, 28)
BACKGROUND = (120, 125, 130)
# Unlit lenses are tinted; a dim camera shows them darker still.
UNLIT = {Phase.RED: (45, 45, 80), Phase.AMBER: (40, 65, 80), Phase.GREEN: (60, 70, 45)}


@dataclass(frozen=True, eq=False)
class Exposure:
    """How a camera shows a lit lamp: its body colour, and for an over-exposed
    camera a blown-out core of another colour (red turns yellow-white)."""

    name: str
    body: dict[Phase, tuple[int, int, int]]
    core: dict[Phase, tuple[int, int, int]] | None = None
    unlit_gain: float = 1.0


DIM = Exposure(
    "dim",
    # Daytime LEDs against a bright scene: lit red measures HSV value ~120-130.
    {Phase.RED: (25, 20, 125), Phase.AMBER: (10, 85, 130), Phase.GREEN: (95, 125, 20)},
    unlit_gain=0.6,
)
NORMAL = Exposure(
    "normal", {Phase.RED: (40, 30, 235), Phase.AMBER: (10, 170, 250), Phase.GREEN: (170, 230, 40)}
)
OVER = Exposure(
    "over",
    # A saturated sensor: the lamp's body is a yellow-white disc (red included)
    # and only a rim keeps the lamp's colour.
    {Phase.RED: (40, 60, 255), Phase.AMBER: (20, 170, 255), Phase.GREEN: (180, 255, 60)},
    core={Phase.RED: (150, 240, 255), Phase.AMBER: (170, 250, 255), Phase.GREEN: (235, 255, 225)},
)


def draw_head(
    size: tuple[int, int],
    lit: Phase | None,
    exposure: Exposure,
    *,
    rng: np.random.Generator,
    countdown: int | None = None,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A head of `size` (width, height) px on a 160x160 frame, its lamps along its
    long side (red first: top, or left), with sensor noise and a JPEG round trip.

    Returns the frame and the head's region (with a countdown, the region holds it).
    """
    clean, region = _clean_head(size, lit, exposure, countdown)
    noisy = clean.astype(np.float32) + rng.normal(0.0, 3.0, clean.shape)
    ok, jpeg = cv2.imencode(
        ".jpg", np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70]
    )
    assert ok
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.asarray(decoded, np.uint8), region


@functools.cache
def _clean_head(
    size: tuple[int, int], lit: Phase | None, exposure: Exposure, countdown: int | None
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The head drawn 8x larger and shrunk, so small heads blur as far heads do."""
    scale = 8
    width, height = size
    vertical = height >= width
    canvas = np.zeros((FRAME * scale, FRAME * scale, 3), np.uint8)
    canvas[:] = BACKGROUND
    x0, y0 = 20, 20
    cv2.rectangle(
        canvas, (x0 * scale, y0 * scale), ((x0 + width) * scale, (y0 + height) * scale), HOUSING, -1
    )
    short, long = (width, height) if vertical else (height, width)
    radius = int(0.36 * short * scale)
    for index, phase in enumerate(LAMP_ORDER):
        along = (index + 0.5) / 3 * long * scale
        across = 0.5 * short * scale
        centre = (
            (int(x0 * scale + across), int(y0 * scale + along))
            if vertical
            else (int(x0 * scale + along), int(y0 * scale + across))
        )
        if phase is lit:
            cv2.circle(canvas, centre, radius, exposure.body[phase], -1)
            if exposure.core is not None:
                cv2.circle(canvas, centre, int(0.7 * radius), exposure.core[phase], -1)
        else:
            tint = tuple(int(v * exposure.unlit_gain) for v in UNLIT[phase])
            cv2.circle(canvas, centre, radius, tint, -1)
    region = (float(x0 - 1), float(y0 - 1), float(x0 + width + 1), float(y0 + height + 1))
    if countdown is not None:
        # Two digits beside the head, in the lit lamp's colour, as Vietnamese heads
        # show them; the region is drawn round the head and its countdown.
        colour = exposure.body[lit] if lit is not None else (40, 30, 235)
        digit = (int(0.6 * short * scale), int(1.1 * short * scale), max(scale, short * scale // 7))
        dx = (x0 + width + 2) * scale if vertical else x0 * scale
        dy = y0 * scale if vertical else (y0 + height + 2) * scale
        tens, ones = divmod(countdown, 10)
        draw_digit(canvas, tens, dx, dy, colour, size=digit)
        draw_digit(canvas, ones, dx + digit[0] + 2 * scale, dy, colour, size=digit)
        extra_w = 2 * digit[0] // scale + 5
        extra_h = digit[1] // scale + 3
        region = (
            region[0],
            region[1],
            region[2] + (extra_w if vertical else 0),
            region[3] + (0 if vertical else extra_h),
        )
    image = cv2.resize(canvas, (FRAME, FRAME), interpolation=cv2.INTER_AREA)
    if exposure.core is not None:
        # Blooming: the lamp's light spreads past its rim.
        image = cv2.addWeighted(image, 0.8, cv2.GaussianBlur(image, (0, 0), 1.5), 0.2, 0)
    return image, region


# A cycle with a head already green at the first frame: green, amber, red, green.
CYCLE = [(Phase.GREEN, 3.0), (Phase.AMBER, 1.0), (Phase.RED, 3.0), (Phase.GREEN, 2.0)]


def run_cycle(
    size: tuple[int, int],
    exposure: Exposure,
    cycle: list[tuple[Phase, float]],
    *,
    countdown: bool = False,
    seed: int = 0,
) -> tuple[list[tuple[float, SignalState]], list[LabelledSpan], SignalTracker]:
    rng = np.random.default_rng(seed)
    spans, t0 = [], 0.0
    for phase, duration in cycle:
        spans.append(LabelledSpan("h", phase.value, t0, t0 + duration))
        t0 += duration
    tracker: SignalTracker | None = None
    samples = []
    for index in range(int(round(t0 * FPS))):
        t = index / FPS
        span = next(s for s in spans if s.t_start <= t < s.t_end)
        left = int(span.t_end - t) + 1
        image, region = draw_head(
            size, Phase(span.state), exposure, rng=rng, countdown=left if countdown else None
        )
        if tracker is None:
            tracker = SignalTracker(region, confirm_frames=2, hold_s=2.0)
        samples.append((t, tracker.update(image, t)))
    assert tracker is not None
    return samples, spans, tracker


def onsets(samples: list[tuple[float, SignalState]]) -> list[tuple[Phase, float | None]]:
    changes: list[tuple[Phase, float | None]] = []
    for _, state in samples:
        if not changes or changes[-1] != (state.phase, state.since):
            changes.append((state.phase, state.since))
    return [c for c in changes if c[0] is not Phase.UNKNOWN]


SIZES = [(8, 20), (12, 30), (20, 50), (40, 100)]


@pytest.mark.parametrize("exposure", [DIM, NORMAL, OVER], ids=lambda e: e.name)
@pytest.mark.parametrize("size", SIZES + [(h, w) for w, h in SIZES], ids=str)
def test_cycle_reads_every_phase_at_its_onset(size: tuple[int, int], exposure: Exposure) -> None:
    samples, spans, tracker = run_cycle(size, exposure, CYCLE)
    found = onsets(samples)
    assert [phase for phase, _ in found] == [Phase(s.state) for s in spans]
    for (_, since), span in zip(found, spans, strict=True):
        assert since is not None and abs(since - span.t_start) <= 1 / FPS + 1e-6
    assert agreement(samples, spans).share >= 0.98


@pytest.mark.parametrize("exposure", [DIM, NORMAL, OVER], ids=lambda e: e.name)
@pytest.mark.parametrize("size", [(8, 20), (40, 100), (50, 20)], ids=str)
def test_a_head_red_from_the_first_frame_reads_red_at_once(
    size: tuple[int, int], exposure: Exposure
) -> None:
    """No cycle to learn from: the red lamp is told from the head's own dark
    lamps and housing on the first frames (even blown out to yellow-white)."""
    samples, _, _ = run_cycle(size, exposure, [(Phase.RED, 3.0)])
    assert samples[1][1].phase is Phase.RED and samples[1][1].since == 0.0
    assert all(state.phase is Phase.RED for _, state in samples[1:])


def test_over_exposed_red_is_told_from_amber_by_its_place() -> None:
    """Blown out, red and amber are the same yellow-white disc: once both have
    been seen, the top lamp is red and the one under it amber."""
    samples, spans, tracker = run_cycle(
        (20, 50), OVER, CYCLE + [(Phase.AMBER, 1.0), (Phase.RED, 2.0)]
    )
    assert [phase for phase, _ in onsets(samples)] == [Phase(s.state) for s in spans]
    colours = {colour for colour, _ in tracker.layout}
    assert {Phase.RED, Phase.AMBER, Phase.GREEN} <= colours
    red_at = next(at for colour, at in tracker.layout if colour is Phase.RED)
    amber_at = next(at for colour, at in tracker.layout if colour is Phase.AMBER)
    assert red_at[1] < amber_at[1]


@pytest.mark.parametrize("size", [(20, 50), (40, 100), (100, 40)], ids=str)
def test_countdown_beside_the_head_is_not_a_lamp(size: tuple[int, int]) -> None:
    samples, spans, _ = run_cycle(size, NORMAL, CYCLE, countdown=True)
    assert [phase for phase, _ in onsets(samples)] == [Phase(s.state) for s in spans]
    assert agreement(samples, spans).share >= 0.98


def test_dark_spell_keeps_the_phase_and_reads_unknown() -> None:
    """LED heads read dark for a moment against the exposure: the raw reading is
    unknown (never green) and the tracker keeps the phase that showed."""
    rng = np.random.default_rng(3)
    tracker: SignalTracker | None = None
    for index in range(20):
        lit = None if 10 <= index < 14 else Phase.RED
        image, region = draw_head((12, 30), lit, NORMAL, rng=rng)
        tracker = tracker or SignalTracker(region, confirm_frames=2, hold_s=1.0)
        state = tracker.update(image, index / FPS)
        assert tracker.last_reading is not None
        if lit is None:
            assert tracker.last_reading.phase is Phase.UNKNOWN
        if index >= 1:
            assert state.phase is Phase.RED and state.since == 0.0


def test_a_dark_head_reads_unknown_from_the_start() -> None:
    rng = np.random.default_rng(4)
    image, region = draw_head((20, 50), None, NORMAL, rng=rng)
    reader = HeadReader(region)
    assert all(reader.read(image).phase is Phase.UNKNOWN for _ in range(5))


def test_given_layout_names_an_over_exposed_red_by_its_place() -> None:
    """With `lamps` configured, a yellow-white disc at the red lamp reads red on
    the first frame, before any other lamp was seen lit."""
    rng = np.random.default_rng(5)
    image, region = draw_head((20, 50), Phase.RED, OVER, rng=rng)
    x1, y1, x2, y2 = region
    cx = 0.5 * (x1 + x2)
    lamps = {Phase.RED: (cx, 20 + 50 / 6), Phase.AMBER: (cx, 45.0), Phase.GREEN: (cx, 20 + 250 / 6)}
    reading = HeadReader(region, lamps).read(image)
    assert reading.phase is Phase.RED
    assert [colour for colour, _ in reading.lit] == [Phase.RED]


def test_red_ball_with_green_arrow_reads_red() -> None:
    """Two lamps lit at once (a red ball and a green arrow under it): the most
    restrictive is the phase."""
    rng = np.random.default_rng(6)
    image, region = draw_head((20, 50), Phase.RED, NORMAL, rng=rng)
    green, _ = draw_head((20, 50), Phase.GREEN, NORMAL, rng=rng)
    lower = slice(int(20 + 50 * 2 / 3), 20 + 50 + 1)
    image[lower] = green[lower]
    reading = HeadReader(region).read(image)
    assert reading.phase is Phase.RED
    assert {colour for colour, _ in reading.lit} == {Phase.RED, Phase.GREEN}


def test_reading_a_head_is_cheap() -> None:
    """A few milliseconds at most per head and frame, even for a large region."""
    import time

    rng = np.random.default_rng(7)
    image, region = draw_head((40, 100), Phase.GREEN, NORMAL, rng=rng)
    reader = HeadReader(region)
    reader.read(image)
    started = time.perf_counter()
    for _ in range(50):
        reader.read(image)
    assert (time.perf_counter() - started) / 50 < 0.005


@pytest.mark.parametrize("exposure", [NORMAL, OVER], ids=lambda e: e.name)
def test_pale_pole_inside_a_loose_region_is_not_a_lamp(exposure: Exposure) -> None:
    """A region drawn loosely round a head on a pale pole: the pole's bright strip
    touches the lamps' glow, yet the lamps keep their own round, coloured blobs."""
    rng = np.random.default_rng(8)
    tracker: SignalTracker | None = None
    samples, spans, t0 = [], [], 0.0
    for phase, duration in CYCLE:
        spans.append(LabelledSpan("h", phase.value, t0, t0 + duration))
        t0 += duration
    for index in range(int(round(t0 * FPS))):
        t = index / FPS
        span = next(s for s in spans if s.t_start <= t < s.t_end)
        image, (x1, y1, x2, y2) = draw_head((16, 40), Phase(span.state), exposure, rng=rng)
        image = image.copy()
        image[int(y1) - 6 : int(y2) + 6, int(x2) - 1 : int(x2) + 4] = (225, 230, 232)
        tracker = tracker or SignalTracker((x1 - 3, y1 - 5, x2 + 5, y2 + 5))
        samples.append((t, tracker.update(image, t)))
    assert [phase for phase, _ in onsets(samples)] == [Phase(s.state) for s in spans]
    assert agreement(samples, spans).share >= 0.98


def test_given_layout_ignores_light_at_a_lamps_edge() -> None:
    """Bright warm spots just under the unlit lamps (a reddish gantry in the sun),
    within half a lamp pitch of them but not on them: with the layout given they
    are no lamps, and the lit green reads."""
    rng = np.random.default_rng(9)
    image, region = draw_head((60, 20), Phase.GREEN, NORMAL, rng=rng)
    image = image.copy()
    for x in (30, 50):
        cv2.circle(image, (x, 38), 3, (60, 90, 230), -1)
    cy = 0.5 * (region[1] + region[3])
    lamps = {Phase.RED: (30.0, cy), Phase.AMBER: (50.0, cy), Phase.GREEN: (70.0, cy)}
    reader = HeadReader(region, lamps)
    readings = [reader.read(image) for _ in range(3)]
    assert all(r.phase is Phase.GREEN for r in readings)
    assert [colour for colour, _ in readings[-1].lit] == [Phase.GREEN]
