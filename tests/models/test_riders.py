"""Riders are the persons sitting on a motorbike, each on one motorbike only."""

from __future__ import annotations

import numpy as np

from models.detections import Detections, class_id
from models.riders import associate_riders, head_box


def _dets(*rows: tuple[str, tuple[float, float, float, float]]) -> Detections:
    return Detections(
        xyxy=np.array([box for _, box in rows], dtype=np.float32).reshape(-1, 4),
        scores=np.full(len(rows), 0.9, dtype=np.float32),
        class_ids=np.array([class_id(name) for name, _ in rows], dtype=np.int64),
    )


def test_two_riders_on_one_bike_and_none_on_the_other() -> None:
    dets = _dets(
        ("motorbike", (100, 200, 200, 300)),
        ("person", (110, 120, 180, 270)),  # driver
        ("person", (130, 110, 200, 260)),  # passenger
        ("motorbike", (400, 200, 500, 300)),
        ("person", (600, 100, 660, 300)),  # pedestrian far to the side
        ("person", (410, 260, 470, 420)),  # walking in front, feet well below the bike
    )
    riders = associate_riders(dets)
    assert set(riders) == {0, 3}
    assert sorted(riders[0]) == [1, 2]
    assert riders[3] == []


def test_a_person_rides_the_bike_they_overlap_most() -> None:
    dets = _dets(
        ("motorbike", (100, 200, 200, 300)),
        ("motorbike", (170, 200, 270, 300)),
        ("person", (180, 120, 250, 270)),
    )
    riders = associate_riders(dets)
    assert riders == {0: [], 1: [2]}


def test_no_motorbikes_means_no_riders() -> None:
    assert associate_riders(_dets(("person", (0, 0, 10, 30)))) == {}
    assert associate_riders(Detections.empty()) == {}


def test_head_box_is_the_top_quarter() -> None:
    assert head_box((10, 100, 50, 200)) == (10.0, 100.0, 50.0, 125.0)
