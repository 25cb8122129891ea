"""Where on each camera's frame the detector looks, and how its boxes come back.

A camera watches offences in a part of its picture: the approach's lanes, the stop
line, the crosswalks, the zones. Detecting on that part alone, letterboxed to the same
network input, puts more network pixels on each vehicle there, so small far motorbikes
that the whole frame shrinks below the network's reach are found. A part much wider
than tall is cut into overlapping tiles, each detected at the camera's input size.

Every crop and tile is one more image in the detector's batch (batching across
cameras is kept), and the boxes are shifted back to frame pixels and merged here, so
the tracker, the rules and the evidence never know a region was used.

Example:
    >>> regions = CameraRegions(config.cameras)
    >>> per_frame = regions.detect(detector, images, camera_ids, input_sizes)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from models.detections import Detections
from models.detector import Detector
from pipeline.config import CameraConfig, DetectionRegion, Point, Scene

PixelBox = tuple[int, int, int, int]
"""`x1, y1, x2, y2` in whole frame pixels, x2/y2 exclusive (a numpy slice)."""

_SEAM_TOUCH_PX = 2.0
"""A box within this many pixels of a tile's inner edge was cut by that edge."""
_SIDE_AGREEMENT = 0.3
"""Two pieces of one vehicle agree on an uncut side within this share of its extent."""
_DEFAULT_NMS_IOU = 0.45


def scene_points(scene: Scene) -> list[Point]:
    """Every point of the scene's lanes, stop line, crosswalks and zones; none when the
    scene has no lanes and no zones.

    A stop line (with its crosswalks) alone does not say where vehicles come from or
    go: the box of a line is a thin strip, and vehicles approaching it would be cut off
    by its edge before they reach it, so such a scene is detected whole. Signal heads
    and calibration points are left out: heads are read from the raw frame, and
    calibration marks may lie anywhere on the ground.
    """
    points: list[Point] = []
    if not scene.lanes and not scene.zones:
        return points
    if scene.stop_line is not None:
        points.extend(scene.stop_line.points)
    for lane in scene.lanes:
        points.extend(lane.polygon)
    for crosswalk in scene.crosswalks:
        points.extend(crosswalk.polygon)
    for zone in scene.zones:
        points.extend(zone.polygon)
    return points


def region_box(settings: DetectionRegion, scene: Scene, width: int, height: int) -> PixelBox:
    """The part of a `width` x `height` frame the detector looks at.

    `auto` is the bounding box of the scene's points (`scene_points`) widened by
    `margin` times its longer side on every side and raised by `headroom` times its
    width above (vehicles stand up from their ground point, so a rider whose wheels are
    at the top edge reaches above it); the whole frame when the scene has no lanes or
    zones. The result is clipped to the frame.

    Raises:
        ValueError: If an explicit area lies wholly outside the frame.
    """
    area = settings.area
    if area == "full":
        return (0, 0, width, height)
    if area == "auto":
        points = scene_points(scene)
        if not points:
            return (0, 0, width, height)
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        pad = settings.margin * max(x2 - x1, y2 - y1)
        box = (x1 - pad, y1 - pad - settings.headroom * (x2 - x1), x2 + pad, y2 + pad)
    else:
        box = area
    clipped = (
        max(0, math.floor(box[0])),
        max(0, math.floor(box[1])),
        min(width, math.ceil(box[2])),
        min(height, math.ceil(box[3])),
    )
    if clipped[2] - clipped[0] < 2 or clipped[3] - clipped[1] < 2:
        raise ValueError(
            f"detection_region.area {list(area)} lies outside the {width}x{height} frame"
        )
    return clipped


