"""The turn-arrow scenarios without rendering a video: their configs are valid, their
truth lists only the offences per movement, and the painted arrow lamps read as the
lit colour through the signal reader."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.arrow_heads import ArrowHead, paint_arrow_head
from pipeline.evaluation.scenario.output import config_document
from pipeline.evaluation.scenario.turns import BALL_PLAN, LEFT_ARROW, RIGHT_ARROW
from pipeline.signals.image import Phase, SignalTracker

TURN_SCENARIOS = ["red_light_right_arrow", "red_light_left_arrow", "red_light_u_turn"]


@pytest.mark.parametrize("name", TURN_SCENARIOS)
def test_config_is_valid_and_truth_is_the_offences_per_movement(name: str) -> None:
    script = build_script(name, seed=1)
    config = parse_config(config_document(script, "video.mp4", 608))
    scene = config.cameras[0].scene
    assert set(scene.approach.movements) == {"straight", "left", "right", "u_turn"}
    assert [h.kind for h in scene.signal_heads] == ["ball", "arrow"]
    flagged = {o.vehicle for o in script.truth()}
    # Crossings on the red ball that are not offences: turns under a green arrow.
    on_red_ball = {c.vehicle.id for c in script.crossings() if c.phase == "red"}
    expected = {
        "red_light_right_arrow": {"motorbike-2", "car-3"},
        "red_light_left_arrow": {"motorbike-1", "car-2"},
        "red_light_u_turn": {"motorbike-3", "car-2"},
    }[name]
    assert flagged == expected
    assert on_red_ball - flagged, "a turn on the red ball under a green arrow is staged"


@pytest.mark.parametrize("head", [RIGHT_ARROW, LEFT_ARROW], ids=["right", "left"])
def test_painted_arrow_lamps_read_as_their_colour(head: ArrowHead) -> None:
    entry = head.config()
    lamps = {Phase(colour): (float(x), float(y)) for colour, (x, y) in entry["lamps"].items()}
    tracker = SignalTracker(tuple(entry["region"]), lamps=lamps)
    wrong = []
    for i in range(0, 300, 5):
        t = i / 10
        image = np.full((720, 1280, 3), 150, np.uint8)
        lit = head.lit_at(t, BALL_PLAN)
        paint_arrow_head(image, head, lit)
        reading = tracker.reader.read(image).phase
        if reading.value != (lit or "unknown"):
            wrong.append((t, reading.value, lit))
    assert wrong == []
