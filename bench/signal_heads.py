"""Signal head readings over a real clip: what each frame reads, the smoothed phases,
and the cost per frame.

Usage:
    python bench/signal_heads.py --config examples/footage/hanoi_ly_thuong_kiet.yaml \\
        --video ../shared/footage/hanoi_ly_thuong_kiet_red_light.mp4

Every signal head with a region in the config's first camera is read on every
decoded frame. Prints per head: readings per colour, the smoothed phase changes
with their stream times, and the median milliseconds per reading. A person can
then step through the clip at those times and check each change by eye.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

import av

from pipeline.config import load_config
from pipeline.signal import Phase, SignalTracker, classify_lamp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--video", required=True, type=Path)
    args = parser.parse_args(argv)
    camera = load_config(args.config).cameras[0]
    heads = [h for h in camera.scene.signal_heads if h.region is not None]
    if not heads:
        print(f"{args.config}: camera {camera.id!r} has no signal head with a region")
        return 1
    trackers = {h.id: SignalTracker(h.region) for h in heads if h.region is not None}
    readings: dict[str, collections.Counter[str]] = {h.id: collections.Counter() for h in heads}
    changes: dict[str, list[tuple[float, Phase]]] = {h.id: [] for h in heads}
    costs: list[float] = []
    with av.open(str(args.video)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            t = float(frame.time or 0.0)
            for head in heads:
                assert head.region is not None
                started = time.perf_counter()
                reading = classify_lamp(image, head.region)
                costs.append(time.perf_counter() - started)
                readings[head.id][reading.value] += 1
                state = trackers[head.id].observe(reading, t)
                if not changes[head.id] or changes[head.id][-1][1] is not state.phase:
                    changes[head.id].append((t, state.phase))
    for head in heads:
        print(f"head {head.id}: readings {dict(readings[head.id])}")
        for t, phase in changes[head.id]:
            print(f"  {t:7.2f} s  {phase.value}")
    print(f"median {1000 * statistics.median(costs):.3f} ms per reading ({len(costs)} readings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
