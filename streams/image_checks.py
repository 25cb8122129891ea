"""Cheap picture measurements for camera health: exposure, sharpness, change, view.

Every measure works on a small grey copy of the frame (a millisecond or two for
1080p), so the checks can run every few seconds per camera without touching the
analysis budget. Thresholds live in :mod:`streams.health`; this module only measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Comparisons need only the layout of the scene; 160 px wide keeps them cheap and
# insensitive to encoder noise.
THUMB_WIDTH = 160
# Sharpness needs a little more detail than the comparisons, or every scene is "blurred".
SHARPNESS_WIDTH = 320


@dataclass(frozen=True, slots=True, eq=False)
class ImageMeasure:
    """What the health checks need to know about one frame.

    Attributes:
        brightness: Mean grey level, 0-255.
        contrast: Standard deviation of the grey levels.
        sharpness: Variance of the Laplacian at 320 px wide; only meaningful
            relative to the same camera's reference (scenes differ).
        thumb: Grey thumbnail, 160 px wide, float32, for comparisons.
    """

    brightness: float
    contrast: float
    sharpness: float
    thumb: np.ndarray


def _grey(image: np.ndarray, width: int) -> np.ndarray:
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small


def measure(image: np.ndarray) -> ImageMeasure:
    """Measure a BGR (or grey) ``uint8`` frame.

    Example:
        >>> m = measure(np.zeros((720, 1280, 3), np.uint8))
        >>> m.brightness, m.contrast
        (0.0, 0.0)
    """
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected an image array, got shape {image.shape}")
    detail = _grey(image, min(SHARPNESS_WIDTH, image.shape[1]))
    thumb = _grey(image, min(THUMB_WIDTH, image.shape[1])).astype(np.float32)
    return ImageMeasure(
        brightness=float(thumb.mean()),
        contrast=float(thumb.std()),
        sharpness=float(cv2.Laplacian(detail, cv2.CV_32F).var()),
        thumb=thumb,
    )


def difference(a: ImageMeasure, b: ImageMeasure) -> float:
    """Mean absolute grey difference of two frames' thumbnails (0 = identical)."""
    if a.thumb.shape != b.thumb.shape:
        return float("inf")  # the resolution changed: certainly not the same picture
    return float(np.abs(a.thumb - b.thumb).mean())


def _structure(thumb: np.ndarray) -> np.ndarray:
    # Gradient magnitude of a blurred thumbnail: edges of kerbs, buildings and
    # markings, not brightness, so dusk or headlights do not look like a new view;
    # the blur forgives a camera swaying a pixel or two in the wind.
    smooth = cv2.GaussianBlur(thumb, (5, 5), 1.5)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    magnitude: np.ndarray = cv2.magnitude(gx, gy)
    return magnitude


def view_similarity(current: ImageMeasure, reference: ImageMeasure) -> float:
    """How much of the reference view's structure the current frame still shows.

    Zero-mean normalised correlation of edge maps, in [-1, 1]: about 1 for the
    same view with traffic in it, near 0 when the camera was turned, knocked or
    covered (covering also removes edges). A frame without any structure
    compares as 0.
    """
    if current.thumb.shape != reference.thumb.shape:
        return 0.0
    a = _structure(current.thumb)
    b = _structure(reference.thumb)
    a = a - a.mean()
    b = b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if norm < 1e-6:
        return 0.0
    return float((a * b).sum() / norm)
