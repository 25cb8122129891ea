"""Countdown displays: drawn seven-segment digits 00-99 in red, green and amber,
blurred and JPEG-compressed, read by their segments; a blinking countdown followed
by the tracker; the seconds shown recorded with a violation's signal measurements."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.config import SignalHead
from pipeline.signals.countdown import (
    DIGIT_SEGMENTS,
    CountdownState,
    CountdownTracker,
    fit_count,
    read_countdown,
)
from pipeline.signals.feed import signal_measurements
from pipeline.signals.image import Phase, SignalState

COLOURS = {
    Phase.RED: (40, 30, 235),
    Phase.GREEN: (150, 230, 40),
    Phase.AMBER: (20, 170, 250),
}
GHOST = (38, 38, 44)
PANEL = (22, 22, 26)
REGION = (40, 20, 80, 50)


def draw_digit(image: np.ndarray, x: int, y: int, w: int, h: int, digit: int, colour) -> None:
    """One seven-segment digit in a w x h box at x, y (unlit segments faintly visible)."""
    t = max(1, round(w / 5))
    half = y + h // 2
    segments = {
        "a": ((x + t, y), (x + w - t, y + t)),
        "b": ((x + w - t, y + t), (x + w, half)),
        "c": ((x + w - t, half), (x + w, y + h - t)),
        "d": ((x + t, y + h - t), (x + w - t, y + h)),
        "e": ((x, half), (x + t, y + h - t)),
        "f": ((x, y + t), (x + t, half)),
        "g": ((x + t, half - t // 2), (x + w - t, half - t // 2 + t)),
    }
    for name, (p1, p2) in segments.items():
        lit = name in DIGIT_SEGMENTS[digit]
        cv2.rectangle(image, p1, (p2[0] - 1, p2[1] - 1), colour if lit else GHOST, -1)


def draw_display(
    value: int | None, colour: Phase, *, digit_h: int = 16, seed: int = 0, quality: int = 70
) -> np.ndarray:
    """A frame with a two-cell countdown display in REGION showing `value`
    (None: dark), right-aligned, no leading zero below 10 unless `value` < 10 is
    drawn as 0N (both styles exist; this one shows 0N)."""
    rng = np.random.default_rng(seed)
    image = np.full((80, 120, 3), (110, 115, 120), np.uint8)
    x1, y1, x2, y2 = REGION
    cv2.rectangle(image, (x1 - 2, y1 - 2), (x2 + 1, y2 + 1), PANEL, -1)
    w = max(4, round(digit_h * 0.55))
    gap = max(2, round(digit_h * 0.2))
    left = (x1 + x2) // 2 - w - gap // 2
    top = (y1 + y2) // 2 - digit_h // 2
    if value is not None:
        tens, ones = divmod(value, 10)
        for index, digit in enumerate((tens, ones)):
            draw_digit(image, left + index * (w + gap), top, w, digit_h, digit, COLOURS[colour])
    noisy = image.astype(np.int16) + rng.normal(0, 3, image.shape).astype(np.int16)
    blurred = cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (3, 3), 0.7)
    ok, jpeg = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return np.asarray(decoded, np.uint8)


def misread(colour: Phase, digit_h: int) -> list[tuple[int, int | None, str]]:
    """Values 00-99 read wrong (value or colour), with the digit height the
    tracker would have learned from the display's 88."""
    height = read_countdown(draw_display(88, colour, digit_h=digit_h), REGION).height
    wrong = []
    for value in range(100):
        image = draw_display(value, colour, digit_h=digit_h, seed=value)
        reading = read_countdown(image, REGION, digit_height=height)
        if reading.value != value or reading.colour is not colour:
            wrong.append((value, reading.value, reading.colour.value))
    return wrong


@pytest.mark.parametrize("colour", list(COLOURS))
def test_every_value_00_to_99_reads(colour: Phase) -> None:
    assert not misread(colour, 22)


@pytest.mark.parametrize("digit_h", [16, 20])
@pytest.mark.parametrize("colour", list(COLOURS))
def test_smaller_digits_read(colour: Phase, digit_h: int) -> None:
    # At 16 px a red digit's thin strokes lose much of their colour to JPEG's
    # halved colour planes; a few values may go wrong, never many.
    assert len(misread(colour, digit_h)) <= 3


def test_dark_display_reads_nothing() -> None:
    reading = read_countdown(draw_display(None, Phase.RED), REGION)
    assert reading.value is None and not reading.lit


