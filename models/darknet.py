"""Darknet YOLO detector (yolov3-tiny or yolov4-tiny from the registry) on OpenVINO,
ONNX Runtime or OpenCV DNN.

OpenCV 4.x reads Darknet `.cfg`/`.weights` directly (OpenCV 5 dropped the reader) but
is the slowest CPU runtime here. The default (`runtime="auto"`) converts the network
to ONNX once (`models.darknet_net`, cached by the weights' SHA-256 under the registry
home) and runs it in the fastest installed runtime (`models.runtimes`); `opencv` needs
neither PyTorch nor a conversion.

Example:
    >>> detector = DarknetDetector.from_registry("yolov3-tiny", input_size=608)
    >>> [dets] = detector.detect([frame])
    >>> dets.select(dets.class_ids == class_id("motorbike"))
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models import weights
from models.detections import CANONICAL_CLASSES, Detections
from models.quantization import QuantizationError, quantized_model
from models.runtimes import (
    Precision,
    RuntimeName,
    Session,
    open_session,
    pick_runtime,
    usable_cpus,
)

log = logging.getLogger(__name__)

COCO_TO_CANONICAL: dict[str, str] = {
    "car": "car",
    "motorbike": "motorbike",
    "bus": "bus",
    "truck": "truck",
    "bicycle": "bicycle",
    "person": "person",
    "traffic light": "traffic_light",
}
"""Darknet COCO names kept by the detector; every other class is dropped."""

_CFG_SUFFIX = ".cfg"
_WEIGHTS_SUFFIX = ".weights"
_NAMES_FILE = "coco.names"
_STRIDE = 32  # coarsest YOLO output grid: input sides must be multiples of it
_PAD_VALUE = 127  # Darknet pads letterboxes with mid-grey
_CALIBRATION_SIZES = (416, 608, 640)  # input sizes cameras use; INT8 ranges cover all


class DarknetDetector:
    """YOLO (Darknet format) detector implementing the `Detector` protocol.

    Frames are letterboxed (aspect kept, grey padding) to an input whose long side is
    `input_size` and whose short side fits the frame's aspect; boxes are mapped back to
    each frame's own pixels.

    One instance holds one network, which is not safe to call from several threads at
    once: share it by batching frames into one `detect` call.

    Attributes:
        name: Registry name of the model.
        model_sha256: SHA-256 of the `.weights` file.
        input_size: Default long side of the network input in pixels (a multiple of 32).
        runtime: The runtime in use: `openvino`, `onnxruntime` or `opencv`.
        precision: What the network computes in: `int8` (a quantised model), `f32`,
            or, with OpenVINO, `bf16` or `auto` (OpenVINO's choice).
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        input_size: int = 416,
        confidence: float = 0.25,
        class_confidence: Mapping[str, float] | None = None,
        nms_iou: float = 0.45,
        name: str | None = None,
        num_threads: int | None = None,
        runtime: RuntimeName = "auto",
        precision: Precision = "auto",
    ) -> None:
        """Load the network from a model directory.

        Args:
            model_dir: Directory holding one `.cfg`, one `.weights` and `coco.names`
                (as `models.weights.resolve` returns).
            input_size: Long side of the network input; larger finds smaller objects, more slowly
                (608 finds about twice the motorbikes of 416 on city CCTV).
            confidence: Minimum class score kept, for classes not in `class_confidence`.
            class_confidence: Per canonical class minimum score, e.g. `{"person": 0.4}`.
            nms_iou: IoU above which a lower-scoring box of the same class is suppressed.
            name: Registry name recorded in evidence; None uses the cfg file's stem
                (`yolov4-tiny` for `yolov4-tiny.cfg`), which the registry's models match.
            num_threads: Inference threads (OpenCV's setting is process-wide); None
                uses every CPU this process may run on.
            runtime: `auto` (fastest installed), `openvino`, `onnxruntime` or `opencv`.
                The ONNX runtimes convert the model on first use (a few seconds, with
                PyTorch) and reuse the conversion afterwards.
            precision: With OpenVINO: `auto` or `int8` run an INT8 model quantised once
                on this machine (`models.quantization`; about 1.4x faster than bf16 and
                2.5-3x OpenCV DNN at 640, keeping 95-100 % of the f32 boxes), `bf16` the
                float model in bf16 where the CPU has native bf16 (about 1.8x faster than
                f32), `f32` the exact float model. `auto` falls back to OpenVINO's own
                choice (bf16 or f32) if quantising fails. ONNX Runtime and OpenCV DNN
                always compute in f32 and refuse `int8`.

        Raises:
            ValueError: For a bad `input_size`, threshold or class name.
            FileNotFoundError: If the directory lacks a model file.
        """
        _check_input_size(input_size)
        if not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in [0, 1], got {nms_iou}")
        cfg, weights_path, names_path = _model_files(Path(model_dir))

        self.name = name if name is not None else cfg.stem
        self.model_sha256 = weights.file_sha256(weights_path)
        self.input_size = input_size
        self.nms_iou = nms_iou
        self._set_class_filters(names_path, confidence, class_confidence)
        self._open_network(cfg, weights_path, num_threads, runtime, precision)

    def _set_class_filters(
        self,
        names_path: Path,
        confidence: float,
        class_confidence: Mapping[str, float] | None,
    ) -> None:
        """Per network column: the canonical class it maps to and the score it needs."""
        coco_names = [line.strip() for line in names_path.read_text().splitlines() if line.strip()]
        # Column -> canonical id (-1 for dropped classes), and column -> score threshold,
        # so filtering a frame is two vectorised lookups instead of a per-row dict walk.
        self._canonical = np.array(
            [
                CANONICAL_CLASSES.index(COCO_TO_CANONICAL[n]) if n in COCO_TO_CANONICAL else -1
                for n in coco_names
            ],
            dtype=np.int64,
        )
        thresholds = _class_thresholds(confidence, class_confidence)
        self._min_score = np.array(
            [thresholds[c] if c >= 0 else np.inf for c in self._canonical], dtype=np.float32
        )
        self._lowest_threshold = float(min(thresholds))

    def _open_network(
        self,
        cfg: Path,
        weights_path: Path,
        num_threads: int | None,
        runtime: RuntimeName,
        precision: Precision,
    ) -> None:
        """Pick the runtime and load the network into it (converting it for ONNX runtimes)."""
        threads = num_threads if num_threads is not None else usable_cpus()
        self.runtime = pick_runtime(runtime)
        if precision == "int8" and self.runtime != "openvino":
            raise ValueError(f"precision int8 runs on OpenVINO only, not runtime {self.runtime!r}")
        self.precision: Precision = "f32" if self.runtime != "openvino" else precision
        self._session: Session | None = None
        if self.runtime == "opencv":
            cv2.setNumThreads(threads)
            self._net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights_path))
            self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
            self._outputs = list(self._net.getUnconnectedOutLayersNames())
        else:
            # Imported here: PyTorch is needed only to convert, never with `opencv`.
            from models.darknet_net import heads_of

            onnx_path = converted_onnx(cfg, weights_path, self.model_sha256)
            model_path, self.precision = self._model_for(onnx_path, precision)
            session_precision: Precision = "auto" if self.precision == "int8" else precision
            self._session = open_session(model_path, self.runtime, threads, session_precision)  # type: ignore[arg-type]
            self._heads = heads_of(cfg)

    def _model_for(self, onnx_path: Path, precision: Precision) -> tuple[Path, Precision]:
        """The model file to run and the precision it runs at (`int8` or as asked)."""
        if self.runtime != "openvino":
            return onnx_path, "f32"
        if precision not in ("auto", "int8"):
            return onnx_path, precision
        try:
            return quantized_model(onnx_path, self._calibration_blob, _CALIBRATION_SIZES), "int8"
        except QuantizationError as exc:
            if precision == "int8":
                raise RuntimeError(f"precision int8: {exc}") from None
            log.warning("running %s unquantised: %s", self.name, exc)
            return onnx_path, "auto"

    @staticmethod
    def _calibration_blob(frame: np.ndarray, input_size: int) -> np.ndarray:
        """`frame` as the float model's input, prepared exactly as `detect` prepares it."""
        net_h, net_w = fitted_input_shape(frame.shape[0], frame.shape[1], input_size)
        image = _letterbox(frame, net_h, net_w).image
        return cv2.dnn.blobFromImage(image, 1 / 255.0, swapRB=True)

    @classmethod
    def from_registry(cls, name: str = "yolov3-tiny", **kwargs: Any) -> DarknetDetector:
        """Build a detector from a pulled registry model. Never downloads.

        Args:
            name: Registry name.
            **kwargs: Passed to the constructor.

        Returns:
            The detector.

        Raises:
            models.weights.ModelMissingError: If the model is not pulled; the message
                names the command that pulls it.
        """
        return cls(weights.resolve(name), name=name, **kwargs)

    def detect(
        self, frames: Sequence[np.ndarray], input_sizes: Sequence[int | None] | None = None
    ) -> list[Detections]:
        """Detect canonical-class objects in a batch of BGR frames.

        Args:
            frames: BGR uint8 images (H, W, 3); sizes may differ. Frames whose fitted
                input shape matches (same camera resolution) share one network batch.
            input_sizes: Per frame, the long side of the network input (e.g. a
                camera's own size); None, or a None entry, uses `input_size`.

        Returns:
            One `Detections` per frame, boxes in that frame's pixels.
        """
        if not frames:
            return []
        for frame in frames:
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(
                    f"expected BGR uint8 frames (H, W, 3), got {frame.dtype} {frame.shape}"
                )
        # Frames are batched per fitted input shape (in practice: per camera resolution),
        # so a frame's result never depends on what else shares its batch.
        if input_sizes is not None and len(input_sizes) != len(frames):
            raise ValueError(f"{len(input_sizes)} input sizes for {len(frames)} frames")
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            size = (input_sizes[i] if input_sizes is not None else None) or self.input_size
            _check_input_size(size)
            shape = fitted_input_shape(frame.shape[0], frame.shape[1], size)
            groups.setdefault(shape, []).append(i)
        results: list[Detections] = [Detections.empty()] * len(frames)
        for (net_h, net_w), indices in groups.items():
            # Letterboxed straight into one batch array: the ONNX runtimes take it as it
            # is (uint8, BGR, channels last) and convert inside the model.
            batch = np.empty((len(indices), net_h, net_w, 3), dtype=np.uint8)
            boxes = [
                _letterbox(frames[i], net_h, net_w, out=batch[k]) for k, i in enumerate(indices)
            ]
            rows = self._infer(batch, (net_w, net_h))
            for row_block, i, box in zip(rows, indices, boxes, strict=True):
                height, width = frames[i].shape[:2]
                results[i] = self._decode(row_block, box, (net_w, net_h), width, height)
        return results

    def _infer(self, batch: np.ndarray, net_wh: tuple[int, int]) -> np.ndarray:
        """Run the network on (N, H, W, 3) uint8 BGR letterboxes; return (N, rows,
        5 + classes) rows as OpenCV's region layer gives them."""
        if self._session is None:
            blob = cv2.dnn.blobFromImages(list(batch), 1 / 255.0, net_wh, swapRB=True, crop=False)
            self._net.setInput(blob)
            outs = self._net.forward(self._outputs)
            # One frame gives (rows, 85) per output layer, a batch gives (N, rows, 85).
            return np.concatenate([o.reshape(len(blob), -1, o.shape[-1]) for o in outs], 1)
        from models.darknet_net import decode_heads

        heads = self._session.run_images(batch)
        return decode_heads(heads, self._heads, net_wh, self._lowest_threshold)

    def _decode(
        self, rows: np.ndarray, box: _Letterbox, net_wh: tuple[int, int], width: int, height: int
    ) -> Detections:
        # Darknet region layers in OpenCV already multiply class scores by objectness.
        class_scores = rows[:, 5:]
        columns = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(rows)), columns]
        keep = (scores >= self._min_score[columns]) & (self._canonical[columns] >= 0)
        if not keep.any():
            return Detections.empty()
        rows, scores, class_ids = rows[keep], scores[keep], self._canonical[columns[keep]]

        net_scale = np.array([*net_wh, *net_wh], dtype=np.float32)
        cxcywh = rows[:, :4] * net_scale
        xyxy = np.concatenate(
            [cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1
        )
        offset = np.array([box.x0, box.y0, box.x0, box.y0], dtype=np.float32)
        xyxy = (xyxy - offset) / box.ratio
        np.clip(xyxy, 0, np.array([width, height, width, height], dtype=np.float32), out=xyxy)

        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)
        # Batched NMS suppresses only within a class: a rider (person) and the motorbike
        # under them overlap heavily and both must survive.
        kept = cv2.dnn.NMSBoxesBatched(
            xywh.tolist(),
            scores.tolist(),
            class_ids.tolist(),
            self._lowest_threshold,
            self.nms_iou,
        )
        idx = np.asarray(kept, dtype=np.int64).reshape(-1)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return Detections(xyxy=xyxy[idx], scores=scores[idx], class_ids=class_ids[idx])


