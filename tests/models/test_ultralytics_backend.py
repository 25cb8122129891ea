"""The Ultralytics backend on a real Ultralytics model from the registry (the YOLOv8n
plate detector): every export gives the PyTorch model's boxes, exports are cached by
the weights' hash, and the vocabulary maps onto canonical classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models import weights
from models.detections import Detections
from models.detector import Detector
from models.ultralytics_backend import VOCABULARY, UltralyticsDetector
from pipeline.geometry import box_iou
from tests.models.plate_samples import PlateSample, make_samples


@pytest.fixture(scope="module")
def plate_dir() -> Path:
    return weights.pull("plate-yolov8n")


@pytest.fixture(scope="module")
def scenes(bus_image: np.ndarray, motorcycle_image: np.ndarray) -> list[PlateSample]:
    return make_samples([bus_image[400:900, 0:810]], [motorcycle_image], 4, seed=11)


@pytest.mark.parametrize("export", ["pytorch", "openvino", "onnx"])
def test_every_export_finds_the_plates_pytorch_finds(
    plate_dir: Path, scenes: list[PlateSample], export: str
) -> None:
    reference = UltralyticsDetector.from_registry("plate-yolov8n", export="pytorch")
    detector = UltralyticsDetector.from_registry("plate-yolov8n", export=export)  # type: ignore[arg-type]
    assert detector.runtime == export
    assert detector.model_sha256 == reference.model_sha256
    frames = [s.scene for s in scenes]
    for ref, got, sample in zip(
        reference.boxes(frames, confidence=0.05),
        detector.boxes(frames, confidence=0.05),
        scenes,
        strict=True,
    ):
        assert ref.xyxy.shape[0] > 0, "the plate detector finds the pasted plate"
        assert box_iou(ref.xyxy[0], sample.box) > 0.4
        assert box_iou(got.xyxy[0], ref.xyxy[0]) > 0.9
        assert abs(float(got.scores[0]) - float(ref.scores[0])) < 0.05


def test_exports_are_cached_by_the_weights_hash(plate_dir: Path) -> None:
    detector = UltralyticsDetector.from_registry("plate-yolov8n", export="onnx")
    path = detector.exported(320)
    assert path.parent == weights.converted_dir(detector.model_sha256)
    stamp = path.stat().st_mtime_ns
    assert detector.exported(320).stat().st_mtime_ns == stamp
    # The registry directory holds only what was pulled.
    assert sorted(p.name for p in plate_dir.iterdir()) == [
        "SHA256SUMS",
        "license_plate_detector.pt",
    ]
    # An export loads as a model of its own.
    exported = UltralyticsDetector(path, input_size=320)
    assert exported.runtime == "onnx"


def test_vocabulary_maps_onto_canonical_classes(plate_dir: Path, scenes: list[PlateSample]) -> None:
    assert VOCABULARY["motorcycle"] == "motorbike"
    assert VOCABULARY["traffic light"] == "traffic_light"
    plain = UltralyticsDetector.from_registry("plate-yolov8n", export="pytorch")
    assert isinstance(plain, Detector)
    # `license_plate` is no canonical class: dropped unless mapped.
    assert all(len(d) == 0 for d in plain.detect([s.scene for s in scenes]))
    mapped = UltralyticsDetector.from_registry(
        "plate-yolov8n", export="pytorch", class_map={"license_plate": "car"}, confidence=0.05
    )
    found = mapped.detect([s.scene for s in scenes])
    assert all(isinstance(d, Detections) and set(d.class_names) == {"car"} for d in found)
    strict = UltralyticsDetector.from_registry(
        "plate-yolov8n",
        export="pytorch",
        class_map={"license_plate": "car"},
        confidence=0.05,
        class_confidence={"car": 0.99},
    )
    assert all(len(d) == 0 for d in strict.detect([s.scene for s in scenes]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_size": 300},
        {"class_map": {"license_plate": "lorry"}},
        {"class_confidence": {"van": 0.3}},
    ],
)
def test_bad_settings_are_rejected(plate_dir: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        UltralyticsDetector.from_registry("plate-yolov8n", export="pytorch", **kwargs)  # type: ignore[arg-type]


def test_missing_model_names_the_pull_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAFFICCAM_HOME", str(tmp_path))
    with pytest.raises(weights.ModelMissingError, match="trafficcam models pull plate-yolov8n"):
        UltralyticsDetector.from_registry("plate-yolov8n")
