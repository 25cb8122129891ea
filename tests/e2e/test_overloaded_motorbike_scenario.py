"""End to end: the generated overloaded_motorbike scene through the real detector,
tracker, rider association and rule: motorbikes carrying three riders are reported once
each; two riders, one rider, and two riders waiting at the line with a pedestrian
standing at the bike's tail (three persons on it on every frame) are not."""

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
    return generate(
        "overloaded_motorbike", tmp_path_factory.mktemp("overloaded_motorbike"), write_boxes=False
    )


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


def test_eval_finds_each_three_rider_bike_once_and_no_look_alike(scene: ScenarioFiles) -> None:
    report = run_eval(scene)
    scores = report["rules"]["overloaded_motorbike"]
    assert scores["tp"] + scores["fn"] == len(load_truth(scene.truth).violations) == 3
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {"overloaded_motorbike"}
    assert report["frames"] == 420
