"""Signal head reading on drawn lamps, and the smoothing of readings into phases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.signals.image import Phase, SignalTracker, classify_lamp

REGION = (10.0, 10.0, 50.0, 130.0)
LAMP_CENTRES = {Phase.RED: (30, 30), Phase.AMBER: (30, 70), Phase.GREEN: (30, 110)}
LIT = {Phase.RED: (0, 0, 255), Phase.AMBER: (0, 190, 255), Phase.GREEN: (80, 255, 0)}


def head(lit: Phase | None) -> np.ndarray:
    image = np.full((200, 200, 3), 90, np.uint8)
    cv2.rectangle(image, (10, 10), (50, 130), (30, 30, 30), -1)
    for phase, centre in LAMP_CENTRES.items():
        colour = LIT[phase] if phase is lit else (60, 60, 60)
        cv2.circle(image, centre, 14, colour, -1)
    return image


@pytest.mark.parametrize("phase", [Phase.RED, Phase.AMBER, Phase.GREEN])
def test_lit_lamp_is_classified(phase: Phase) -> None:
    assert classify_lamp(head(phase), REGION) is phase


def test_dark_head_is_unknown_never_green() -> None:
    assert classify_lamp(head(None), REGION) is Phase.UNKNOWN


def test_region_outside_image_is_unknown() -> None:
    assert classify_lamp(head(Phase.RED), (500, 500, 600, 600)) is Phase.UNKNOWN


def test_tracker_confirms_and_dates_phase_from_first_sighting() -> None:
    tracker = SignalTracker(REGION, confirm_frames=2, hold_s=1.0)
    assert tracker.observe(Phase.GREEN, 0.0).phase is Phase.UNKNOWN
    assert tracker.observe(Phase.GREEN, 0.1).phase is Phase.GREEN
    # one odd frame is noise
    assert tracker.observe(Phase.RED, 0.2).phase is Phase.GREEN
    assert tracker.observe(Phase.GREEN, 0.3).phase is Phase.GREEN
    tracker.observe(Phase.RED, 5.0)
    state = tracker.observe(Phase.RED, 5.1)
    assert state.phase is Phase.RED and state.since == 5.0
    assert state.time_in_phase(7.0) == pytest.approx(2.0)


def test_short_dark_spell_holds_phase_long_one_is_unknown() -> None:
    tracker = SignalTracker(REGION, confirm_frames=1, hold_s=1.0)
    tracker.observe(Phase.RED, 0.0)
    assert tracker.observe(Phase.UNKNOWN, 0.8).phase is Phase.RED
    assert tracker.observe(Phase.UNKNOWN, 1.5).phase is Phase.UNKNOWN