@dataclass(frozen=True)
class _Letterbox:
    image: np.ndarray
    ratio: float
    x0: int
    y0: int


def converted_onnx(cfg: Path, weights_path: Path, weights_sha256: str) -> Path:
    """Return the ONNX conversion of a Darknet model, converting on first use.

    Cached under `models.weights.converted_dir(weights_sha256)`; the cfg's own hash is
    in the file name because the same weights under another cfg are another network.

    Args:
        cfg: The `.cfg` file.
        weights_path: The `.weights` file (already verified against the registry).
        weights_sha256: Its SHA-256.

    Returns:
        Path of the `.onnx` file.
    """
    cfg_sha = weights.file_sha256(cfg)[:16]
    target = weights.converted_dir(weights_sha256) / f"{cfg.stem}-{cfg_sha}.onnx"
    if not target.is_file():
        from models.darknet_net import export_onnx

        log.info("converting %s to ONNX (once) into %s", weights_path.name, target)
        export_onnx(cfg, weights_path, target)
    return target


def _check_input_size(input_size: int) -> None:
    if input_size <= 0 or input_size % _STRIDE:
        raise ValueError(f"input_size must be a positive multiple of 32, got {input_size}")


def fitted_input_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """Network input (h, w) that keeps the frame's aspect: long side fixed, short side
    rounded up to the network stride. A 16:9 frame at 416 runs at 416x256 instead of
    416x416, about 40% less work for the same detections as square letterboxing."""
    ratio = long_side / max(height, width)
    fit_h = _round_up(round(height * ratio), _STRIDE)
    fit_w = _round_up(round(width * ratio), _STRIDE)
    return min(fit_h, long_side), min(fit_w, long_side)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _letterbox(
    frame: np.ndarray, net_h: int, net_w: int, out: np.ndarray | None = None
) -> _Letterbox:
    """Scale `frame` to fit (net_h, net_w) keeping its aspect and pad the rest grey
    (into `out`, a (net_h, net_w, 3) uint8 array, when given).

    Letterboxing rather than stretching: on test photos stretching lost the bus in
    `bus.jpg` and halved the motorbike score on a side view, while on city CCTV both
    found the same number of motorbikes.
    """
    height, width = frame.shape[:2]
    ratio = min(net_h / height, net_w / width)
    new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
    canvas = np.empty((net_h, net_w, 3), dtype=np.uint8) if out is None else out
    x0, y0 = (net_w - new_w) // 2, (net_h - new_h) // 2
    # Only the bands around the picture are padded: it is overwritten anyway.
    canvas[:y0] = _PAD_VALUE
    canvas[y0 + new_h :] = _PAD_VALUE
    canvas[y0 : y0 + new_h, :x0] = _PAD_VALUE
    canvas[y0 : y0 + new_h, x0 + new_w :] = _PAD_VALUE
    canvas[y0 : y0 + new_h, x0 : x0 + new_w] = cv2.resize(
        frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR
    )
    return _Letterbox(canvas, ratio, x0, y0)


