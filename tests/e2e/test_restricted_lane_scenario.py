"""End to end: the generated restricted_lane scene, recorded across the start of the
kerb lane's banned hours, through the real detector, tracker and rule."""

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
def restricted_lane(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate(
        "restricted_lane", tmp_path_factory.mktemp("restricted_lane"), write_boxes=False
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


def test_eval_finds_banned_vehicles_and_not_allowed_ones(
    restricted_lane: ScenarioFiles,
) -> None:
    report = run_eval(restricted_lane)
    scores = report["rules"]["restricted_lane"]
    assert scores["tp"] + scores["fn"] == len(load_truth(restricted_lane.truth).violations) == 3
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {"restricted_lane"}
