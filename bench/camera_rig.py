"""Real cameras for the stream fault and soak benchmarks.

Each camera is one GStreamer RTSP server process (streams/rtsp_server.py, a looping
generated H.264 clip) on its own port, reached through a small TCP proxy that can
put garbage bytes on the socket, shift the stream's RTP timestamps (a camera clock
jump) or drop the connection. The real `pipeline.runtime.worker.Worker` reads every camera
with the configured detector, on a thread of this process, so this process's
memory and file descriptors are the worker's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.config import AppConfig, CameraConfig, EvidenceConfig  # noqa: E402
from pipeline.events.broker import free_port  # noqa: E402
from pipeline.runtime.worker import CollectingSink, Worker  # noqa: E402
from streams.rtsp_launcher import RtspServerProcess, start_rtsp_server  # noqa: E402
from streams.stats import SourceState, SourceStats  # noqa: E402
from tests.fixtures.fault_proxy import FaultProxy  # noqa: E402
from tests.fixtures.rtsp import make_h264_mp4  # noqa: E402
from tests.pipeline.signal_scene import camera_dict  # noqa: E402

MOUNT = "/cam"


def rss_kib() -> int:
    """Resident memory of this process, KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Camera:
    """One camera: its clip files, RTSP server and proxy."""

    id: str
    clip: Path
    alt_clip: Path
    port: int
    proxy: FaultProxy | None = None
    server: RtspServerProcess | None = None
    serving: Path | None = None

    @property
    def url(self) -> str:
        assert self.proxy is not None
        return f"rtsp://127.0.0.1:{self.proxy.port}{MOUNT}"

    def start(self, clip: Path | None = None) -> float:
        """Start the server (on its fixed port); returns when it is ready (monotonic s)."""
        self.serving = clip or self.serving or self.clip
        for attempt in range(20):
            try:
                self.server = start_rtsp_server({MOUNT: self.serving}, self.port, loop=True)
                break
            except Exception:
                if attempt == 19:
                    raise
                time.sleep(0.25)  # the old process's port not free yet
        if self.proxy is None:
            self.proxy = FaultProxy(self.port)
        return time.monotonic()

    def kill(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server = None

    def stall(self) -> None:
        assert self.server is not None
        os.killpg(self.server.pid, signal.SIGSTOP)

    def resume(self) -> float:
        assert self.server is not None
        os.killpg(self.server.pid, signal.SIGCONT)
        return time.monotonic()

    def close(self) -> None:
        if self.server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGCONT)
        self.kill()
        if self.proxy is not None:
            self.proxy.close()


def make_cameras(count: int, folder: Path, *, seconds: float = 8.0) -> list[Camera]:
    """`count` cameras, each with its own copy of the clips (so one can be truncated)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = make_h264_mp4(folder / "base.mp4", seconds=seconds, fps=15, width=640, height=360)
    alt = make_h264_mp4(folder / "alt.mp4", seconds=seconds, fps=15, width=480, height=272)
    cameras = []
    for index in range(count):
        clip, alt_clip = folder / f"cam{index}.mp4", folder / f"cam{index}-alt.mp4"
        shutil.copyfile(base, clip)
        shutil.copyfile(alt, alt_clip)
        cameras.append(Camera(f"cam-{index}", clip, alt_clip, free_port()))
    for camera in cameras:
        camera.start()
    return cameras


def worker_config(cameras: list[Camera], folder: Path, *, analysis_fps: float) -> AppConfig:
    """A config reading every camera through its proxy; 2 s open/read timeouts."""
    entries = []
    for camera in cameras:
        data: dict[str, Any] = camera_dict(source="image")
        data["id"] = camera.id
        data["analysis_fps"] = analysis_fps
        data["scene"].pop("image_size", None)  # the resolution changes under a fault
        data["source"] = {"url": camera.url, "open_timeout_s": 2.0, "read_timeout_s": 2.0}
        entries.append(CameraConfig.model_validate(data))
    return AppConfig(
        database_url=f"sqlite:///{folder / 'unused.db'}",
        evidence=EvidenceConfig(path=folder / "evidence"),
        cameras=entries,
    )


@dataclass
class WorkerThread:
    """The real Worker on a thread; any exception out of it, or out of any other
    thread of this process, counts as a crash."""

    worker: Worker
    thread: threading.Thread = field(init=False)
    crashes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        previous = threading.excepthook

        def hook(args: threading.ExceptHookArgs) -> None:
            self.crashes.append(
                f"thread {args.thread.name if args.thread else '?'}: {args.exc_value!r}"
            )
            previous(args)

        threading.excepthook = hook
        self.thread = threading.Thread(target=self._run, name="worker", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:  # noqa: BLE001  # counted, not hidden
            self.crashes.append(f"worker: {exc!r}")
            raise

    def start(self) -> None:
        self.thread.start()

    def stats(self, camera_id: str) -> SourceStats | None:
        source = self.worker.sources.get(camera_id)
        return source.stats if source is not None else None

    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        self.worker.stop.set()
        self.thread.join(timeout=30)


def start_worker(config: AppConfig, detector: Any) -> WorkerThread:
    running = WorkerThread(Worker(config, detector, CollectingSink(), report_every_s=3600))
    running.start()
    return running


def wait_online(
    running: WorkerThread,
    camera_id: str,
    after_wall: float,
    timeout_s: float,
    offline_seen: list[float] | None = None,
) -> float | None:
    """Seconds from `after_wall` (time.time()) until the camera is online with a frame
    decoded after that moment and the worker has analysed a frame of it since; None if
    that does not happen within `timeout_s`. When the camera is seen offline on the
    way, the seconds from `after_wall` to that are appended to `offline_seen`."""
    analysed = running.worker.stats.per_camera_frames.get(camera_id, 0)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        stats = running.stats(camera_id)
        last = stats.last_frame_wall_time if stats is not None else None
        offline = stats is not None and stats.state == SourceState.OFFLINE
        if offline_seen is not None and not offline_seen and offline:
            offline_seen.append(time.time() - after_wall)
        if (
            stats is not None
            and stats.state == SourceState.ONLINE
            and last is not None
            and last.timestamp() > after_wall
            and running.worker.stats.per_camera_frames.get(camera_id, 0) > analysed
        ):
            return time.time() - after_wall
        time.sleep(0.02)
    return None