def _class_thresholds(
    confidence: float, class_confidence: Mapping[str, float] | None
) -> list[float]:
    thresholds = [confidence] * len(CANONICAL_CLASSES)
    for cls_name, value in (class_confidence or {}).items():
        if cls_name not in CANONICAL_CLASSES:
            raise ValueError(f"unknown class {cls_name!r} in class_confidence")
        thresholds[CANONICAL_CLASSES.index(cls_name)] = value
    for value in thresholds:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"confidence thresholds must be in [0, 1], got {value}")
    return thresholds


def _model_files(model_dir: Path) -> tuple[Path, Path, Path]:
    """The `.cfg`, `.weights` and `coco.names` files of a model directory."""
    cfg = _single(model_dir, _CFG_SUFFIX)
    weights_path = _single(model_dir, _WEIGHTS_SUFFIX)
    names_path = model_dir / _NAMES_FILE
    if not names_path.is_file():
        raise FileNotFoundError(f"{names_path} is missing")
    return cfg, weights_path, names_path


def _single(directory: Path, suffix: str) -> Path:
    matches = sorted(directory.glob(f"*{suffix}"))
    if len(matches) != 1:
        raise FileNotFoundError(f"expected one *{suffix} file in {directory}, found {len(matches)}")
    return matches[0]
