"""How often the real detector finds each vehicle sprite of a generated scenario.

Usage:
    python bench/detection_rate.py --video DIR/video.mp4 [--input-size 608] [--every 1]
                                   [--precision auto|f32|bf16|int8] [--model yolov3-tiny]

Reads `DIR/boxes.jsonl` (written by `trafficcam scenario`), runs a Darknet model from
the registry (yolov3-tiny unless `--model` says otherwise) over the video, and prints,
per vehicle and per class, the fraction of frames in which the vehicle was fully in
view and a vehicle-class detection overlapped it with IoU >= 0.3, plus which class the
detector called it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import av

from models.darknet import DarknetDetector
from models.runtimes import Precision
from pipeline.evaluation.scenario.groundtruth import DetectionTally, read_boxes


def measure(
    video: Path,
    *,
    input_size: int,
    every: int = 1,
    min_iou: float = 0.3,
    batch: int = 8,
    precision: Precision = "auto",
    model: str = "yolov3-tiny",
) -> tuple[DetectionTally, float]:
    """Run the detector over `video` and score it against the `boxes.jsonl` beside it.

    Args:
        video: Generated `video.mp4`.
        input_size: Detector input size (long side).
        every: Score every n-th frame only.
        min_iou: IoU a detection needs to count as finding a vehicle.
        batch: Frames per detector call.
        precision: The detector's precision (OpenVINO: int8, bf16 or f32).
        model: Registry name of the Darknet model.

    Returns:
        The tally and the detector's mean milliseconds per frame.
    """
    truths = {t.frame: t for t in read_boxes(video.parent / "boxes.jsonl")}
    detector = DarknetDetector.from_registry(model, input_size=input_size, precision=precision)
    tally = DetectionTally()
    pending: list[tuple[int, object]] = []
    spent, frames_run = 0.0, 0

    def flush() -> None:
        nonlocal spent, frames_run
        if not pending:
            return
        started = time.perf_counter()
        results = detector.detect([f for _, f in pending])  # type: ignore[misc]
        spent += time.perf_counter() - started
        frames_run += len(pending)
        for (index, _), dets in zip(pending, results, strict=True):
            tally.add(truths[index], dets.xyxy, dets.class_names, min_iou=min_iou)
        pending.clear()

    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            truth = truths.get(index)
            if index % every or truth is None or not any(v.in_view for v in truth.vehicles):
                continue
            pending.append((index, frame.to_ndarray(format="bgr24")))
            if len(pending) >= batch:
                flush()
    flush()
    return tally, 1000.0 * spent / max(1, frames_run)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--input-size", type=int, default=608)
    parser.add_argument("--every", type=int, default=1, help="score every n-th frame")
    parser.add_argument("--min-iou", type=float, default=0.3)
    parser.add_argument("--precision", choices=["auto", "f32", "bf16", "int8"], default="auto")
    parser.add_argument("--model", default="yolov3-tiny", help="Darknet registry model")
    args = parser.parse_args(argv)
    if not (args.video.parent / "boxes.jsonl").is_file():
        print(
            f"{args.video.parent / 'boxes.jsonl'} is missing; generate with boxes", file=sys.stderr
        )
        return 2
    tally, ms = measure(
        args.video,
        input_size=args.input_size,
        every=args.every,
        min_iou=args.min_iou,
        precision=args.precision,
        model=args.model,
    )
    print(
        f"{args.model} @ {args.input_size} ({args.precision}): {ms:.1f} ms/frame, "
        f"IoU >= {args.min_iou}"
    )
    print(f"{'vehicle':<14}{'class':<11}{'frames':>7}{'rate':>8}  detector labels")
    for vid in sorted(tally.seen):
        labels = ", ".join(f"{k} {n}" for k, n in sorted(tally.label[vid].items()))
        print(f"{vid:<14}{tally.cls[vid]:<11}{tally.seen[vid]:>7}{tally.rate(vid):>8.1%}  {labels}")
    for cls, rate in tally.class_rates().items():
        print(f"class {cls:<10}{rate:>8.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