def test_blinking_countdown_keeps_counting() -> None:
    """A red countdown from 12 at 10 fps that blinks dark for 0.3 s every second
    near the end: the tracker holds the value through the blinks and never accepts
    a value out of the count."""
    tracker = CountdownTracker(REGION, every=2, hold_s=1.5)
    seen = []
    for frame in range(130):
        t = frame / 10
        value = max(0, 12 - int(t))
        dark = t >= 8 and (t % 1.0) >= 0.7
        image = draw_display(None if dark else value, Phase.RED, seed=frame)
        state = tracker.update(image, t)
        if t >= 0.5:
            seen.append((t, state.value))
    assert all(v is not None for _, v in seen)
    # Seen counting from the first step down on, so its value is trusted.
    assert tracker.state.counting
    for t, v in seen:
        assert v in (max(0, 12 - int(t)), max(0, 12 - int(t)) + 1), (t, v)
    assert seen[-1][1] == 0
    assert tracker.state.predicts() is Phase.GREEN


def test_a_misread_value_is_not_accepted_alone() -> None:
    tracker = CountdownTracker(REGION, every=1)
    tracker.update(draw_display(30, Phase.RED, digit_h=22), 0.0)
    tracker.update(draw_display(30, Phase.RED, digit_h=22, seed=1), 0.1)
    assert tracker.state.value == 30
    # One frame showing 80 (a misread) is held back; twice running it is accepted.
    tracker.update(draw_display(80, Phase.RED, digit_h=22, seed=2), 0.2)
    assert tracker.state.value == 30
    tracker.update(draw_display(80, Phase.RED, digit_h=22, seed=3), 0.3)
    assert tracker.state.value == 80
    # A jump is no count: not trusted until it has stepped down twice, a second apart.
    assert not tracker.state.counting
    tracker.update(draw_display(79, Phase.RED, digit_h=22, seed=4), 1.3)
    assert tracker.state.value == 79 and not tracker.state.counting
    tracker.update(draw_display(78, Phase.RED, digit_h=22, seed=5), 2.3)
    assert tracker.state.value == 78 and tracker.state.counting


def test_countdown_recorded_in_signal_measurements() -> None:
    state = SignalState(
        Phase.RED,
        10.0,
        countdown=CountdownState(value=3, colour=Phase.RED, read_at=20.0, counting=True),
    )
    out = signal_measurements(state, 21.0)
    assert out["countdown_s"] == 2
    assert out["countdown_colour"] == "red"
    assert out["countdown_agrees"] is True
    green_digits = SignalState(
        Phase.RED,
        10.0,
        countdown=CountdownState(value=5, colour=Phase.GREEN, read_at=20.0, counting=True),
    )
    assert signal_measurements(green_digits, 20.0)["countdown_agrees"] is False
    # A display not seen counting down (its digits may be misread) gives no value.
    unsure = SignalState(
        Phase.RED, 10.0, countdown=CountdownState(value=85, colour=Phase.RED, read_at=20.0)
    )
    assert signal_measurements(unsure, 20.0)["countdown_s"] is None
    # A reading far from the offence tells nothing.
    assert signal_measurements(state, 30.0)["countdown_s"] is None
    assert "countdown_s" not in signal_measurements(SignalState(Phase.RED, 10.0), 21.0)


def test_countdown_box_is_validated() -> None:
    head = SignalHead(id="h1", region=(0, 0, 10, 30), countdown=(12, 0, 30, 14))
    assert head.countdown == (12, 0, 30, 14)
    with pytest.raises(ValidationError, match="countdown must be x1, y1, x2, y2"):
        SignalHead(id="h1", region=(0, 0, 10, 30), countdown=(30, 0, 12, 14))


def test_fit_count_rejects_a_reading_off_the_count() -> None:
    """Readings of a count from 9 (zero at t=10), one misread 3 among them: the
    fit allows all but the 3 and knows the zero time to within the readings."""
    times = np.arange(1.05, 4.0, 0.2)
    values = np.array([math.ceil(10.0 - t) for t in times], np.float64)
    values[6] = 3.0
    inliers, early, late = fit_count(times, values, np.ones_like(times))
    assert not inliers[6] and inliers.sum() == len(times) - 1
    assert early < 10.0 <= late and late - early < 0.6


def tracked(frames: list[tuple[float, int | None]], **draw) -> list[CountdownState]:
    tracker = CountdownTracker(REGION, every=1)
    return [
        tracker.update(draw_display(value, Phase.RED, seed=i, **draw), t)
        for i, (t, value) in enumerate(frames)
    ]


def test_counting_display_gives_evidence_only_once_fitted() -> None:
    """A red count from 15 read 5 times a second: after two ticks its value goes
    into evidence, right at every frame not within a frame or two of a tick."""
    frames: list[tuple[float, int | None]] = [(i / 5 + 0.1, 15 - int(i / 5)) for i in range(40)]
    states = tracked(frames, digit_h=22)
    assert all(s.shown_at(t) is None for (t, _), s in zip(frames[:10], states[:10], strict=True))
    given = 0
    for (t, value), state in zip(frames, states, strict=True):
        shown = state.shown_at(t)
        assert shown in (None, value), (t, shown, value)
        given += shown is not None
    assert given >= 15
    assert states[-1].counting


