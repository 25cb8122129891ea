from __future__ import annotations

import numpy as np
import pytest

from models.detections import CANONICAL_CLASSES, Detections, Tracks, class_id


def _dets() -> Detections:
    return Detections(
        xyxy=np.array([[0, 0, 10, 10], [5, 5, 20, 30], [1, 2, 3, 4]]),
        scores=np.array([0.9, 0.5, 0.3]),
        class_ids=np.array([class_id("car"), class_id("motorbike"), class_id("traffic_light")]),
    )


def test_fields_are_normalised_to_documented_dtypes() -> None:
    dets = _dets()
    assert dets.xyxy.dtype == np.float32 and dets.xyxy.shape == (3, 4)
    assert dets.scores.dtype == np.float32
    assert dets.class_ids.dtype == np.int64
    assert len(dets) == 3
    assert dets.class_names == ["car", "motorbike", "traffic_light"]


def test_arrays_are_read_only_and_callers_array_is_untouched() -> None:
    boxes = np.zeros((1, 4), dtype=np.float32)
    dets = Detections(xyxy=boxes, scores=[0.5], class_ids=[0])
    with pytest.raises(ValueError):
        dets.xyxy[0, 0] = 1.0
    boxes[0, 0] = 7.0  # the caller's array stays writable and is not shared
    assert dets.xyxy[0, 0] == 0.0


@pytest.mark.parametrize(
    ("xyxy", "scores", "class_ids"),
    [
        (np.zeros((2, 3)), np.zeros(2), np.zeros(2)),
        (np.zeros((2, 4)), np.zeros(3), np.zeros(2)),
        (np.zeros((2, 4)), np.zeros(2), np.zeros(1)),
        (np.zeros((1, 4)), np.zeros(1), np.array([len(CANONICAL_CLASSES)])),
        (np.zeros((1, 4)), np.zeros(1), np.array([-1])),
    ],
)
def test_bad_shapes_and_class_ids_are_rejected(
    xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray
) -> None:
    with pytest.raises(ValueError):
        Detections(xyxy=xyxy, scores=scores, class_ids=class_ids)


def test_empty() -> None:
    empty = Detections.empty()
    assert len(empty) == 0 and empty.xyxy.shape == (0, 4) and empty.class_names == []
    assert len(Tracks.empty()) == 0 and Tracks.empty().track_ids.dtype == np.int64


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (np.array([True, False, True]), ["car", "traffic_light"]),
        (np.array([2, 0]), ["traffic_light", "car"]),
        (slice(1, None), ["motorbike", "traffic_light"]),
        ([1], ["motorbike"]),
        (np.array([], dtype=np.int64), []),
        (np.zeros(3, dtype=bool), []),
    ],
)
def test_select(selector: object, expected: list[str]) -> None:
    dets = _dets()
    picked = dets.select(selector)  # type: ignore[arg-type]
    assert picked.class_names == expected
    assert picked.xyxy.shape == (len(expected), 4)


def test_select_rejects_mask_of_wrong_length() -> None:
    with pytest.raises(ValueError):
        _dets().select(np.array([True, False]))


def test_tracks_keep_ids_through_select_and_compare_by_value() -> None:
    dets = _dets()
    tracks = Tracks(dets.xyxy, dets.scores, dets.class_ids, track_ids=np.array([7, 8, 9]))
    picked = tracks.select(tracks.class_ids == class_id("motorbike"))
    assert isinstance(picked, Tracks)
    assert picked.track_ids.tolist() == [8]
    assert tracks == Tracks(dets.xyxy, dets.scores, dets.class_ids, track_ids=[7, 8, 9])
    assert tracks != Tracks(dets.xyxy, dets.scores, dets.class_ids, track_ids=[7, 8, 1])
    with pytest.raises(ValueError):
        Tracks(dets.xyxy, dets.scores, dets.class_ids, track_ids=[1, 2])


def test_tracks_classes_count_as_settled_unless_told() -> None:
    dets = _dets()
    tracks = Tracks(dets.xyxy, dets.scores, dets.class_ids, track_ids=[7, 8, 9])
    assert tracks.class_settled.tolist() == [True, True, True]
    young = Tracks(
        dets.xyxy, dets.scores, dets.class_ids, track_ids=[7, 8, 9], class_settled=[1, 0, 1]
    )
    assert young.select([1, 2]).class_settled.tolist() == [False, True]
    assert young != tracks
    assert Tracks.empty().class_settled.dtype == np.bool_
    with pytest.raises(ValueError, match="class_settled"):
        Tracks(dets.xyxy, dets.scores, dets.class_ids, track_ids=[7, 8, 9], class_settled=[True])


def test_unknown_class_name() -> None:
    with pytest.raises(KeyError, match="motorcycle"):
        class_id("motorcycle")
