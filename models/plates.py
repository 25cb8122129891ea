"""Licence-plate reading: plate detector on a vehicle crop, RapidOCR, Vietnamese rules.

Steps: the YOLOv8n plate detector (registry `plate-yolov8n`) finds the plate in a
vehicle crop; the plate is cut out with a margin; a two-line (motorbike) plate is
split at the gap between its lines; RapidOCR's recognition model (bundled ONNX, run
offline, without its own text detector, which misses plates in whole scenes) reads
each line; `models.plate_text` normalises and validates the text. `PlateVote` keeps
the best read over a track's life.

Example:
    >>> reader = PlateReader.from_registry()
    >>> read = reader.read_vehicle(frame[y1:y2, x1:x2])
    >>> read.text if read else None
    '88A-123.45'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models import weights
from models.plate_text import normalise_plate

log = logging.getLogger(__name__)

TWO_LINE_MAX_ASPECT = 2.2
"""Width/height below which a plate is read as two lines (VN: 4.7 one-line, 1.4 two)."""

# Of the plate box, each side: detector boxes often clip the border; the wider margin
# is tried only when the first crop gives no valid plate.
_MARGINS = (0.08, 0.2)
_REC_LINE_HEIGHT = 48  # RapidOCR's recognition input height
_MIN_PLATE_PIXELS = 8


@dataclass(frozen=True)
class PlateRead:
    """One plate reading.

    Attributes:
        text: Canonical plate (`88A-123.45`, `88-B1 123.45`).
        confidence: In [0, 1]: the OCR's score of a text that passed validation.
        box: Plate box `x1, y1, x2, y2` in the pixels of the image that was read.
        detector_score: The plate detector's score for the box (1.0 for a given crop).
        quality: Sharpness times size of the plate crop; best-of-N prefers higher.
        crop: The plate crop (BGR), for evidence.
    """

    text: str
    confidence: float
    box: tuple[float, float, float, float]
    quality: float
    crop: np.ndarray = field(repr=False, compare=False)
    detector_score: float = 1.0


def crop_quality(crop: np.ndarray) -> float:
    """Sharpness (variance of the Laplacian, capped) times the square root of the area."""
    if crop.size == 0:
        return 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    sharpness = min(float(cv2.Laplacian(gray, cv2.CV_32F).var()), 2000.0)
    return sharpness * float(np.sqrt(gray.shape[0] * gray.shape[1]))


def split_lines(plate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut a two-line plate at the row with the least ink between 30% and 70% height."""
    gray = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY) if plate.ndim == 3 else plate
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = ink.sum(axis=1).astype(np.float32)
    h = plate.shape[0]
    lo, hi = int(h * 0.3), max(int(h * 0.7), int(h * 0.3) + 1)
    cut = lo + int(np.argmin(rows[lo:hi]))
    return plate[:cut], plate[cut:]


class PlateOcr:
    """RapidOCR recognition only, on line images.

    Attributes:
        name: The recognition model's file name without suffix, for evidence.
        model_sha256: Its SHA-256, so a manifest says exactly which model read the
            plate (None if RapidOCR's bundled model could not be identified).
    """

    runtime = "onnxruntime"  # RapidOCR's default engine, in f32
    precision = "f32"

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        # Recognition only; its bundled PP-OCR ONNX model, named explicitly so that
        # evidence can record which file read the plate. Nothing is fetched.
        params: dict[str, Any] = {"Global.log_level": "error"}
        model = _bundled_recognition_model()
        if model is not None:
            params["Rec.model_path"] = str(model)
        self.name = model.stem if model is not None else "rapidocr-default-rec"
        self.model_sha256 = weights.file_sha256(model) if model is not None else None
        self._engine = RapidOCR(params=params)

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        """Read one line of text; ('', 0.0) when nothing is recognised."""
        if image.shape[0] < 4 or image.shape[1] < 4:
            return "", 0.0
        scale = _REC_LINE_HEIGHT / image.shape[0]
        if scale > 1:  # small crops: upscale so strokes survive the network's resize
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        result = self._engine(image, use_det=False, use_cls=False, use_rec=True)
        texts: Any = getattr(result, "txts", None) or ()
        scores: Any = getattr(result, "scores", None) or ()
        if not texts:
            return "", 0.0
        return str(texts[0]), float(scores[0])


def _bundled_recognition_model() -> Path | None:
    """The one recognition model RapidOCR ships in its package, if exactly one."""
    import rapidocr

    found = sorted((Path(rapidocr.__file__).parent / "models").glob("*_rec_*.onnx"))
    return found[0] if len(found) == 1 else None


