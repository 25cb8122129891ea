"""Scene configs: real-looking layouts validate; each kind of mistake is named.

The YAML files under `scene_configs/` describe cameras as an operator would set
them up. Broken variants are made by changing one field of a valid file, and the
error must name the file, the camera and that field.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.config import ConfigError, parse_config
from pipeline.runtime.scene import SceneGeometry, window_open

CONFIGS = Path(__file__).parents[1] / "scene_configs"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((CONFIGS / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_real_looking_layouts_validate(name: str) -> None:
    config = parse_config(load(name), source=name)
    for camera in config.cameras:
        assert camera.rules, f"{name}: camera {camera.id} checks nothing"
        assert len(camera.scene_version) == 64


def test_example_configs_for_the_shared_footage_validate() -> None:
    examples = sorted((Path(__file__).parents[3] / "examples" / "footage").glob("*.yaml"))
    assert examples
    for path in examples:
        parse_config(yaml.safe_load(path.read_text()), source=str(path), base=path.parent)


def test_scene_version_changes_with_the_scene_only() -> None:
    data = load("junction_overhead.yaml")
    first = parse_config(data).cameras[0].scene_version
    renamed = copy.deepcopy(data)
    renamed["cameras"][0]["name"] = "Another display name"
    assert parse_config(renamed).cameras[0].scene_version == first
    moved = copy.deepcopy(data)
    moved["cameras"][0]["scene"]["stop_line"]["points"][0] = [262, 640]
    assert parse_config(moved).cameras[0].scene_version != first


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(data)
    node: Any = broken["cameras"][0]
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return broken


BROKEN = [
    # (field changed, new value, words the error must contain)
    (
        "scene.lanes.0.polygon",
        [[600, 660], [860, 662], [600, 660]],
        ["scene.lanes.0.polygon", "3 distinct vertices"],
    ),
    (
        "scene.lanes.1.polygon",
        [[860, 662], [1120, 665], [820, 1080], [1260, 1080]],
        ["scene.lanes.1.polygon", "does not close"],
    ),
    (
        "scene.zones.0.polygon",
        [[10, 10], [20, 20], [30, 30]],
        ["scene.zones.0.polygon", "no area"],
    ),
    (
        "scene.stop_line.points",
        [[260, 640], [1990, 660]],
        ["scene", "stop_line", "outside the 1920x1080 image"],
    ),
    ("scene.lanes.2.directions", [], ["scene.lanes.2.directions", "no direction"]),
    (
        "scene.calibration.image_points",
        [[100, 100], [200, 200], [300, 300], [400, 400]],
        ["scene.calibration", "collinear"],
    ),
    (
        "scene.calibration.ground_points",
        [[0, 0], [1, 0], [2, 0], [14, 25]],
        ["scene.calibration", "collinear"],
    ),
    (
        "scene.calibration.image_points",
        [[600, 660], [1380, 668], [380, 1080], [1700, 1080], [990, 860]],
        ["scene.calibration", "5 image points but 4 ground points"],
    ),
    ("scene.lanes.0.allowed_classes", ["car", "tank"], ["allowed_classes", "tank"]),
    (
        "scene.lanes.1.restrictions.0.windows.0.start",
        "25:00",
        ["restrictions.0.windows.0.start"],
    ),
    ("scene.signal_heads.1.lanes", ["bus-only"], ["signal head 'right-arrow'", "bus-only"]),
    ("rules.0.signal_head", "nowhere", ["rules.0 (red_light)", "nowhere"]),
    ("rules.1.exempt_lanes", ["hard-shoulder"], ["rules.1 (red_light)", "hard-shoulder"]),
    ("timezone", "Asia/Hanoi_City", ["timezone", "Asia/Hanoi_City"]),
    ("scene.zones.0.max_dwell_s", 0, ["scene.zones.0.max_dwell_s"]),
    ("scene.zones.0.kind", "no_loitering", ["scene.zones.0.kind"]),
]


@pytest.mark.parametrize(("field", "value", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_scene_is_refused_naming_camera_and_field(
    field: str, value: Any, words: list[str]
) -> None:
    data = _set(load("junction_overhead.yaml"), field, value)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="junction_overhead.yaml")
    message = str(caught.value)
    assert "junction_overhead.yaml" in message
    assert "camera 'hn-kim-ma-01'" in message
    for word in words:
        assert word in message, message


def test_rules_need_what_they_measure_in_the_scene() -> None:
    data = load("kerbside_street.yaml")
    data["cameras"][0]["rules"].append({"type": "speeding"})
    with pytest.raises(ConfigError, match=r"rules\.3 \(speeding\): needs scene.calibration"):
        parse_config(data)
    data = load("kerbside_street.yaml")
    data["cameras"][0]["rules"][0]["zones"] = ["kerb-west"]
    with pytest.raises(ConfigError, match=r"kerb-west.*not no_stopping zones"):
        parse_config(data)


def test_geometry_answers_lane_limit_and_time_window_questions() -> None:
    camera = parse_config(load("junction_overhead.yaml")).cameras[0]
    geometry = SceneGeometry(camera.scene, camera.timezone)
    lane = geometry.lane_at((1000, 900))
    assert lane is not None and lane.id == "straight"
    assert geometry.lane_at((50, 50)) is None
    assert geometry.speed_limit_kmh("straight", "car") == 50
    assert geometry.speed_limit_kmh("straight", "truck") == 40
    # 10:00 in Hanoi is 03:00 UTC; 23:00 in Hanoi is 16:00 UTC.
    morning = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    night = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert not geometry.class_allowed(lane, "truck", morning)
    assert geometry.class_allowed(lane, "truck", night)
    assert not geometry.class_allowed(lane, "motorbike", night)
    # Driving up the image is with the lane; down the image is against it.
    assert not geometry.against_lane(lane, (0, -30), 120)
    assert geometry.against_lane(lane, (0, 30), 120)
    ground = geometry.to_ground((380, 1080))
    assert ground is not None and abs(ground[0]) < 0.01 and abs(ground[1]) < 0.01


def test_overnight_window_belongs_to_the_day_it_starts() -> None:
    data = load("junction_overhead.yaml")
    window = {"start": "22:00", "end": "05:00", "days": ["fri"]}
    data["cameras"][0]["scene"]["lanes"][1]["restrictions"][0]["windows"] = [window]
    camera = parse_config(data).cameras[0]
    windows = camera.scene.lane("straight").restrictions[0].windows
    # Friday 23:30 and Saturday 04:00 in Hanoi are in; Saturday 23:30 is not.
    fri_late = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    sat_early = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    sat_late = datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    assert window_open(windows, fri_late, camera.timezone)
    assert window_open(windows, sat_early, camera.timezone)
    assert not window_open(windows, sat_late, camera.timezone)
