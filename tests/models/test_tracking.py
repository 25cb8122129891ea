from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from models.darknet import DarknetDetector
from models.detections import Detections, Tracks, class_id
from models.tracking import TRACKER_TYPES, BotSortTracker, ByteTracker, TrackerType, build_tracker
from pipeline.geometry import box_iou

FRAMES = 20
CANVAS_HW = (720, 1280)


def _crop(detector: DarknetDetector, image: np.ndarray, name: str, scale: float) -> np.ndarray:
    """Cut the detector's own best `name` box out of a real photo, resized by `scale`."""
    [dets] = detector.detect([image])
    x1, y1, x2, y2 = dets.xyxy[dets.class_names.index(name)].astype(int)
    return cv2.resize(image[y1:y2, x1:x2], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _scene(
    sprites: list[tuple[np.ndarray, tuple[int, int], tuple[int, int]]], t: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Paste sprites at `start + t * step` on a plain background; return the frame and
    each sprite's true box."""
    frame = np.full((*CANVAS_HW, 3), 180, dtype=np.uint8)
    boxes = []
    for sprite, (x0, y0), (dx, dy) in sprites:
        x, y = x0 + t * dx, y0 + t * dy
        h, w = sprite.shape[:2]
        frame[y : y + h, x : x + w] = sprite
        boxes.append(np.array([x, y, x + w, y + h], dtype=np.float32))
    return frame, boxes


def _ids_per_object(
    detector: DarknetDetector,
    tracker: ByteTracker,
    sprites: list[tuple[np.ndarray, tuple[int, int], tuple[int, int]]],
) -> list[list[tuple[int, str]]]:
    seen: list[list[tuple[int, str]]] = [[] for _ in sprites]
    for t in range(FRAMES):
        frame, truth = _scene(sprites, t)
        [dets] = detector.detect([frame])
        tracks = tracker.update(dets, frame)
        assert isinstance(tracks, Tracks)
        for k, box in enumerate(truth):
            for i in range(len(tracks)):
                if box_iou(tracks.xyxy[i], box) > 0.5:
                    seen[k].append((int(tracks.track_ids[i]), tracks.class_names[i]))
    return seen


@pytest.fixture(scope="module")
def motorbike_sprite(detector: DarknetDetector, motorcycle_image: np.ndarray) -> np.ndarray:
    return _crop(detector, motorcycle_image, "motorbike", 0.5)


@pytest.fixture(scope="module")
def bus_sprite(detector: DarknetDetector, bus_image: np.ndarray) -> np.ndarray:
    return _crop(detector, bus_image, "bus", 0.4)


def test_moving_vehicle_keeps_one_track_id(
    detector: DarknetDetector, motorbike_sprite: np.ndarray
) -> None:
    seen = _ids_per_object(
        detector, ByteTracker(frame_rate=10), [(motorbike_sprite, (40, 80), (6, 3))]
    )
    [motorbike] = seen
    assert len(motorbike) >= FRAMES - 3  # tracked nearly every frame
    assert {track_id for track_id, _ in motorbike} == {motorbike[0][0]}
    assert {name for _, name in motorbike} == {"motorbike"}


def test_second_vehicle_gets_a_different_id(
    detector: DarknetDetector, motorbike_sprite: np.ndarray, bus_sprite: np.ndarray
) -> None:
    sprites = [
        (motorbike_sprite, (40, 60), (6, 2)),
        (bus_sprite, (CANVAS_HW[1] - bus_sprite.shape[1] - 20, 330), (-5, 0)),
    ]
    motorbike, bus = _ids_per_object(detector, ByteTracker(frame_rate=10), sprites)
    assert len(motorbike) >= FRAMES - 3 and len(bus) >= FRAMES - 3
    motorbike_ids = {i for i, _ in motorbike}
    bus_ids = {i for i, _ in bus}
    assert len(motorbike_ids) == 1 and len(bus_ids) == 1
    assert motorbike_ids != bus_ids
    assert {n for _, n in bus} == {"bus"}


def _box_dets(x: float, name: str, score: float = 0.9) -> Detections:
    return Detections(
        xyxy=np.array([[x, 100, x + 80, 160]]), scores=[score], class_ids=[class_id(name)]
    )


def test_track_never_changes_class_once_settled() -> None:
    tracker = ByteTracker(frame_rate=10, class_settle_s=0.3)  # settles on its 3rd sighting
    names = ["car", "car", "car", "truck", "truck", "truck", "truck", "truck", "bus", "car"]
    reported = []
    settled = []
    for t, name in enumerate(names):
        tracks = tracker.update(_box_dets(100 + 4 * t, name))
        assert len(tracks) == 1
        reported.append((int(tracks.track_ids[0]), tracks.class_names[0]))
        settled.append(bool(tracks.class_settled[0]))
    assert set(reported) == {(reported[0][0], "car")}
    assert settled == [False, False] + [True] * (len(names) - 2)


def test_boxes_are_the_detectors_not_the_filters() -> None:
    tracker = ByteTracker(frame_rate=10)
    for t in range(5):
        dets = _box_dets(100 + 10 * t, "motorbike")
        tracks = tracker.update(dets)
    np.testing.assert_array_equal(tracks.xyxy, dets.xyxy)
    np.testing.assert_array_equal(tracks.scores, dets.scores)


def test_empty_frames_and_lost_tracks() -> None:
    tracker = ByteTracker(frame_rate=10, track_buffer=30)  # one second: 10 frames here
    first = tracker.update(_box_dets(100, "car"))
    assert len(tracker.update(Detections.empty())) == 0
    again = tracker.update(_box_dets(100, "car"))
    assert again.track_ids.tolist() == first.track_ids.tolist()  # re-found within the buffer
    for _ in range(15):
        tracker.update(Detections.empty())
    # Past the buffer the object counts as new: unconfirmed on its first sighting,
    # reported under a new id on the second.
    assert len(tracker.update(_box_dets(100, "car"))) == 0
    later = tracker.update(_box_dets(102, "car"))
    assert len(later) == 1 and later.track_ids.tolist() != first.track_ids.tolist()


def test_trackers_are_independent_and_reset_restarts_ids() -> None:
    a, b = ByteTracker(), ByteTracker()
    assert a.update(_box_dets(100, "car")).track_ids.tolist() == [1]
    assert a.update(_box_dets(400, "bus")).track_ids.tolist() != [1]
    assert b.update(_box_dets(100, "car")).track_ids.tolist() == [1]
    a.reset()
    assert a.update(_box_dets(600, "truck")).track_ids.tolist() == [1]


def test_low_score_detection_does_not_start_a_track() -> None:
    tracker = ByteTracker(frame_rate=10)
    for t in range(3):
        assert len(tracker.update(_box_dets(100 + t, "car", score=0.15))) == 0


def test_ultralytics_is_kept_from_installing_packages() -> None:
    assert os.environ["YOLO_AUTOINSTALL"] == "false"


@pytest.mark.parametrize("kwargs", [{"frame_rate": 0}, {"track_buffer": 0}])
def test_bad_settings_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ByteTracker(**kwargs)  # type: ignore[arg-type]


def test_importing_the_tracker_touches_no_network() -> None:
    # Ultralytics probes DNS at import unless told it is offline; a pipeline host may
    # have no resolver at all, and must not stall on one.
    probe = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise SystemExit(f'network used: {args!r}')\n"
        "socket.getaddrinfo = socket.create_connection = refuse\n"
        "socket.socket.connect = refuse\n"
        "import models.tracking\n"
        "import ultralytics.utils as u\n"
        "assert not u.ONLINE and not u.AUTOINSTALL\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLO_")}
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_class_is_locked_and_boxes_are_the_detectors_for_every_tracker(kind: TrackerType) -> None:
    tracker = build_tracker(kind, frame_rate=10, class_settle_s=0.3)
    names = ["car", "car", "car", "truck", "truck", "truck", "truck", "bus"]
    for t, name in enumerate(names):
        dets = _box_dets(100 + 6 * t, name)
        tracks = tracker.update(dets)
        assert tracks.class_names == ["car"]
        np.testing.assert_array_equal(tracks.xyxy, dets.xyxy)


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_an_id_is_never_reused_for_another_class(kind: TrackerType) -> None:
    tracker = build_tracker(kind, frame_rate=10, track_buffer=30)
    issued: dict[int, str] = {}
    # A car, then long gaps, then a bus and a motorbike at the same spot: each lost
    # track is removed after the buffer, and its id must not come back.
    for name in ("car", "bus", "motorbike", "car"):
        for t in range(4):
            tracks = tracker.update(_box_dets(100 + 2 * t, name))
            for track_id, track_class in zip(
                tracks.track_ids.tolist(), tracks.class_names, strict=True
            ):
                assert issued.setdefault(track_id, track_class) == track_class
        for _ in range(15):
            tracker.update(Detections.empty())
    assert len(issued) == 4 and set(issued.values()) == {"car", "bus", "motorbike"}


