"""Objects each Darknet model finds on real clips, per class, model and input size.

Usage:
    python bench/detection_counts.py VIDEO [VIDEO ...] [--every 30]
        [--models yolov3-tiny yolov4-tiny] [--sizes 416 608 640]
        [--precision auto|f32|bf16|int8] [--classes motorbike person car]

Decodes every `--every`-th frame of each clip, runs every (model, size) on the same
frames (whole frames, one call per frame, the models' default thresholds) and prints
boxes per class, per clip and in total, with the milliseconds each model took per
frame. The clips carry no per-box truth, so more boxes is not by itself better; it
shows what each model gives the tracker, and a class that one model finds several
times as often as another on the same frames is worth a look. The last lines give
yolov4-tiny's count over yolov3-tiny's at each size, per class, where both ran.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import av
import numpy as np

from models.darknet import DarknetDetector
from models.runtimes import Precision

Key = tuple[str, int]
"""(model, input size)."""


def decode(video: Path, every: int) -> list[np.ndarray]:
    """Every `every`-th frame of `video` as BGR arrays."""
    with av.open(str(video)) as container:
        return [
            frame.to_ndarray(format="bgr24")
            for index, frame in enumerate(container.decode(video=0))
            if index % every == 0
        ]


def count(
    detector: DarknetDetector, frames: list[np.ndarray], size: int
) -> tuple[Counter[str], float]:
    """Boxes per class over `frames`, and the mean milliseconds per frame."""
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for frame in frames:
        [dets] = detector.detect([frame], [size])
        counts.update(dets.class_names)
    return counts, 1000 * (time.perf_counter() - started) / max(1, len(frames))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", type=Path, nargs="+")
    parser.add_argument("--every", type=int, default=30, help="use every n-th frame")
    parser.add_argument("--models", nargs="+", default=["yolov3-tiny", "yolov4-tiny"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[416, 608, 640])
    parser.add_argument("--precision", choices=["auto", "f32", "bf16", "int8"], default="auto")
    parser.add_argument("--classes", nargs="+", default=["motorbike", "person", "car"])
    args = parser.parse_args(argv)
    precision: Precision = args.precision

    detectors = {m: DarknetDetector.from_registry(m, precision=precision) for m in args.models}
    for model, detector in detectors.items():
        print(f"# {model}: {detector.runtime} {detector.precision}")
    header = f"{'clip':38} {'frames':>6} {'model':12} {'size':>5} {'ms/fr':>6}"
    header += "".join(f" {c:>9}" for c in args.classes)
    print(header)
    totals: dict[Key, Counter[str]] = {}
    for video in args.videos:
        frames = decode(video, args.every)
        for model, detector in detectors.items():
            for size in args.sizes:
                counts, ms = count(detector, frames, size)
                totals.setdefault((model, size), Counter()).update(counts)
                row = f"{video.stem[:38]:38} {len(frames):>6} {model:12} {size:>5} {ms:>6.1f}"
                print(row + "".join(f" {counts[c]:>9}" for c in args.classes), flush=True)
    print("total")
    for (model, size), counts in totals.items():
        print(
            f"{'all clips':38} {'':>6} {model:12} {size:>5} {'':>6}"
            + "".join(f" {counts[c]:>9}" for c in args.classes)
        )
    for size in args.sizes:
        old, new = totals.get(("yolov3-tiny", size)), totals.get(("yolov4-tiny", size))
        if old is not None and new is not None:
            ratios = ", ".join(
                f"{c} {new[c] / old[c]:.2f}x" if old[c] else f"{c} {new[c]} vs 0"
                for c in args.classes
            )
            print(f"yolov4-tiny / yolov3-tiny @{size}: {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
