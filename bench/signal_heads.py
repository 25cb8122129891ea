"""Signal head readings over a real clip: what each frame reads, the smoothed phases,
the cost per frame and, with labels, the agreement with a labelled timeline.

Usage:
    python bench/signal_heads.py --config examples/footage/hanoi_ly_thuong_kiet.yaml \\
        --video ../shared/footage/hanoi_ly_thuong_kiet_red_light.mp4 \\
        [--labels ../shared/footage/labels/hanoi_ly_thuong_kiet_red_light.yaml]
    python bench/signal_heads.py --labels ../shared/footage/labels/NAME.yaml \\
        --video ../shared/footage/NAME.mp4      # heads from the labels' boxes, no layout

Every signal head with a region in the config's first camera is read on every
decoded frame. Without --config the heads are the label file's `signal_heads`
(their `bbox` as region, no lamp layout): how the reader does on a head nobody
tuned. Prints per head: readings per colour, the smoothed phase changes with
their stream times, the median milliseconds per reading and, with --labels, the
share of labelled frames whose phase agrees (pipeline.evaluation.signal_agreement) and where
it disagrees. `--reader frame` reads each frame alone with `classify_lamp`, the
fixed-threshold reader the tracker used before it compared lamps with the head.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import yaml

from pipeline.config import load_config
from pipeline.evaluation.signal_agreement import agreement, load_signal_timeline
from pipeline.signals.image import Phase, SignalState, SignalTracker, classify_lamp
from pipeline.signals.phase import Point


@dataclass(frozen=True)
class Head:
    id: str
    region: tuple[float, float, float, float]
    lamps: dict[Phase, Point]
    arrow: bool = False


def heads_from_config(path: Path) -> list[Head]:
    camera = load_config(path).cameras[0]
    return [
        Head(h.id, h.region, {Phase(c): at for c, at in h.lamps.items()}, h.kind == "arrow")
        for h in camera.scene.signal_heads
        if h.region is not None
    ]


def heads_from_labels(path: Path) -> list[Head]:
    scene = (yaml.safe_load(path.read_text()) or {}).get("scene") or {}
    return [
        Head(
            str(h["id"]),
            tuple(float(v) for v in h["bbox"]),  # type: ignore[arg-type]
            {},
            "arrow" in str(h["id"]),
        )
        for h in scene.get("signal_heads") or []
        if "bbox" in h
    ]


def _one_frame(head: Head, tracker: SignalTracker) -> Callable[[np.ndarray, float], SignalState]:
    """Each frame read alone by `classify_lamp`, then smoothed by the tracker."""

    def read(image: np.ndarray, t: float) -> SignalState:
        return tracker.observe(classify_lamp(image, head.region, lamps=head.lamps or None), t)

    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config", type=Path, help="scene config; its first camera's heads")
    parser.add_argument("--video", required=True, type=Path)
    parser.add_argument("--labels", type=Path, help="label file with a signal_timeline")
    parser.add_argument("--reader", choices=("adaptive", "frame"), default="adaptive")
    parser.add_argument("--quiet", action="store_true", help="no phase changes, only totals")
    args = parser.parse_args(argv)
    if args.config is None and args.labels is None:
        parser.error("give --config, --labels or both")
    heads = heads_from_config(args.config) if args.config else heads_from_labels(args.labels)
    if not heads:
        print(f"{args.config or args.labels}: no signal head with a region")
        return 1
    trackers = {h.id: SignalTracker(h.region, lamps=h.lamps or None, arrow=h.arrow) for h in heads}
    read = {
        h.id: trackers[h.id].update if args.reader == "adaptive" else _one_frame(h, trackers[h.id])
        for h in heads
    }
    readings: dict[str, collections.Counter[str]] = {h.id: collections.Counter() for h in heads}
    changes: dict[str, list[tuple[float, Phase]]] = {h.id: [] for h in heads}
    samples: dict[str, list[tuple[float, SignalState]]] = {h.id: [] for h in heads}
    costs: list[float] = []
    first: float | None = None
    with av.open(str(args.video)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            # Labels count time from the first decoded frame.
            first = float(frame.time or 0.0) if first is None else first
            t = float(frame.time or 0.0) - first
            for head in heads:
                started = time.perf_counter()
                state = read[head.id](image, t)
                costs.append(time.perf_counter() - started)
                last = trackers[head.id].last_reading
                if args.reader == "adaptive" and last is not None:
                    readings[head.id][last.phase.value] += 1
                samples[head.id].append((t, state))
                if not changes[head.id] or changes[head.id][-1][1] is not state.phase:
                    changes[head.id].append((t, state.phase))
    timeline = load_signal_timeline(args.labels) if args.labels else {}
    shares = []
    for head in heads:
        print(f"head {head.id}: readings {dict(readings[head.id])}")
        if not args.quiet:
            for t, phase in changes[head.id]:
                print(f"  {t:7.2f} s  {phase.value}")
            layout = trackers[head.id].layout if args.reader == "adaptive" else []
            if layout:
                lamps = ", ".join(
                    f"{c.value if c else '?'} ({x:.0f}, {y:.0f})" for c, (x, y) in layout
                )
                print(f"  lamps: {lamps}")
        if head.id in timeline:
            result = agreement(samples[head.id], timeline[head.id])
            shares.append(result.share)
            print(
                f"  agreement {100 * result.share:.1f} % ({result.matched}/{result.frames} frames)"
            )
            for miss in result.disagreements:
                print(
                    f"    {miss.t_start:7.2f}-{miss.t_end:.2f} s: read {miss.read}, "
                    f"labelled {miss.expected} ({miss.frames} frames)"
                )
    print(f"median {1000 * statistics.median(costs):.3f} ms per reading ({len(costs)} readings)")
    if shares:
        print(f"lowest agreement {100 * min(shares):.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
