"""A track's class: a score-weighted vote that may change while the track is young,
then stays fixed for the track's life."""

from __future__ import annotations

import numpy as np
import pytest

from models.detections import Detections, Tracks, class_id
from models.tracking import TRACKER_TYPES, ByteTracker, TrackerType, build_tracker


def _sighting(t: int, name: str, score: float) -> Detections:
    """One vehicle moving right 6 px a frame, boxed as `name` with `score`."""
    x = 100 + 6 * t
    return Detections(
        xyxy=np.array([[x, 300, x + 120, 420]]), scores=[score], class_ids=[class_id(name)]
    )


def _follow(tracker: ByteTracker, sightings: list[tuple[str, float]]) -> list[Tracks]:
    """Feed one vehicle's sightings, one per frame; every frame must report it."""
    frames = []
    for t, (name, score) in enumerate(sightings):
        tracks = tracker.update(_sighting(t, name, score))
        assert len(tracks) == 1, f"frame {t}: the vehicle was not reported"
        frames.append(tracks)
    assert len({int(f.track_ids[0]) for f in frames}) == 1, "the vehicle changed id"
    return frames


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_a_motorbike_first_boxed_as_truck_ends_up_a_motorbike(kind: TrackerType) -> None:
    # As measured on the restricted_lane scenario: a motorbike entering at the image
    # edge, half in view, was boxed `truck` (0.44) before the detector saw it whole.
    tracker = build_tracker(kind, frame_rate=10)  # default: settles after 1 s of sightings
    assert tracker.class_settle_frames == 10
    sightings = [("truck", 0.45), ("truck", 0.44)] + [("motorbike", 0.75)] * 12
    frames = _follow(tracker, sightings)
    classes = [f.class_names[0] for f in frames]
    settled = [bool(f.class_settled[0]) for f in frames]
    # Truck while it leads the vote (0.89 against 0.75 on the third frame), motorbike
    # once the motorbike sightings outweigh it.
    assert classes == ["truck"] * 3 + ["motorbike"] * 11
    assert settled == [False] * 9 + [True] * 5


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_a_later_flip_does_not_change_a_settled_class(kind: TrackerType) -> None:
    tracker = build_tracker(kind, frame_rate=10, class_settle_s=0.5)
    # Five motorbike sightings settle it; then the detector calls it a confident truck
    # for longer than it was ever a motorbike: still one vehicle, still a motorbike.
    sightings = [("motorbike", 0.6)] * 5 + [("truck", 0.95)] * 15
    frames = _follow(tracker, sightings)
    assert {f.class_names[0] for f in frames} == {"motorbike"}
    assert [bool(f.class_settled[0]) for f in frames] == [False] * 4 + [True] * 16


def test_votes_are_weighted_by_score() -> None:
    # Four faint car sightings against three confident truck ones: by count the car
    # wins, by summed score (1.2 against 2.7) the truck.
    sightings = [("car", 0.3), ("truck", 0.9), ("car", 0.3), ("truck", 0.9)]
    sightings += [("car", 0.3), ("truck", 0.9), ("car", 0.3)]
    tracker = ByteTracker(frame_rate=10, class_settle_s=0.7)
    frames = _follow(tracker, sightings)
    assert frames[-1].class_names == ["truck"] and bool(frames[-1].class_settled[0])
    # Settled: a confident car box afterwards no longer counts.
    later = tracker.update(_sighting(len(sightings), "car", 0.95))
    assert later.class_names == ["truck"] and later.track_ids.tolist() == [
        int(frames[-1].track_ids[0])
    ]


def test_the_settle_period_is_seconds_at_the_trackers_rate() -> None:
    assert ByteTracker(frame_rate=10, class_settle_s=1.0).class_settle_frames == 10
    assert ByteTracker(frame_rate=6, class_settle_s=1.0).class_settle_frames == 6
    # Zero fixes the class on a track's first sighting.
    frames = _follow(
        ByteTracker(frame_rate=10, class_settle_s=0.0), [("truck", 0.44)] + [("motorbike", 0.8)] * 5
    )
    assert {f.class_names[0] for f in frames} == {"truck"}
    assert all(bool(f.class_settled[0]) for f in frames)


def test_two_vehicles_vote_apart() -> None:
    tracker = ByteTracker(frame_rate=10, class_settle_s=0.5)
    for t in range(8):
        # A car boxed as a truck on its first frame, beside a bus that stays a bus.
        car = "truck" if t == 0 else "car"
        dets = Detections(
            xyxy=np.array(
                [[100 + 6 * t, 100, 260 + 6 * t, 200], [700 - 6 * t, 300, 950 - 6 * t, 500]]
            ),
            scores=[0.8, 0.9],
            class_ids=[class_id(car), class_id("bus")],
        )
        tracks = tracker.update(dets)
    by_x = sorted(zip(tracks.xyxy[:, 0].tolist(), tracks.class_names, strict=True))
    assert [name for _, name in by_x] == ["car", "bus"]
    assert tracks.class_settled.tolist() == [True, True]


def test_a_negative_settle_period_is_rejected() -> None:
    with pytest.raises(ValueError, match="class_settle_s"):
        ByteTracker(class_settle_s=-0.1)
