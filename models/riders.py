"""Riders: persons associated with the motorbike they sit on.

A rider's box lies over the motorbike's horizontally (over most of the narrower of the
two: a bike seen from behind is narrower than its rider), ends (feet on the pegs) inside
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
"""Share of the narrower box's width (the person's in a side view, the bike's seen from
behind) that the two boxes must share horizontally."""


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
    if len(bikes) == 0 or len(people) == 0:
        return {b: [] for b in riders}
    # Every person against every bike at once: this runs on every analysed frame.
    p = detections.xyxy[people].astype(np.float64)[:, None, :]
    b = detections.xyxy[bikes].astype(np.float64)[None, :, :]
    # Overlap as a share of the narrower box: a bike seen from behind is narrower than
    # its rider, one seen from the side wider.
    narrower = np.maximum(np.minimum(p[..., 2] - p[..., 0], b[..., 2] - b[..., 0]), 1e-6)
    overlap = (np.minimum(p[..., 2], b[..., 2]) - np.maximum(p[..., 0], b[..., 0])) / narrower
    # Seated: the person's box ends within the bike's box (not far below it, not above
    # its top) and starts above the bike's middle.
    bike_h = b[..., 3] - b[..., 1]
    seated = (
        (p[..., 3] >= b[..., 1] + 0.2 * bike_h)
        & (p[..., 3] <= b[..., 3] + 0.15 * bike_h)
        & (p[..., 1] < b[..., 1] + 0.5 * bike_h)
    )
    candidate = np.where(seated & (overlap >= MIN_HORIZONTAL_OVERLAP), overlap, -1.0)
    best = candidate.argmax(axis=1)
    for row, person in enumerate(people):
        column = int(best[row])
        if candidate[row, column] >= 0:
            riders[int(bikes[column])].append((float(candidate[row, column]), int(person)))
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
