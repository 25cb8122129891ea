"""Darknet YOLO detector on OpenCV DNN (yolov3-tiny from the registry).

OpenCV 4.x reads Darknet `.cfg`/`.weights` directly (OpenCV 5 dropped the reader),
so this backend needs neither PyTorch nor a converted model.

Example:
    >>> detector = DarknetDetector.from_registry("yolov3-tiny", input_size=608)
    >>> [dets] = detector.detect([frame])
    >>> dets.select(dets.class_ids == class_id("motorbike"))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models import weights
from models.detections import CANONICAL_CLASSES, Detections

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


def usable_cpus() -> int:
    """Return the number of CPUs this process may run on (respects affinity masks)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class DarknetDetector:
    """YOLO (Darknet format) detector implementing the `Detector` protocol.

    Frames are letterboxed (aspect kept, grey padding) to an input whose long side is
    `input_size` and whose short side fits the frame's aspect; boxes are mapped back to
    each frame's own pixels.

    One instance holds one OpenCV network, which is not safe to call from several
    threads at once: share it by batching frames into one `detect` call.

    Attributes:
        name: Registry name of the model.
        model_sha256: SHA-256 of the `.weights` file.
        input_size: Long side of the network input in pixels (a multiple of 32).
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        input_size: int = 416,
        confidence: float = 0.25,
        class_confidence: Mapping[str, float] | None = None,
        nms_iou: float = 0.45,
        name: str = "yolov3-tiny",
        num_threads: int | None = None,
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
            name: Registry name recorded in evidence.
            num_threads: OpenCV worker threads. OpenCV's setting is process-wide; None
                uses every CPU this process may run on.

        Raises:
            ValueError: For a bad `input_size`, threshold or class name.
            FileNotFoundError: If the directory lacks a model file.
        """
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {input_size}")
        if not 0.0 <= nms_iou <= 1.0:
            raise ValueError(f"nms_iou must be in [0, 1], got {nms_iou}")
        model_dir = Path(model_dir)
        cfg = _single(model_dir, _CFG_SUFFIX)
        weights_path = _single(model_dir, _WEIGHTS_SUFFIX)
        names_path = model_dir / _NAMES_FILE
        if not names_path.is_file():
            raise FileNotFoundError(f"{names_path} is missing")

        self.name = name
        self.model_sha256 = weights.file_sha256(weights_path)
        self.input_size = input_size
        self.nms_iou = nms_iou

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

        cv2.setNumThreads(num_threads if num_threads is not None else usable_cpus())
        self._net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights_path))
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._outputs = list(self._net.getUnconnectedOutLayersNames())

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

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Detect canonical-class objects in a batch of BGR frames.

        Args:
            frames: BGR uint8 images (H, W, 3); sizes may differ. Frames whose fitted
                input shape matches (same camera resolution) share one network batch.

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
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            shape = _fitted_shape(frame.shape[0], frame.shape[1], self.input_size)
            groups.setdefault(shape, []).append(i)
        results: list[Detections] = [Detections.empty()] * len(frames)
        for (net_h, net_w), indices in groups.items():
            boxes = [_letterbox(frames[i], net_h, net_w) for i in indices]
            blob = cv2.dnn.blobFromImages(
                [b.image for b in boxes], 1 / 255.0, (net_w, net_h), swapRB=True, crop=False
            )
            self._net.setInput(blob)
            outs = self._net.forward(self._outputs)
            # One frame gives (rows, 85) per output layer, a batch gives (N, rows, 85).
            rows = np.concatenate([o.reshape(len(indices), -1, o.shape[-1]) for o in outs], 1)
            for row_block, i, box in zip(rows, indices, boxes, strict=True):
                height, width = frames[i].shape[:2]
                results[i] = self._decode(row_block, box, (net_w, net_h), width, height)
        return results

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


def _fitted_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """Network input (h, w) that keeps the frame's aspect: long side fixed, short side
    rounded up to the network stride. A 16:9 frame at 416 runs at 416x256 instead of
    416x416, about 40% less work for the same detections as square letterboxing."""
    ratio = long_side / max(height, width)
    fit_h = _round_up(round(height * ratio), _STRIDE)
    fit_w = _round_up(round(width * ratio), _STRIDE)
    return min(fit_h, long_side), min(fit_w, long_side)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _letterbox(frame: np.ndarray, net_h: int, net_w: int) -> _Letterbox:
    """Scale `frame` to fit (net_h, net_w) keeping its aspect and pad the rest grey.

    Letterboxing rather than stretching: on test photos stretching lost the bus in
    `bus.jpg` and halved the motorbike score on a side view, while on city CCTV both
    found the same number of motorbikes.
    """
    height, width = frame.shape[:2]
    ratio = min(net_h / height, net_w / width)
    new_w, new_h = max(1, round(width * ratio)), max(1, round(height * ratio))
    canvas = np.full((net_h, net_w, 3), _PAD_VALUE, dtype=np.uint8)
    x0, y0 = (net_w - new_w) // 2, (net_h - new_h) // 2
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


def _single(directory: Path, suffix: str) -> Path:
    matches = sorted(directory.glob(f"*{suffix}"))
    if len(matches) != 1:
        raise FileNotFoundError(f"expected one *{suffix} file in {directory}, found {len(matches)}")
    return matches[0]
