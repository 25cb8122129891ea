"""Vehicle sprites: real photographs of vehicles, cut once and cached.

Detectors do not recognise drawn rectangles as vehicles, so generated scenes composite
photographs that ship inside registry packages. Two of them are installed with the
project (Ultralytics' `bus.jpg`, scikit-image's `motorcycle_left.png`); the third,
Darknet's `dog.jpg` with a white pickup, comes from the Debian `darknet` package and is
fetched by an explicit step (`ensure_sprites`, which runs `apt-get download`), never
silently during a run.

Each sprite is a tight crop around the vehicle (measured by hand and checked against
yolov3-tiny's own box), with a feathered alpha edge. Feathered crops were chosen over
GrabCut: GrabCut initialised from a rectangle kept background clutter on the motorbike
and cut into the pickup's roof, and the detector found the cut-outs less often than
the crops (it reads the motorbike cut-out as a person).

Persons (riders seated on a motorbike, a pedestrian) are cut from the people standing
in front of the bus in `bus.jpg`; a crop's rectangle of background would hide the bike
they overlap, so they are cut out of it with GrabCut.

The cache lives in `<home>/sprites/`, `<home>` being `$TRAFFICCAM_HOME` or
`~/.cache/trafficcam`; `sources.json` there records where each sprite came from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from models import weights

SOURCES_FILENAME = "sources.json"
DARKNET_DEB = "darknet"
"""Debian package whose `data/dog.jpg` holds the pickup (and a bicycle)."""


class SpriteError(RuntimeError):
    """The sprites could not be fetched or cut."""


@dataclass(frozen=True)
class SpriteSource:
    """Where one sprite comes from.

    Attributes:
        name: Sprite name, also the vehicle class it depicts in COCO terms.
        origin: Registry and package the photograph ships in.
        member: Path of the photograph inside that package.
        rect: Crop box `[x1, y1, x2, y2]` in the photograph's pixels (after `flip`).
        flip: Mirror the photograph first, so the vehicle faces right (direction of
            travel in the generated scenes).
        cutout: Cut the subject out of its background (GrabCut inside `rect`) instead
            of feathering the crop's edge; for persons composited over a motorbike,
            where a crop's rectangle of background would hide the bike.
    """

    name: str
    origin: str
    member: str
    rect: tuple[int, int, int, int]
    flip: bool = False
    cutout: bool = False


SOURCES: tuple[SpriteSource, ...] = (
    SpriteSource(
        name="car",
        origin=f"debian:{DARKNET_DEB}",
        member="usr/share/darknet/data/dog.jpg",
        rect=(462, 76, 692, 178),
    ),
    SpriteSource(
        name="motorbike",
        origin="pypi:scikit-image",
        member="skimage/data/motorcycle_left.png",
        rect=(50, 60, 700, 440),
    ),
    SpriteSource(
        name="bus",
        origin="pypi:ultralytics",
        member="ultralytics/assets/bus.jpg",
        rect=(0, 225, 810, 770),
        flip=True,
    ),
    # Persons standing in front of the same bus: head to hips for riders (seated, their
    # legs are hidden by the bike), head to feet for a pedestrian. Rects measured on the
    # photo; yolov3-tiny boxes them at (54, 376, 215, 898) and (223, 399, 352, 817).
    SpriteSource(
        name="rider-coat",
        origin="pypi:ultralytics",
        member="ultralytics/assets/bus.jpg",
        rect=(40, 370, 235, 740),
        cutout=True,
    ),
    SpriteSource(
        name="rider-jacket",
        origin="pypi:ultralytics",
        member="ultralytics/assets/bus.jpg",
        rect=(215, 390, 360, 720),
        cutout=True,
    ),
    SpriteSource(
        name="pedestrian",
        origin="pypi:ultralytics",
        member="ultralytics/assets/bus.jpg",
        rect=(40, 370, 235, 910),
        cutout=True,
    ),
)


@dataclass(frozen=True)
class Sprite:
    """A cut-out photograph of a vehicle or a person.

    Attributes:
        name: Vehicle class (COCO name) the sprite depicts, or a person sprite's name.
        bgr: (H, W, 3) uint8 colour pixels.
        alpha: (H, W) float32 opacity in [0, 1].
    """

    name: str
    bgr: npt.NDArray[np.uint8]
    alpha: npt.NDArray[np.float32]

    @property
    def aspect(self) -> float:
        """Height over width."""
        return self.bgr.shape[0] / self.bgr.shape[1]


def sprites_dir() -> Path:
    """Return the sprite cache directory (not created)."""
    return weights.home() / "sprites"


def _package_root(dist_module: str) -> Path:
    # find_spec instead of import: importing ultralytics costs seconds and pulls torch.
    spec = importlib.util.find_spec(dist_module)
    if spec is None or not spec.submodule_search_locations:
        raise SpriteError(f"Python package {dist_module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).parent


def fetch_darknet_package(workdir: Path) -> Path:
    """Download the Debian darknet package and unpack it under `workdir`.

    Returns:
        The unpacked root; its photos are under `usr/share/darknet/data/`.
    """
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise SpriteError(
            "the car sprite comes from the Debian package 'darknet' (data/dog.jpg), but "
            "apt-get/dpkg-deb are not available here; run generate() once on a Debian "
            f"machine and copy {sprites_dir()} over"
        )
    try:
        subprocess.run(
            ["apt-get", "download", DARKNET_DEB],
            cwd=workdir,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.CalledProcessError as exc:
        raise SpriteError(
            f"'apt-get download {DARKNET_DEB}' failed ({exc.stderr.strip()[-300:]}); "
            "run 'apt-get update' first if the package lists are empty"
        ) from exc
    debs = sorted(workdir.glob(f"{DARKNET_DEB}_*.deb"))
    if not debs:
        raise SpriteError(f"'apt-get download {DARKNET_DEB}' produced no .deb")
    unpacked = workdir / "root"
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(unpacked)], check=True, timeout=120)
    return unpacked


def _feathered_alpha(height: int, width: int) -> npt.NDArray[np.float32]:
    # A soft border hides the crop's rectangle against the road without eating into
    # the vehicle, which a hard cut-out would (and which the detector punishes).
    ramp = max(2, int(0.06 * min(height, width)))
    ys = np.minimum(np.arange(height), np.arange(height)[::-1]).astype(np.float32)
    xs = np.minimum(np.arange(width), np.arange(width)[::-1]).astype(np.float32)
    edge = np.minimum(ys[:, None], xs[None, :])
    return np.clip(edge / ramp, 0.0, 1.0).astype(np.float32)


def _cutout_alpha(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    # GrabCut from a rectangle a few pixels inside the crop (the subject touches the
    # crop's bottom edge, where riders sit on the bike). OpenCV seeds its k-means
    # with a fixed state, so the same photo gives the same mask.
    height, width = crop.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    rect = (5, 5, width - 10, height - 5)
    cv2.grabCut(crop, mask, rect, background, foreground, 5, cv2.GC_INIT_WITH_RECT)
    subject = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    return np.asarray(cv2.GaussianBlur(subject, (5, 5), 0), np.float32)


def _cut(photo: npt.NDArray[np.uint8], source: SpriteSource) -> npt.NDArray[np.uint8]:
    if source.flip:
        photo = np.ascontiguousarray(photo[:, ::-1])
    x1, y1, x2, y2 = source.rect
    crop = photo[max(0, y1) : min(photo.shape[0], y2), max(0, x1) : min(photo.shape[1], x2)]
    crop = np.ascontiguousarray(crop)
    alpha = _cutout_alpha(crop) if source.cutout else _feathered_alpha(*crop.shape[:2])
    return np.dstack([crop, (alpha * 255).astype(np.uint8)])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_sprites(directory: Path | None = None) -> Path:
    """Cut every sprite into the cache unless it is already there.

    This is the one step that may reach a registry (`apt-get download darknet`); it runs
    only while a sprite is missing.

    Args:
        directory: Cache directory; `sprites_dir()` by default.

    Returns:
        The cache directory.

    Raises:
        SpriteError: If a source photograph cannot be obtained.
    """
    directory = directory or sprites_dir()
    records = _read_sources(directory)
    # A sprite cut from another crop or photograph (an older version of SOURCES) is
    # stale: recut it, or scenes would silently change under the same seed.
    missing = [
        s
        for s in SOURCES
        if not (directory / f"{s.name}.png").is_file() or not _same_source(records.get(s.name), s)
    ]
    if not missing:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trafficcam-sprites-") as tmp:
        debian_root: Path | None = None
        for source in missing:
            registry, package = source.origin.split(":", 1)
            if registry == "debian":
                debian_root = debian_root or fetch_darknet_package(Path(tmp))
                photo_path = debian_root / source.member
            else:
                photo_path = _package_root(source.member.split("/", 1)[0]) / source.member
            decoded = cv2.imread(str(photo_path), cv2.IMREAD_COLOR)
            if decoded is None:
                raise SpriteError(f"cannot read {photo_path} ({source.origin})")
            photo: npt.NDArray[np.uint8] = np.asarray(decoded, dtype=np.uint8)
            target = directory / f"{source.name}.png"
            # Write then rename, so a crash never leaves a half-written sprite cached.
            partial = target.with_suffix(".part.png")
            cv2.imwrite(str(partial), _cut(photo, source))
            partial.replace(target)
            records[source.name] = {
                **asdict(source),
                "package": package,
                "photo_sha256": _sha256(photo_path),
                "sprite_sha256": _sha256(target),
            }
    (directory / SOURCES_FILENAME).write_text(json.dumps(records, indent=2, sort_keys=True))
    return directory


def _same_source(record: object, source: SpriteSource) -> bool:
    if not isinstance(record, dict):
        return False
    return (
        record.get("member") == source.member
        and record.get("origin") == source.origin
        and tuple(record.get("rect") or ()) == source.rect
        and record.get("flip") == source.flip
        and bool(record.get("cutout", False)) == source.cutout
    )


def _read_sources(directory: Path) -> dict[str, dict[str, object]]:
    path = directory / SOURCES_FILENAME
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def load_sprites(directory: Path | None = None) -> dict[str, Sprite]:
    """Return every sprite by name, cutting them first where needed.

    Args:
        directory: Cache directory; `sprites_dir()` by default.
    """
    directory = ensure_sprites(directory)
    sprites: dict[str, Sprite] = {}
    for source in SOURCES:
        rgba = cv2.imread(str(directory / f"{source.name}.png"), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise SpriteError(f"cached sprite {source.name}.png is unreadable; delete it")
        sprites[source.name] = Sprite(
            name=source.name,
            bgr=np.ascontiguousarray(rgba[..., :3]),
            alpha=(rgba[..., 3].astype(np.float32) / 255.0),
        )
    return sprites
