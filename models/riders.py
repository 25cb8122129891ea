"""Riders: persons associated with the motorbike they sit on.

A rider's box lies over the motorbike's horizontally, ends (feet on the pegs) inside
the motorbike's box rather than far below it, and starts above the bike's middle.
Persons further down the image (walking in front of the bike) or off to its side are
not riders. A pedestrian standing right beside a bike, at the same depth, passes this
one-frame test too; telling them apart needs motion over time (rider and bike move
together). Each person rides at most one motorbike: the one they overlap most.

Example:
    >>> riders = associate_riders(dets)
    >>> {bike: len(people) for bike, people in riders.items()}  # riders per motorbike
"""

from __future__ import annotations

import numpy as np

from models.detections import Detections, class_id

MIN_HORIZONTAL_OVERLAP = 0.5
"""Share of the person's width that must lie over the motorbike."""


def associate_riders(detections: Detections) -> dict[int, list[int]]:
    """Map each motorbike to the persons riding it.

    Args:
        detections: One frame's detections (or tracks), persons and motorbikes among them.

    Returns:
        Motorbike row index -> person row indices (best overlap first); every motorbike
        is a key, with an empty list when nobody rides it.
    """
    bikes = np.flatnonzero(detections.class_ids == class_id("motorbike"))
    people = np.flatnonzero(detections.class_ids == class_id("person"))
    riders: dict[int, list[tuple[float, int]]] = {int(b): [] for b in bikes}
    for p in people:
        px1, py1, px2, py2 = detections.xyxy[p]
        width = max(px2 - px1, 1e-6)
        best, best_overlap = -1, 0.0
        for b in bikes:
            bx1, by1, bx2, by2 = detections.xyxy[b]
            overlap = (min(px2, bx2) - max(px1, bx1)) / width
            if overlap < MIN_HORIZONTAL_OVERLAP:
                continue
            # Seated: the person's box ends within the bike's box (not far below it,
            # not above its top) and starts above the bike's middle.
            bike_h = by2 - by1
            if not (by1 + 0.2 * bike_h <= py2 <= by2 + 0.15 * bike_h):
                continue
            if py1 >= by1 + 0.5 * bike_h:
                continue
            if overlap > best_overlap:
                best, best_overlap = int(b), float(overlap)
        if best >= 0:
            riders[best].append((best_overlap, int(p)))
    return {b: [p for _, p in sorted(found, reverse=True)] for b, found in riders.items()}


def head_box(
    person_xyxy: np.ndarray | tuple[float, float, float, float], share: float = 0.25
) -> tuple[float, float, float, float]:
    """The top `share` of a person's box, for a helmet classifier.

    Args:
        person_xyxy: The person's box `x1, y1, x2, y2`.
        share: Fraction of the box's height taken from its top.

    Returns:
        The head box `x1, y1, x2, y2`.
    """
    x1, y1, x2, y2 = (float(v) for v in person_xyxy)
    return (x1, y1, x2, y1 + (y2 - y1) * share)
