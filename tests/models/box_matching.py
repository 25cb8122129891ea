"""Comparing two runtimes' or precisions' detections of the same picture."""

from __future__ import annotations

from models.detections import Detections
from pipeline.evaluation.scenario.groundtruth import iou


def matched_share(ref: Detections, got: Detections, min_iou: float) -> float:
    """Fraction of `ref`'s boxes that `got` has, same class, overlapping >= min_iou."""
    hits = sum(
        bool((iou(box, got.xyxy[got.class_ids == cls]) >= min_iou).any())
        for box, cls in zip(ref.xyxy, ref.class_ids, strict=True)
    )
    return hits / max(1, len(ref))


CONFIDENT_SCORE = 0.4
"""Boxes this sure are far from any threshold: a faster runtime must keep every one."""


def assert_keeps_confident_boxes(ref: Detections, got: Detections, min_iou: float) -> None:
    """`got` has every box `ref` scored >= CONFIDENT_SCORE (and `ref` has some)."""
    confident = ref.select(ref.scores >= CONFIDENT_SCORE)
    assert len(confident) > 0, "the reference found nothing confident to compare"
    assert matched_share(confident, got, min_iou) == 1.0
