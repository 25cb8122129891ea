"""Motorbikes are tracked with their riders, and a rider carries the bike's track while
the detector misses the bike (generated boxes, the real ByteTrack tracker)."""

from __future__ import annotations

import numpy as np
import pytest

from models.detections import Detections, Tracks, class_id
from models.rider_tracks import RiderCarry, riders_by_track
from models.tracking import build_tracker

Box = tuple[float, float, float, float]


def dets(*rows: tuple[str, Box, float]) -> Detections:
    return Detections(
        xyxy=np.array([box for _, box, _ in rows], dtype=np.float32).reshape(-1, 4),
        scores=np.array([score for _, _, score in rows], dtype=np.float32),
        class_ids=np.array([class_id(name) for name, _, _ in rows], dtype=np.int64),
    )


def bike_at(x: float, y: float) -> Box:
    """A motorbike seen from behind, bottom centre (x, y): narrow and short."""
    return (x - 15, y - 40, x + 15, y)


def rider_at(x: float, y: float, dx: float = 0.0) -> Box:
    """Its rider: wider than the bike, seated low on it, head well above it."""
    return (x - 20 + dx, y - 85, x + 20 + dx, y - 25)


def run(
    frames: list[Detections], carry: RiderCarry | None = None
) -> tuple[list[Tracks], list[np.ndarray], RiderCarry]:
    carry = carry or RiderCarry()
    tracker = build_tracker("bytetrack", 10.0)
    tracks, estimated = [], []
    for i, frame in enumerate(frames):
        out = tracker.update(carry.for_tracking(i / 10, frame))
        tracks.append(out)
        estimated.append(carry.estimated(out))
    return tracks, estimated, carry


# A two-up motorbike driving up the image 14 px a frame at 10 frames/s; the detector
# boxes the bike only on frames 0-2 and 9-11 (scores as low as real ones), the riders on
# every frame.
MISSED = range(3, 9)


def two_up(i: int, *, bike_score: float = 0.35) -> Detections:
    x, y = 300.0, 600.0 - 14 * i
    rows = [("person", rider_at(x, y), 0.8), ("person", rider_at(x, y - 6, dx=4), 0.6)]
    if i not in MISSED:
        rows.append(("motorbike", bike_at(x, y), bike_score))
    return dets(*rows)


def test_riders_carry_the_motorbike_track_while_the_bike_box_is_missed() -> None:
    tracks, estimated, _ = run([two_up(i) for i in range(12)])
    ids = {int(tid) for out in tracks[1:] for tid in out.track_ids}
    assert len(ids) == 1, "one motorbike, one track id"
    assert all(len(out) == 1 for out in tracks[1:])
    assert [bool(e[0]) if len(e) else None for e in estimated[1:]] == [
        i in MISSED for i in range(1, 12)
    ]
    for i in range(1, 12):
        (box,) = tracks[i].xyxy.tolist()
        # Boxed with its riders: from the riders' heads to the bike's ground contact.
        assert box[1] == pytest.approx(600.0 - 14 * i - 91, abs=1.5)
        assert box[3] == pytest.approx(600.0 - 14 * i, abs=1.5)
        assert tracks[i].class_names == ["motorbike"]


def test_without_riders_the_same_sightings_give_no_track() -> None:
    """What the riders are for: a small bike boxed at 0.35 that moves a third of its
    height a frame is never matched again by ByteTrack (overlap x score too low)."""
    frames = [
        dets(("motorbike", bike_at(300, 600 - 14 * i), 0.35)) if i not in MISSED else dets()
        for i in range(12)
    ]
    tracks, _, _ = run(frames)
    assert all(len(tracks[i]) == 0 for i in range(1, 12))


def test_rider_count_comes_from_the_same_association_on_estimated_boxes() -> None:
    frames = [two_up(i) for i in range(12)]
    tracks, estimated, _ = run(frames)
    for i in range(1, 12):
        riders = riders_by_track(tracks[i], frames[i])
        (tid,) = tracks[i].track_ids.tolist()
        assert len(riders[tid]) == 2, (i, bool(estimated[i][0]))


