"""Generated Vietnamese plates rendered onto real vehicle photos, for plate-reading tests.

Fonts come from matplotlib's bundled DejaVu family (installed with Ultralytics), so no
system font is needed. Each sample varies font, layout (one-line car / two-line
motorbike), perspective, blur, contrast and placement, from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.plate_text import PROVINCE_CODES

FONT_DIR = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf")
SERIES_LETTERS = "ABCDEFGHKLMNPSTUVXYZ"
_PROVINCES = sorted(PROVINCE_CODES)


@dataclass(frozen=True)
class PlateSample:
    """A rendered plate and where it sits.

    Attributes:
        text: The canonical plate text, as `normalise_plate` writes it.
        plate: The distorted plate image alone (BGR).
        scene: The vehicle photo with the plate pasted on (BGR).
        box: Where the plate is in `scene`, `x1, y1, x2, y2`.
        two_line: True for a motorbike plate.
    """

    text: str
    plate: np.ndarray
    scene: np.ndarray
    box: tuple[int, int, int, int]
    two_line: bool


def random_text(rng: np.random.Generator, two_line: bool) -> tuple[str, list[str]]:
    """Return (canonical text, printed lines)."""
    province = f"{rng.choice(_PROVINCES):02d}"
    letter = str(rng.choice(list(SERIES_LETTERS)))
    digits = "".join(str(d) for d in rng.integers(0, 10, size=5 if rng.random() < 0.8 else 4))
    number = f"{digits[:3]}.{digits[3:]}" if len(digits) == 5 else digits
    if two_line:
        series = letter + str(rng.integers(1, 10))
        return f"{province}-{series} {number}", [f"{province}-{series}", number]
    return f"{province}{letter}-{number}", [f"{province}{letter}-{number}"]


def render_plate(lines: list[str], font_name: str, two_line: bool) -> np.ndarray:
    """Black characters on a white plate with a dark border, Vietnamese proportions."""
    width, height = (280, 200) if two_line else (470, 110)
    image = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle([3, 3, width - 4, height - 4], outline=(20, 20, 20), width=5)
    line_h = (height - 20) / len(lines)
    for i, line in enumerate(lines):
        size = int(line_h * 0.85)
        font = ImageFont.truetype(str(FONT_DIR / font_name), size)
        # Shrink until the line fits the plate's width with a margin.
        while draw.textlength(line, font=font) > width - 30 and size > 10:
            size -= 2
            font = ImageFont.truetype(str(FONT_DIR / font_name), size)
        text_w = draw.textlength(line, font=font)
        top = 10 + i * line_h + (line_h - size) / 2 - size * 0.1
        draw.text(((width - text_w) / 2, top), line, fill=(15, 15, 15), font=font)
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def distort(plate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Perspective, scale, blur and low contrast, each drawn at random."""
    h, w = plate.shape[:2]
    jitter = 0.08
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32) * [w, h]
    dst -= dst.min(axis=0)
    out_w, out_h = int(dst[:, 0].max()) + 1, int(dst[:, 1].max()) + 1
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(
        plate, matrix, (out_w, out_h), borderMode=cv2.BORDER_CONSTANT, borderValue=(60, 60, 60)
    )
    scale = rng.uniform(0.35, 0.8)
    warped = cv2.resize(warped, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        warped = cv2.GaussianBlur(warped, (0, 0), sigma)
    contrast = rng.uniform(0.45, 1.0)
    offset = rng.uniform(0, 255 * (1 - contrast))
    warped = np.clip(warped.astype(np.float32) * contrast + offset, 0, 255)
    noise = rng.normal(0, 3, size=warped.shape)
    return np.clip(warped + noise, 0, 255).astype(np.uint8)


def paste(
    scene: np.ndarray, plate: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Paste `plate` in the lower middle of `scene` (where plates sit on vehicles)."""
    out = scene.copy()
    sh, sw = out.shape[:2]
    ph, pw = plate.shape[:2]
    if pw > sw * 0.6:  # keep the plate a plausible share of the vehicle
        f = sw * 0.6 / pw
        plate = cv2.resize(plate, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        ph, pw = plate.shape[:2]
    cx = int(sw / 2 + rng.uniform(-0.15, 0.15) * sw)
    cy = int(sh * rng.uniform(0.6, 0.8))
    x1, y1 = min(max(0, cx - pw // 2), sw - pw), min(max(0, cy - ph // 2), sh - ph)
    out[y1 : y1 + ph, x1 : x1 + pw] = plate
    return out, (x1, y1, x1 + pw, y1 + ph)


def make_samples(
    car_photos: list[np.ndarray], motorbike_photos: list[np.ndarray], count: int, seed: int = 4
) -> list[PlateSample]:
    """`count` samples, alternating one- and two-line plates.

    As on the road: one-line plates go on cars, buses and trucks; two-line plates on
    motorbikes, and every third of them on a car (some cars carry square plates).
    """
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        two_line = i % 2 == 1
        text, lines = random_text(rng, two_line)
        font = FONTS[i % len(FONTS)]
        plate = distort(render_plate(lines, font, two_line), rng)
        if two_line and i % 3:
            photo = motorbike_photos[i % len(motorbike_photos)]
        else:
            photo = car_photos[i % len(car_photos)]
        scene, box = paste(photo, plate, rng)
        samples.append(PlateSample(text, plate, scene, box, two_line))
    return samples
