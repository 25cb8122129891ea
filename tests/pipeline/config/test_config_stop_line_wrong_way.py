"""Broken scenes and parameters for the stop_line and wrong_way rules are refused, and
the error names the camera and the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipeline.config import ConfigError, parse_config
from pipeline.evaluation.scenario import build_script
from pipeline.evaluation.scenario.output import config_document
from pipeline.rules import build_rules


def document(name: str) -> dict[str, Any]:
    return config_document(build_script(name), "video.mp4", 608)


def broken(name: str, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(document(name))
    change(data["cameras"][0])
    return data


def test_the_scenario_configs_build_their_rules() -> None:
    for name in ("stop_line", "wrong_way"):
        (camera,) = parse_config(document(name), source=f"{name}.yaml").cameras
        assert [rule.type for rule in build_rules(camera)] == [name]


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "stop_line",
            lambda c: c["scene"].pop("stop_line"),
            "field (the camera entry): Value error, rules.0 (stop_line): needs scene.stop_line",
        ),
        (
            "stop_line",
            lambda c: c["scene"].update(signal_heads=[]),
            "rules.0 (stop_line): needs at least one scene.signal_heads entry",
        ),
        (
            "stop_line",
            lambda c: c["rules"][0].update(signal_head="left-arrow"),
            "rules.0 (stop_line): names signal head 'left-arrow', not among ['main']",
        ),
        (
            "stop_line",
            lambda c: c["rules"][0].update(max_stopped_s=0),
            "field rules.0.stop_line.max_stopped_s: Input should be greater than 0",
        ),
        (
            "stop_line",
            lambda c: c["rules"][0].update(line_margin_px=-5),
            "field rules.0.stop_line.line_margin_px",
        ),
        (
            "stop_line",
            lambda c: c["rules"][0].update(max_stoped_s=5),
            "field rules.0.stop_line.max_stoped_s: unknown key",
        ),
        (
            "stop_line",
            lambda c: c["scene"]["stop_line"].update(points=[[815, 300], [815, 800]]),
            "stop_line point (815, 800) is outside the 1280x720 image",
        ),
        (
            "stop_line",
            lambda c: c["scene"]["stop_line"].update(junction_side=[815, 500]),
            "field scene.stop_line: Value error, junction_side lies on the stop line",
        ),
        (
            "stop_line",
            lambda c: c["scene"]["crosswalks"][0].update(polygon=[[840, 300], [960, 300]]),
            "field scene.crosswalks.0.polygon: Value error, polygon needs at least 3",
        ),
        (
            "stop_line",
            lambda c: c["scene"]["crosswalks"][0].update(
                polygon=[[840, 300], [960, 690], [960, 300], [880, 600]]
            ),
            "field scene.crosswalks.0.polygon: Value error, polygon does not close cleanly",
        ),
        (
            "stop_line",
            lambda c: c["scene"]["crosswalks"][0].update(
                polygon=[[840, 300], [1300, 300], [1300, 690], [840, 690]]
            ),
            "crosswalk 'zebra' polygon point (1300, 300) is outside the 1280x720 image",
        ),
        (
            "wrong_way",
            lambda c: c["scene"].update(lanes=[]),
            "rules.0 (wrong_way): needs scene.lanes",
        ),
        (
            "wrong_way",
            lambda c: c["rules"][0].update(lanes=["near", "bus-lane"]),
            "rules.0 (wrong_way): lanes names unknown lanes ['bus-lane']",
        ),
        (
            "wrong_way",
            lambda c: c["scene"]["lanes"][1].update(directions=[]),
            "field scene.lanes.1.directions: Value error, lane has no direction of travel",
        ),
        (
            "wrong_way",
            lambda c: c["scene"]["lanes"][0].update(directions=[[[100, 462], [100, 462]]]),
            "field scene.lanes.0.directions: Value error, a direction arrow's tail and head",
        ),
        (
            "wrong_way",
            lambda c: c["scene"]["lanes"][0].update(polygon=[[0, 300], [1280, 300], [640, 300]]),
            "field scene.lanes.0.polygon: Value error, polygon does not close",
        ),
        (
            "wrong_way",
            lambda c: c["rules"][0].update(max_angle_deg=90),
            "field rules.0.wrong_way.max_angle_deg: Input should be greater than 90",
        ),
        (
            "wrong_way",
            lambda c: c["rules"][0].update(min_distance_px=0),
            "field rules.0.wrong_way.min_distance_px: Input should be greater than 0",
        ),
        (
            "wrong_way",
            lambda c: c["rules"][0].update(max_gap_s=-1),
            "field rules.0.wrong_way.max_gap_s",
        ),
    ],
)
def test_broken_scene_or_rule_is_refused_naming_camera_and_field(
    name: str, change: Any, expected: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(broken(name, change), source=f"{name}.yaml")
    message = str(excinfo.value)
    camera = f"scenario-{name.replace('_', '-')}"
    assert f"{name}.yaml: camera '{camera}'" in message
    assert expected in message, message
