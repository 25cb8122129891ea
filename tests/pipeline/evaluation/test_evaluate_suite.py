"""`trafficcam eval --suite`: labelled clips scored with their configs, on a generated scene.

The labels folder is written the way the shared footage's is (NAME.yaml with the
clip's name and signal_timeline, NAME.truth.yaml whose first line names the
labelled rules), from a generated red_light scenario and its signal plan.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.cli.run import build_detector
from pipeline.config import ConfigError, load_config
from pipeline.evaluation.accuracy import load_truth
from pipeline.evaluation.scenario import ScenarioFiles, build_script, generate
from pipeline.evaluation.suite import (
    SuiteResult,
    config_for_clip,
    labelled_rules,
    load_labelled_clip,
    only_rules,
    run_suite,
)
from tests.e2e.eval_cli import TRAFFICCAM

HEADER = "# Rules labelled in this file: red_light only.\n"


def signal_timeline(head: str, until_s: float) -> list[dict[str, Any]]:
    """The scenario's signal plan as a label's signal_timeline for `head`."""
    plan = build_script("red_light").plan
    spans = [
        {"head": head, "state": phase, "t_start": a, "t_end": b}
        for phase in ("green", "amber", "red")
        for a, b in plan.intervals(phase, until_s)
    ]
    return sorted(spans, key=lambda s: s["t_start"])


def write_label(
    labels: Path, name: str, clip: str, truth: Path | None, timeline: list[dict[str, Any]]
) -> None:
    (labels / f"{name}.yaml").write_text(
        yaml.safe_dump({"clip": clip, "scene": {"signal_timeline": timeline}}, sort_keys=False)
    )
    violations = yaml.safe_load(truth.read_text())["violations"] if truth else []
    (labels / f"{name}.truth.yaml").write_text(
        HEADER + yaml.safe_dump({"violations": violations}, sort_keys=False)
    )


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFiles:
    return generate("red_light", tmp_path_factory.mktemp("footage"), write_boxes=False)


@pytest.fixture(scope="module")
def folders(scene: ScenarioFiles) -> tuple[Path, Path]:
    """(labels folder beside the clip, configs folder) for the generated scene."""
    labels = scene.video.parent / "labels"
    labels.mkdir()
    # The labels name a head the config lacks too; it is not compared.
    timeline = signal_timeline("main", 45.0) + signal_timeline("far", 45.0)
    write_label(labels, "generated_red_light", scene.video.name, scene.truth, timeline)
    write_label(labels, "unconfigured_clip", "nobody_has_a_config.mp4", None, [])
    # A label without a truth file is not part of the suite.
    (labels / "unscored.yaml").write_text("clip: video.mp4\n")
    configs = scene.video.parent.parent / "configs"
    configs.mkdir()
    config = yaml.safe_load(scene.config.read_text())
    config["cameras"][0]["source"]["url"] = f"../{scene.video.parent.name}/{scene.video.name}"
    # A rule the truth does not label: switched off for the run, not scored.
    config["cameras"][0]["rules"].append({"type": "stop_line", "max_stopped_s": 3})
    (configs / "generated.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (configs / "other.yaml").write_text("cameras: []\n")
    return labels, configs


@pytest.fixture(scope="module")
def result(folders: tuple[Path, Path]) -> SuiteResult:
    labels, configs = folders
    return run_suite(labels, configs, build_detector)


def test_each_labelled_clip_is_scored_with_its_config(
    result: SuiteResult, scene: ScenarioFiles, folders: tuple[Path, Path]
) -> None:
    clip = next(c for c in result.clips if c.name == "generated_red_light")
    assert clip.problem is None
    assert clip.config == folders[1] / "generated.yaml"
    staged = len(load_truth(scene.truth).violations)
    assert staged == 3
    s = clip.scores["red_light"]
    assert (s.tp, s.fp, s.fn) == (staged, 0, 0)
    # Only the labelled rule is scored (the config's stop_line rule was off).
    assert list(clip.scores) == ["red_light"]
    assert clip.frames == 450 and clip.seconds > 0


def test_signal_agreement_is_measured_for_heads_in_config_and_labels(result: SuiteResult) -> None:
    clip = next(c for c in result.clips if c.name == "generated_red_light")
    assert list(clip.heads) == ["main"]
    main = clip.heads["main"]
    assert main.frames == 450
    # The drawn head is read right on practically every frame; what is left is the
    # few frames a new colour needs to be confirmed.
    assert main.share >= 0.97, main.disagreements


def test_a_label_without_a_config_is_reported_not_run(result: SuiteResult) -> None:
    assert [c.name for c in result.clips] == ["generated_red_light", "unconfigured_clip"]
    orphan = result.clips[1]
    assert orphan.problem is not None and "nobody_has_a_config.mp4" in orphan.problem
    assert orphan.scores == {} and orphan.frames == 0


def test_totals_and_report(result: SuiteResult) -> None:
    report = result.as_dict()
    assert report["total"]["rules"]["red_light"] == {
        "tp": 3,
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
    }
    assert report["total"]["clips_not_run"] == ["unconfigured_clip"]
    json.dumps(report)  # one JSON object, as --json prints it
    text = "\n".join(result.report_lines())
    assert "unconfigured_clip" in text and "not run" in text
    assert "signal main:" in text


def test_cli_reports_a_clip_without_config_and_exits_0(tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    write_label(labels, "lonely", "lonely.mp4", None, [])
    (tmp_path / "configs").mkdir()
    done = subprocess.run(
        [*TRAFFICCAM, "eval", "--suite", str(labels), "--configs", str(tmp_path / "configs")]
        + ["--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["clips"][0]["name"] == "lonely"
    assert "lonely.mp4" in report["clips"][0]["problem"]
    assert report["total"]["clips_not_run"] == ["lonely"]


@pytest.mark.parametrize(
    ("label", "truth", "named_file", "named_field"),
    [
        ("scene: {}\n", HEADER + "violations: []\n", "broken.yaml", "clip"),
        (
            "clip: a.mp4\nscene:\n  signal_timeline:\n    - {head: h1, state: red, t_start: 0}\n",
            HEADER + "violations: []\n",
            "broken.yaml",
            "signal_timeline.0: missing t_end",
        ),
        (
            "clip: a.mp4\n",
            HEADER + "violations:\n  - {rule: red_light, t_start: soon, t_end: 2}\n",
            "broken.truth.yaml",
            "t_start",
        ),
    ],
)
def test_a_bad_label_file_is_refused_naming_file_and_field(
    tmp_path: Path, label: str, truth: str, named_file: str, named_field: str
) -> None:
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "broken.yaml").write_text(label)
    (labels / "broken.truth.yaml").write_text(truth)
    with pytest.raises(ConfigError) as refused:
        load_labelled_clip(labels / "broken.yaml")
    assert named_file in str(refused.value) and named_field in str(refused.value)
    (tmp_path / "configs").mkdir()
    done = subprocess.run(
        [*TRAFFICCAM, "eval", "--suite", str(labels), "--configs", str(tmp_path / "configs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert named_file in done.stderr and named_field in done.stderr


def test_labelled_rules_come_from_the_header_and_the_entries(tmp_path: Path) -> None:
    path = tmp_path / "x.truth.yaml"
    path.write_text(HEADER + "# more words\nviolations: []\n")
    assert labelled_rules(path, load_truth(path)) == ("red_light",)
    path.write_text(
        "# Rules labelled in this file: red_light, wrong_way and speeding only.\n"
        "violations:\n  - {rule: no_parking, t_start: 1, t_end: 2}\n"
    )
    assert labelled_rules(path, load_truth(path)) == (
        "no_parking",
        "red_light",
        "speeding",
        "wrong_way",
    )


def test_config_is_matched_by_the_source_file_name(folders: tuple[Path, Path]) -> None:
    _, configs = folders
    assert config_for_clip(configs, "video.mp4") == configs / "generated.yaml"
    assert config_for_clip(configs, "other.mp4") is None


def test_only_rules_switches_the_others_and_plates_off(folders: tuple[Path, Path]) -> None:
    config = load_config(folders[1] / "generated.yaml")
    assert [r.type for r in config.cameras[0].rules] == ["red_light", "stop_line"]
    kept = only_rules(config, ("red_light",))
    assert [r.type for r in kept.cameras[0].rules] == ["red_light"]
    assert not kept.plates.enabled