def split_tiles(region: PixelBox, settings: DetectionRegion) -> list[PixelBox]:
    """Cut `region` along its long side into equal, overlapping tiles.

    Tiles are cut only when the region's aspect (long side over short) exceeds
    `tile_above_aspect`; then into the fewest tiles, at most `max_tiles`, that bring each
    tile's aspect down to it. Neighbours overlap by `tile_overlap` of a tile's length, so
    a vehicle shorter than the overlap is seen whole in at least one tile. Equal tiles
    share one network batch shape.
    """
    x1, y1, x2, y2 = region
    width, height = x2 - x1, y2 - y1
    horizontal = width >= height
    length, across = (width, height) if horizontal else (height, width)
    if length <= settings.tile_above_aspect * across or settings.max_tiles < 2:
        return [region]
    overlap = settings.tile_overlap
    count = settings.max_tiles
    for n in range(2, settings.max_tiles + 1):
        if length / (n - (n - 1) * overlap) <= settings.tile_above_aspect * across:
            count = n
            break
    tile = math.ceil(length / (count - (count - 1) * overlap))
    step = (length - tile) / (count - 1)
    starts = [round(i * step) for i in range(count)]
    if horizontal:
        return [(x1 + s, y1, x1 + s + tile, y2) for s in starts]
    return [(x1, y1 + s, x2, y1 + s + tile) for s in starts]


@dataclass(frozen=True)
class RegionPlan:
    """How one camera's frames of one size are cut for the detector.

    Attributes:
        region: The part of the frame detected, frame pixels.
        tiles: The crops sent to the detector (the region itself when not tiled).
        frame_size: (width, height) of the frames this plan is for.
    """

    region: PixelBox
    tiles: tuple[PixelBox, ...]
    frame_size: tuple[int, int]

    @property
    def whole_frame(self) -> bool:
        """True when the detector sees the frame as it is (no crop, no tiles)."""
        width, height = self.frame_size
        return self.tiles == ((0, 0, width, height),)


def plan_for(camera: CameraConfig, width: int, height: int) -> RegionPlan:
    """The region and tiles of `camera` on a `width` x `height` frame.

    Raises:
        ValueError: Naming the camera and field, if the region lies outside the frame.
    """
    settings = camera.detection_region
    try:
        region = region_box(settings, camera.scene, width, height)
    except ValueError as exc:
        raise ValueError(f"camera {camera.id!r}: {exc}") from None
    return RegionPlan(region, tuple(split_tiles(region, settings)), (width, height))


def _cut_sides(xyxy: np.ndarray, tile: PixelBox, region: PixelBox) -> np.ndarray:
    """(N, 4) bool: which of each box's sides (x1, y1, x2, y2) lie on an edge of `tile`
    that is inside the region (a seam), i.e. where the tile cut the vehicle off."""
    inner = np.array(
        [tile[0] > region[0], tile[1] > region[1], tile[2] < region[2], tile[3] < region[3]]
    )
    edges = np.array(tile, dtype=np.float32)
    near = np.abs(xyxy - edges) <= _SEAM_TOUCH_PX
    return near & inner


def _pieces_match(a: np.ndarray, cut_a: np.ndarray, b: np.ndarray, cut_b: np.ndarray) -> bool:
    """Whether two boxes from different tiles, one of them cut by a seam, are pieces of
    one vehicle: they overlap, and on every side neither tile cut they agree."""
    if min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]):
        return False
    if not (cut_a.any() or cut_b.any()):
        return False
    for side in range(4):
        if cut_a[side] or cut_b[side]:
            continue
        axis = side % 2  # 0: x sides, 1: y sides
        extent = min(a[axis + 2] - a[axis], b[axis + 2] - b[axis])
        if abs(a[side] - b[side]) > _SIDE_AGREEMENT * max(extent, 1.0):
            return False
    return True


