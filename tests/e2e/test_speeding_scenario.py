"""End to end: the generated speeding scene through the real detector, tracker and rule."""

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
def speeding(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate("speeding", tmp_path_factory.mktemp("speeding"), write_boxes=False)


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


def test_eval_finds_the_fast_vehicles_and_not_the_slow_ones(speeding: ScenarioFiles) -> None:
    report = run_eval(speeding)
    scores = report["rules"]["speeding"]
    assert scores["tp"] + scores["fn"] == len(load_truth(speeding.truth).violations) == 4
    assert scores["precision"] >= 0.9, scores
    assert scores["recall"] >= 0.9, scores
    assert set(report["rules"]) == {"speeding"}
