"""Plate reading on generated Vietnamese plates rendered onto real vehicle photos."""

from __future__ import annotations

import numpy as np
import pytest

from models import weights
from models.plate_text import is_valid_plate, normalise_plate
from models.plates import PlateRead, PlateReader, PlateVote, split_lines
from tests.models.plate_samples import PlateSample, make_samples

SAMPLES = 200


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    weights.pull("plate-yolov8n")
    return PlateReader.from_registry()


@pytest.fixture(scope="module")
def samples(
    bus_image: np.ndarray, motorcycle_image: np.ndarray, dog_image: np.ndarray
) -> list[PlateSample]:
    # The bus's side and the truck's front half of Darknet's photo stand in for cars.
    cars = [bus_image[400:900, 0:810], dog_image[:, 300:]]
    return make_samples(cars, [motorcycle_image], SAMPLES)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["88A-123.45"], "88A-123.45"),
        (["30E 12345"], "30E-123.45"),
        (["51K-1234"], "51K-1234"),
        (["51LD-123.45"], "51LD-123.45"),
        (["88A-I23.4S"], "88A-123.45"),  # look-alikes in digit positions
        (["8BA-123.45"], "88A-123.45"),
        (["88-B1", "123.45"], "88-B1 123.45"),
        (["88-81", "123.45"], "88-B1 123.45"),  # 8 read for B in the series
        (["29-AA", "1234"], "29-AA 1234"),
        (["13A-123.45"], None),  # 13 is not a province code
        (["88-B1"], None),
        (["hello"], None),
        ([], None),
        (["", ""], None),
    ],
)
def test_normalise_plate(lines: list[str], expected: str | None) -> None:
    assert normalise_plate(lines) == expected
    if expected is not None:
        assert is_valid_plate(expected)


def test_generated_plates_are_valid(samples: list[PlateSample]) -> None:
    assert len(samples) >= 200
    assert all(is_valid_plate(s.text) for s in samples)
    assert sum(s.two_line for s in samples) == SAMPLES // 2


def test_two_line_split_separates_the_lines(samples: list[PlateSample]) -> None:
    plate = next(s for s in samples if s.two_line).plate
    top, bottom = split_lines(plate)
    assert top.shape[0] + bottom.shape[0] == plate.shape[0]
    assert 0.3 * plate.shape[0] <= top.shape[0] <= 0.7 * plate.shape[0]


def test_plate_crops_read_exactly(reader: PlateReader, samples: list[PlateSample]) -> None:
    reads = [reader.read_plate(s.plate) for s in samples]
    exact = sum(r is not None and r.text == s.text for r, s in zip(reads, samples, strict=True))
    rate = exact / len(samples)
    print(f"plate crops: {exact}/{len(samples)} exact ({rate:.1%})")
    assert rate >= 0.97


def test_vehicle_photos_read_exactly(reader: PlateReader, samples: list[PlateSample]) -> None:
    """Detector on the vehicle image, then OCR and validation: the whole chain."""
    hits = wrong = 0
    for s in samples:
        read = reader.read_vehicle(s.scene)
        if read is None:
            continue
        if read.text == s.text:
            hits += 1
            # The plate was found where it was pasted.
            x1, y1, x2, y2 = read.box
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            assert s.box[0] <= cx <= s.box[2] and s.box[1] <= cy <= s.box[3]
            assert read.crop.size > 0 and 0 < read.confidence <= 1
        else:
            wrong += 1
    rate = hits / len(samples)
    print(f"vehicle photos: {hits}/{len(samples)} exact ({rate:.1%}), {wrong} wrong reads")
    assert rate >= 0.93
    assert wrong <= 0.03 * len(samples)  # a wrong plate is worse than none


@pytest.mark.parametrize(
    "garbage",
    [
        np.zeros((0, 0, 3), dtype=np.uint8),
        np.zeros((3, 3, 3), dtype=np.uint8),
        np.zeros((200, 300, 3), dtype=np.uint8),
        np.full((200, 300, 3), 255, dtype=np.uint8),
        np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8),
        np.random.default_rng(1).integers(0, 256, (9, 2000, 3), dtype=np.uint8),
        np.random.default_rng(2).integers(0, 256, (2000, 9, 3), dtype=np.uint8),
        np.zeros((100, 100), dtype=np.uint8),
        np.zeros((100, 100, 3), dtype=np.float32),
        np.zeros((100, 100, 4), dtype=np.uint8),
    ],
)
def test_garbage_crops_give_no_plate_and_no_crash(reader: PlateReader, garbage: np.ndarray) -> None:
    assert reader.read_vehicle(garbage) is None
    assert reader.read_plate(garbage) is None


def _read(text: str, confidence: float, quality: float) -> PlateRead:
    return PlateRead(text, confidence, (0, 0, 10, 5), quality, np.zeros((5, 10, 3), np.uint8))


def test_vote_prefers_agreement_and_keeps_the_best_crop() -> None:
    vote = PlateVote()
    assert vote.best() is None
    vote.add(_read("88A-123.45", 0.8, 100.0))
    single = vote.best()
    assert single is not None and single.confidence == pytest.approx(0.8)
    vote.add(None)
    vote.add(_read("88A-123.46", 0.9, 50.0))  # one misread
    vote.add(_read("88A-123.45", 0.7, 300.0))
    best = vote.best()
    assert best is not None
    assert best.text == "88A-123.45"
    assert best.quality == 300.0  # the sharpest, largest crop of the winning text
    alone = PlateVote()
    alone.add(_read("88A-123.45", 0.8, 100.0))
    alone.add(_read("88A-123.45", 0.7, 300.0))
    agreed = alone.best()
    assert agreed is not None and agreed.confidence > 0.8  # agreement raises confidence
    assert best.confidence < agreed.confidence  # a dissenting read lowers it
