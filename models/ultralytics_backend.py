"""Ultralytics YOLO detector: `.pt` weights, or their OpenVINO/ONNX exports.

Production users bring Ultralytics models (YOLO11, YOLO26 and fine-tunes). On a CPU
the PyTorch model is the slowest way to run them, so `export="openvino"` (the
default where OpenVINO is installed) or `"onnx"` exports once, per input size, into
the registry home keyed by the weights' SHA-256, and runs the export afterwards.
Nothing is downloaded: weights come from the registry, and Ultralytics' automatic
installs and online checks are switched off before it is imported.

Example:
    >>> detector = UltralyticsDetector.from_registry("yolo11n", input_size=640)
    >>> [dets] = detector.detect([frame])
"""

from __future__ import annotations

import os

# Read once by Ultralytics at import time (see models.tracking).
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_OFFLINE", "true")

import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Literal  # noqa: E402

import numpy as np  # noqa: E402

from models import weights  # noqa: E402
from models.detections import CANONICAL_CLASSES, Detections  # noqa: E402
from models.runtimes import is_available  # noqa: E402

log = logging.getLogger(__name__)

ExportFormat = Literal["auto", "pytorch", "openvino", "onnx"]

VOCABULARY: dict[str, str] = {
    "car": "car",
    "motorcycle": "motorbike",
    "motorbike": "motorbike",
    "bus": "bus",
    "truck": "truck",
    "bicycle": "bicycle",
    "person": "person",
    "pedestrian": "person",
    "traffic light": "traffic_light",
    "traffic_light": "traffic_light",
}
"""Model class names (COCO and common fine-tune spellings) -> canonical classes."""

_WEIGHT_SUFFIXES = (".pt", ".onnx")
_OPENVINO_DIR_SUFFIX = "_openvino_model"


@dataclass(frozen=True)
class RawBoxes:
    """Boxes in the model's own vocabulary (e.g. a plate detector's `license_plate`).

    Attributes:
        xyxy: (N, 4) float32 boxes in frame pixels.
        scores: (N,) float32 confidences.
        class_ids: (N,) int64 ids into the model's `names`.
    """

    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray


