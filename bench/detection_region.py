"""Detection regions on a real clip: detector time and motorbikes found, per setting.

Usage:
    python bench/detection_region.py --config examples/footage/vn_danang_gantry.yaml
        [--video CLIP] [--every 3] [--max-frames 60] [--variant full auto auto+tiles ...]
        [--labels LABELS.yaml] [--model yolov4-tiny]

Decodes every `--every`-th frame of the camera's clip (the config's source unless
`--video` is given), then, for each variant of the camera's `detection_region`, runs
the configured detector through the worker's region path (`CameraRegions`) one frame
per call, and prints milliseconds per frame, motorbikes per frame (all, and those whose
ground point lies in one of the scene's lanes) and the network input each crop gets.
Variants: `full` (the whole frame, as before regions), `auto` (the default), `auto+tiles`
(auto with up to 2 tiles), or `x1,y1,x2,y2` (an explicit area, `+tiles` allowed).
Variants are run in interleaved rounds and the best round's time is kept, so a burst
from another process on a shared machine does not land on one variant only.

With `--labels LABELS.yaml` (a clip's labels, `shared/footage/labels/NAME.yaml`) it also
runs every frame inside each labelled offence's crossing window and counts the offences
whose vehicle is boxed (a box of its class, motorbike and bicycle taken as one, with
IoU >= 0.3 against the labelled `box_at_crossing`) in at least one of those frames, the
share of window frames in which it is, and the offences boxed as any class (a rider seen
from behind is often boxed as a person only).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import yaml

from models.darknet import fitted_input_shape
from models.detections import class_id
from pipeline.cli.run import build_detector
from pipeline.config import CameraConfig, load_config
from pipeline.geometry import anchor_point, box_iou, point_in_polygon
from pipeline.runtime.detection_region import CameraRegions


def decode(video: Path, every: int, max_frames: int) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every == 0:
                frames.append(frame.to_ndarray(format="bgr24"))
                if len(frames) >= max_frames:
                    break
    return frames


def decode_timed(video: Path, windows: list[tuple[float, float]]) -> list[tuple[float, Any]]:
    """Every frame whose time (from the first frame's) falls in one of `windows`."""
    frames: list[tuple[float, Any]] = []
    with av.open(str(video)) as container:
        first: float | None = None
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            first = t if first is None else first
            t -= first
            if any(a - 1e-3 <= t <= b + 1e-3 for a, b in windows):
                frames.append((t, frame.to_ndarray(format="bgr24")))
    return frames


def labelled_recall(
    labels: Path,
    video: Path,
    runs: dict[str, CameraRegions],
    camera_id: str,
    detector: Any,
    size: int,
) -> None:
    """Print, per variant, how many labelled offences' vehicles are boxed near their crossing."""
    data = yaml.safe_load(labels.read_text())
    offences = [v for v in data.get("violations") or [] if v.get("box_at_crossing")]
    frames = decode_timed(video, [(v["t_start"], v["t_end"]) for v in offences])
    two_wheel = {"motorbike", "bicycle"}
    print(f"labelled crossings: {len(offences)} ({len(frames)} frames in their windows)")
    for variant, regions in runs.items():
        found: dict[float, Any] = {}
        for t, image in frames:
            [found[t]] = regions.detect(detector, [image], [camera_id], [size])
        boxed = anything = 0
        shares = []
        for offence in offences:
            wanted = two_wheel if offence["vehicle"] in two_wheel else {offence["vehicle"]}
            in_window = [
                d
                for t, d in found.items()
                if offence["t_start"] - 1e-3 <= t <= offence["t_end"] + 1e-3
            ]
            hits = [
                any(
                    name in wanted and box_iou(box, offence["box_at_crossing"]) >= 0.3
                    for box, name in zip(d.xyxy.tolist(), d.class_names, strict=True)
                )
                for d in in_window
            ]
            boxed += any(hits)
            anything += any(
                box_iou(box, offence["box_at_crossing"]) >= 0.3
                for d in in_window
                for box in d.xyxy.tolist()
            )
            shares.append(sum(hits) / max(1, len(hits)))
        share = sum(shares) / max(1, len(shares))
        print(
            f"  {variant:28} boxed {boxed}/{len(offences)} as their class "
            f"(in {share:.0%} of window frames), {anything}/{len(offences)} as any class"
        )


def variant_camera(camera: CameraConfig, variant: str) -> CameraConfig:
    tiles = variant.endswith("+tiles")
    area: Any = variant.removesuffix("+tiles")
    if area not in ("auto", "full"):
        area = tuple(float(v) for v in area.split(","))
    region = camera.detection_region.model_copy(
        update={"area": area, "max_tiles": 2 if tiles else 1}
    )
    return camera.model_copy(update={"detection_region": region})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--video", type=Path)
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--max-frames", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", nargs="+", default=["full", "auto", "auto+tiles"])
    parser.add_argument("--labels", type=Path, help="the clip's labels (NAME.yaml)")
    parser.add_argument("--model", help="detector registry name instead of the config's")
    args = parser.parse_args()

    config = load_config(args.config)
    if args.model:
        detector_settings = config.detector.model_copy(update={"model": args.model})
        config = config.model_copy(update={"detector": detector_settings})
    camera = config.cameras[0]
    video = args.video or Path(camera.source.url)
    frames = decode(video, args.every, args.max_frames)
    detector = build_detector(config)
    size = camera.detector_input_size or config.detector.input_size
    motorbike = class_id("motorbike")
    lanes = [lane.polygon for lane in camera.scene.lanes]
    height, width = frames[0].shape[:2]
    print(f"{video.name}: {len(frames)} frames of {width}x{height}, input size {size}")

    runs = {v: CameraRegions([variant_camera(camera, v)]) for v in args.variant}
    best = dict.fromkeys(args.variant, float("inf"))
    counts: dict[str, tuple[float, float]] = {}
    detector.detect([frames[0]], [size])  # compile before timing
    for _ in range(args.rounds):
        for variant, regions in runs.items():
            regions.detect(detector, [frames[0]], [camera.id], [size])  # warm this shape
            bikes = in_lanes = 0
            started = time.perf_counter()
            for frame in frames:
                [found] = regions.detect(detector, [frame], [camera.id], [size])
                boxes = found.xyxy[found.class_ids == motorbike]
                bikes += len(boxes)
                in_lanes += sum(
                    any(point_in_polygon(anchor_point(tuple(b)), lane) for lane in lanes)
                    for b in boxes.tolist()
                )
            elapsed = (time.perf_counter() - started) / len(frames) * 1000
            best[variant] = min(best[variant], elapsed)
            counts[variant] = (bikes / len(frames), in_lanes / len(frames))

    print(f"{'variant':28} {'ms/frame':>9} {'bikes/frame':>12} {'in lanes':>9}  crops -> input")
    for variant, regions in runs.items():
        plan = regions.plan(camera.id, width, height)
        assert plan is not None
        shapes = []
        for x1, y1, x2, y2 in plan.tiles:
            net_h, net_w = fitted_input_shape(y2 - y1, x2 - x1, size)
            shapes.append(f"{x2 - x1}x{y2 - y1}->{net_w}x{net_h}")
        per_frame, in_lane = counts[variant]
        crops = ", ".join(shapes)
        print(f"{variant:28} {best[variant]:9.1f} {per_frame:12.2f} {in_lane:9.2f}  {crops}")
    if args.labels is not None:
        labelled_recall(args.labels, video, runs, camera.id, detector, size)


if __name__ == "__main__":
    main()