def _joined(a: np.ndarray, cut_a: np.ndarray, b: np.ndarray, cut_b: np.ndarray) -> np.ndarray:
    """One box from two pieces: each side from the piece that was not cut there (the
    higher-scoring `a` where neither was), the outer one where both were."""
    out = a.copy()
    for side in range(4):
        if cut_a[side] and cut_b[side]:
            out[side] = min(a[side], b[side]) if side < 2 else max(a[side], b[side])
        elif cut_a[side]:
            out[side] = b[side]
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    iy = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = ix * iy
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def merge_tiles(
    parts: Sequence[Detections],
    tiles: Sequence[PixelBox],
    region: PixelBox,
    *,
    nms_iou: float = _DEFAULT_NMS_IOU,
) -> Detections:
    """Boxes of the tiles of one frame, in tile pixels, as one frame's boxes.

    Each tile's boxes are shifted by the tile's origin. Then, best score first and per
    class: a box that is a piece of a kept box from another tile (one of them cut by a
    seam, their uncut sides agreeing) is joined to it; a box overlapping a kept one from
    another tile by `nms_iou` or more is the same vehicle seen in both tiles' overlap
    and is dropped. Boxes of one tile are never merged with each other (the detector
    has already suppressed duplicates within a tile and kept neighbours apart).
    """
    if len(parts) == 1 and tiles[0][:2] == (0, 0):
        return parts[0]
    shifted = _shifted_to_frame(parts, tiles, region)
    if shifted is None:
        return Detections.empty()
    xyxy, score, cls, cut, tile_of = shifted
    kept, kept_box = _merged_across_tiles(xyxy, score, cls, cut, tile_of, nms_iou)
    return Detections(
        xyxy=np.array([kept_box[k] for k in kept], dtype=np.float32).reshape(-1, 4),
        scores=score[kept],
        class_ids=cls[kept],
    )


