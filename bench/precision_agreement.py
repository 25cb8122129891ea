"""How many of the exact (f32) model's boxes the faster precisions keep, on any video.

Usage:
    python bench/precision_agreement.py VIDEO [VIDEO ...] [--input-size 640]
                                        [--every 6] [--frames 60] [--min-score 0.25]

Runs yolov3-tiny on OpenVINO in f32, bf16 and int8 over the same frames (every
`--every`-th, at most `--frames` per video) and prints, per video and precision:
`kept`, the share of the f32 boxes scored at least `--min-score` that the precision
also finds (same class, IoU >= 0.5), and `agree`, the share of its own boxes that
f32 also finds. Run it on a camera's own footage before trusting int8 there; boxes
near the score threshold come and go between any two precisions, so also look at
`--min-score 0.4`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import av
import numpy as np

from models.darknet import DarknetDetector
from models.detections import Detections
from models.runtimes import Precision
from pipeline.evaluation.scenario.groundtruth import iou

PRECISIONS: tuple[Precision, ...] = ("f32", "bf16", "int8")


def found_in(reference: Detections, other: Detections, min_iou: float = 0.5) -> int:
    """How many of `reference`'s boxes `other` has too (same class, IoU >= min_iou)."""
    return sum(
        bool((iou(box, other.xyxy[other.class_ids == cls]) >= min_iou).any())
        for box, cls in zip(reference.xyxy, reference.class_ids, strict=True)
    )


def read_frames(video: Path, every: int, limit: int) -> list[np.ndarray]:
    frames = []
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every == 0:
                frames.append(frame.to_ndarray(format="bgr24"))
            if len(frames) >= limit:
                break
    return frames


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", type=Path, nargs="+")
    parser.add_argument("--input-size", type=int, default=640)
    parser.add_argument("--every", type=int, default=6)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--min-score", type=float, default=0.25)
    args = parser.parse_args(argv)

    detectors = {
        p: DarknetDetector.from_registry("yolov3-tiny", runtime="openvino", precision=p)
        for p in PRECISIONS
    }
    print(f"yolov3-tiny @ {args.input_size}, f32 boxes scored >= {args.min_score}")
    columns = "".join(f" {p:>5} kept  agree" for p in PRECISIONS[1:])
    print(f"{'video':32} {'f32 boxes':>9}{columns}")
    for video in args.videos:
        frames = read_frames(video, args.every, args.frames)
        results = {
            p: [d.detect([f], [args.input_size])[0] for f in frames] for p, d in detectors.items()
        }
        reference = [r.select(r.scores >= args.min_score) for r in results["f32"]]
        total = sum(len(r) for r in reference)
        line = f"{video.name[:32]:32} {total:>9}"
        for precision in PRECISIONS[1:]:
            got = results[precision]
            kept = sum(found_in(r, g) for r, g in zip(reference, got, strict=True))
            agree = sum(found_in(g, r) for r, g in zip(results["f32"], got, strict=True))
            own = sum(len(g) for g in got)
            line += f" {kept / max(total, 1):>10.3f} {agree / max(own, 1):>6.3f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
