"""Detection regions: which part of the frame the detector sees, tiles, and boxes
coming back in frame pixels (real yolov3-tiny on real photos pasted into generated
frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import skimage
from pydantic import ValidationError

from models.darknet import DarknetDetector, fitted_input_shape
from models.detections import Detections, class_id
from pipeline.config import CameraConfig, DetectionRegion
from pipeline.geometry import box_iou
from pipeline.runtime.detection_region import (
    CameraRegions,
    merge_tiles,
    plan_for,
    split_tiles,
)

MOTORBIKE = class_id("motorbike")


def camera(scene: dict[str, Any] | None = None, region: Any = None) -> CameraConfig:
    data: dict[str, Any] = {
        "id": "cam-1",
        "name": "Test",
        "location": {"text": "x", "lat": 21.0, "lon": 105.8},
        "source": {"url": "video.mp4"},
        "scene": scene or {},
    }
    if region is not None:
        data["detection_region"] = region
    return CameraConfig.model_validate(data)


LANE_SCENE = {
    "stop_line": {"points": [[400, 500], [1200, 500]], "junction_side": [800, 300]},
    "lanes": [
        {
            "id": "l1",
            "polygon": [[400, 500], [1200, 500], [1300, 800], [300, 800]],
            "directions": [[[800, 750], [800, 550]]],
        }
    ],
}


# ------------------------------------------------------------------ the region


def test_auto_region_is_the_scene_box_with_margin_and_headroom_above() -> None:
    cam = camera(LANE_SCENE)
    # Scene box x 300-1300, y 500-800 (1000 x 300); margin 0.05 of 1000 = 50 on every
    # side, headroom 0.12 of the width = 120 more above.
    assert plan_for(cam, 1920, 1080).region == (250, 330, 1350, 850)


def test_auto_region_includes_crosswalks_and_zones_and_follows_margin_settings() -> None:
    scene = {
        **LANE_SCENE,
        "crosswalks": [{"id": "c", "polygon": [[500, 420], [1100, 420], [1100, 480], [500, 480]]}],
        "zones": [
            {
                "id": "z",
                "kind": "no_parking",
                "max_dwell_s": 60,
                "polygon": [[1300, 700], [1500, 700], [1500, 900]],
            }
        ],
    }
    cam = camera(scene, {"area": "auto", "margin": 0.0, "headroom": 0.0})
    assert plan_for(cam, 1920, 1080).region == (300, 420, 1500, 900)


def test_auto_region_is_clipped_to_the_frame() -> None:
    cam = camera(LANE_SCENE, {"margin": 0.5})
    x1, y1, x2, y2 = plan_for(cam, 1600, 900).region
    assert (x1, y1, x2, y2) == (0, 0, 1600, 900)


def test_a_scene_without_lanes_or_zones_is_detected_whole() -> None:
    plan = plan_for(camera(), 1280, 720)
    assert plan.region == (0, 0, 1280, 720) and plan.whole_frame
    # A stop line alone says nothing of where vehicles come from: not a thin strip.
    line_only = {"stop_line": LANE_SCENE["stop_line"]}
    assert plan_for(camera(line_only), 1920, 1080).whole_frame


def test_full_and_explicit_areas() -> None:
    assert plan_for(camera(LANE_SCENE, "full"), 1280, 720).whole_frame
    explicit = plan_for(camera(LANE_SCENE, [100.4, 50, 900.2, 600]), 1280, 720)
    assert explicit.region == (100, 50, 901, 600) and not explicit.whole_frame
    # An area reaching past the frame is clipped to it.
    assert plan_for(camera(None, [-50, 100, 5000, 600]), 1280, 720).region == (0, 100, 1280, 600)


def test_bad_areas_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="detection_region.area"):
        camera(None, [900, 50, 100, 600])
    with pytest.raises(ValidationError, match="detection_region.area"):
        camera({"image_size": [1280, 720]}, [1300, 50, 1400, 600])
    with pytest.raises(ValidationError, match="detection_region"):
        camera(None, "everything")
    # Without image_size the frame is only known at run time: the error names the camera.
    with pytest.raises(ValueError, match="camera 'cam-1': detection_region.area"):
        plan_for(camera(None, [2000, 50, 2100, 600]), 1280, 720)


# ------------------------------------------------------------------ tiles


def test_a_wide_region_is_cut_into_two_overlapping_tiles_of_equal_size() -> None:
    settings = DetectionRegion(max_tiles=2)
    tiles = split_tiles((100, 200, 1700, 600), settings)  # 1600 x 400: aspect 4
    assert len(tiles) == 2
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = tiles
    assert (ax1, bx2) == (100, 1700) and ay1 == by1 == 200 and ay2 == by2 == 600
    assert ax2 - ax1 == bx2 - bx1
    overlap = ax2 - bx1
    assert overlap == pytest.approx(0.2 * (ax2 - ax1), abs=2)


def test_narrow_regions_and_max_tiles_one_are_not_tiled() -> None:
    assert split_tiles((0, 0, 1000, 600), DetectionRegion(max_tiles=2)) == [(0, 0, 1000, 600)]
    assert split_tiles((0, 0, 3000, 600), DetectionRegion()) == [(0, 0, 3000, 600)]
    tall = split_tiles((0, 0, 300, 1000), DetectionRegion(max_tiles=3))
    assert len(tall) == 2 and tall[0][1] == 0 and tall[-1][3] == 1000


def dets(*rows: tuple[float, float, float, float, float, str]) -> Detections:
    return Detections(
        xyxy=np.array([r[:4] for r in rows], dtype=np.float32).reshape(-1, 4),
        scores=np.array([r[4] for r in rows], dtype=np.float32),
        class_ids=np.array([class_id(r[5]) for r in rows]),
    )


def test_a_box_cut_by_the_seam_is_joined_and_boxes_come_back_in_frame_pixels() -> None:
    region = (100, 50, 2100, 550)
    tiles = [(100, 50, 1211, 550), (989, 50, 2100, 550)]
    # A bus from x 1150 to 1400 (frame): tile A sees it cut at its right edge (1111 in
    # tile pixels), tile B sees it whole. A motorbike lies wholly in A.
    part_a = dets((1050, 100, 1111, 300, 0.6, "bus"), (200, 250, 240, 330, 0.8, "motorbike"))
    part_b = dets((161, 102, 411, 302, 0.9, "bus"))
    merged = merge_tiles([part_a, part_b], tiles, region)
    assert len(merged) == 2
    bus = merged.xyxy[merged.class_ids == class_id("bus")]
    assert bus.tolist() == [[1150, 152, 1400, 352]]
    bike = merged.xyxy[merged.class_ids == MOTORBIKE]
    assert bike.tolist() == [[300, 300, 340, 380]]


def test_a_vehicle_longer_than_the_overlap_is_joined_from_both_cut_pieces() -> None:
    region = (0, 0, 2000, 500)
    tiles = [(0, 0, 1111, 500), (889, 0, 2000, 500)]
    # A truck from 700 to 1500: cut at 1111 in A, at 889 (tile x 0) in B.
    part_a = dets((700, 100, 1111, 300, 0.7, "truck"))
    part_b = dets((0, 102, 611, 304, 0.8, "truck"))
    merged = merge_tiles([part_a, part_b], tiles, region)
    assert merged.xyxy.tolist() == [[700, 102, 1500, 304]]


def test_neighbours_at_the_seam_and_duplicates_in_the_overlap() -> None:
    region = (0, 0, 2000, 500)
    tiles = [(0, 0, 1111, 500), (889, 0, 2000, 500)]
    # Two motorbikes side by side at the seam: A cuts the left one at 1111; B sees both.
    # The right one reaches 1160: its cut piece in A would disagree on its left side.
    part_a = dets((1060, 200, 1111, 300, 0.6, "motorbike"), (1000, 150, 1050, 250, 0.7, "car"))
    part_b = dets(
        (111, 201, 166, 301, 0.8, "motorbike"),  # 1000-1055: the left bike, whole
        (170, 198, 230, 299, 0.9, "motorbike"),  # 1059-1119: the right bike, whole
        (112, 151, 160, 251, 0.75, "car"),  # the car again, whole in both tiles
    )
    merged = merge_tiles([part_a, part_b], tiles, region)
    bikes = sorted(merged.xyxy[merged.class_ids == MOTORBIKE].tolist())
    assert bikes == [[1000, 201, 1055, 301], [1059, 198, 1119, 299]]
    assert len(merged.select(merged.class_ids == class_id("car"))) == 1


# ------------------------------------------------------------------ real detector


@pytest.fixture(scope="module")
def detector() -> DarknetDetector:
    return DarknetDetector.from_registry("yolov3-tiny", input_size=416)


@pytest.fixture(scope="module")
def motorbike_photo() -> np.ndarray:
    image = cv2.imread(str(Path(skimage.__file__).parent / "data" / "motorcycle_left.png"))
    assert image is not None
    return image[60:440, 50:700]  # the registry sprite's crop: the bike and its rider


def paste(frame: np.ndarray, photo: np.ndarray, x: int, y: int, width: int) -> tuple[int, ...]:
    height = round(photo.shape[0] * width / photo.shape[1])
    frame[y : y + height, x : x + width] = cv2.resize(photo, (width, height))
    return (x, y, x + width, y + height)


def street(width: int, height: int) -> np.ndarray:
    """A grey road with some texture, so the frame is not a flat canvas."""
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 6, (height, width, 1))
    return np.clip(110 + noise, 0, 255).astype(np.uint8).repeat(3, axis=2)


def best_motorbike(found: Detections, pasted: tuple[int, ...]) -> float:
    bikes = found.xyxy[found.class_ids == MOTORBIKE].tolist()
    return max((box_iou(tuple(b), pasted) for b in bikes), default=0.0)  # type: ignore[arg-type]


def test_a_motorbike_in_the_region_comes_back_where_it_was_pasted(
    detector: DarknetDetector, motorbike_photo: np.ndarray
) -> None:
    frame = street(1920, 1080)
    pasted = paste(frame, motorbike_photo, 1210, 610, 200)
    cam = camera(None, [1000, 450, 1700, 900])
    [found] = CameraRegions([cam]).detect(detector, [frame], [cam.id], [None])
    assert best_motorbike(found, pasted) >= 0.6


def test_a_small_far_motorbike_is_found_in_the_region_and_missed_on_the_whole_frame(
    detector: DarknetDetector, motorbike_photo: np.ndarray
) -> None:
    frame = street(3840, 2160)
    pasted = paste(frame, motorbike_photo, 2500, 1400, 200)
    scene = {
        "stop_line": {"points": [[2100, 1400], [2900, 1400]], "junction_side": [2500, 1200]},
        "lanes": [
            {
                "id": "l",
                "polygon": [[2100, 1400], [2900, 1400], [2900, 1600], [2100, 1600]],
                "directions": [[[2500, 1550], [2500, 1450]]],
            }
        ],
    }
    regional, whole = camera(scene), camera(scene, "full")
    x1, y1, x2, y2 = plan_for(regional, 3840, 2160).region
    # The region's network input puts about four times the pixels on each vehicle.
    net_h, net_w = fitted_input_shape(y2 - y1, x2 - x1, 416)
    assert min(net_w / (x2 - x1), net_h / (y2 - y1)) > 4 * 416 / 3840
    [in_region] = CameraRegions([regional]).detect(detector, [frame], [regional.id], [416])
    [on_frame] = CameraRegions([whole]).detect(detector, [frame], [whole.id], [416])
    assert best_motorbike(in_region, pasted) >= 0.5
    assert best_motorbike(on_frame, pasted) == 0.0


def test_a_motorbike_cut_by_a_tile_edge_is_joined_into_one_box_in_frame_pixels(
    detector: DarknetDetector, motorbike_photo: np.ndarray
) -> None:
    frame = street(2400, 700)
    cam = camera(None, {"area": [0, 100, 2400, 600], "max_tiles": 2})
    plan = plan_for(cam, 2400, 700)
    (_, _, seam, _), (next_start, _, _, _) = plan.tiles
    # The bike straddles the first tile's right edge, within the overlap band: the first
    # tile sees it cut off at its edge, the second whole.
    pasted = paste(frame, motorbike_photo, seam - 180, 300, 240)
    assert next_start < pasted[0] and pasted[2] > seam
    first, _ = detector.detect([frame[y1:y2, x1:x2] for x1, y1, x2, y2 in plan.tiles], [608, 608])
    cut_x2 = plan.tiles[0][2] - plan.tiles[0][0]
    assert (np.abs(first.xyxy[first.class_ids == MOTORBIKE, 2] - cut_x2) < 2).any()

    [found] = CameraRegions([cam]).detect(detector, [frame], [cam.id], [608])
    bikes = found.xyxy[found.class_ids == MOTORBIKE]
    assert not (np.abs(bikes[:, 2] - seam) < 2).any(), "a piece cut at the seam survived"
    assert best_motorbike(found, pasted) >= 0.7


def test_frames_of_cameras_without_a_region_pass_through_unchanged(
    detector: DarknetDetector, motorbike_photo: np.ndarray
) -> None:
    frame = street(1280, 720)
    paste(frame, motorbike_photo, 500, 300, 240)
    regions = CameraRegions([camera(None, "full")])
    got = regions.detect(detector, [frame, frame], ["cam-1", "unknown"], [None, None])
    direct = detector.detect([frame])[0]
    assert got[0] == direct and got[1] == direct


# ------------------------------------------------------------------ input size


class SizeRecorder:
    """The real detector, noting the input size each frame was given."""

    def __init__(self, detector: DarknetDetector) -> None:
        self.detector = detector
        self.name, self.model_sha256 = detector.name, detector.model_sha256
        self.sizes: list[int | None] = []

    def detect(self, frames: Any, input_sizes: Any = None) -> list[Detections]:
        self.sizes += list(input_sizes)
        return self.detector.detect(frames, input_sizes)


@pytest.mark.parametrize(
    ("frame_size", "own_size", "given"),
    [
        ((1600, 720), None, 608),  # a far gantry view: 0.4 of its width is 640, capped
        ((1200, 540), None, 480),  # 0.4 of 1200 rounded up to a multiple of 32
        ((640, 480), None, 416),  # never below the detector's input size
        ((1600, 720), 416, 416),  # a camera's own setting wins
    ],
)
def test_a_camera_without_its_own_input_size_gets_one_for_its_width(
    detector: DarknetDetector, frame_size: tuple[int, int], own_size: int | None, given: int
) -> None:
    width, height = frame_size
    cam = camera(None, "full")
    recorder = SizeRecorder(detector)
    regions = CameraRegions([cam], input_size_range=(416, 608))
    frame = np.full((height, width, 3), 90, dtype=np.uint8)
    regions.detect(recorder, [frame], [cam.id], [own_size])
    assert recorder.sizes == [given]


def test_without_a_size_range_frames_keep_the_detectors_default(
    detector: DarknetDetector,
) -> None:
    cam = camera(None, "full")
    recorder = SizeRecorder(detector)
    frame = np.full((720, 1600, 3), 90, dtype=np.uint8)
    CameraRegions([cam]).detect(recorder, [frame], [cam.id], [None])
    assert recorder.sizes == [None]
