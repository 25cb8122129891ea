"""CPU inference runtimes for ONNX models: OpenVINO and ONNX Runtime behind one call.

Measured on this project's 2-core machines (see `bench/detect.py`), OpenVINO runs
YOLO-class networks about twice as fast as ONNX Runtime, and ONNX Runtime about twice
as fast as OpenCV DNN, so `auto` picks them in that order, by what is installed.

Example:
    >>> session = open_session(Path("model.onnx"), "auto")
    >>> outputs = session.run(blob)  # blob: (N, 3, H, W) float32
"""

from __future__ import annotations

import importlib.util
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np

OnnxRuntimeName = Literal["openvino", "onnxruntime"]
RuntimeName = Literal["auto", "openvino", "onnxruntime", "opencv"]
Precision = Literal["auto", "f32", "bf16", "int8"]
"""`int8` is a quantised model (`models.quantization`); the others are OpenVINO's
inference precision for a float model."""

ONNX_RUNTIMES: tuple[OnnxRuntimeName, ...] = ("openvino", "onnxruntime")
"""Runtimes that run an ONNX file, fastest first."""

_MODULES = {"openvino": "openvino", "onnxruntime": "onnxruntime", "opencv": "cv2"}
_COMPILED_SHAPES = 16  # OpenVINO models compiled per input shape; cameras x batch sizes


def usable_cpus() -> int:
    """Return the number of CPUs this process may run on (respects affinity masks)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def is_available(runtime: str) -> bool:
    """True when the Python package behind `runtime` is installed."""
    module = _MODULES.get(runtime)
    return module is not None and importlib.util.find_spec(module) is not None


def available_runtimes() -> list[str]:
    """Installed runtimes, fastest first (`opencv` last)."""
    return [r for r in (*ONNX_RUNTIMES, "opencv") if is_available(r)]


def pick_runtime(runtime: RuntimeName) -> str:
    """Resolve `auto` to the fastest installed runtime; check an explicit choice.

    Raises:
        RuntimeError: If the requested runtime's package is not installed.
    """
    if runtime == "auto":
        return available_runtimes()[0]
    if not is_available(runtime):
        raise RuntimeError(f"runtime {runtime!r} is not installed (pip install {runtime})")
    return runtime


class Session(Protocol):
    """A loaded ONNX model: one input, outputs in the model's order."""

    runtime: str

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        """Run an (N, 3, H, W) float32 batch; return every output."""
        ...

    def run_images(self, images: np.ndarray) -> list[np.ndarray]:
        """Run an (N, H, W, 3) uint8 BGR batch as `run` would run it scaled to [0, 1]
        and in RGB; return every output."""
        ...


class OnnxRuntimeSession:
    """ONNX Runtime on the CPU; dynamic input shapes need no recompilation."""

    runtime = "onnxruntime"

    def __init__(self, onnx_path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or usable_cpus()
        options.log_severity_level = 3  # its shape-inference warnings are not actionable
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(o) for o in self._session.run(None, {self._input: blob})]

    def run_images(self, images: np.ndarray) -> list[np.ndarray]:
        return self.run(cv2.dnn.blobFromImages(list(images), 1 / 255.0, swapRB=True))


class OpenVinoSession:
    """OpenVINO on the CPU, one compiled model per input shape.

    Static shapes: OpenVINO's CPU plugin runs a shape it was compiled for markedly
    faster than a dynamic one, and a camera's frames all have one shape.

    `run_images` takes the frames as they are (uint8, BGR, channels last): OpenVINO
    converts, scales and transposes them inside the compiled model, fused with the first
    convolution, instead of a float32 copy of the batch being made in NumPy first. At
    640x384 that is about a millisecond of the 20 per frame here.

    `model_path` is an ONNX file or an OpenVINO `.xml` (an INT8 model from
    `models.quantization`, whose layers left in floating point follow `precision`).

    Precision `auto` is OpenVINO's own choice: bf16 on CPUs with native bf16 units
    (AVX512-BF16, AMX), which runs yolov3-tiny about 1.8x faster than f32 here and
    moves scores by about a percent; `f32` gives the other runtimes' numbers exactly.
    """

    runtime = "openvino"

    def __init__(
        self, model_path: Path, threads: int | None = None, precision: Precision = "auto"
    ) -> None:
        import openvino as ov

        self._core = ov.Core()
        self._model = self._core.read_model(str(model_path))
        self._config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads or usable_cpus(),
        }
        if precision == "int8":
            raise ValueError("int8 is a quantised model, not a precision hint: open its .xml")
        if precision != "auto":
            self._config["INFERENCE_PRECISION_HINT"] = precision
        self._compiled: OrderedDict[tuple[bool, tuple[int, ...]], Any] = OrderedDict()

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        return self._infer(blob, images=False)

    def run_images(self, images: np.ndarray) -> list[np.ndarray]:
        return self._infer(np.ascontiguousarray(images), images=True)

    def _infer(self, batch: np.ndarray, images: bool) -> list[np.ndarray]:
        key = (images, tuple(batch.shape))
        request = self._compiled.get(key)
        if request is None:
            request = self._compile(key[1], images).create_infer_request()
            self._compiled[key] = request
            if len(self._compiled) > _COMPILED_SHAPES:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        results = request.infer({0: batch})
        # Copies: the request reuses its output buffers on the next call.
        return [np.array(results[i]) for i in range(len(self._model.outputs))]

    def _compile(self, shape: tuple[int, ...], images: bool) -> Any:
        """Compile for one input shape: NCHW float32, or NHWC uint8 BGR frames."""
        from openvino import Layout, Type
        from openvino.preprocess import ColorFormat, PrePostProcessor

        model = self._model.clone()
        n, h, w, c = shape if images else (shape[0], shape[2], shape[3], shape[1])
        model.reshape({model.inputs[0].get_any_name(): [n, c, h, w]})
        if images:
            ppp = PrePostProcessor(model)
            tensor = ppp.input().tensor()
            tensor.set_element_type(Type.u8).set_layout(Layout("NHWC"))
            tensor.set_color_format(ColorFormat.BGR)
            ppp.input().model().set_layout(Layout("NCHW"))
            steps = ppp.input().preprocess()
            steps.convert_element_type(Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
            model = ppp.build()
        return self._core.compile_model(model, "CPU", self._config)


def open_session(
    onnx_path: Path,
    runtime: OnnxRuntimeName,
    threads: int | None = None,
    precision: Precision = "auto",
) -> Session:
    """Load an ONNX file in the named runtime.

    Args:
        onnx_path: The model.
        runtime: `openvino` or `onnxruntime`.
        threads: Inference threads; None uses every CPU this process may run on.
        precision: OpenVINO's inference precision (see `OpenVinoSession`); ONNX
            Runtime always computes in f32.

    Returns:
        A session whose `run` takes a float32 NCHW batch.
    """
    if runtime == "openvino":
        return OpenVinoSession(onnx_path, threads, precision)
    if runtime == "onnxruntime":
        return OnnxRuntimeSession(onnx_path, threads)
    raise ValueError(f"{runtime!r} does not run ONNX files; use one of {ONNX_RUNTIMES}")
