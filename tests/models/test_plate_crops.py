"""Best crops per track and best-of-N plate reads, on real plates rendered onto a photo."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from models import weights
from models.plate_crops import PlateCropCollector, TrackCrops
from models.plates import PlateReader, PlateVote, read_best
from tests.models.plate_samples import distort, paste, render_plate

PLATE = "30E-123.45"
OTHER_PLATE = "51K-678.90"
CANVAS = (720, 1280)


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    weights.pull("plate-yolov8n")
    return PlateReader.from_registry()


def _vehicle(bus_image: np.ndarray, text: str, seed: int = 7) -> np.ndarray:
    """The bus photo's front with a generated Vietnamese plate on it."""
    rng = np.random.default_rng(seed)
    plate = distort(render_plate([text], "DejaVuSans-Bold.ttf", False), rng)
    vehicle, _ = paste(bus_image[400:900, 0:810], plate, rng)
    return vehicle


def _view(vehicle: np.ndarray, scale: float, blur: float) -> np.ndarray:
    view = cv2.resize(vehicle, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(view, (0, 0), blur) if blur else view


def _frame(view: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """`view` on a grey 720p frame at (x, y); returns the frame and the view's box."""
    frame = np.full((*CANVAS, 3), 90, dtype=np.uint8)
    h, w = view.shape[:2]
    frame[y : y + h, x : x + w] = view
    return frame, np.array([[x, y, x + w, y + h]], dtype=np.float32)


# A passage: far and blurred (motion, focus), then close and sharp, then leaving.
PASSAGE = [(0.25, 3.0), (0.3, 2.5), (0.4, 2.0), (0.8, 0.0), (0.7, 0.0), (0.5, 1.5), (0.3, 3.0)]


def test_collector_keeps_the_largest_sharpest_crops(bus_image: np.ndarray) -> None:
    vehicle = _vehicle(bus_image, PLATE)
    collector = PlateCropCollector(keep=2, follow_s=0.5)
    for i, (scale, blur) in enumerate(PASSAGE):
        frame, box = _frame(_view(vehicle, scale, blur), 50 + 40 * i, 100)
        collector.update(0.1 * i, frame, [7], box)
    crops = collector.claim(7, 0.7)
    kept = crops.best()
    assert [c.t for c in kept] == pytest.approx([0.3, 0.4])  # the two sharp, close views
    assert kept[0].quality > kept[1].quality > 0
    assert kept[0].image.shape[:2] == _view(vehicle, 0.8, 0).shape[:2]


def test_claim_follows_the_track_then_closes(bus_image: np.ndarray) -> None:
    vehicle = _vehicle(bus_image, PLATE)
    collector = PlateCropCollector(keep=3, follow_s=1.0)
    blurred, box = _frame(_view(vehicle, 0.3, 3.0), 100, 100)
    collector.update(0.0, blurred, [4], box)
    crops = collector.claim(4, 0.0)
    assert not crops.closed and len(crops.best()) == 1
    # After the offence the vehicle comes close and sharp: still collected.
    sharp, box = _frame(_view(vehicle, 0.8, 0.0), 300, 100)
    collector.update(0.5, sharp, [4], box)
    assert len(crops.best()) == 2 and crops.best()[0].t == 0.5
    collector.update(1.0, sharp, [4], box)  # the follow window ends
    assert crops.closed and len(crops.best()) == 3
    collector.update(1.1, sharp, [4], box)  # a later crop starts a fresh collection
    assert len(crops.best()) == 3
    assert collector.claim(4, 1.1) is not crops


def test_a_lost_track_closes_its_claim_and_close_all_releases_waiters(
    bus_image: np.ndarray,
) -> None:
    frame, box = _frame(_view(_vehicle(bus_image, PLATE), 0.5, 0.0), 100, 100)
    collector = PlateCropCollector(keep=2, follow_s=5.0, forget_after_s=1.0)
    collector.update(0.0, frame, [1], box)
    lost = collector.claim(1, 0.0)
    collector.update(1.5, frame, [], np.zeros((0, 4)))
    assert lost.closed
    collector.update(2.0, frame, [2], box)
    waiting = collector.claim(2, 2.0)
    released = threading.Event()
    waiter = threading.Thread(target=lambda: waiting.wait(30) and released.set())
    waiter.start()
    started = time.monotonic()
    collector.close_all()
    waiter.join(5)
    assert released.is_set() and time.monotonic() - started < 5


@pytest.mark.parametrize(
    "boxes",
    [
        np.array([[0, 0, 300, 200]]),  # touches the frame edge: plate may be cut off
        np.array([[500, 300, 510, 310]]),  # too small to hold a legible plate
        np.array([[600, 400, 500, 300]]),  # inverted
        np.array([[-50, -50, -10, -10]]),  # outside the frame
        np.array([[1200, 600, 1400, 900]]),  # runs off the frame
        np.array([[np.nan, 0, 10, 10]]),
    ],
)
def test_unusable_boxes_are_skipped_without_error(boxes: np.ndarray) -> None:
    frame = np.random.default_rng(0).integers(0, 255, (*CANVAS, 3), dtype=np.uint8)
    collector = PlateCropCollector()
    collector.update(0.0, frame, [1], boxes)
    assert collector.claim(1, 0.0).best() == []


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="keep"):
        PlateCropCollector(keep=0)
    with pytest.raises(ValueError, match="follow_s"):
        PlateCropCollector(follow_s=-1)


def test_best_of_the_track_reads_the_plate_its_worst_views_miss(
    reader: PlateReader, bus_image: np.ndarray
) -> None:
    vehicle = _vehicle(bus_image, PLATE)
    collector = PlateCropCollector(keep=3)
    for i, (scale, blur) in enumerate(PASSAGE):
        frame, box = _frame(_view(vehicle, scale, blur), 50 + 40 * i, 100)
        collector.update(0.1 * i, frame, [9], box)
    crops: TrackCrops = collector.claim(9, 0.7)
    # The far, blurred views alone give no plate at all...
    assert read_best(reader, [_view(vehicle, *PASSAGE[0])]) is None
    # ...the track's best crops give the right one.
    read = read_best(reader, [c.image for c in crops.best()])
    assert read is not None and read.text == PLATE


def test_the_sharp_read_wins_over_a_blurred_misread(
    reader: PlateReader, bus_image: np.ndarray
) -> None:
    # Two blurred views of the track carry another plate (as a misread would): the one
    # sharp, large view must still decide the text.
    sharp = reader.read_vehicle(_view(_vehicle(bus_image, PLATE), 0.8, 0.0))
    other = _vehicle(bus_image, OTHER_PLATE, seed=11)
    misreads = [reader.read_vehicle(_view(other, 0.5, blur)) for blur in (1.5, 2.0)]
    assert sharp is not None and sharp.text == PLATE
    assert all(r is not None and r.text == OTHER_PLATE for r in misreads)
    vote = PlateVote()
    for read in (*misreads, sharp):
        vote.add(read)
    best = vote.best()
    assert best is not None and best.text == PLATE
    assert best.quality == sharp.quality
    assert best.confidence < sharp.confidence  # the disagreement costs confidence


def test_agreement_across_crops_raises_confidence(
    reader: PlateReader, bus_image: np.ndarray
) -> None:
    vehicle = _vehicle(bus_image, PLATE)
    reads = [reader.read_vehicle(_view(vehicle, s, b)) for s, b in ((0.3, 0), (0.35, 1.5))]
    assert all(r is not None and r.text == PLATE for r in reads)
    alone = PlateVote()
    alone.add(reads[0])
    together = PlateVote()
    for read in reads:
        together.add(read)
    one, both = alone.best(), together.best()
    assert one is not None and both is not None and both.text == PLATE
    assert both.confidence > max(r.confidence for r in reads if r is not None)
    assert both.confidence > one.confidence


@pytest.mark.parametrize(
    "crop",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((200, 300, 3), np.uint8),
        np.full((200, 300, 3), 255, np.uint8),
        np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8),
        np.random.default_rng(2).integers(0, 255, (40, 2000, 3), dtype=np.uint8),
    ],
)
def test_garbage_crops_never_crash_the_best_of_read(reader: PlateReader, crop: np.ndarray) -> None:
    collector = PlateCropCollector(keep=2, min_side=1, edge_px=0)
    h, w = crop.shape[:2]
    frame = np.zeros((max(h, 1), max(w, 1), 3), np.uint8)
    frame[:h, :w] = crop
    collector.update(0.0, frame, [1], np.array([[0, 0, w, h]], dtype=np.float32))
    images = [c.image for c in collector.claim(1, 0.0).best()] + [crop]
    assert read_best(reader, images) is None
