"""End to end: the generated no_stopping scene through the real detector, tracker and rule:
vehicles halted in a no-stopping zone beyond 5 s are reported; a 2.5 s halt in the zone,
a car crawling through it and a car waiting at the stop line on red are not."""

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
    return generate("no_stopping", tmp_path_factory.mktemp("no_stopping"), write_boxes=False)


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


def test_eval_finds_each_overstay_once_and_no_look_alike(scene: ScenarioFiles) -> None:
    report = run_eval(scene)
    scores = report["rules"]["no_stopping"]
    assert scores["tp"] + scores["fn"] == len(load_truth(scene.truth).violations) == 3
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {"no_stopping"}
    assert report["frames"] == 450
