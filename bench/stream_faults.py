"""Stream faults: cameras that die, freeze, babble, change resolution and jump in time.

Usage:
    python bench/stream_faults.py [--faults 100] [--cameras 4] [--analysis-fps 2]

Starts one real GStreamer RTSP server per camera (a looping generated H.264 clip)
behind a fault-injecting TCP proxy (bench/camera_rig.py) and the real worker with
the configured detector reading all of them (2 s open/read timeouts). Then each
camera, on its own thread, goes through its share of the faults, in turn:

* kill: the server is killed (SIGKILL) and restarted on the same port 2 s later;
* stall: the server is frozen with SIGSTOP for 5 s (past the 2 s read timeout), then SIGCONT;
* garbage: 4 KiB of random bytes on the socket between two RTP frames;
* resolution: the server is restarted serving the clip at another resolution
  (640x360 <-> 480x272), as a camera whose settings were changed;
* clock_jump: the camera's RTP timestamps jump one hour forward (or back again);
* truncate: the served file is cut to half (no index), the connection dropped,
  and the file restored 2 s later.

For every fault it measures the recovery time: from the moment the stream is back
(server ready, SIGCONT, bytes sent, jump, file restored) until the camera is online
with a new frame that the worker has analysed; where the camera went offline after
that moment (garbage it notices by the read timeout), also from going offline.
It reports worker crashes (an exception out of the worker or any thread),
recovery times per kind (median, max, how many over 5 s or never), this
process's resident memory and open file descriptors after warm-up and at the
end. Exits 1 on a crash, a camera that did not come back, or a recovery over 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.camera_rig import (  # noqa: E402
    Camera,
    WorkerThread,
    make_cameras,
    open_fds,
    rss_kib,
    start_worker,
    wait_online,
    worker_config,
)
from pipeline.cli.run import build_detector  # noqa: E402

KINDS = ("kill", "stall", "garbage", "resolution", "clock_jump", "truncate")
RECOVERY_LIMIT_S = 5.0
GIVE_UP_S = 30.0


@dataclass
class Result:
    camera: str
    kind: str
    recovery_s: float | None
    offline_after_s: float | None = None
    size: tuple[int, int] | None = None


def inject(camera: Camera, kind: str, rng: random.Random, state: dict[str, bool]) -> float:
    """Do one fault; returns the wall time (time.time()) at which the stream is back."""
    assert camera.proxy is not None
    if kind == "kill":
        camera.kill()
        time.sleep(2.0)
        camera.start()
    elif kind == "stall":
        camera.stall()
        time.sleep(5.0)
        camera.resume()
    elif kind == "garbage":
        camera.proxy.inject_garbage(rng.randbytes(4096))
    elif kind == "resolution":
        state["alt"] = not state.get("alt", False)
        camera.kill()
        camera.start(camera.alt_clip if state["alt"] else camera.clip)
    elif kind == "clock_jump":
        state["ahead"] = not state.get("ahead", False)
        camera.proxy.jump_clock(3600.0 if state["ahead"] else -3600.0)
    elif kind == "truncate":
        served = camera.serving or camera.clip
        original = served.read_bytes()
        with served.open("r+b") as handle:
            handle.truncate(len(original) // 2)
        camera.proxy.drop_connections()
        time.sleep(2.0)
        served.write_bytes(original)
    else:
        raise ValueError(kind)
    return time.time()


def camera_faults(
    camera: Camera, kinds: list[str], running: WorkerThread, seed: int, results: list[Result]
) -> None:
    rng = random.Random(seed)
    state: dict[str, bool] = {}
    for kind in kinds:
        time.sleep(rng.uniform(0.5, 1.5))
        back = inject(camera, kind, rng, state)
        offline: list[float] = []
        recovery = wait_online(running, camera.id, back, GIVE_UP_S, offline)
        stats = running.stats(camera.id)
        size = (stats.width, stats.height) if stats and stats.width and stats.height else None
        offline_after = offline[0] if offline else None
        results.append(Result(camera.id, kind, recovery, offline_after, size))  # atomic append
        print(
            f"{camera.id:6} {kind:11} back in "
            + (f"{recovery:5.2f} s" if recovery is not None else "never")
            + (f" (offline noticed after {offline_after:.2f} s)" if offline_after else "")
            + (f"  {size[0]}x{size[1]}" if size and kind == "resolution" else ""),
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", type=int, default=100, help="faults in all")
    parser.add_argument("--cameras", type=int, default=4, help="cameras (RTSP servers)")
    parser.add_argument("--analysis-fps", type=float, default=2.0, help="frames analysed/s")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stream-faults-") as tmp:
        folder = Path(tmp)
        cameras = make_cameras(args.cameras, folder)
        config = worker_config(cameras, folder, analysis_fps=args.analysis_fps)
        running = start_worker(config, build_detector(config))
        try:
            for camera in cameras:
                if wait_online(running, camera.id, time.time(), GIVE_UP_S) is None:
                    print(f"{camera.id} never came online", file=sys.stderr)
                    return 1
            time.sleep(5.0)  # warm-up: detector, decoders and buffers at their steady size
            rss_start, fds_start = rss_kib(), open_fds()
            plan: dict[int, list[str]] = defaultdict(list)
            for index in range(args.faults):
                plan[index % args.cameras].append(KINDS[index // args.cameras % len(KINDS)])
            results: list[Result] = []
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=camera_faults,
                    args=(cameras[i], plan[i], running, args.seed + i, results),
                    name=f"faults-{cameras[i].id}",
                )
                for i in plan
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            time.sleep(5.0)  # let the last reconnects settle before measuring
            rss_end, fds_end = rss_kib(), open_fds()
            crashes = list(running.crashes)
            worker_alive = running.alive()
        finally:
            running.stop()
            for camera in cameras:
                camera.close()

    print(
        f"\n{len(results)} faults on {args.cameras} cameras in {elapsed:.0f} s; "
        f"worker crashes: {len(crashes)}; worker running at the end: {worker_alive}"
    )
    for crash in crashes:
        print("  CRASH", crash)
    failed = bool(crashes) or not worker_alive
    for kind in KINDS:
        times = [r.recovery_s for r in results if r.kind == kind]
        if not times:
            continue
        back = [t for t in times if t is not None]
        never = len(times) - len(back)
        slow = sum(1 for t in back if t > RECOVERY_LIMIT_S)
        failed |= bool(never or slow)
        median = f"{statistics.median(back):.2f}" if back else "-"
        worst = f"{max(back):.2f}" if back else "-"
        # For faults the camera first has to notice (garbage, a stall that outlasts the
        # read timeout), also from the moment it went offline to the next analysed frame.
        noticed = [
            r.recovery_s - r.offline_after_s
            for r in results
            if r.kind == kind and r.recovery_s is not None and r.offline_after_s is not None
        ]
        after_offline = (
            f"; from going offline: median {statistics.median(noticed):.2f} s, "
            f"max {max(noticed):.2f} s ({len(noticed)} went offline)"
            if noticed
            else ""
        )
        print(
            f"  {kind:11} {len(times):3} faults  recovery median {median} s, max {worst} s, "
            f"over {RECOVERY_LIMIT_S:.0f} s: {slow}, never: {never}{after_offline}"
        )
    sizes = sorted({r.size for r in results if r.kind == "resolution" and r.size})
    print(f"  resolutions seen after a change: {sizes}")
    print(
        f"memory (RSS) after warm-up {rss_start / 1024:.1f} MiB, at the end "
        f"{rss_end / 1024:.1f} MiB ({(rss_end - rss_start) / 1024:+.1f} MiB); "
        f"open fds {fds_start} -> {fds_end}; pid {os.getpid()}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
