"""Detector throughput: every backend and runtime installed here, in one run.

Usage:
    python bench/detect.py [--sizes 416 608 640] [--batches 1 4 8] [--seconds 3]
                           [--models yolov3-tiny yolov4-tiny] [--threads N]
                           [--ultralytics-model plate-yolov8n]

For each (input size, batch) it runs every backend/runtime's `detect` on batches of a
real 1280x720 photo (Ultralytics' `bus.jpg` on a 16:9 canvas like a CCTV frame), after
one warm-up call, in `--rounds` interleaved rounds of about `--seconds` each, and
prints the best round's ms per frame and frames per second. Rows name the runtime and
the precision it computes in; OpenVINO runs the default INT8 model and, for
comparison, the float model in bf16. Interleaving and the best
round keep figures in one table comparable on a shared, noisy machine, where another
process's burst would otherwise land on one runtime only; compare tables across runs
only loosely. The last lines give, per Darknet model, the default runtime's speed-up
over OpenCV DNN running that same model. Each row also gives the process's CPU
milliseconds per frame (all threads) in its best round: on a machine other processes
load, `--threads 1` and that column compare the models' work far more steadily than
wall-clock rates do.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("YOLO_VERBOSE", "false")  # exports print pages otherwise

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import ultralytics  # noqa: E402

from models import weights  # noqa: E402
from models.darknet import DarknetDetector, fitted_input_shape  # noqa: E402
from models.runtimes import available_runtimes  # noqa: E402

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


def time_it(
    detect: Detect, frame: np.ndarray, size: int, batch: int, seconds: float
) -> tuple[float, float]:
    """Return mean wall-clock and CPU milliseconds per frame over about `seconds` of
    back-to-back calls."""
    frames = [frame] * batch
    calls, started, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        detect(frames, size)
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds and calls >= 2:
            per_frame = 1000 / (calls * batch)
            return elapsed * per_frame, (time.process_time() - cpu) * per_frame


def _sized(detect: Callable[[list[np.ndarray], list[int]], object]) -> Detect:
    """Adapt `detect(frames, input_sizes)` to one input size for the whole batch."""
    return lambda frames, size: detect(frames, [size] * len(frames))


def darknet_backends(model: str, threads: int | None = None) -> tuple[dict[str, Detect], str]:
    """Every runtime's default for one registry model, and OpenVINO's float model too;
    also the default's row name."""
    backends: dict[str, Detect] = {}
    default = ""
    for runtime in available_runtimes():
        detector = DarknetDetector.from_registry(model, runtime=runtime, num_threads=threads)  # type: ignore[arg-type]
        name = f"{model}/{runtime} {detector.precision}"
        backends[name] = _sized(detector.detect)
        default = default or name  # available_runtimes() lists the default first
        if runtime == "openvino":
            # The float model, to show what quantising gains.
            float_model = DarknetDetector.from_registry(
                model, runtime="openvino", precision="bf16", num_threads=threads
            )
            backends[f"{model}/openvino bf16"] = _sized(float_model.detect)
    return backends, default


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
    parser.add_argument("--seconds", type=float, default=1.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--models", nargs="+", default=["yolov3-tiny", "yolov4-tiny"], help="Darknet models"
    )
    parser.add_argument(
        "--threads", type=int, help="Darknet inference threads (default: every usable CPU)"
    )
    parser.add_argument("--ultralytics-model", default="plate-yolov8n")
    parser.add_argument("--no-ultralytics", action="store_true")
    args = parser.parse_args(argv)

    for model in args.models:
        weights.resolve(model)  # fail early, naming the pull command
    frame = cctv_frame()
    backends: dict[str, Detect] = {}
    defaults: dict[str, str] = {}
    for model in args.models:
        model_backends, defaults[model] = darknet_backends(model, args.threads)
        backends.update(model_backends)
    if not args.no_ultralytics:
        backends.update(ultralytics_backends(args.ultralytics_model))

    for size in args.sizes:
        # Every darknet runtime gets this one letterboxed shape; none gets a square.
        net_h, net_w = fitted_input_shape(frame.shape[0], frame.shape[1], size)
        print(f"# darknet input at {size}: {net_w}x{net_h} for every runtime")
    print(
        f"{'backend/runtime':40} {'size':>5} {'batch':>5} {'ms/frame':>9} {'frames/s':>9} "
        f"{'CPU ms/fr':>9}"
    )
    results: dict[tuple[str, int, int], float] = {}
    for size in args.sizes:
        for batch in args.batches:
            for detect in backends.values():
                detect([frame] * batch, size)  # warm-up: OpenVINO compiles per shape
            rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in backends}
            for _ in range(args.rounds):
                for name, detect in backends.items():
                    rounds[name].append(time_it(detect, frame, size, batch, args.seconds))
            for name, times in rounds.items():
                ms, cpu_ms = min(times)
                results[(name, size, batch)] = ms
                print(
                    f"{name:40} {size:>5} {batch:>5} {ms:>9.1f} {1000 / ms:>9.1f} {cpu_ms:>9.1f}",
                    flush=True,
                )
    for model, default in defaults.items():
        for size in args.sizes:
            for batch in args.batches:
                base = results.get((f"{model}/opencv f32", size, batch))
                ours = results.get((default, size, batch))
                if base and ours:
                    print(
                        f"default {default} vs {model}/opencv @{size} b{batch}: {base / ours:.2f}x"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