def test_a_person_never_seen_riding_a_boxed_bike_is_no_vehicle() -> None:
    # A pedestrian walking up a crosswalk at a creeping motorbike's pace.
    frames = [dets(("person", (400, 500 - 8 * i, 430, 580 - 8 * i), 0.9)) for i in range(12)]
    tracks, _, _ = run(frames)
    assert all(len(out) == 0 for out in tracks)


def test_carrying_stops_max_carry_s_after_the_bike_was_last_boxed() -> None:
    def frame(i: int) -> Detections:
        x, y = 300.0, 600.0 - 14 * i
        rows = [("person", rider_at(x, y), 0.8)]
        if i < 2:
            rows.append(("motorbike", bike_at(x, y), 0.5))
        return dets(*rows)

    tracks, estimated, _ = run([frame(i) for i in range(12)], RiderCarry(max_carry_s=0.5))
    carried = [i for i in range(12) if len(estimated[i]) and estimated[i].any()]
    assert carried == [2, 3, 4, 5, 6]
    assert all(len(tracks[i]) == 0 for i in range(8, 12))


def test_an_estimate_yields_to_a_vehicle_box_where_the_bike_should_be() -> None:
    carry = RiderCarry()
    carry.for_tracking(
        0.0, dets(("person", rider_at(300, 600), 0.8), ("motorbike", bike_at(300, 600), 0.5))
    )
    # The bike is boxed as a car on the next frame: no second, estimated box beside it.
    out = carry.for_tracking(
        0.1, dets(("person", rider_at(300, 590), 0.8), ("car", (283, 548, 317, 591), 0.4))
    )
    assert out.class_names == ["car"]


@pytest.mark.parametrize("bad", [{"max_carry_s": -1.0}, {"min_iou": 0.0}])
def test_bad_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RiderCarry(**bad)


def test_a_linked_bike_keeps_one_id_where_overlap_tracking_loses_it() -> None:
    """A narrow bike riding across the image moves more than its width each frame: the
    tracker alone loses it every frame; the link keeps one id on it."""

    def frame(i: int) -> Detections:
        x, y = 300.0 + 35 * i, 600.0 - 5 * i
        return dets(("person", rider_at(x, y), 0.8), ("motorbike", bike_at(x, y), 0.4))

    carry = RiderCarry()
    tracker = build_tracker("bytetrack", 10.0)
    ids = []
    for i in range(10):
        out = carry.merge(tracker.update(carry.for_tracking(i / 10, frame(i))))
        ids.append(out.track_ids.tolist())
    assert ids[0] == [] or len(ids[0]) == 1
    assert all(len(row) == 1 for row in ids[1:])
    assert len({row[0] for row in ids[1:]}) == 1


def test_a_bike_first_boxed_late_begins_with_its_riders_earlier_sightings() -> None:
    """The rider is seen for four frames before the bike under them is boxed: once the
    bike has an id its history begins with boxes estimated from those sightings."""

    def frame(i: int) -> Detections:
        x, y = 300.0, 600.0 - 14 * i
        rows = [("person", rider_at(x, y), 0.8)]
        if i >= 4:
            rows.append(("motorbike", bike_at(x, y), 0.5))
        return dets(*rows)

    carry = RiderCarry()
    tracker = build_tracker("bytetrack", 10.0)
    begun: dict[int, list[tuple[float, Box]]] = {}
    for i in range(8):
        carry.merge(tracker.update(carry.for_tracking(i / 10, frame(i))))
        begun.update(carry.backfill())
    ((track_id, boxes),) = begun.items()
    assert [round(t, 2) for t, _ in boxes] == [0.0, 0.1, 0.2, 0.3, 0.4][: len(boxes)]
    assert len(boxes) >= 4
    for t, box in boxes:
        # Estimated from the rider with the first joint sighting's offsets: the ground
        # contact where the bike really was.
        assert box[3] == pytest.approx(600.0 - 140 * t, abs=1.0)


def test_pedestrians_are_followed_but_never_backfilled_or_boxed() -> None:
    carry = RiderCarry()
    for i in range(6):
        out = carry.for_tracking(
            i / 10, dets(("person", (400, 500 - 8 * i, 430, 580 - 8 * i), 0.9))
        )
        assert len(out) == 0
        assert carry.backfill() == {}