class UltralyticsDetector:
    """Any model Ultralytics loads, behind the `Detector` protocol.

    Attributes:
        name: Registry name of the model.
        model_sha256: SHA-256 of the weights file (the `.pt`, not an export of it).
        input_size: Default inference size (Ultralytics' `imgsz`, long side).
        runtime: What runs the network: `pytorch`, `openvino` or `onnx`.
        names: The model's own class names by id.
    """

    def __init__(
        self,
        weights_path: Path,
        *,
        export: ExportFormat = "auto",
        input_size: int = 640,
        confidence: float = 0.25,
        class_confidence: Mapping[str, float] | None = None,
        nms_iou: float = 0.45,
        class_map: Mapping[str, str] | None = None,
        name: str = "",
    ) -> None:
        """Load a model.

        Args:
            weights_path: A `.pt` or `.onnx` file, or an `*_openvino_model` directory.
            export: `pytorch` runs a `.pt` as it is; `openvino` / `onnx` export it once
                per input size (cached by SHA-256) and run the export; `auto` is
                `openvino` where installed, else `pytorch`. Ignored for a file that
                already is an export.
            input_size: Default inference size in pixels, a multiple of 32.
            confidence: Minimum score for classes not in `class_confidence`.
            class_confidence: Per canonical class minimum score.
            nms_iou: IoU threshold of Ultralytics' NMS.
            class_map: Extra model class name -> canonical class entries, for
                fine-tunes with their own vocabulary; merged over `VOCABULARY`.
            name: Registry name recorded in evidence; defaults to the file stem.

        Raises:
            ValueError: For a bad size, threshold, class or export format.
            FileNotFoundError: If the weights are missing.
        """
        from ultralytics import YOLO

        weights_path = Path(weights_path)
        if not weights_path.exists():
            raise FileNotFoundError(f"{weights_path} does not exist")
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {input_size}")
        self.name = name or weights_path.stem
        self.input_size = input_size
        self.nms_iou = nms_iou
        self._source = weights_path
        self.model_sha256 = _sha256_of(weights_path)
        if export == "auto":
            export = "openvino" if is_available("openvino") else "pytorch"
        if export not in ("pytorch", "openvino", "onnx"):
            raise ValueError(f"unknown export format {export!r}")
        if weights_path.suffix != ".pt":
            export = "pytorch"  # already an export: run it as it is
        self._export = export
        self.runtime = export if weights_path.suffix == ".pt" else _format_of(weights_path)

        self._base = YOLO(str(weights_path), task="detect")
        self.names: dict[int, str] = dict(self._base.names)
        self._models: dict[int, Any] = {}
        if export == "pytorch":
            self._models[input_size] = self._base
        self._set_class_filters(confidence, class_confidence, class_map)

    def _set_class_filters(
        self,
        confidence: float,
        class_confidence: Mapping[str, float] | None,
        class_map: Mapping[str, str] | None,
    ) -> None:
        """Per model class id: the canonical class it maps to and the score it needs."""
        vocabulary = {**VOCABULARY, **(class_map or {})}
        thresholds = {c: confidence for c in CANONICAL_CLASSES}
        for cls_name, value in (class_confidence or {}).items():
            if cls_name not in thresholds:
                raise ValueError(f"unknown class {cls_name!r} in class_confidence")
            thresholds[cls_name] = value
        for target in vocabulary.values():
            if target not in CANONICAL_CLASSES:
                raise ValueError(f"class_map target {target!r} is not a canonical class")
        if not all(0.0 <= v <= 1.0 for v in thresholds.values()):
            raise ValueError("confidence thresholds must be in [0, 1]")
        size = max(self.names) + 1 if self.names else 0
        self._canonical = np.full(size, -1, dtype=np.int64)
        self._min_score = np.full(size, np.inf, dtype=np.float32)
        for idx, native in self.names.items():
            mapped: str | None = vocabulary.get(native) or vocabulary.get(native.lower())
            if mapped:
                self._canonical[idx] = CANONICAL_CLASSES.index(mapped)
                self._min_score[idx] = thresholds[mapped]
        self._lowest = min(thresholds.values())
        if not (self._canonical >= 0).any():
            log.info(
                "model %s has no class that maps onto %s; pass class_map",
                self.name,
                CANONICAL_CLASSES,
            )

    @classmethod
    def from_registry(cls, name: str, **kwargs: Any) -> UltralyticsDetector:
        """Build a detector from a pulled registry model. Never downloads.

        Raises:
            models.weights.ModelMissingError: If the model is not pulled; the message
                names the command that pulls it.
            FileNotFoundError: If the entry holds no Ultralytics weights.
        """
        directory = weights.resolve(name)
        for model_file in weights.get_entry(name).files:
            path = directory / model_file.filename
            if path.suffix in _WEIGHT_SUFFIXES:
                return cls(path, name=name, **kwargs)
        raise FileNotFoundError(f"model {name!r} has no .pt or .onnx file")

    def boxes(
        self,
        frames: Sequence[np.ndarray],
        input_sizes: Sequence[int | None] | None = None,
        *,
        confidence: float | None = None,
    ) -> list[RawBoxes]:
        """Run the model and return boxes in its own vocabulary.

        Args:
            frames: BGR uint8 images.
            input_sizes: Per frame inference size; None entries use `input_size`.
            confidence: Minimum score; defaults to the lowest configured threshold.

        Returns:
            One `RawBoxes` per frame.
        """
        if input_sizes is not None and len(input_sizes) != len(frames):
            raise ValueError(f"{len(input_sizes)} input sizes for {len(frames)} frames")
        conf = self._lowest if confidence is None else confidence
        groups: dict[int, list[int]] = {}
        for i, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise ValueError(
                    f"expected BGR uint8 frames (H, W, 3), got {frame.dtype} {frame.shape}"
                )
            size = (input_sizes[i] if input_sizes is not None else None) or self.input_size
            groups.setdefault(size, []).append(i)
        out: list[RawBoxes] = [_empty_raw()] * len(frames)
        for size, indices in groups.items():
            model = self._model_for(size)
            results = model.predict(
                [frames[i] for i in indices], imgsz=size, conf=conf, iou=self.nms_iou, verbose=False
            )
            for i, result in zip(indices, results, strict=True):
                b = result.boxes
                out[i] = RawBoxes(
                    xyxy=b.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
                    scores=b.conf.cpu().numpy().astype(np.float32).reshape(-1),
                    class_ids=b.cls.cpu().numpy().astype(np.int64).reshape(-1),
                )
        return out

    def detect(
        self, frames: Sequence[np.ndarray], input_sizes: Sequence[int | None] | None = None
    ) -> list[Detections]:
        """Detect canonical-class objects; classes that map to none are dropped.

        Args:
            frames: BGR uint8 images.
            input_sizes: Per frame inference size; None entries use `input_size`.

        Returns:
            One `Detections` per frame, highest score first.
        """
        results = []
        for raw in self.boxes(frames, input_sizes):
            known = raw.class_ids < len(self._canonical)
            ids = np.where(known, raw.class_ids, 0)
            keep = known & (self._canonical[ids] >= 0) & (raw.scores >= self._min_score[ids])
            order = np.argsort(-raw.scores[keep], kind="stable")
            results.append(
                Detections(
                    xyxy=raw.xyxy[keep][order],
                    scores=raw.scores[keep][order],
                    class_ids=self._canonical[ids[keep]][order],
                )
            )
        return results

    def _model_for(self, size: int) -> Any:
        if size <= 0 or size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {size}")
        model = self._models.get(size)
        if model is None:
            if self._export == "pytorch":
                model = self._base  # PyTorch takes any size
            else:
                from ultralytics import YOLO

                model = YOLO(str(self.exported(size)), task="detect")
            self._models[size] = model
        return model

    def exported(self, size: int) -> Path:
        """Return this model's export at `size`, exporting on first use.

        Exports live in `models.weights.converted_dir(model_sha256)`, named by format
        and size; they are made in a scratch directory and moved in whole, so a crash
        never leaves a half export that a later run would load.
        """
        fmt = self._export
        suffix = _OPENVINO_DIR_SUFFIX if fmt == "openvino" else ".onnx"
        target = weights.converted_dir(self.model_sha256) / f"{self._source.stem}-{size}{suffix}"
        if target.exists():
            return target
        log.info("exporting %s to %s at %d (once) into %s", self.name, fmt, size, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
            # Ultralytics writes the export beside the weights: work on a copy so the
            # registry directory only ever holds what was pulled.
            scratch = Path(tmp) / self._source.name
            shutil.copyfile(self._source, scratch)
            from ultralytics import YOLO

            options: dict[str, Any] = {"format": fmt, "imgsz": size}
            if fmt == "onnx":
                options["simplify"] = False  # onnxslim is not a dependency
            produced = Path(YOLO(str(scratch), task="detect").export(**options))
            os.replace(produced, target)
        return target


def _format_of(path: Path) -> str:
    if path.name.endswith(_OPENVINO_DIR_SUFFIX):
        return "openvino"
    return "onnx" if path.suffix == ".onnx" else "pytorch"


def _sha256_of(path: Path) -> str:
    if path.is_file():
        return weights.file_sha256(path)
    # An OpenVINO export directory: its network weights identify it.
    bins = sorted(path.glob("*.bin"))
    if not bins:
        raise FileNotFoundError(f"{path} holds no OpenVINO .bin file")
    return weights.file_sha256(bins[0])


def _empty_raw() -> RawBoxes:
    return RawBoxes(
        np.zeros((0, 4), dtype=np.float32),
        np.zeros((0,), dtype=np.float32),
        np.zeros((0,), dtype=np.int64),
    )