def _shifted_to_frame(
    parts: Sequence[Detections], tiles: Sequence[PixelBox], region: PixelBox
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Every tile's boxes in frame pixels, with their scores, classes, the sides a tile
    seam cut and the index of the tile each came from; None when no tile has a box."""
    boxes, scores, classes, cuts, owner = [], [], [], [], []
    for index, (found, tile) in enumerate(zip(parts, tiles, strict=True)):
        if not len(found):
            continue
        shifted = found.xyxy + np.array([tile[0], tile[1], tile[0], tile[1]], dtype=np.float32)
        boxes.append(shifted)
        scores.append(found.scores)
        classes.append(found.class_ids)
        cuts.append(_cut_sides(shifted, tile, region))
        owner.append(np.full(len(found), index))
    if not boxes:
        return None
    return (
        np.concatenate(boxes),
        np.concatenate(scores),
        np.concatenate(classes),
        np.concatenate(cuts),
        np.concatenate(owner),
    )


def _merged_across_tiles(
    xyxy: np.ndarray,
    score: np.ndarray,
    cls: np.ndarray,
    cut: np.ndarray,
    tile_of: np.ndarray,
    nms_iou: float,
) -> tuple[list[int], dict[int, np.ndarray]]:
    """The rows kept (best score first) and each one's box joined with its pieces from
    other tiles (see `merge_tiles`)."""
    kept: list[int] = []
    kept_box: dict[int, np.ndarray] = {}
    kept_cut: dict[int, np.ndarray] = {}
    kept_tiles: dict[int, set[int]] = {}
    for i in np.argsort(-score, kind="stable").tolist():
        absorbed = False
        for k in kept:
            if cls[k] != cls[i] or tile_of[i] in kept_tiles[k]:
                continue
            if _pieces_match(kept_box[k], kept_cut[k], xyxy[i], cut[i]):
                kept_box[k] = _joined(kept_box[k], kept_cut[k], xyxy[i], cut[i])
                kept_cut[k] = kept_cut[k] & cut[i]
                kept_tiles[k].add(int(tile_of[i]))
                absorbed = True
                break
            if _iou(kept_box[k], xyxy[i]) >= nms_iou:
                kept_tiles[k].add(int(tile_of[i]))
                absorbed = True
                break
        if not absorbed:
            kept.append(i)
            kept_box[i], kept_cut[i], kept_tiles[i] = (
                xyxy[i].copy(),
                cut[i].copy(),
                {int(tile_of[i])},
            )
    return kept, kept_box


_AUTO_INPUT_SCALE = 0.4
"""Least share of a detected piece's long side the network input keeps (auto size)."""


def auto_input_size(long_side: int, size_range: tuple[int, int]) -> int:
    """The network input for a piece of frame `long_side` pixels long: the smallest
    multiple of 32 keeping at least 0.4 of its pixels along that side, within
    `size_range`.

    A far, wide view (a 1600 px gantry camera) shrunk to 416 leaves a motorbike 15 px
    wide, below what tiny YOLOs find; a 640 px camera loses little at 416 and pays for
    no more.

    Example:
        >>> auto_input_size(640, (416, 608)), auto_input_size(1200, (416, 608))
        (416, 480)
        >>> auto_input_size(1600, (416, 608))
        608
    """
    smallest, largest = size_range
    wanted = -(-int(long_side * _AUTO_INPUT_SCALE) // 32) * 32
    return max(smallest, min(largest, wanted))


def _widest_piece(plan: RegionPlan | None, width: int, height: int) -> int:
    """Long side of the largest piece of the frame the detector is given."""
    if plan is None or plan.whole_frame:
        return max(width, height)
    return max(max(x2 - x1, y2 - y1) for x1, y1, x2, y2 in plan.tiles)


class CameraRegions:
    """Per camera, cuts frames to their detection region (and tiles) for one batched
    detector call and brings the boxes back to frame pixels."""

    def __init__(
        self,
        cameras: Iterable[CameraConfig],
        *,
        nms_iou: float | None = None,
        input_size_range: tuple[int, int] | None = None,
    ) -> None:
        """Args:
        cameras: The cameras whose frames will be detected.
        nms_iou: IoU above which boxes of a class from neighbouring tiles are one box;
            None: the detector's own.
        input_size_range: (smallest, largest) network input for a camera that sets no
            input size of its own, chosen from the width of what is detected (see
            `auto_input_size`); None leaves such frames at the detector's default.
        """
        self.cameras = {camera.id: camera for camera in cameras}
        self.nms_iou = nms_iou
        self.input_size_range = input_size_range
        self._plans: dict[tuple[str, int, int], RegionPlan] = {}

    def plan(self, camera_id: str, width: int, height: int) -> RegionPlan | None:
        """The camera's plan for frames of this size (cached); None for an unknown camera
        (its frames are detected whole)."""
        camera = self.cameras.get(camera_id)
        if camera is None:
            return None
        key = (camera_id, width, height)
        if key not in self._plans:
            self._plans[key] = plan_for(camera, width, height)
        return self._plans[key]

    def detect(
        self,
        detector: Detector,
        images: Sequence[np.ndarray],
        camera_ids: Sequence[str],
        input_sizes: Sequence[int | None],
    ) -> list[Detections]:
        """Detect every frame's region in one detector call.

        Args:
            detector: Any `Detector`.
            images: One BGR frame per entry.
            camera_ids: The camera of each frame.
            input_sizes: Each frame's camera input size (None: the detector's default);
                every tile of a frame is detected at it.

        Returns:
            One `Detections` per frame, boxes in that frame's pixels.
        """
        crops: list[np.ndarray] = []
        sizes: list[int | None] = []
        spans: list[tuple[int, int, RegionPlan | None]] = []
        for image, camera_id, size in zip(images, camera_ids, input_sizes, strict=True):
            height, width = image.shape[:2]
            plan = self.plan(camera_id, width, height)
            if size is None and self.input_size_range is not None:
                size = auto_input_size(_widest_piece(plan, width, height), self.input_size_range)
            start = len(crops)
            if plan is None or plan.whole_frame:
                crops.append(image)
                sizes.append(size)
            else:
                for x1, y1, x2, y2 in plan.tiles:
                    crops.append(image[y1:y2, x1:x2])
                    sizes.append(size)
            spans.append((start, len(crops), plan))
        found = detector.detect(crops, sizes)
        nms_iou = self.nms_iou
        if nms_iou is None:
            nms_iou = float(getattr(detector, "nms_iou", _DEFAULT_NMS_IOU))
        results: list[Detections] = []
        for start, end, plan in spans:
            if plan is None or plan.whole_frame:
                results.append(found[start])
            else:
                results.append(
                    merge_tiles(found[start:end], plan.tiles, plan.region, nms_iou=nms_iou)
                )
        return results
