"""End to end: the generated wrong_way scene through the real detector, tracker and rule:
motorbikes and cars driving against the lane are reported, a U-turn's first metres, a
roll-back and a still vehicle at the line are not."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from pipeline.evaluate import load_truth
from pipeline.scenario import ScenarioFiles, generate

TRAFFICCAM = [sys.executable, "-m", "pipeline.cli"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate("wrong_way", tmp_path_factory.mktemp("wrong_way"), write_boxes=False)


def run_eval(files: ScenarioFiles) -> dict[str, Any]:
    result = subprocess.run(
        [
            *TRAFFICCAM,
            "eval",
            "--config",
            str(files.config),
            "--video",
            str(files.video),
            "--truth",
            str(files.truth),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_eval_finds_every_vehicle_driving_against_the_lane_and_no_look_alike(
    scene: ScenarioFiles,
) -> None:
    report = run_eval(scene)
    scores = report["rules"]["wrong_way"]
    assert scores["tp"] + scores["fn"] == len(load_truth(scene.truth).violations) == 4
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {"wrong_way"}
    assert report["frames"] == 450