def test_a_misread_frame_is_rejected_by_the_fit() -> None:
    """One frame in a counting display shows another number: the fit keeps the
    count, the evidence stays right and the display stays trusted."""
    frames: list[tuple[float, int | None]] = [(i / 5 + 0.1, 20 - int(i / 5)) for i in range(30)]
    t, value = frames[22]
    frames[22] = (t, 47)
    states = tracked(frames, digit_h=22)
    assert states[22].value == value and states[22].counting
    assert states[22].shown_at(t) in (None, value)
    assert all(s.counting for s in states[22:])


def test_a_blink_gives_no_value_of_its_own() -> None:
    """A dark spell reads as no value (never a digit) and, once longer than the
    hold, leaves no value and no evidence."""
    frames: list[tuple[float, int | None]] = [(i / 5 + 0.1, 9 - int(i / 5)) for i in range(20)]
    frames += [(4.1 + i / 5, None) for i in range(12)]
    tracker = CountdownTracker(REGION, every=1, hold_s=1.5)
    for i, (t, value) in enumerate(frames):
        state = tracker.update(draw_display(value, Phase.RED, digit_h=22, seed=i), t)
        assert tracker.last_reading is not None
        if value is None:
            assert tracker.last_reading.value is None
    assert state.value is None and state.shown_at(frames[-1][0]) is None


def tiny_display(value: int | None, seed: int) -> np.ndarray:
    """A two-digit display about 4x9 px a digit: drawn 4x as large, blurred and
    shrunk to a quarter, then JPEG-compressed."""
    big = draw_display(value, Phase.RED, digit_h=36, seed=seed, quality=95)
    big = cv2.resize(big, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(cv2.GaussianBlur(big, (0, 0), 3.0), (120, 80), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8)


def test_tiny_blurred_display_never_gives_a_wrong_value() -> None:
    """A tiny, blurred display counting down: whatever the single frames read, the
    evidence is never a wrong number."""
    tracker = CountdownTracker(REGION, every=1)
    wrong = 0
    for i in range(60):
        t = i / 6 + 0.05
        value = 30 - int(t)
        state = tracker.update(tiny_display(value, i), t)
        shown = state.shown_at(t)
        wrong += shown is not None and shown != value
    assert wrong == 0


def glowing_tiny_display(value: int, seed: int) -> np.ndarray:
    """A two-digit display of about 5x8 px a digit whose LEDs blow out to white
    with a red glow around them: drawn 4x as large, blurred, shrunk to a quarter,
    then JPEG-compressed."""
    rng = np.random.default_rng(seed)
    fine = 4
    image = np.full((80 * fine, 120 * fine, 3), (110, 115, 120), np.uint8)
    x1, y1, x2, y2 = (v * fine for v in REGION)
    cv2.rectangle(image, (x1 + 8 * fine, y1 + 4 * fine), (x2 - 8 * fine, y2 - 4 * fine), PANEL, -1)
    h, w, gap = 8 * fine, 5 * fine, fine
    left, top = (x1 + x2) // 2 - w - gap // 2, (y1 + y2) // 2 - h // 2
    core = np.zeros_like(image)
    for index, digit in enumerate(divmod(value, 10)):
        draw_digit(core, left + index * (w + gap), top, w, h, digit, (255, 255, 255))
    lit = core.min(axis=2) == 255
    glow = np.zeros_like(image)
    glow[lit] = COLOURS[Phase.RED]
    glow = cv2.GaussianBlur(cv2.dilate(glow, np.ones((9, 9), np.uint8)), (0, 0), 5)
    image = np.maximum(image, np.minimum(255, glow.astype(np.int32) * 2).astype(np.uint8))
    image[lit] = 255
    small = cv2.resize(
        cv2.GaussianBlur(image, (0, 0), 2.0), (120, 80), interpolation=cv2.INTER_AREA
    )
    noisy = np.clip(small.astype(np.int16) + rng.normal(0, 3, small.shape), 0, 255)
    ok, jpeg = cv2.imencode(".jpg", noisy.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8)


def test_tiny_blown_out_display_is_read_by_templates() -> None:
    """Digits about 5x8 px, blown out to white in a red glow (too small for their
    segments to be sampled): single frames read right more often than wrong, and
    counting down they go into evidence after a few ticks, never wrong."""
    readings = [read_countdown(glowing_tiny_display(v, v), REGION).value for v in range(100)]
    assert sum(r == v for v, r in enumerate(readings)) >= 35
    assert sum(r is not None and r != v for v, r in enumerate(readings)) <= 30
    tracker = CountdownTracker(REGION, every=1)
    given: list[float] = []
    for i in range(80):
        t = i / 6 + 0.05
        value = 40 - int(t)
        shown = tracker.update(glowing_tiny_display(value, i), t).shown_at(t)
        assert shown in (None, value), (t, shown, value)
        if shown is not None:
            given.append(t)
    assert len(given) >= 15 and given[0] < 6.0
