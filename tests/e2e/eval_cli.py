"""Running `trafficcam eval` on a generated scenario as its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from pipeline.evaluation.scenario import ScenarioFiles

TRAFFICCAM = [sys.executable, "-m", "pipeline.cli"]


def eval_report(files: ScenarioFiles) -> dict[str, Any]:
    """`trafficcam eval --json` on the scenario's video against its truth; the report."""
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