@pytest.mark.parametrize("pan", [30, 80])
def test_botsort_follows_a_panning_camera_with_motion_compensation(
    detector: DarknetDetector, motorbike_sprite: np.ndarray, pan: int
) -> None:
    # The camera pans over a textured scene with a parked motorbike, so in the image
    # the bike jumps `pan` px per frame. Compensation estimates the pan from the frames
    # and moves the track with it.
    rng = np.random.default_rng(5)
    noise = rng.integers(60, 200, (CANVAS_HW[0], CANVAS_HW[1] + 12 * pan, 3), dtype=np.uint8)
    world = cv2.GaussianBlur(noise, (0, 0), 3)
    h, w = motorbike_sprite.shape[:2]
    x0 = CANVAS_HW[1] - w - 10  # enters at the right, leaves at the left
    in_view = (x0 // pan) + 1
    world[300 : 300 + h, x0 : x0 + w] = motorbike_sprite
    tracker = BotSortTracker(frame_rate=10, camera_motion="sparse_optical_flow")
    compensated: list[int] = []
    for t in range(in_view):
        frame = np.ascontiguousarray(world[:, pan * t : pan * t + CANVAS_HW[1]])
        truth = np.array([x0 - pan * t, 300, x0 - pan * t + w, 300 + h], dtype=np.float32)
        [dets] = detector.detect([frame])
        tracks = tracker.update(dets, frame)
        compensated += [
            int(tracks.track_ids[i])
            for i in range(len(tracks))
            if box_iou(tracks.xyxy[i], truth) > 0.5
        ]
    assert len(compensated) >= in_view - 2 and set(compensated) == {compensated[0]}


def test_unknown_tracker_settings_are_named() -> None:
    with pytest.raises(ValueError, match="kalman"):
        build_tracker("bytetrack", 10, kalman=True)
    with pytest.raises(ValueError, match="camera_motion"):
        build_tracker("botsort", 10, camera_motion="orb")
    with pytest.raises(ValueError, match="sort"):
        build_tracker("sort", 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_one_vehicle_boxed_under_two_classes_gets_one_track(kind: TrackerType) -> None:
    def frame(t: int, car_score: float, truck_score: float) -> Detections:
        x = 100 + 8 * t
        return Detections(
            xyxy=np.array([[x, 100, x + 200, 180], [x + 6, 96, x + 204, 180]], dtype=np.float32),
            scores=np.array([car_score, truck_score]),
            class_ids=np.array([class_id("car"), class_id("truck")]),
        )

    # The detector's favourite flips between the two boxes; one id must follow it.
    merged = build_tracker(kind, 10)
    both = build_tracker(kind, 10, duplicate_iou=None, nested_containment=None)
    ids: list[int] = []
    counts = []
    for t in range(10):
        dets = frame(t, 0.8, 0.6) if t % 2 else frame(t, 0.6, 0.8)
        tracks = merged.update(dets)
        ids += tracks.track_ids.tolist()
        counts.append(len(both.update(dets)))
    assert len(ids) >= 8 and set(ids) == {ids[0]}
    assert max(counts) == 2  # without merging, two tracks sit on the one vehicle


def test_a_motorbike_beside_a_car_is_not_a_duplicate() -> None:
    tracker = build_tracker("bytetrack", 10)
    dets = Detections(
        xyxy=np.array([[100, 100, 400, 260], [300, 150, 420, 280]], dtype=np.float32),
        scores=np.array([0.9, 0.8]),
        class_ids=np.array([class_id("car"), class_id("motorbike")]),
    )
    for _ in range(3):
        tracks = tracker.update(dets)
    assert sorted(tracks.class_names) == ["car", "motorbike"]


@pytest.mark.parametrize("kind", TRACKER_TYPES)
def test_a_part_of_a_vehicle_boxed_inside_it_gets_no_track_of_its_own(kind: TrackerType) -> None:
    # A van's rear boxed again as a smaller car inside the van's box: IoU ~0.3, so
    # NMS keeps both; a track of its own would cross the stop line after the van.
    def frame(t: int) -> Detections:
        x = 100 + 8 * t
        return Detections(
            xyxy=np.array([[x, 100, x + 200, 220], [x + 90, 150, x + 195, 218]], dtype=np.float32),
            scores=np.array([0.96, 0.7]),
            class_ids=np.array([class_id("car"), class_id("car")]),
        )

    nested, both = build_tracker(kind, 10), build_tracker(kind, 10, nested_containment=None)
    for t in range(6):
        tracks, kept = nested.update(frame(t)), both.update(frame(t))
    assert len(tracks) == 1 and tracks.xyxy[0][0] == pytest.approx(140)
    assert len(kept) == 2


def test_a_motorbike_inside_a_bus_box_keeps_its_track() -> None:
    # Only four-wheeled parts count as parts: a motorbike seen against a bus is its own.
    tracker = build_tracker("bytetrack", 10)
    dets = Detections(
        xyxy=np.array([[100, 50, 500, 300], [200, 180, 260, 290]], dtype=np.float32),
        scores=np.array([0.9, 0.6]),
        class_ids=np.array([class_id("bus"), class_id("motorbike")]),
    )
    for _ in range(3):
        tracks = tracker.update(dets)
    assert sorted(tracks.class_names) == ["bus", "motorbike"]


@pytest.mark.parametrize("setting", ["duplicate_iou", "nested_containment"])
def test_overlap_settings_must_be_fractions(setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        ByteTracker(**{setting: 0})
