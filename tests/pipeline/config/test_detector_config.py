"""Detector settings: backend/runtime choice, per-class thresholds, batching, per-camera size."""

from __future__ import annotations

from typing import Any

import pytest

from models import weights
from pipeline.cli.run import build_detector
from pipeline.config import ConfigError, parse_config
from tests.pipeline.config.test_config import camera


def config(detector: dict[str, Any] | None = None, **camera_overrides: Any) -> Any:
    data: dict[str, Any] = {"cameras": [camera(**camera_overrides)]}
    if detector is not None:
        data["detector"] = detector
    return parse_config(data, source="t.yaml")


def test_defaults_pick_the_fastest_darknet_runtime() -> None:
    settings = config().detector
    assert (settings.backend, settings.runtime, settings.model) == (
        "darknet",
        "auto",
        "yolov4-tiny",
    )
    detector = build_detector(config())
    assert detector.runtime in ("openvino", "onnxruntime")


@pytest.mark.parametrize(
    ("detector", "message"),
    [
        ({"runtime": "pytorch"}, "does not run a darknet model"),
        ({"backend": "ultralytics", "runtime": "opencv"}, "does not run a ultralytics model"),
        ({"runtime": "tensorrt"}, "runtime"),
        ({"class_confidence": {"motorcycle": 0.3}}, "unknown class 'motorcycle'"),
        ({"class_confidence": {"person": 1.5}}, "between 0 and 1"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_wait_ms": -1}, "max_wait_ms"),
        ({"input_szie": 416}, "unknown key"),
    ],
)
def test_bad_detector_settings_name_the_field(detector: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(detector)


def test_camera_input_size_must_be_a_multiple_of_32() -> None:
    assert config(detector_input_size=608).cameras[0].detector_input_size == 608
    with pytest.raises(ConfigError, match="camera 'cam-1', field detector_input_size"):
        config(detector_input_size=600)


def test_ultralytics_backend_is_built_from_the_registry() -> None:
    weights.pull("plate-yolov8n")  # cheap when already there
    detector = build_detector(
        config(
            {
                "backend": "ultralytics",
                "model": "plate-yolov8n",
                "runtime": "pytorch",
                "class_map": {"license_plate": "car"},
                "input_size": 640,
            }
        )
    )
    assert detector.name == "plate-yolov8n" and detector.runtime == "pytorch"
