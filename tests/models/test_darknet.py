from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models import weights
from models.darknet import DarknetDetector
from models.detections import CANONICAL_CLASSES, Detections
from models.detector import Detector


def _assert_same(a: Detections, b: Detections) -> None:
    assert a.class_names == b.class_names
    np.testing.assert_allclose(a.xyxy, b.xyxy, atol=1e-2)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)


def test_is_a_detector_with_traceable_weights(detector: DarknetDetector) -> None:
    assert isinstance(detector, Detector)
    assert detector.name == "yolov3-tiny"
    pinned = {f.filename: f.sha256 for f in weights.get_entry("yolov3-tiny").files}
    assert detector.model_sha256 == pinned["yolov3-tiny.weights"]


def test_every_darknet_model_loads_from_the_registry_and_finds_vehicles(
    darknet_model: tuple[str, Path], bus_image: np.ndarray, motorcycle_image: np.ndarray
) -> None:
    name, model_dir = darknet_model
    detector = DarknetDetector.from_registry(name, input_size=416)
    assert isinstance(detector, Detector) and detector.name == name
    # Built from the directory alone, it is still named after its own cfg.
    assert DarknetDetector(model_dir, runtime="opencv").name == name
    pinned = {f.filename: f.sha256 for f in weights.get_entry(name).files}
    assert detector.model_sha256 == pinned[f"{name}.weights"]
    bus, motorcycle = detector.detect([bus_image, motorcycle_image])
    assert "bus" in bus.class_names and "person" in bus.class_names
    assert "motorbike" in motorcycle.class_names


def test_bus_photo_has_a_bus_and_people(detector: DarknetDetector, bus_image: np.ndarray) -> None:
    [dets] = detector.detect([bus_image])
    names = dets.class_names
    assert "bus" in names
    assert names.count("person") >= 3
    bus = dets.xyxy[names.index("bus")]
    # The bus spans most of the photo's width.
    assert bus[2] - bus[0] > 0.6 * bus_image.shape[1]


def test_motorcycle_photo_has_a_motorbike(
    detector: DarknetDetector, motorcycle_image: np.ndarray
) -> None:
    [dets] = detector.detect([motorcycle_image])
    assert "motorbike" in dets.class_names
    assert "motorcycle" not in dets.class_names


def test_dog_photo_has_a_bicycle_and_a_vehicle_but_no_dog(
    detector: DarknetDetector, dog_image: np.ndarray
) -> None:
    [dets] = detector.detect([dog_image])
    assert "bicycle" in dets.class_names
    assert {"truck", "car"} & set(dets.class_names)
    # COCO classes outside the canonical set are dropped, not mapped.
    assert set(dets.class_names) <= set(CANONICAL_CLASSES)


@pytest.mark.parametrize("fixture", ["bus_image", "motorcycle_image", "dog_image"])
def test_boxes_are_sorted_inside_the_frame_and_above_threshold(
    detector: DarknetDetector, request: pytest.FixtureRequest, fixture: str
) -> None:
    image: np.ndarray = request.getfixturevalue(fixture)
    [dets] = detector.detect([image])
    assert len(dets) > 0
    height, width = image.shape[:2]
    assert (dets.xyxy[:, [0, 2]] >= 0).all() and (dets.xyxy[:, [0, 2]] <= width).all()
    assert (dets.xyxy[:, [1, 3]] >= 0).all() and (dets.xyxy[:, [1, 3]] <= height).all()
    assert (dets.xyxy[:, 2] > dets.xyxy[:, 0]).all() and (dets.xyxy[:, 3] > dets.xyxy[:, 1]).all()
    assert (dets.scores >= 0.25).all()
    assert (np.diff(dets.scores) <= 0).all()


def test_batch_equals_single_calls(
    detector: DarknetDetector, dog_image: np.ndarray, motorcycle_image: np.ndarray
) -> None:
    # Same size, so both really share one network batch.
    moto = cv2.resize(motorcycle_image, (dog_image.shape[1], dog_image.shape[0]))
    batch = detector.detect([dog_image, moto])
    assert len(batch) == 2
    _assert_same(batch[0], detector.detect([dog_image])[0])
    _assert_same(batch[1], detector.detect([moto])[0])
    assert batch[0].class_names != batch[1].class_names


def test_batch_of_mixed_sizes_equals_single_calls(
    detector: DarknetDetector, bus_image: np.ndarray, dog_image: np.ndarray
) -> None:
    batch = detector.detect([bus_image, dog_image, bus_image])
    assert len(batch) == 3
    _assert_same(batch[0], detector.detect([bus_image])[0])
    _assert_same(batch[1], detector.detect([dog_image])[0])
    _assert_same(batch[2], batch[0])
    assert detector.detect([]) == []


def test_boxes_follow_the_frame_scale(detector: DarknetDetector, dog_image: np.ndarray) -> None:
    [small] = detector.detect([dog_image])
    big_image = cv2.resize(dog_image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    [big] = detector.detect([big_image])
    bicycle_small = small.xyxy[small.class_names.index("bicycle")]
    bicycle_big = big.xyxy[big.class_names.index("bicycle")]
    np.testing.assert_allclose(bicycle_big, bicycle_small * 2, atol=12)


def test_class_confidence_overrides_the_default(
    yolov3_tiny_dir: Path, bus_image: np.ndarray
) -> None:
    strict = DarknetDetector(yolov3_tiny_dir, class_confidence={"person": 0.99, "bus": 0.01})
    [dets] = strict.detect([bus_image])
    assert "person" not in dets.class_names
    assert "bus" in dets.class_names


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_size": 400},
        {"input_size": 0},
        {"confidence": 1.5},
        {"nms_iou": -0.1},
        {"class_confidence": {"motorcycle": 0.3}},
    ],
)
def test_bad_settings_are_rejected(yolov3_tiny_dir: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DarknetDetector(yolov3_tiny_dir, **kwargs)  # type: ignore[arg-type]


def test_rejects_non_bgr_frames(detector: DarknetDetector) -> None:
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect([np.zeros((64, 64), dtype=np.uint8)])
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect([np.zeros((64, 64, 3), dtype=np.float32)])


def test_from_registry_without_pull_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAFFICCAM_HOME", str(tmp_path))
    with pytest.raises(weights.ModelMissingError, match="trafficcam models pull yolov3-tiny"):
        DarknetDetector.from_registry("yolov3-tiny")


def test_from_registry_after_pull(yolov3_tiny_dir: Path, bus_image: np.ndarray) -> None:
    detector = DarknetDetector.from_registry("yolov3-tiny", input_size=608)
    assert detector.input_size == 608
    [dets] = detector.detect([bus_image])
    assert dets.class_names.count("person") >= 3
