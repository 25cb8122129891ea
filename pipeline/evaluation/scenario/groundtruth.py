"""Reading `boxes.jsonl` and scoring detections against it.

Used by `bench/detection_rate.py` and the tests: for every vehicle fully in view, was it
detected (a detector box of any vehicle class with IoU >= a threshold)?
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

VEHICLE_CLASSES = frozenset({"car", "motorbike", "bus", "truck", "bicycle"})
"""Detector classes that count as finding a vehicle sprite. The pickup photograph reads
as `car` or `truck` depending on scale, and either is a vehicle to the rules."""


@dataclass(frozen=True)
class TruthBox:
    """A vehicle's box in one frame (see `output.box_record`)."""

    id: str
    cls: str
    box: tuple[float, float, float, float]
    in_view: bool


@dataclass(frozen=True)
class TruthFrame:
    """One line of `boxes.jsonl`."""

    frame: int
    t: float
    signal: str
    vehicles: list[TruthBox]


def read_boxes(path: Path) -> Iterator[TruthFrame]:
    """Yield the frames of a `boxes.jsonl` file in order."""
    with Path(path).open() as handle:
        for line in handle:
            if not line.strip():
                continue
            rec: dict[str, Any] = json.loads(line)
            yield TruthFrame(
                frame=int(rec["frame"]),
                t=float(rec["t"]),
                signal=str(rec["signal"]),
                vehicles=[
                    TruthBox(v["id"], v["class"], tuple(v["box"]), bool(v["in_view"]))
                    for v in rec["vehicles"]
                ],
            )


def iou(box: Sequence[float], others: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
    """IoU of one `(x1, y1, x2, y2)` box with each row of an (N, 4) array."""
    if len(others) == 0:
        return np.zeros(0)
    b = np.asarray(box, dtype=np.float64)
    o = np.asarray(others, dtype=np.float64)
    w = np.clip(np.minimum(b[2], o[:, 2]) - np.maximum(b[0], o[:, 0]), 0, None)
    h = np.clip(np.minimum(b[3], o[:, 3]) - np.maximum(b[1], o[:, 1]), 0, None)
    inter = w * h
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    area_o = (o[:, 2] - o[:, 0]) * (o[:, 3] - o[:, 1])
    return np.asarray(inter / np.maximum(area_b + area_o - inter, 1e-9), dtype=np.float64)


@dataclass
class DetectionTally:
    """Per-vehicle counts of frames in full view and frames in which it was detected.

    Attributes:
        seen: Vehicle id -> frames fully in view that were scored.
        hit: Vehicle id -> of those, frames with a matching detection.
        label: Vehicle id -> detector class of each matching detection, counted.
        cls: Vehicle id -> its true class.
    """

    seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    hit: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    label: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    cls: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        truth: TruthFrame,
        boxes: npt.NDArray[np.floating[Any]],
        names: Sequence[str],
        *,
        min_iou: float = 0.3,
    ) -> None:
        """Score one frame's detections (`boxes` (N, 4) xyxy, `names` their classes)."""
        keep = [i for i, n in enumerate(names) if n in VEHICLE_CLASSES]
        vehicle_boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[keep]
        vehicle_names = [names[i] for i in keep]
        for v in truth.vehicles:
            if not v.in_view:
                continue
            self.cls[v.id] = v.cls
            self.seen[v.id] += 1
            overlaps = iou(v.box, vehicle_boxes)
            if len(overlaps) and overlaps.max() >= min_iou:
                self.hit[v.id] += 1
                self.label[v.id][vehicle_names[int(overlaps.argmax())]] += 1

    def rate(self, vehicle_id: str) -> float:
        """Fraction of scored frames in which the vehicle was detected."""
        seen = self.seen.get(vehicle_id, 0)
        return self.hit.get(vehicle_id, 0) / seen if seen else 0.0

    def class_rates(self) -> dict[str, float]:
        """Pooled detection rate per true class."""
        seen: dict[str, int] = defaultdict(int)
        hit: dict[str, int] = defaultdict(int)
        for vid, cls in self.cls.items():
            seen[cls] += self.seen[vid]
            hit[cls] += self.hit.get(vid, 0)
        return {cls: hit[cls] / seen[cls] for cls in sorted(seen) if seen[cls]}
