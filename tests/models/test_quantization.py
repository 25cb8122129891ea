"""The INT8 model: made once from real photos, cached, and finding what f32 finds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from models import weights
from models.darknet import DarknetDetector, converted_onnx
from models.quantization import calibration_frames, float_convolutions, quantized_model
from tests.models.box_matching import assert_keeps_confident_boxes

PHOTOS = ["bus_image", "motorcycle_image", "dog_image"]


def _onnx(model_dir: Path, name: str = "yolov3-tiny") -> Path:
    darknet_weights = model_dir / f"{name}.weights"
    return converted_onnx(
        model_dir / f"{name}.cfg", darknet_weights, weights.file_sha256(darknet_weights)
    )


def _op_types(xml: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for op in ov.Core().read_model(str(xml)).get_ops():
        counts[op.get_type_name()] = counts.get(op.get_type_name(), 0) + 1
    return counts


@pytest.fixture(scope="module")
def int8_detector(darknet_model: tuple[str, Path]) -> DarknetDetector:
    return DarknetDetector(darknet_model[1], input_size=416, runtime="openvino", precision="int8")


@pytest.fixture(scope="module")
def f32_detector(darknet_model: tuple[str, Path]) -> DarknetDetector:
    return DarknetDetector(darknet_model[1], input_size=416, runtime="openvino", precision="f32")


def test_calibration_frames_are_cctv_sized_real_photos() -> None:
    frames = list(calibration_frames())
    # 8 photos x mirrored or not x 3 scales x day and dusk.
    assert len(frames) == 96
    assert all(f.shape == (720, 1280, 3) and f.dtype == np.uint8 for f in frames)
    # Not blank canvases: every frame holds a photo, and dusk frames are darker.
    assert min(int((f != 90).any(axis=2).sum()) for f in frames) > 10_000
    assert frames[1].mean() < frames[0].mean()


# Per model, the cfg layers of the first convolution and of the two 255-channel heads.
FLOAT_LAYERS = {"yolov3-tiny": (0, 15, 22), "yolov4-tiny": (0, 29, 36)}


def test_the_image_reading_convolution_and_the_heads_stay_float(
    darknet_model: tuple[str, Path],
) -> None:
    name, model_dir = darknet_model
    model = ov.Core().read_model(str(_onnx(model_dir, name)))
    names = float_convolutions(model)
    # Found from the graph, not by name: the convolutions fed by the input and those
    # feeding an output, whatever the network looks like in between.
    assert names == sorted(f"/blocks.{i}/conv/Conv/WithoutBiases" for i in FLOAT_LAYERS[name])


def test_default_openvino_detector_runs_a_quantised_model(
    darknet_model: tuple[str, Path],
) -> None:
    name, model_dir = darknet_model
    detector = DarknetDetector(model_dir, runtime="openvino")
    assert detector.precision == "int8"
    onnx = _onnx(model_dir, name)
    [xml] = onnx.parent.glob(f"{onnx.stem}-int8-*.xml")
    ops = _op_types(xml)
    # All convolutions but the three kept float are quantised (yolov3-tiny: 10 of 13,
    # yolov4-tiny: 18 of 21); each gets at least its weights' FakeQuantize.
    quantised = _op_types(onnx)["Convolution"] - len(FLOAT_LAYERS[name])
    assert quantised >= 10
    assert ops.get("FakeQuantize", 0) >= quantised
    assert "FakeQuantize" not in _op_types(onnx)


def test_quantisation_is_done_once_and_cached_beside_the_onnx(
    tmp_path: Path, yolov3_tiny_dir: Path
) -> None:
    onnx = shutil.copy(_onnx(yolov3_tiny_dir), tmp_path / "net.onnx")
    to_blob = DarknetDetector._calibration_blob
    first = quantized_model(Path(onnx), to_blob, (416,))
    assert first.parent == tmp_path and first.with_suffix(".bin").is_file()
    stamp = first.stat().st_mtime_ns
    assert quantized_model(Path(onnx), to_blob, (416,)) == first
    assert first.stat().st_mtime_ns == stamp
    # Nothing half-written is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["net.onnx", first.name, first.with_suffix(".bin").name]
    )


# How far INT8 may move the best score of a photo. yolov4-tiny's deeper stack rounds
# more: its best score on dog.jpg moves by 0.14 (yolov3-tiny's by under 0.1), while
# both keep every box f32 scores >= 0.4 there.
SCORE_DRIFT = {"yolov3-tiny": 0.1, "yolov4-tiny": 0.2}


@pytest.mark.parametrize("photo", PHOTOS)
def test_int8_finds_the_confident_boxes_f32_finds(
    darknet_model: tuple[str, Path],
    int8_detector: DarknetDetector,
    f32_detector: DarknetDetector,
    request: pytest.FixtureRequest,
    photo: str,
) -> None:
    image: np.ndarray = request.getfixturevalue(photo)
    [ref] = f32_detector.detect([image])
    [got] = int8_detector.detect([image])
    assert_keeps_confident_boxes(ref, got, min_iou=0.8)
    # Rounded, not rebuilt: scores of the matched boxes stay close.
    drift = abs(float(got.scores.max()) - float(ref.scores.max()))
    assert drift < SCORE_DRIFT[darknet_model[0]]


def test_int8_is_refused_where_it_cannot_run(yolov3_tiny_dir: Path) -> None:
    for runtime in ("onnxruntime", "opencv"):
        with pytest.raises(
            ValueError, match=f"int8 runs on OpenVINO only, not runtime '{runtime}'"
        ):
            DarknetDetector(yolov3_tiny_dir, runtime=runtime, precision="int8")  # type: ignore[arg-type]


def test_other_runtimes_report_f32(yolov3_tiny_dir: Path) -> None:
    assert DarknetDetector(yolov3_tiny_dir, runtime="opencv").precision == "f32"
    assert DarknetDetector(yolov3_tiny_dir, runtime="onnxruntime").precision == "f32"
    detector = DarknetDetector(yolov3_tiny_dir, runtime="openvino", precision="bf16")
    assert detector.precision == "bf16"
