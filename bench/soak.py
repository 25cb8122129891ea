"""Soak: 8 cameras for an hour; memory and file descriptors at the start and the end.

Usage:
    python bench/soak.py [--duration 3600] [--cameras 8] [--analysis-fps 2] [--every 60]

Starts one real GStreamer RTSP server per camera (a looping generated H.264 clip,
bench/camera_rig.py) and the real worker with the configured detector reading all
of them, waits for every camera to come online plus a warm-up, then runs for
--duration seconds, printing every --every seconds this process's resident memory,
open file descriptors and threads, the frames analysed and each camera's state.
At the end it prints the start and end figures. Exits 1 when the worker crashed or
a camera is not online at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.camera_rig import (  # noqa: E402
    make_cameras,
    open_fds,
    rss_kib,
    start_worker,
    wait_online,
    worker_config,
)
from pipeline.cli.run import build_detector  # noqa: E402
from streams.stats import SourceState  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds to run")
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--analysis-fps", type=float, default=2.0, help="frames analysed/s")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument(
        "--warm-up", type=float, default=90.0, help="seconds before the start figures"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        folder = Path(tmp)
        cameras = make_cameras(args.cameras, folder)
        config = worker_config(cameras, folder, analysis_fps=args.analysis_fps)
        running = start_worker(config, build_detector(config))
        try:
            for camera in cameras:
                if wait_online(running, camera.id, time.time(), 30.0) is None:
                    print(f"{camera.id} never came online", file=sys.stderr)
                    return 1
            time.sleep(args.warm_up)
            start = (rss_kib(), open_fds(), threading.active_count())
            frames_start = running.worker.stats.frames
            began = time.monotonic()
            print(f"start: RSS {start[0] / 1024:.1f} MiB, fds {start[1]}, threads {start[2]}")
            while (elapsed := time.monotonic() - began) < args.duration:
                time.sleep(min(args.every, args.duration - elapsed))
                states = [running.stats(c.id) for c in cameras]
                online = sum(1 for s in states if s is not None and s.state == SourceState.ONLINE)
                reconnects = sum(s.reconnects for s in states if s is not None)
                print(
                    f"{time.monotonic() - began:7.0f} s  RSS {rss_kib() / 1024:7.1f} MiB  "
                    f"fds {open_fds():4}  threads {threading.active_count():3}  "
                    f"frames {running.worker.stats.frames - frames_start:7}  "
                    f"online {online}/{len(cameras)}  reconnects {reconnects}",
                    flush=True,
                )
            end = (rss_kib(), open_fds(), threading.active_count())
            frames = running.worker.stats.frames - frames_start
            seconds = time.monotonic() - began
            online = sum(
                1
                for c in cameras
                if (s := running.stats(c.id)) is not None and s.state == SourceState.ONLINE
            )
            crashes, alive = list(running.crashes), running.alive()
        finally:
            running.stop()
            for camera in cameras:
                camera.close()

    print(
        f"\n{args.cameras} cameras for {seconds:.0f} s: {frames} frames analysed "
        f"({frames / seconds:.1f}/s); worker crashes {len(crashes)}, running {alive}; "
        f"online at the end {online}/{args.cameras}"
    )
    print(
        f"RSS {start[0] / 1024:.1f} -> {end[0] / 1024:.1f} MiB "
        f"({(end[0] - start[0]) / 1024:+.1f} MiB); open fds {start[1]} -> {end[1]}; "
        f"threads {start[2]} -> {end[2]}"
    )
    for crash in crashes:
        print("  CRASH", crash)
    return 0 if not crashes and alive and online == args.cameras else 1


if __name__ == "__main__":
    sys.exit(main())
