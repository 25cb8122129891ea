"""INT8 versions of ONNX detectors for OpenVINO, made once on this machine.

Post-training quantisation with NNCF: activations' ranges are measured on a fixed set
of calibration frames, weights and activations of the convolutions become INT8, and
OpenVINO runs them on the CPU's integer dot-product units (AVX512-VNNI here), which
do twice the multiply-adds per instruction of bf16. On yolov3-tiny at 640x384 that
is the difference between 1.7x and 2.5-3x OpenCV DNN's speed (`bench/detect.py`).

Two convolutions stay in floating point: the first, which reads the image itself
(its 3 input channels cost little but rounding them cost the most boxes), and each
output head, whose raw values are the boxes and scores. With both kept, the INT8
model found 95-100 % of the f32 model's boxes on city CCTV and 99.5-100 % of those
scored 0.4 or more (bf16: 98-100 %; `bench/precision_agreement.py`); quantising
them as well lost 13 % of the boxes on the busiest clip.

The calibration frames are real photos that ship with installed packages
(Ultralytics' and scikit-image's sample images: a bus, people, motorbikes, cars),
placed at several scales and brightnesses on a 16:9 grey canvas like a CCTV frame
and letterboxed as the detector does. Nothing is downloaded. The result is cached
beside the ONNX conversion, keyed by the ONNX file's hash and `RECIPE`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models import weights

log = logging.getLogger(__name__)

RECIPE = "1"
"""Bump when the calibration frames or quantisation settings change: the cache key."""

_CANVAS_HW = (720, 1280)
_CANVAS_GREY = 90
_SCALES = (1.0, 0.6, 0.35)  # near, mid-distance and far vehicles
_GAINS = (1.0, 0.4)  # daylight and dusk
_PHOTOS = {
    "ultralytics": ("assets/bus.jpg", "assets/zidane.jpg"),
    "skimage": (
        "data/motorcycle_left.png",
        "data/motorcycle_right.png",
        "data/astronaut.png",
        "data/coffee.png",
        "data/chelsea.png",
        "data/rocket.jpg",
    ),
}


class QuantizationError(RuntimeError):
    """The INT8 model could not be made (NNCF or a calibration photo is missing)."""


def calibration_photos() -> list[Path]:
    """The photos the calibration frames are made from, from installed packages."""
    import importlib.util

    paths = []
    for package, names in _PHOTOS.items():
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise QuantizationError(f"calibration photos need the {package!r} package installed")
        root = Path(spec.origin).parent
        paths += [root / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise QuantizationError(f"calibration photos missing: {', '.join(missing)}")
    return paths


def calibration_frames() -> Iterator[np.ndarray]:
    """1280x720 BGR frames: each photo mirrored or not, at three scales, day and dusk."""
    for path in calibration_photos():
        photo = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if photo is None:
            raise QuantizationError(f"calibration photo {path} is unreadable")
        for mirrored in (False, True):
            source = cv2.flip(photo, 1) if mirrored else photo
            for scale in _SCALES:
                scaled = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                for gain in _GAINS:
                    canvas = np.full((*_CANVAS_HW, 3), _CANVAS_GREY, dtype=np.uint8)
                    h, w = min(_CANVAS_HW[0], scaled.shape[0]), min(_CANVAS_HW[1], scaled.shape[1])
                    canvas[:h, :w] = cv2.convertScaleAbs(scaled[:h, :w], alpha=gain)
                    yield canvas


def quantized_model(
    onnx_path: Path, to_blob: Callable[[np.ndarray, int], np.ndarray], input_sizes: tuple[int, ...]
) -> Path:
    """Return the INT8 OpenVINO model (`.xml`) of `onnx_path`, quantising on first use.

    Args:
        onnx_path: The float model (dynamic input shape, NCHW float32 RGB in [0, 1]).
        to_blob: Turns a BGR frame and an input long side into the network's input
            batch of one, exactly as the detector prepares frames.
        input_sizes: Input long sides to calibrate at, taken in turn: activation ranges
            do not depend on the shape, but the objects' sizes in pixels do.

    Returns:
        Path of the cached `.xml` (its weights beside it as `.bin`).

    Raises:
        QuantizationError: NNCF is not installed or calibration frames are missing.
    """
    onnx_sha = weights.file_sha256(onnx_path)[:16]
    target = onnx_path.with_name(f"{onnx_path.stem}-int8-{onnx_sha}-r{RECIPE}.xml")
    if target.is_file() and target.with_suffix(".bin").is_file():
        return target
    try:
        import nncf
        import openvino as ov
    except ImportError as exc:
        raise QuantizationError(
            f"INT8 needs NNCF and OpenVINO ({exc}); pip install nncf, or set precision: bf16"
        ) from None

    log.info("quantising %s to INT8 (once) into %s", onnx_path.name, target)
    model = ov.Core().read_model(str(onnx_path))
    samples = [
        to_blob(frame, input_sizes[i % len(input_sizes)])
        for i, frame in enumerate(calibration_frames())
    ]
    keep_float = float_convolutions(model)
    # NNCF logs and draws progress bars on stdout, which belongs to our commands'
    # output (`trafficcam eval --json`): keep its warnings, send the bars to stderr.
    nncf.set_log_level(logging.WARNING)
    with contextlib.redirect_stdout(sys.stderr):
        quantized = nncf.quantize(
            model,
            nncf.Dataset(samples),
            subset_size=len(samples),
            preset=nncf.QuantizationPreset.MIXED,
            ignored_scope=nncf.IgnoredScope(names=keep_float),
        )
    _save_atomically(ov, quantized, target)
    return target


def float_convolutions(model: Any) -> list[str]:
    """Names of the convolutions kept in floating point: those reading the input
    image and those producing an output (the detection heads)."""
    names: list[str] = []
    for parameter in model.get_parameters():
        names += _convolutions_after(parameter)
    for result in model.get_results():
        node = result.input_value(0).get_node()
        while node.get_type_name() != "Convolution" and node.get_input_size() > 0:
            node = node.input_value(0).get_node()  # through bias Add, Reshape, Transpose
        if node.get_type_name() == "Convolution":
            names.append(node.get_friendly_name())
    return sorted(set(names))


def _convolutions_after(node: Any) -> list[str]:
    """The first convolutions on every path from `node` (breadth first)."""
    found, frontier, seen = [], [node], set()
    while frontier:
        current = frontier.pop(0)
        for output in current.outputs():
            for target in output.get_target_inputs():
                consumer = target.get_node()
                name = consumer.get_friendly_name()
                if name in seen:
                    continue
                seen.add(name)
                if consumer.get_type_name() == "Convolution":
                    found.append(name)
                else:
                    frontier.append(consumer)
    return found


def _save_atomically(ov: Any, model: Any, target: Path) -> None:
    """Save `.bin` then `.xml` under temporary names and rename them into place, so a
    reader never finds an `.xml` whose weights are still being written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantizing-") as scratch:
        staged = Path(scratch) / target.name
        ov.save_model(model, str(staged), compress_to_fp16=False)
        os.replace(staged.with_suffix(".bin"), target.with_suffix(".bin"))
        os.replace(staged, target)
