"""End to end on every rule's generated scenario: the real detector, tracker, signal
reader and rule find each staged offence and none of the look-alikes (precision and
recall at least 0.9), through `trafficcam eval`.

red_light has its own, wider end-to-end test (RTSP, Kafka, review) in test_red_light.py.
"""

from __future__ import annotations

import pytest

from pipeline.evaluate import load_truth
from pipeline.scenario import generate
from tests.e2e.eval_cli import eval_report

# scenario (= rule type), offences staged, frames in the video
SCENES = [
    ("stop_line", 3, 450),
    ("wrong_way", 4, 450),
    ("speeding", 4, 380),
    ("restricted_lane", 3, 400),
    ("no_stopping", 3, 450),
    ("no_parking", 3, 450),
    ("overloaded_motorbike", 3, 420),
]


@pytest.mark.parametrize(("rule", "offences", "frames"), SCENES, ids=[s[0] for s in SCENES])
def test_eval_finds_the_staged_offences_and_no_look_alike(
    rule: str, offences: int, frames: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    files = generate(rule, tmp_path_factory.mktemp(rule), write_boxes=False)
    report = eval_report(files)
    scores = report["rules"][rule]
    assert scores["tp"] + scores["fn"] == len(load_truth(files.truth).violations) == offences
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {rule}
    assert report["frames"] == frames
