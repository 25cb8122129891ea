"""Fixtures for model tests: real weights from the registry and real photos that ship
inside installed or Debian packages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage
import ultralytics

from models import weights
from models.darknet import DarknetDetector
from pipeline.evaluation.scenario.sprites import fetch_darknet_package


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return image


@pytest.fixture(scope="session")
def yolov3_tiny_dir() -> Path:
    """yolov3-tiny pulled once into the real default home, reused by later runs."""
    return weights.pull("yolov3-tiny")


DARKNET_MODELS = ["yolov3-tiny", "yolov4-tiny"]
"""Registry Darknet models that tests which hold for any of them run on."""


@pytest.fixture(scope="session", params=DARKNET_MODELS)
def darknet_model(request: pytest.FixtureRequest) -> tuple[str, Path]:
    """Each Darknet registry model (name, directory), pulled once into the default home."""
    name: str = request.param
    return name, weights.pull(name)


@pytest.fixture(scope="session")
def detector(yolov3_tiny_dir: Path) -> DarknetDetector:
    return DarknetDetector(yolov3_tiny_dir, input_size=416)


@pytest.fixture(scope="session")
def bus_image() -> np.ndarray:
    return _read(Path(ultralytics.__file__).parent / "assets" / "bus.jpg")


@pytest.fixture(scope="session")
def motorcycle_image() -> np.ndarray:
    return _read(Path(skimage.__file__).parent / "data" / "motorcycle_left.png")


@pytest.fixture(scope="session")
def dog_image(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Darknet's `dog.jpg` (bicycle, dog, truck), from Debian's darknet package."""
    root = fetch_darknet_package(tmp_path_factory.mktemp("darknet-deb"))
    return _read(root / "usr" / "share" / "darknet" / "data" / "dog.jpg")
