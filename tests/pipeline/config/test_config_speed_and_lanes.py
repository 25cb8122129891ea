"""Config mistakes that would break speeding and restricted_lane are refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.config import ConfigError, parse_config
from tests.pipeline.config.test_scene_config import _set, load

# junction_overhead.yaml: rules.4 is restricted_lane, rules.5 is speeding.
BROKEN = [
    # (field changed, new value, words the error must contain)
    ("scene.speed_limits", [], ["rules.5 (speeding)", "scene.speed_limits"]),
    ("scene.calibration", None, ["rules.5 (speeding)", "scene.calibration"]),
    (
        "scene.speed_limits.1",
        {"limit_kmh": 40, "lanes": ["bus-lane"]},
        ["speed limit", "unknown lanes", "bus-lane"],
    ),
    ("scene.speed_limits.0.limit_kmh", 0, ["scene.speed_limits.0.limit_kmh"]),
    ("scene.speed_limits.1.classes", ["lorry"], ["speed_limits.1.classes", "lorry"]),
    ("scene.calibration.date", "last spring", ["scene.calibration.date"]),
    ("scene.calibration.id", None, ["scene.calibration.id"]),
    ("rules.5.tolerance_kmh", -2, ["rules.5", "tolerance_kmh"]),
    ("rules.5.window_s", 0, ["rules.5", "window_s"]),
    ("rules.5.min_frames_over", 0, ["rules.5", "min_frames_over"]),
    ("rules.5.tolrance_kmh", 5, ["rules.5", "tolrance_kmh"]),
    ("rules.4.lanes", ["hard-shoulder"], ["rules.4 (restricted_lane)", "hard-shoulder"]),
    ("rules.4.min_duration_s", -1, ["rules.4", "min_duration_s"]),
    ("rules.4.max_gap_s", -0.5, ["rules.4", "max_gap_s"]),
    (
        "scene.lanes.1.restrictions.0.classes",
        ["lorry"],
        ["lanes.1.restrictions.0.classes", "lorry"],
    ),
    (
        "scene.lanes.1.restrictions.0.windows.0",
        {"start": "07:00", "end": "07:00"},
        ["restrictions.0.windows.0", "start and end are the same"],
    ),
    (
        "scene.lanes.1.restrictions.0.windows.0",
        {"start": "06:00", "end": "21:00", "days": ["monday"]},
        ["restrictions.0.windows.0.days"],
    ),
    ("scene.lanes.3.allowed_classes", [], ["scene.lanes.3.allowed_classes"]),
    (
        "source",
        {"url": "rtsp://127.0.0.1:8554/kimma-01", "recorded_at": "2026-05-04T07:45:00+07:00"},
        ["source", "recorded_at is for video files"],
    ),
    (
        "source",
        {"url": "kimma.mp4", "recorded_at": "2026-05-04T07:45:00"},
        ["source.recorded_at", "timezone"],
    ),
]


@pytest.mark.parametrize(("field", "value", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_speed_or_lane_config_is_refused_naming_camera_and_field(
    field: str, value: Any, words: list[str]
) -> None:
    data = _set(load("junction_overhead.yaml"), field, value)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="junction_overhead.yaml")
    message = str(caught.value)
    assert "camera 'hn-kim-ma-01'" in message, message
    for word in words:
        assert word in message, message


def test_restricted_lane_needs_lanes() -> None:
    data = load("junction_overhead.yaml")
    camera = data["cameras"][0]
    camera["scene"]["lanes"] = []
    camera["scene"]["signal_heads"] = [{"id": "through", "region": [1010, 40, 1060, 170]}]
    camera["scene"]["speed_limits"] = [{"limit_kmh": 50}]
    camera["rules"] = [{"type": "restricted_lane"}]
    with pytest.raises(ConfigError, match=r"rules\.0 \(restricted_lane\): needs scene.lanes"):
        parse_config(data)


def test_a_file_with_its_recording_time_validates() -> None:
    data = _set(
        load("junction_overhead.yaml"),
        "source",
        {"url": "kimma.mp4", "recorded_at": "2026-05-04T07:45:00+07:00"},
    )
    source = parse_config(data).cameras[0].source
    assert source.recorded_at is not None and source.recorded_at.utcoffset() is not None
    assert source.recorded_at.isoformat() == "2026-05-04T07:45:00+07:00"
