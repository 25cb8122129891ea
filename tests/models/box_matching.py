"""Comparing two runtimes' or precisions' detections of the same picture."""

from __future__ import annotations

import numpy as np

from models.detections import Detections


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two xyxy boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union)


def matched_share(ref: Detections, got: Detections, min_iou: float) -> float:
    """Fraction of `ref`'s boxes that `got` has, same class, overlapping >= min_iou."""
    hits = 0
    for box, cls in zip(ref.xyxy, ref.class_ids, strict=True):
        same = got.xyxy[got.class_ids == cls]
        hits += any(iou(box, other) >= min_iou for other in same)
    return hits / max(1, len(ref))
