"""TrackHistory follows the tracker's class for each track on every frame."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.runtime.track_history import TrackHistory

WALL = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


def test_a_track_takes_the_class_and_settled_flag_of_each_frame() -> None:
    history = TrackHistory()
    frames = [("truck", False), ("motorbike", False), ("motorbike", True)]
    states = []
    for seq, (name, settled) in enumerate(frames):
        [state] = history.update(
            seq=seq,
            t=seq / 10,
            wall_time=WALL,
            track_ids=[4],
            boxes=[(10.0 * seq, 0.0, 10.0 * seq + 50, 40.0)],
            classes=[name],
            settled=[settled],
        )
        states.append((state.vehicle_class, state.class_settled, state.frames_seen))
    assert states == [("truck", False, 1), ("motorbike", False, 2), ("motorbike", True, 3)]
    track = history.get(4)
    assert track is not None and len(track.points) == 3


def test_classes_count_as_settled_when_the_caller_does_not_say() -> None:
    history = TrackHistory()
    [state] = history.update(
        seq=0, t=0.0, wall_time=WALL, track_ids=[1], boxes=[(0, 0, 5, 5)], classes=["car"]
    )
    assert state.class_settled
