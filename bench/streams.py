"""Benchmark: N simultaneous 720p 15 fps H.264 RTSP cameras in one process.

For each N, first with trafficcam's PyAV readers (every frame decoded, 10 s
packet ring buffers, one frame a second converted for analysis), then with one
``cv2.VideoCapture`` thread per camera on the same streams, it reports CPU per
stream, whether every stream kept up with its 15 fps input (no dropped input
frames), and resident memory per camera. Figures only; nothing is asserted.

Usage::

    .venv/bin/python bench/streams.py                     # N = 1, 2, 4; 12 s each
    .venv/bin/python bench/streams.py --counts 1,2,4,6,8 --seconds 20
    .venv/bin/python bench/streams.py --video /path/to/720p_h264.mp4

The streams come from the project's GStreamer RTSP server on 127.0.0.1 (no
re-encoding), which runs on the same machine and takes some CPU of its own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's folder heads sys.path and its name would hide the
# `streams` package; the project root goes there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import cv2  # noqa: E402

from streams.rtsp_launcher import start_rtsp_server  # noqa: E402
from streams.source import StreamSource  # noqa: E402
from tests.fixtures.rtsp import make_h264_mp4  # noqa: E402

FPS = 15
KEEP_UP = 0.95  # a stream decoding at least this share of its input rate kept up
WARM_UP_S = 3.0


@dataclass
class Result:
    reader: str
    streams: int
    cpu_per_stream: float  # share of one core
    fps_min: float
    kept_up: bool
    rss_per_camera_mb: float
    ring_mb: float | None = None


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_video(path: Path, seconds: float) -> Path:
    """A synthetic 720p clip; its bitrate is far below a real camera's (use --video for that)."""
    make_h264_mp4(path, seconds=seconds, fps=FPS, width=1280, height=720, gop=FPS)
    return path


def bench_pyav(urls: list[str], seconds: float) -> Result:
    before = rss_mb()
    sources = [
        StreamSource(f"cam{i}", url, analysis_fps=1, buffer_seconds=10.0).start()
        for i, url in enumerate(urls)
    ]
    stop = threading.Event()

    def consume(source: StreamSource) -> None:  # the worker's side: take what is sampled
        while not stop.is_set():
            source.read(timeout=0.5)

    readers = [threading.Thread(target=consume, args=(s,), daemon=True) for s in sources]
    for reader in readers:
        reader.start()
    time.sleep(WARM_UP_S)
    decoded = [s.stats.frames_decoded for s in sources]
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    rates = [(s.stats.frames_decoded - d) / wall for s, d in zip(sources, decoded, strict=True)]
    ring = sum(s.ring.nbytes for s in sources if s.ring is not None) / len(sources) / 2**20
    memory = (rss_mb() - before) / len(urls)
    stop.set()
    for source in sources:
        source.stop()
    return Result(
        "pyav", len(urls), cpu / wall / len(urls), min(rates), min(rates) >= KEEP_UP * FPS,
        memory, ring,
    )  # fmt: skip


def bench_cv2(urls: list[str], seconds: float) -> Result:
    before = rss_mb()
    counts = [0] * len(urls)
    stop = threading.Event()

    def read(index: int, url: str) -> None:
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        while not stop.is_set():
            ok, _ = capture.read()
            if not ok:
                time.sleep(0.1)
                continue
            counts[index] += 1
        capture.release()

    threads = [threading.Thread(target=read, args=(i, u), daemon=True) for i, u in enumerate(urls)]
    for thread in threads:
        thread.start()
    time.sleep(WARM_UP_S)
    start_counts = list(counts)
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    rates = [(c - s) / wall for c, s in zip(counts, start_counts, strict=True)]
    memory = (rss_mb() - before) / len(urls)
    stop.set()
    for thread in threads:
        thread.join(timeout=35)  # VideoCapture may block for its own 30 s timeout
    return Result(
        "cv2", len(urls), cpu / wall / len(urls), min(rates), min(rates) >= KEEP_UP * FPS, memory
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4", help="numbers of streams to try")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured seconds per run")
    parser.add_argument("--video", type=Path, help="a 720p H.264 MP4 to serve instead")
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or make_video(Path(tmp) / "cam720.mp4", seconds=10)
        mounts = {f"/cam{i}": video for i in range(max(counts))}
        with start_rtsp_server(mounts, loop=True) as server:
            results: list[Result] = []
            for n in counts:
                urls = [server.url(f"/cam{i}") for i in range(n)]
                for bench in (bench_pyav, bench_cv2):
                    result = bench(urls, args.seconds)
                    results.append(result)
                    print(
                        f"{result.reader:5s} N={n:2d}: CPU/stream {result.cpu_per_stream:6.1%} "
                        f"of a core, slowest stream {result.fps_min:5.1f} fps "
                        f"({'kept up' if result.kept_up else 'FELL BEHIND'}), "
                        f"RSS/camera {result.rss_per_camera_mb:6.1f} MB"
                        + (f", ring {result.ring_mb:.2f} MB" if result.ring_mb is not None else ""),
                        flush=True,
                    )
    for reader in ("pyav", "cv2"):
        kept = [r.streams for r in results if r.reader == reader and r.kept_up]
        print(f"{reader}: largest N that kept up: {max(kept) if kept else 0} (of {counts})")


if __name__ == "__main__":
    main()