class PlateReader:
    """Plate detector + OCR + Vietnamese validation.

    Attributes:
        detector: The plate detector (an `UltralyticsDetector`), or None to read
            images that already are plate crops.
    """

    def __init__(
        self,
        detector: Any | None,
        ocr: PlateOcr | None = None,
        *,
        min_plate_score: float = 0.05,
        input_size: int = 640,
        max_candidates: int = 3,
    ) -> None:
        """Args:
        detector: Object with `boxes(frames, input_sizes, confidence=...)` in the
            plate model's vocabulary (`UltralyticsDetector`).
        ocr: The OCR; a new `PlateOcr` when None.
        min_plate_score: Lowest plate-detector score tried. Low on purpose: the
            detector was not trained on Vietnamese plates and scores them low while
            placing them well, and a box whose text fails validation is dropped anyway.
        input_size: Plate detector input size (640 finds 38/40 generated plates where
            320 finds 34).
        max_candidates: Plate boxes read per vehicle, best scores first.
        """
        self.detector = detector
        self.ocr = ocr or PlateOcr()
        self.min_plate_score = min_plate_score
        self.input_size = input_size
        self.max_candidates = max_candidates

    @classmethod
    def from_registry(cls, name: str = "plate-yolov8n", **kwargs: Any) -> PlateReader:
        """Plate detector from the registry (never downloads) plus RapidOCR."""
        from models.ultralytics_backend import UltralyticsDetector

        return cls(UltralyticsDetector.from_registry(name, export="auto"), **kwargs)

    def read_vehicle(self, vehicle: np.ndarray) -> PlateRead | None:
        """Find and read the plate in a vehicle crop.

        Args:
            vehicle: BGR uint8 crop of one vehicle.

        Returns:
            The best valid read among detected plates, or None (no plate, unreadable
            text, or a crop too small or malformed to use). Never raises on bad input.
        """
        if not _usable(vehicle) or self.detector is None:
            return None
        try:
            [raw] = self.detector.boxes(
                [vehicle], [self.input_size], confidence=self.min_plate_score
            )
        except Exception:  # a crop the detector cannot take is a miss, not a crash
            log.debug("plate detector failed on a %s crop", vehicle.shape, exc_info=True)
            return None
        best: PlateRead | None = None
        n = self.max_candidates
        for box, score in zip(raw.xyxy[:n], raw.scores[:n], strict=True):
            for margin in _MARGINS:
                read = self._read_box(vehicle, box, float(score), margin)
                if read is not None:
                    break
            if read is not None and (best is None or _rank(read) > _rank(best)):
                best = read
        return best

    def read_plate(self, plate: np.ndarray, detector_score: float = 1.0) -> PlateRead | None:
        """Read an image that is (about) just the plate."""
        if not _usable(plate):
            return None
        h, w = plate.shape[:2]
        return self._read_box(plate, np.array([0, 0, w, h], dtype=np.float32), detector_score, 0.0)

    def _read_box(
        self, image: np.ndarray, box: np.ndarray, score: float, margin: float
    ) -> PlateRead | None:
        x1, y1, x2, y2 = (float(v) for v in box)
        mx, my = (x2 - x1) * margin, (y2 - y1) * margin
        h, w = image.shape[:2]
        ix1, iy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
        ix2, iy2 = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
        plate = image[iy1:iy2, ix1:ix2]
        if min(plate.shape[:2]) < _MIN_PLATE_PIXELS:
            return None
        try:
            text, ocr_conf = self._ocr_plate(plate)
        except Exception:  # garbage in must never stop the pipeline
            log.debug("plate OCR failed on a %s crop", plate.shape, exc_info=True)
            return None
        if text is None:
            return None
        return PlateRead(
            text=text,
            confidence=ocr_conf,
            box=(x1, y1, x2, y2),
            quality=crop_quality(plate),
            crop=plate.copy(),
            detector_score=score,
        )

    def _ocr_plate(self, plate: np.ndarray) -> tuple[str | None, float]:
        """Read the plate as its shape suggests, then the other way; keep a valid read."""
        h, w = plate.shape[:2]
        layouts = ("two", "one") if w / h < TWO_LINE_MAX_ASPECT else ("one", "two")
        for layout in layouts:
            if layout == "two":
                top, bottom = split_lines(plate)
                (t1, c1), (t2, c2) = self.ocr.read_line(top), self.ocr.read_line(bottom)
                text, conf = normalise_plate([t1, t2]), min(c1, c2)
            else:
                t, conf = self.ocr.read_line(plate)
                text = normalise_plate([t])
            if text is not None:
                return text, conf
        return None, 0.0


def _rank(read: PlateRead) -> tuple[float, float]:
    return (read.confidence * (0.5 + 0.5 * read.detector_score), read.quality)


def _usable(image: Any) -> bool:
    return (
        isinstance(image, np.ndarray)
        and image.ndim == 3
        and image.shape[2] == 3
        and image.dtype == np.uint8
        and min(image.shape[:2]) >= _MIN_PLATE_PIXELS
    )


class PlateVote:
    """Best of N reads of one vehicle's plate over its track.

    The reported read is the best-quality crop among the reads of the winning text; the
    winning text is the one with the most quality-weighted confidence, and agreement
    between frames raises its confidence (independent reads: 1 - prod(1 - c)), scaled by
    the share of all reads it won.
    """

    def __init__(self) -> None:
        self.reads: list[PlateRead] = []

    def add(self, read: PlateRead | None) -> None:
        """Add one frame's read (None reads are ignored)."""
        if read is not None:
            self.reads.append(read)

    def best(self) -> PlateRead | None:
        """The winning read, with its combined confidence; None before any read."""
        if not self.reads:
            return None
        weights: dict[str, float] = {}
        for r in self.reads:
            weights[r.text] = weights.get(r.text, 0.0) + r.confidence * (1.0 + r.quality)
        text = max(weights, key=lambda t: weights[t])
        agreeing = [r for r in self.reads if r.text == text]
        miss = float(np.prod([1.0 - r.confidence for r in agreeing]))
        share = weights[text] / sum(weights.values())
        top = max(agreeing, key=lambda r: (r.quality, r.confidence))
        return PlateRead(
            text=text,
            confidence=(1.0 - miss) * share,
            box=top.box,
            quality=top.quality,
            crop=top.crop,
            detector_score=top.detector_score,
        )


def read_best(reader: PlateReader, vehicle_crops: Sequence[np.ndarray]) -> PlateRead | None:
    """Read every crop of one vehicle and return the vote's winner."""
    vote = PlateVote()
    for crop in vehicle_crops:
        vote.add(reader.read_vehicle(crop))
    return vote.best()
