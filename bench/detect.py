"""Detector throughput: every backend and runtime installed here, in one run.

Usage:
    python bench/detect.py [--sizes 416 608 640] [--batches 1 4 8] [--seconds 3]
                           [--ultralytics-model plate-yolov8n]

For each (backend/runtime, input size, batch) it runs `detect` on batches of a real
1280x720 photo (Ultralytics' `bus.jpg`, letterboxed onto a 16:9 canvas like a CCTV
frame) for about `--seconds`, after one warm-up call, and prints ms per frame and
frames per second. Runtimes are measured interleaved in one process, so figures in one
table are comparable even on a shared, noisy machine; compare tables across runs only
loosely. The last line gives the default's speed-up over OpenCV DNN.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import ultralytics

from models import weights
from models.darknet import DarknetDetector
from models.runtimes import available_runtimes, pick_runtime

Detect = Callable[[list[np.ndarray], int], object]


def cctv_frame() -> np.ndarray:
    """A 1280x720 BGR frame holding a real street photo (bus and pedestrians)."""
    photo = cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))
    assert photo is not None, "Ultralytics' bus.jpg is missing"
    canvas = np.full((720, 1280, 3), 90, dtype=np.uint8)
    scale = 720 / photo.shape[0]
    resized = cv2.resize(photo, (round(photo.shape[1] * scale), 720))
    x0 = (1280 - resized.shape[1]) // 2
    canvas[:, x0 : x0 + resized.shape[1]] = resized
    return canvas


def time_it(detect: Detect, frame: np.ndarray, size: int, batch: int, seconds: float) -> float:
    """Return mean milliseconds per frame over about `seconds` of back-to-back calls."""
    frames = [frame] * batch
    detect(frames, size)  # warm-up: OpenVINO compiles per shape, caches fill
    calls, started = 0, time.perf_counter()
    while True:
        detect(frames, size)
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and calls >= 2:
            return 1000 * elapsed / (calls * batch)


def _sized(detect: Callable[[list[np.ndarray], list[int]], object]) -> Detect:
    """Adapt `detect(frames, input_sizes)` to one input size for the whole batch."""
    return lambda frames, size: detect(frames, [size] * len(frames))


def darknet_backends() -> dict[str, Detect]:
    backends: dict[str, Detect] = {}
    for runtime in available_runtimes():
        detector = DarknetDetector.from_registry("yolov3-tiny", runtime=runtime)  # type: ignore[arg-type]
        backends[f"darknet/{runtime}"] = _sized(detector.detect)
    return backends


def ultralytics_backends(model: str) -> dict[str, Detect]:
    try:
        from models.ultralytics_backend import UltralyticsDetector
    except ImportError:
        return {}
    backends: dict[str, Detect] = {}
    for fmt in ("pytorch", "openvino", "onnx"):
        try:
            detector = UltralyticsDetector.from_registry(model, export=fmt)  # type: ignore[arg-type]
        except Exception as exc:  # a missing model or runtime is reported, not fatal
            print(f"# ultralytics/{fmt} skipped: {exc}", file=sys.stderr)
            continue
        backends[f"ultralytics-{model}/{fmt}"] = _sized(detector.detect)
    return backends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[416, 608, 640])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--ultralytics-model", default="plate-yolov8n")
    parser.add_argument("--no-ultralytics", action="store_true")
    args = parser.parse_args(argv)

    weights.resolve("yolov3-tiny")  # fail early, naming the pull command
    frame = cctv_frame()
    backends = darknet_backends()
    if not args.no_ultralytics:
        backends.update(ultralytics_backends(args.ultralytics_model))
    default = f"darknet/{pick_runtime('auto')}"

    print(f"{'backend/runtime':40} {'size':>5} {'batch':>5} {'ms/frame':>9} {'frames/s':>9}")
    results: dict[tuple[str, int, int], float] = {}
    for size in args.sizes:
        for batch in args.batches:
            for name, detect in backends.items():
                ms = time_it(detect, frame, size, batch, args.seconds)
                results[(name, size, batch)] = ms
                print(f"{name:40} {size:>5} {batch:>5} {ms:>9.1f} {1000 / ms:>9.1f}", flush=True)
    for size in args.sizes:
        for batch in args.batches:
            base = results.get(("darknet/opencv", size, batch))
            ours = results.get((default, size, batch))
            if base and ours:
                print(f"default {default} vs darknet/opencv @{size} b{batch}: {base / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
