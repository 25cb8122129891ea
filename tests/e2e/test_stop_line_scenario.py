"""End to end: the generated stop_line scene through the real detector, tracker, signal
reader and rule: vehicles standing over the line or on the crossing on red are reported,
a red runner, a brief stop and halts short of the line are not."""

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
    return generate("stop_line", tmp_path_factory.mktemp("stop_line"), write_boxes=False)


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


def test_eval_finds_the_vehicles_standing_over_the_line_on_red_and_no_look_alike(
    scene: ScenarioFiles,
) -> None:
    report = run_eval(scene)
    scores = report["rules"]["stop_line"]
    assert scores["tp"] + scores["fn"] == len(load_truth(scene.truth).violations) == 3
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {"stop_line"}
    assert report["frames"] == 450
