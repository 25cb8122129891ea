"""Each Darknet model converted to ONNX gives OpenCV DNN's results in every runtime.

OpenCV 4.x reads the Darknet files itself, so it is the reference: for yolov4-tiny it
checks the channel-split routes and `scale_x_y` decoding as well as yolov3-tiny's layers.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models import weights
from models.darknet import DarknetDetector, converted_onnx
from models.darknet_net import decode_heads, heads_of
from models.runtimes import ONNX_RUNTIMES, available_runtimes, open_session, pick_runtime
from tests.models.box_matching import assert_keeps_confident_boxes

PHOTOS = ["bus_image", "motorcycle_image", "dog_image"]


@pytest.fixture(scope="module")
def opencv_detector(darknet_model: tuple[str, Path]) -> DarknetDetector:
    name, model_dir = darknet_model
    return DarknetDetector(model_dir, input_size=416, runtime="opencv", name=name)


def test_default_runtime_is_the_fastest_installed() -> None:
    assert available_runtimes()[-1] == "opencv"
    assert pick_runtime("auto") == available_runtimes()[0]
    assert pick_runtime("auto") in ONNX_RUNTIMES  # this project installs both


@pytest.mark.parametrize("photo", PHOTOS)
def test_onnx_rows_equal_opencv_dnn_rows(
    darknet_model: tuple[str, Path], request: pytest.FixtureRequest, photo: str
) -> None:
    image: np.ndarray = request.getfixturevalue(photo)
    name, model_dir = darknet_model
    cfg, darknet_weights = model_dir / f"{name}.cfg", model_dir / f"{name}.weights"
    blob = cv2.dnn.blobFromImages([cv2.resize(image, (416, 320))], 1 / 255.0, swapRB=True)
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(darknet_weights))
    net.setInput(blob)
    outs = net.forward(net.getUnconnectedOutLayersNames())
    ref = np.concatenate([o.reshape(1, -1, o.shape[-1]) for o in outs], 1)

    onnx = converted_onnx(cfg, darknet_weights, weights.file_sha256(darknet_weights))
    for runtime in ONNX_RUNTIMES:
        session = open_session(onnx, runtime, precision="f32")
        rows = decode_heads(session.run(blob), heads_of(cfg), (416, 320), 0.0)
        assert rows.shape == ref.shape
        np.testing.assert_allclose(rows[..., :5], ref[..., :5], atol=1e-3)
        # OpenCV zeroes class scores under its own floor; compare where it kept them.
        kept = ref[..., 5:] > 0
        assert kept.sum() > 0
        np.testing.assert_allclose(rows[..., 5:][kept], ref[..., 5:][kept], atol=1e-3)


@pytest.mark.parametrize("runtime", ONNX_RUNTIMES)
@pytest.mark.parametrize("photo", PHOTOS)
def test_detections_equal_opencv_dnn_in_f32(
    darknet_model: tuple[str, Path],
    opencv_detector: DarknetDetector,
    request: pytest.FixtureRequest,
    photo: str,
    runtime: str,
) -> None:
    image: np.ndarray = request.getfixturevalue(photo)
    detector = DarknetDetector(darknet_model[1], runtime=runtime, precision="f32")  # type: ignore[arg-type]
    assert detector.runtime == runtime
    [ref] = opencv_detector.detect([image])
    [got] = detector.detect([image])
    assert got.class_names == ref.class_names
    np.testing.assert_allclose(got.xyxy, ref.xyxy, atol=0.5)
    np.testing.assert_allclose(got.scores, ref.scores, atol=1e-3)


@pytest.mark.parametrize("photo", PHOTOS)
def test_default_precision_finds_what_opencv_finds(
    darknet_model: tuple[str, Path],
    opencv_detector: DarknetDetector,
    request: pytest.FixtureRequest,
    photo: str,
) -> None:
    # The default is INT8 on OpenVINO (with bf16 where the CPU has it): scores move a
    # little, so a box near the threshold may come or go, but the confident ones stay put.
    image: np.ndarray = request.getfixturevalue(photo)
    [ref] = opencv_detector.detect([image])
    [got] = DarknetDetector(darknet_model[1]).detect([image])
    assert_keeps_confident_boxes(ref, got, min_iou=0.9)


def test_conversion_is_cached_by_the_weights_hash(yolov3_tiny_dir: Path) -> None:
    cfg, darknet_weights = (
        yolov3_tiny_dir / "yolov3-tiny.cfg",
        yolov3_tiny_dir / "yolov3-tiny.weights",
    )
    sha = weights.file_sha256(darknet_weights)
    first = converted_onnx(cfg, darknet_weights, sha)
    assert first.parent == weights.converted_dir(sha)
    stamp = first.stat().st_mtime_ns
    DarknetDetector(yolov3_tiny_dir, runtime="onnxruntime")
    assert converted_onnx(cfg, darknet_weights, sha).stat().st_mtime_ns == stamp


def test_conversion_is_redone_for_other_weights(tmp_path: Path, yolov3_tiny_dir: Path) -> None:
    # Same network, weights perturbed: a new hash means a new conversion, never the
    # cached one of the original weights.
    cfg = yolov3_tiny_dir / "yolov3-tiny.cfg"
    data = bytearray((yolov3_tiny_dir / "yolov3-tiny.weights").read_bytes())
    data[-4:] = np.float32(0.5).tobytes()
    altered = tmp_path / "yolov3-tiny.weights"
    altered.write_bytes(bytes(data))
    original = converted_onnx(cfg, yolov3_tiny_dir / "yolov3-tiny.weights", "a" * 64)
    assert original.parent.name == "a" * 64
    other = converted_onnx(cfg, altered, weights.file_sha256(altered))
    assert other != original and other.read_bytes() != original.read_bytes()
    for path in (original, other):
        path.unlink()


def test_per_frame_input_size(yolov3_tiny_dir: Path, dog_image: np.ndarray) -> None:
    detector = DarknetDetector(yolov3_tiny_dir, input_size=416)
    at_608 = DarknetDetector(yolov3_tiny_dir, input_size=608)
    small, large = detector.detect([dog_image, dog_image], [416, 608])
    assert small == detector.detect([dog_image])[0]
    assert large == at_608.detect([dog_image])[0]
    assert small != large
    with pytest.raises(ValueError, match="multiple of 32"):
        detector.detect([dog_image], [400])
    with pytest.raises(ValueError, match="input sizes"):
        detector.detect([dog_image], [416, 608])


def test_converted_dir_takes_only_a_sha256() -> None:
    with pytest.raises(ValueError):
        weights.converted_dir("../../etc")


@pytest.mark.parametrize("runtime", ONNX_RUNTIMES)
def test_frames_in_uint8_give_what_the_float_blob_gives(
    yolov3_tiny_dir: Path, bus_image: np.ndarray, dog_image: np.ndarray, runtime: str
) -> None:
    # `run_images` converts inside the runtime (OpenVINO: in the compiled model); the
    # network must see exactly the blob `run` is given.
    cfg, darknet_weights = (
        yolov3_tiny_dir / "yolov3-tiny.cfg",
        yolov3_tiny_dir / "yolov3-tiny.weights",
    )
    onnx = converted_onnx(cfg, darknet_weights, weights.file_sha256(darknet_weights))
    session = open_session(onnx, runtime, precision="f32")  # type: ignore[arg-type]
    frames = np.stack([cv2.resize(image, (640, 384)) for image in (bus_image, dog_image)])
    blob = cv2.dnn.blobFromImages(list(frames), 1 / 255.0, swapRB=True)
    for got, ref in zip(session.run_images(frames), session.run(blob), strict=True):
        np.testing.assert_allclose(got, ref, atol=1e-3)
