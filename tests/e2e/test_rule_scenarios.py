"""End to end on every rule's generated scenario: the real detector, tracker, signal
reader and rule find each staged offence and none of the look-alikes (precision and
recall at least 0.9), through `trafficcam eval`.

red_light has its own, wider end-to-end test (RTSP, Kafka, review) in test_red_light.py;
its scenarios judged per movement (turn arrows, U-turns) are here, named after their rule.
"""

from __future__ import annotations

import pytest

from pipeline.evaluation.accuracy import load_truth
from pipeline.evaluation.scenario import generate
from tests.e2e.eval_cli import eval_report

# scenario (= rule type unless in RULE_OF), offences staged, frames in the video
SCENES = [
    ("stop_line", 3, 450),
    ("wrong_way", 4, 450),
    ("speeding", 4, 380),
    ("restricted_lane", 3, 400),
    ("no_stopping", 3, 450),
    ("no_parking", 3, 450),
    ("overloaded_motorbike", 3, 420),
    ("red_light_right_arrow", 2, 300),
    ("red_light_left_arrow", 2, 300),
    ("red_light_u_turn", 2, 300),
]
RULE_OF = {
    "red_light_right_arrow": "red_light",
    "red_light_left_arrow": "red_light",
    "red_light_u_turn": "red_light",
}


@pytest.mark.parametrize(("scenario", "offences", "frames"), SCENES, ids=[s[0] for s in SCENES])
def test_eval_finds_the_staged_offences_and_no_look_alike(
    scenario: str, offences: int, frames: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rule = RULE_OF.get(scenario, scenario)
    files = generate(scenario, tmp_path_factory.mktemp(scenario), write_boxes=False)
    report = eval_report(files)
    scores = report["rules"][rule]
    assert scores["tp"] + scores["fn"] == len(load_truth(files.truth).violations) == offences
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {rule}
    assert report["frames"] == frames
